"""ONVIF device service (onvif-zeep): GetDeviceInformation and GetNetworkInterfaces.

Runs only for hosts the user's credentials file covers -- an authenticated call is a login attempt
(devices lock accounts out), so nothing is ever guessed. Two calls per host at most, each bounded
in time (watchdog) and size; the WSDL is read from onvif-zeep's local copy and any remote schema
import is refused, so nothing but the device is contacted. Credentials are never logged or
recorded: only the outcome is ("onvif-auth-failed", ...). The MAC that GetNetworkInterfaces
reports lets a routed device (whose MAC ARP cannot see) be keyed by its MAC.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..config import ScanConfig
from ..models import ArtefactKind, Observation
from . import HostInfo, Probe, ProbeContext, register
from ._tcp import Watchdog
from .http import _local, _session

log = logging.getLogger("camsweep")

ONVIF_PORTS = (80, 8080, 8899, 8000, 888, 2020)
_BINDING = "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"
_wsdl_lock = threading.Lock()


def _wsdl_path() -> str:
    import onvif

    return os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl", "devicemgmt.wsdl")


def _transport(cfg: ScanConfig) -> Any:
    """A zeep transport that only ever talks to the device, with bounded replies."""
    from zeep.transports import Transport

    max_body = int(cfg.max_body)
    read_timeout = float(cfg.read_timeout)

    class BoundedLocalTransport(Transport):  # type: ignore[misc]
        def load(self, url: str) -> bytes:
            if urlsplit(url).scheme in ("http", "https"):
                raise OSError(f"remote schema import refused: {url}")
            return super().load(url)  # type: ignore[no-any-return]

        def post(self, address: str, message: Any, headers: Any) -> Any:
            response = self.session.post(address, data=message, headers=headers,
                                         timeout=(float(cfg.connect_timeout), read_timeout), stream=True,
                                         allow_redirects=False)
            body = bytearray()
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > max_body:
                    response.close()
                    raise _Oversize(f"reply larger than {max_body} bytes")
            response._content = bytes(body)
            response._content_consumed = True
            return response

    session = _session()
    session.headers.pop("Accept-Encoding", None)
    return BoundedLocalTransport(session=session, timeout=read_timeout, operation_timeout=read_timeout)


class _Oversize(Exception):
    pass


def harden(settings: Any) -> None:
    """Parse device replies strictly as data: no DTD, no entities, no external fetches, libxml2 limits on.

    onvif-zeep builds its client with ``xml_huge_tree=True`` (libxml2's depth and node-size limits
    off) and zeep's defaults allow a DOCTYPE and external references. The WSDL has been read by
    now (from onvif-zeep's local copy); from here on zeep parses only what the device sends.
    """
    settings.forbid_dtd = True
    settings.forbid_entities = True
    settings.forbid_external = True
    settings.xml_huge_tree = False


def classify(exc: BaseException, fired: bool) -> str:
    """The observation problem for a failed ONVIF call (never the exception text itself)."""
    if fired:
        return "onvif-timeout"
    if isinstance(exc, _Oversize):
        return "onvif-oversize"
    text = f"{type(exc).__name__} {exc}"
    if re.search(r"NotAuthori[sz]ed|not authori[sz]ed|Unauthori[sz]ed|Sender not Authorized|401|authenticat", text, re.IGNORECASE):
        return "onvif-auth-failed"
    if re.search(r"HTTP status 40[45]", text):
        return "onvif-not-found"
    if re.search(r"timeout|timed out", text, re.IGNORECASE):
        return "onvif-timeout"
    if re.search(r"refused|unreachable|ConnectionError", text, re.IGNORECASE):
        return "onvif-unreachable"
    return "onvif-error"


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"\s+", " ", text)[:300]


@register
class OnvifProbe(Probe):
    name = "onvif"
    description = "ONVIF GetDeviceInformation/GetNetworkInterfaces (only with --credentials for the host)"

    def device_service_url(self, host: HostInfo) -> str | None:
        """The device service on the host itself: an XAddr naming the host's address, else a guess.

        The URL is rebuilt from the host's address and the XAddr's port and path, never passed on
        as the device wrote it: urlsplit and urllib3 disagree on some URLs
        (``http://evil.example\\@10.0.0.5/`` is 10.0.0.5 to one and evil.example to the other),
        and this request carries a login.
        """
        for xaddr in getattr(host, "xaddrs", ()) or ():
            try:
                url = urlsplit(xaddr.strip())
                port = url.port
            except ValueError:  # a bad port
                continue
            if url.scheme in ("http", "https") and url.hostname == host.ip:
                authority = f"[{host.ip}]" if ":" in host.ip else host.ip
                if port is not None:
                    authority += f":{port}"
                path = url.path if url.path.startswith("/") else "/" + url.path
                query = f"?{url.query}" if url.query else ""
                return f"{url.scheme}://{authority}{path.replace(chr(92), '%5C')}{query}"
        for port in ONVIF_PORTS:
            if port in host.open_ports:
                return f"http://{host.ip}:{port}/onvif/device_service"
        return None

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        cfg = self.config
        credential = cfg.credential_for(host.ip) if cfg.credentials else None
        if credential is None:
            return
        url = self.device_service_url(host)
        if url is None:
            return
        port = urlsplit(url).port or (443 if url.startswith("https:") else 80)
        from onvif import ONVIFService

        from ..protocols import onvif as onvif_codec

        total = 2 * cfg.request_timeout + float(cfg.connect_timeout)
        secrets = (credential.password, credential.username)
        dog = Watchdog(total)
        _local.watchdog = dog
        try:
            with dog:
                try:
                    with _wsdl_lock:  # zeep's WSDL loader is not known to be thread-safe
                        service = ONVIFService(url, credential.username, credential.password, _wsdl_path(),
                                               no_cache=True, transport=_transport(cfg), binding_name=_BINDING)
                    harden(service.zeep_client.settings)
                except Exception as exc:
                    problem = classify(exc, dog.fired)
                    log.debug("onvif: %s: cannot set up the client: %s", host.ip, _scrub(str(exc), secrets))
                    self._problem(ctx, host, port, problem, "ONVIF client setup failed")
                    return
                calls = (
                    ("GetDeviceInformation", ArtefactKind.ONVIF_DEVICE_INFO, onvif_codec.parse_device_information),
                    ("GetNetworkInterfaces", ArtefactKind.ONVIF_DEVICE_INFO, onvif_codec.parse_network_interfaces),
                )
                for operation, kind, parse in calls:
                    if ctx.cancelled.is_set() or dog.fired:
                        return
                    try:
                        answer = getattr(service, operation)()
                    except Exception as exc:
                        problem = classify(exc, dog.fired)
                        log.debug("onvif: %s %s failed: %s", host.ip, operation, _scrub(str(exc), secrets))
                        self._problem(ctx, host, port, problem, f"{operation}: {problem}")
                        if problem in ("onvif-auth-failed", "onvif-timeout", "onvif-unreachable"):
                            return  # one failed login is enough; do not add to a lockout count
                        continue
                    mapping = ONVIFService.to_dict(answer)
                    if isinstance(mapping, list):  # GetNetworkInterfaces: a list of interfaces
                        mapping = {"NetworkInterfaces": mapping}
                    try:
                        made = parse(mapping, ip=host.ip, mac=host.mac, probe=self.name)
                    except Exception as exc:  # a codec bug must not end the scan
                        log.debug("onvif: codec failed on %s %s: %s", host.ip, operation, exc)
                        self._problem(ctx, host, port, "onvif-unparsed", f"{operation}: reply not understood")
                        continue
                    for observation in _as_list(made):
                        ctx.emit(observation)
        finally:
            _local.watchdog = None

    def _problem(self, ctx: ProbeContext, host: HostInfo, port: int, problem: str, detail: str) -> None:
        ctx.emit(Observation.make(self.name, ArtefactKind.ONVIF_DEVICE_INFO, ip=host.ip, mac=host.mac, port=port,
                                  raw=detail, problem=problem))


def _as_list(made: Observation | Iterable[Observation] | None) -> list[Observation]:
    if made is None:
        return []
    return [made] if isinstance(made, Observation) else list(made)

