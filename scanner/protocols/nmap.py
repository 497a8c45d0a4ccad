"""One ``<host>`` of an nmap ``-oX`` report -> observations (``camsweep import nmap``).

nmap saw these things on a wire; camsweep did not. What it saw becomes the observations camsweep's
own probes would have made, under the same field keys, so that the same fingerprint rules judge
them: the MAC (``mac.*``), host names (``hostname.name``), open TCP ports (``port.*``), and the
outputs of the scripts whose meaning matches a probe's: ``http-title`` (``http.title``),
``http-server-header`` (``http.header.server``), ``rtsp-methods`` (``rtsp.public``), ``ssl-cert``
(``tls.*``, from the certificate's PEM when nmap kept it), ``upnp-info`` (``upnp.*``, ``ssdp.*``),
``wsdd-discover``/``broadcast-wsdd-discover`` (``onvif.xaddrs``, ``onvif.types``). What has no
counterpart keeps nmap's own words under ``nmap.*``: the service nmap's ``-sV`` named (product,
version, extra info, device type, CPE), the vendor nmap's MAC list gives, and any
other script's output (``nmap.script.<id>``).

Reading the file (size bound, defusedxml, one host at a time) is ``scanner/imports.py``; every
function here takes elements already parsed and never raises on their content.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..models import ArtefactKind, Observation, normalize_ip, normalize_mac
from . import tls
from ._spec import Field, ProtocolSpec
from .arp import mac_fields

__all__ = ["PROBE", "SPEC", "host_observations", "moment", "prescript_observations"]

PROBE = "nmap"
"""The probe name nmap's observations carry: the evidence says nmap saw it, not camsweep."""

SERVICE_ATTRIBUTES = ("product", "version", "extrainfo", "devicetype", "ostype")
"""``<service>`` attributes kept, each as ``nmap.<name>``."""

_UPNP_LABELS = {
    "server": "ssdp.server", "location": "ssdp.location", "name": "upnp.friendly_name",
    "manufacturer": "upnp.manufacturer", "model descr": "upnp.model_description",
    "model name": "upnp.model_name", "model version": "upnp.model_number",
}
"""``upnp-info`` output lines (``nselib/upnp.lua``) -> the key the UPnP codec gives the same value."""


def moment(value: str | None) -> datetime | None:
    """nmap's ``starttime``/``endtime``/``start`` (seconds since the epoch), or None."""
    if value and value.isdigit() and len(value) <= 12:
        return datetime.fromtimestamp(int(value), UTC)
    return None


def _elems(script: Any) -> dict[str, str]:
    """A script's top-level ``<elem key=...>`` values, and those of its ``<table key=...>``s as
    ``table.key`` (``subject.commonName``)."""
    out: dict[str, str] = {}
    for child in script:
        if child.tag == "elem" and child.get("key"):
            out[child.get("key")] = child.text or ""
        elif child.tag == "table" and child.get("key"):
            for elem in child:
                if elem.tag == "elem" and elem.get("key"):
                    out[f"{child.get('key')}.{elem.get('key')}"] = elem.text or ""
    return out


def _labelled_lines(output: str) -> Iterator[tuple[str, str]]:
    """``Label: value`` lines of a script's text output, label lower-cased."""
    for line in output.splitlines():
        label, sep, value = line.strip().lstrip("|_ ").partition(": ")
        if sep and value.strip():
            yield label.strip().lower(), value.strip()


def _wsd_fields(output: str) -> dict[str, str]:
    """``wsdd-discover`` output: ``Address:`` (XAddrs) and ``Type:`` lines (``nselib/wsdd.lua``)."""
    addresses, types = [], []
    for label, value in _labelled_lines(output):
        if label == "address":
            addresses.append(value)
        elif label == "type":
            types.append(value)
    return {"onvif.xaddrs": " ".join(addresses), "onvif.types": " ".join(types)}


def _certificate(script: Any, where: dict[str, Any]) -> Observation:
    """``ssl-cert``: the certificate itself when nmap printed its PEM (``-sV`` does not, scripts'
    ``ssl-cert`` does, in the XML), else the subject and issuer tables."""
    pem = _elems(script).get("pem", "")
    body = re.sub(r"-----[A-Z ]+-----|\s", "", pem)
    if body:
        try:
            return tls.from_der(base64.b64decode(body, validate=True), probe=PROBE, **where)
        except ValueError:
            pass  # not base64: fall back to the names
    elems = _elems(script)

    def name(table: str) -> str:
        short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
                 "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L"}
        parts = [f"{short[k.split('.', 1)[1]]}={v}" for k, v in elems.items()
                 if k.startswith(table + ".") and k.split(".", 1)[1] in short]
        return ",".join(parts)

    return tls.from_names(name("subject"), name("issuer"), probe=PROBE, **where)


def _script_observation(script: Any, where: dict[str, Any], port: int | None, https: bool) -> Observation | None:
    """The observation a script's output is, under the keys of the probe that reads the same
    thing; None for a script with no such counterpart (kept as ``nmap.script.<id>``)."""
    sid, output = script.get("id", ""), script.get("output", "")
    at = {**where, "port": port}
    if sid == "http-title" and port is not None:
        title = _elems(script).get("title") or ""
        if not title:
            return None  # "Site doesn't have a title" is nmap's wording, not the page's
        fields = {"http.title": title, "http.port": str(port), "http.scheme": "https" if https else "http"}
        return Observation.make(PROBE, ArtefactKind.HTTP_TITLE, raw=output, fields=fields, **at)
    if sid == "http-server-header" and port is not None:
        server = next((e.text for e in script if e.tag == "elem" and e.text), None) or output.strip()
        fields = {"http.header.server": server, "http.port": str(port), "http.scheme": "https" if https else "http"}
        return Observation.make(PROBE, ArtefactKind.HTTP_RESPONSE, raw=output, fields=fields, **at)
    if sid == "rtsp-methods":
        return Observation.make(PROBE, ArtefactKind.RTSP_BANNER, raw=output,
                                fields={"rtsp.public": ", ".join(m.strip() for m in output.split(",") if m.strip())}, **at)
    if sid == "ssl-cert" and port is not None:
        return _certificate(script, {**where, "port": port})
    if sid == "upnp-info":
        fields = {_UPNP_LABELS[label]: value for label, value in _labelled_lines(output) if label in _UPNP_LABELS}
        return Observation.make(PROBE, ArtefactKind.UPNP_DESCRIPTION, raw=output, fields=fields, **at) if fields else None
    if sid in ("wsdd-discover", "broadcast-wsdd-discover"):
        fields = _wsd_fields(output)
        return Observation.make(PROBE, ArtefactKind.ONVIF_SCOPES, raw=output, fields=fields, **at) if any(fields.values()) else None
    return None


def host_observations(host: Any, time: datetime | None = None) -> list[Observation]:
    """Every observation one ``<host>`` element holds (none for a host nmap found down)."""
    status = host.find("status")
    if status is not None and status.get("state") not in (None, "up"):
        return []
    time = moment(host.get("endtime")) or time
    ip = mac = vendor = None
    for address in host.findall("address"):
        kind = address.get("addrtype")
        if kind in ("ipv4", "ipv6") and ip is None:
            ip = normalize_ip(address.get("addr"))
        elif kind == "mac":
            mac, vendor = normalize_mac(address.get("addr")), address.get("vendor")
    if not (ip or mac):
        return []
    where: dict[str, Any] = {"ip": ip, "mac": mac, "time": time}
    out: list[Observation] = []
    if mac:
        out.append(Observation.make(PROBE, ArtefactKind.MAC_ADDRESS, ip=ip, mac=mac, time=time, raw=mac,
                                    fields={**mac_fields(mac), "nmap.mac_vendor": vendor or ""}))
    for hostname in host.iterfind("hostnames/hostname"):
        if hostname.get("name"):
            out.append(Observation.make(PROBE, ArtefactKind.HOSTNAME, ip=ip, mac=mac, time=time,
                                        raw=f"{hostname.get('type', '')} {hostname.get('name')}".strip(),
                                        fields={"hostname.name": hostname.get("name")}))
    for port in host.iterfind("ports/port"):
        out.extend(_port_observations(port, where))
    for script in host.iterfind("hostscript/script"):
        obs = _script_observation(script, where, None, False)
        if obs is not None:
            out.append(obs)
    return out


def _port_observations(port: Any, where: dict[str, Any]) -> Iterator[Observation]:
    state = port.find("state")
    state_name = state.get("state") if state is not None else None
    number_text, protocol = port.get("portid", ""), port.get("protocol", "")
    if not (number_text.isdigit() and 0 < int(number_text) < 65536):
        return
    number = int(number_text)
    service = port.find("service")
    fields: dict[str, str] = {"port.number": str(number), "port.protocol": protocol}
    https = False
    if service is not None:
        fields["nmap.service"] = service.get("name", "")
        fields.update({f"nmap.{name}": service.get(name, "") for name in SERVICE_ATTRIBUTES})
        fields["nmap.cpe"] = " ".join(c.text or "" for c in service.iterfind("cpe"))
        https = service.get("tunnel") == "ssl" or service.get("name") == "https"
    # A script's output is an answer whatever nmap concluded about the port (``wsdd-discover``
    # reports a UDP port it could not prove open as ``open|filtered``).
    for script in port.iterfind("script"):
        obs = _script_observation(script, where, number, https)
        if obs is not None:
            yield obs
        elif script.get("id"):
            fields[f"nmap.script.{script.get('id')}"] = script.get("output", "")
    if state_name == "open" and protocol == "tcp":  # what camsweep's port scan reports
        yield Observation.make(PROBE, ArtefactKind.OPEN_PORT, port=number, fields=fields,
                               raw=" ".join(f"{k}={v}" for k, v in fields.items() if v), **where)


def prescript_observations(prescript: Any, time: datetime | None = None) -> Iterator[Observation]:
    """``broadcast-wsdd-discover`` in ``<prescript>``: one block per reply (``Message id:``,
    ``Address:``, ``Type:``), each an ONVIF discovery reply placed at the host its ``Address``
    (XAddrs) names: the line heading a block is the address nmap heard it on, which may be the
    multicast group, not the device."""
    for script in prescript.iterfind("script"):
        if script.get("id") != "broadcast-wsdd-discover":
            continue
        for block in re.split(r"\n(?=[\s|_]*Message id:)", script.get("output", "")):
            fields = _wsd_fields(block)
            ip = _xaddr_host(fields["onvif.xaddrs"])
            if ip and fields["onvif.types"]:
                yield Observation.make(PROBE, ArtefactKind.ONVIF_SCOPES, ip=ip, time=time, raw=block.strip(),
                                       fields=fields)


def _xaddr_host(xaddrs: str) -> str | None:
    """The IP address in the first XAddrs URL (``http://198.18.0.21/onvif/device_service``)."""
    from urllib.parse import urlsplit

    try:
        return normalize_ip(urlsplit(xaddrs.split()[0]).hostname) if xaddrs else None
    except ValueError:
        return None


SPEC = ProtocolSpec(
    name="nmap",
    title="nmap -oX import",
    order=138,
    method=False,
    families={"nmap": "nmap"},
    fields={
        "nmap.service": Field("nmap", "service nmap named on the port (`-sV`: `http`, `rtsp`, ...)"),
        "nmap.product": Field("nmap", "`-sV` product (`Hikvision IP camera httpd`)"),
        "nmap.version": Field("nmap", "`-sV` version"),
        "nmap.extrainfo": Field("nmap", "`-sV` extra information"),
        "nmap.devicetype": Field("nmap", "`-sV` device type (`webcam`, `media device`, ...)"),
        "nmap.ostype": Field("nmap", "`-sV` OS type"),
        "nmap.cpe": Field("nmap", "`-sV` CPE names, space-joined"),
        "nmap.mac_vendor": Field("nmap", "the MAC's vendor in nmap's own prefix list"),
        "nmap.script.*": Field("nmap", "output of a script with no camsweep counterpart, by script id"),
    },
)
