"""SSDP (UDP 1900) search/notify messages and UPnP device descriptions -> ``ssdp.*``/``upnp.*``."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation
from ._common import (
    DISCOVERY_LIMIT,
    DOCUMENT_LIMIT,
    BadInput,
    check_size,
    children_by_name,
    find_local,
    guarded,
    header_values,
    local_name,
    parse_xml,
    split_message,
)
from ._spec import Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "build_msearch", "parse_description", "parse_ssdp"]

GROUP = "239.255.255.250"
PORT = 1900

_SSDP_HEADERS = {
    "server": "ssdp.server",
    "location": "ssdp.location",
    "st": "ssdp.st",
    "usn": "ssdp.usn",
    "nt": "ssdp.nt",
    "nts": "ssdp.nts",
}
_DESCRIPTION_FIELDS = {
    "manufacturer": "upnp.manufacturer",
    "manufacturerurl": "upnp.manufacturer_url",
    "modelname": "upnp.model_name",
    "modelnumber": "upnp.model_number",
    "modeldescription": "upnp.model_description",
    "friendlyname": "upnp.friendly_name",
    "serialnumber": "upnp.serial",
    "devicetype": "upnp.device_type",
    "udn": "upnp.udn",
    "presentationurl": "upnp.presentation_url",
}


def build_msearch(st: str = "ssdp:all", mx: int = 2) -> bytes:
    """An SSDP M-SEARCH for search target ``st`` with response window ``mx`` seconds (1..5)."""
    if not st or any(c in st for c in "\r\n\x00"):
        raise ValueError(f"bad SSDP search target {st!r}")
    if not 1 <= int(mx) <= 5:
        raise ValueError(f"MX must be 1..5, not {mx!r}")
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {GROUP}:{PORT}\r\n"
        'MAN: "ssdp:discover"\r\n'
        f"MX: {int(mx)}\r\n"
        f"ST: {st}\r\n"
        "\r\n"
    ).encode("ascii", errors="strict")


@guarded(ArtefactKind.SSDP_REPLY, raw_arg="raw")
def parse_ssdp(
    raw: str | bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """An M-SEARCH response (``HTTP/1.1 200 OK``) or a ``NOTIFY *`` -> SSDP_REPLY.

    Another client's ``M-SEARCH`` is ``not-a-reply``.
    """
    check_size(raw, DISCOVERY_LIMIT)
    start, headers, _body = split_message(raw, what="SSDP")
    if re.match(r"^HTTP/\d\.\d\s+\d{3}", start):
        message_type = "response"
    elif re.match(r"^NOTIFY\s+\*\s+HTTP/", start, re.IGNORECASE):
        message_type = "notify"
    elif re.match(r"^M-SEARCH\s", start, re.IGNORECASE):
        raise BadInput("not-a-reply", "M-SEARCH from a client, not a device reply")
    else:
        raise BadInput("garbage", "not an SSDP response or NOTIFY")
    fields = {"ssdp.message_type": message_type}
    for name, key in _SSDP_HEADERS.items():
        values = header_values(headers, name)
        if values and values[0]:
            fields[key] = values[0]
    return Observation.make(probe, ArtefactKind.SSDP_REPLY, ip=ip, mac=mac, raw=raw, fields=fields, time=time)


@guarded(ArtefactKind.UPNP_DESCRIPTION, raw_arg="xml")
def parse_description(
    xml: str | bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    port: int | None = None,
    time: datetime | None = None,
) -> Observation:
    """A UPnP device description (``<root><device>...``) -> UPNP_DESCRIPTION from the root device."""
    root = parse_xml(xml, DOCUMENT_LIMIT)
    if local_name(root.tag) != "root":
        raise BadInput("garbage", f"not a UPnP description (root <{local_name(root.tag)}>)")
    device = next((child for child in root if local_name(child.tag) == "device"), None)
    if device is None:
        device = find_local(root, "device")
    if device is None:
        raise BadInput("garbage", "UPnP description without <device>")
    values = children_by_name(device)
    fields = {key: values[name] for name, key in _DESCRIPTION_FIELDS.items() if values.get(name)}
    if not fields:
        raise BadInput("garbage", "UPnP <device> without any identifying element")
    return Observation.make(
        probe, ArtefactKind.UPNP_DESCRIPTION, ip=ip, mac=mac, port=port, raw=xml, fields=fields, time=time
    )


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """SSDP replies and NOTIFYs on the wire; other clients' M-SEARCHes are not evidence."""
    if not heard.payload.startswith(b"M-SEARCH"):
        yield ("ssdp", heard.src), parse_ssdp(heard.payload, **heard.where())


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    ssdp, description = r.opt_text("ssdp"), r.opt_text("upnp")
    if ssdp:
        yield parse_ssdp(ssdp, **where)
    if description:
        yield parse_description(description, **where)


SPEC = ProtocolSpec(
    name="ssdp",
    title="SSDP, and the UPnP description it points to",
    order=50,
    udp=(PORT,),
    groups=(GROUP,),
    families={"ssdp": "SSDP", "upnp": "UPnP"},
    fields={
        "ssdp.message_type": Field("ssdp", "`response` (to an M-SEARCH) or `notify`"),
        "ssdp.server": Field("ssdp", "SERVER header"),
        "ssdp.location": Field("ssdp", "LOCATION header (the description URL)"),
        "ssdp.st": Field("ssdp", "ST header"),
        "ssdp.usn": Field("ssdp", "USN header"),
        "ssdp.nt": Field("ssdp", "NT header"),
        "ssdp.nts": Field("ssdp", "NTS header"),
        "upnp.manufacturer": Field("upnp", "description `manufacturer`"),
        "upnp.manufacturer_url": Field("upnp", "description `manufacturerURL`"),
        "upnp.model_name": Field("upnp", "description `modelName`"),
        "upnp.model_number": Field("upnp", "description `modelNumber`"),
        "upnp.model_description": Field("upnp", "description `modelDescription`"),
        "upnp.friendly_name": Field("upnp", "description `friendlyName`"),
        "upnp.serial": Field("upnp", "description `serialNumber`"),
        "upnp.device_type": Field("upnp", "description `deviceType`"),
        "upnp.udn": Field("upnp", "description `UDN`"),
        "upnp.presentation_url": Field("upnp", "description `presentationURL`"),
    },
    short_form=("ssdp", "upnp"),
    read_short_form=_short_form,
    passive=Passive(_heard),
)
