"""ONVIF device service (onvif-zeep): GetDeviceInformation and GetNetworkInterfaces.

Runs only for hosts the user's credentials file covers -- an authenticated call is a login attempt
(devices lock accounts out), so nothing is ever guessed. Two calls per host at most, sent through
the one bounded HTTP client (``_http_client.py``: time, size, ``--rate`` and per-host limits) by a
zeep transport; replies pass the project's XML policy before zeep parses them. The WSDL is read
from onvif-zeep's local copy and any remote schema import is refused, so nothing but the device is
contacted. Credentials are never logged or
recorded: only the outcome is ("onvif-auth-failed", ...). The MAC that GetNetworkInterfaces
reports lets a routed device (whose MAC ARP cannot see) be keyed by its MAC.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..config import ScanConfig
from ..models import ArtefactKind, Observation
from ..protocols import onvif as onvif_codec
from . import HostInfo, Probe, ProbeContext, register
from ._http_client import HttpClient, target_of

log = logging.getLogger("camsweep")

ONVIF_PORTS = (80, 8080, 8899, 8000, 888, 2020)
_BINDING = "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"
_wsdl_lock = threading.Lock()


def _wsdl_path() -> str:
    import onvif

    return os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl", "devicemgmt.wsdl")


class TransportProblem(Exception):
    """An ONVIF exchange the client could not complete; ``problem`` is the onvif-* slug."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem = problem


_CLIENT_PROBLEMS = {"http-timeout": "onvif-timeout", "http-refused": "onvif-unreachable",
                    "http-bad-reply": "onvif-unreachable"}
"""Client problems as ONVIF problems; a timeout or no usable exchange ends the host's calls."""


def transport(client: HttpClient, deadline: float) -> Any:
    """A zeep transport that sends through the one bounded HTTP client and nowhere else.

    Only public hooks of zeep's ``Transport`` are overridden: ``load`` (schemas: onvif-zeep's local
    copies only, a remote import is refused), ``get`` (refused: SOAP only posts) and ``post`` (the
    client's bounded exchange; the reply is screened by the project's own XML parser, then handed
    to zeep as a ``requests.Response`` built from its public attributes).
    """
    import requests
    from requests.structures import CaseInsensitiveDict
    from requests.utils import get_encoding_from_headers
    from zeep.transports import Transport

    from ..protocols._common import DOCUMENT_LIMIT, BadInput, parse_xml

    class ClientTransport(Transport):  # type: ignore[misc]
        def load(self, url: str) -> bytes:
            if urlsplit(url).scheme in ("http", "https"):
                raise OSError(f"remote schema import refused: {url}")
            return super().load(url)  # type: ignore[no-any-return]

        def get(self, address: str, params: Any, headers: Any) -> Any:
            raise OSError(f"ONVIF GET refused: {address}")

        def post(self, address: str, message: bytes | str, headers: Any) -> Any:
            body = message.encode("utf-8") if isinstance(message, str) else bytes(message)
            got = client.request("POST", address, body=body, headers=list(dict(headers).items()),
                                 deadline=deadline)
            if got.oversize:
                raise TransportProblem("onvif-oversize", f"reply larger than {client.limits.max_body} bytes")
            if got.problem is not None:
                raise TransportProblem(_CLIENT_PROBLEMS.get(got.problem, "onvif-error"), got.detail)
            if got.body.strip():
                try:  # the one XML policy (no DTD, entities, external references; size cap) first
                    parse_xml(got.body, DOCUMENT_LIMIT)
                except BadInput as exc:
                    if exc.slug in ("oversize", "xml-forbidden"):
                        raise TransportProblem("onvif-oversize" if exc.slug == "oversize" else "onvif-error",
                                               exc.problem) from None
                    # Not XML at all (an HTML error page): zeep says what it makes of it.
            response = requests.Response()
            response.status_code = got.status or 0
            response.headers = CaseInsensitiveDict(got.headers)
            response.encoding = get_encoding_from_headers(response.headers)
            response.url = address
            response.raw = io.BytesIO(got.body)  # `content` reads `raw`: no private attribute set
            return response

    return ClientTransport(timeout=client.limits.read_timeout, operation_timeout=client.limits.read_timeout)


def harden(settings: Any) -> None:
    """Parse device replies strictly as data: no DTD, no entities, no external fetches, libxml2 limits on.

    onvif-zeep builds its client with ``xml_huge_tree=True`` (libxml2's depth and node-size limits
    off) and zeep's defaults allow a DOCTYPE and external references. The WSDL has been read by
    now (from onvif-zeep's local copy); from here on zeep parses only what the device sends, under
    the same policy as every other XML parser of the project (``protocols/_common.XML_FORBID``).
    """
    from ..protocols._common import XML_FORBID

    for name, value in XML_FORBID.items():
        setattr(settings, name, value)
    settings.xml_huge_tree = False


def classify(exc: BaseException) -> str:
    """The observation problem for a failed ONVIF call (never the exception text itself).

    onvif-zeep wraps every error in ``ONVIFError``, so the transport's own problem is looked for
    along the exception chain.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, TransportProblem):
            return cause.problem
        cause = cause.__cause__ or cause.__context__
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
    spec = onvif_codec.SPEC
    description = "ONVIF GetDeviceInformation/GetNetworkInterfaces (only with --credentials for the host)"
    host_fields = ("onvif.xaddrs",)
    """The device service URLs WS-Discovery heard from the host."""

    @classmethod
    def plan_notes(cls, config: ScanConfig) -> list[str]:
        if config.credentials:
            return []
        return ["onvif: no --credentials given, so no authenticated ONVIF query was made"]

    def device_service_url(self, host: HostInfo) -> str | None:
        """The device service on the host itself: an XAddr naming the host's address, else a guess.

        The URL is rebuilt by the HTTP client's parser from the host's address and the XAddr's port
        and path, never passed on as the device wrote it: parsers disagree on some URLs
        (``http://evil.example\\@10.0.0.5/`` is 10.0.0.5 to one and evil.example to another),
        and this request carries a login.
        """
        xaddrs = dict.fromkeys(x for value in host.seen.get("onvif.xaddrs", ()) for x in value.split())
        for xaddr in xaddrs:
            try:
                target = target_of(xaddr)
            except ValueError:  # a bad port, a name, not http(s)
                continue
            if target.ip == host.ip:
                return target.url
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
        port = target_of(url).port
        from onvif import ONVIFService

        # Both calls share one time budget; each exchange is also bounded by request_timeout.
        deadline = time.monotonic() + 2 * cfg.request_timeout + cfg.connect_timeout
        secrets = (credential.password, credential.username)
        client = HttpClient.for_context(ctx)
        try:
            with _wsdl_lock:  # zeep's WSDL loader is not known to be thread-safe
                service = ONVIFService(url, credential.username, credential.password, _wsdl_path(),
                                       no_cache=True, transport=transport(client, deadline), binding_name=_BINDING)
            harden(service.zeep_client.settings)
        except Exception as exc:
            problem = classify(exc)
            log.debug("onvif: %s: cannot set up the client: %s", host.ip, _scrub(str(exc), secrets))
            self._problem(ctx, host, port, problem, "ONVIF client setup failed")
            return
        calls = (
            ("GetDeviceInformation", ArtefactKind.ONVIF_DEVICE_INFO, onvif_codec.parse_device_information),
            ("GetNetworkInterfaces", ArtefactKind.ONVIF_DEVICE_INFO, onvif_codec.parse_network_interfaces),
        )
        for operation, kind, parse in calls:
            if ctx.cancelled.is_set() or time.monotonic() >= deadline:
                return
            try:
                answer = getattr(service, operation)()
            except Exception as exc:
                problem = classify(exc)
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

    def _problem(self, ctx: ProbeContext, host: HostInfo, port: int, problem: str, detail: str) -> None:
        ctx.emit(Observation.make(self.name, ArtefactKind.ONVIF_DEVICE_INFO, ip=host.ip, mac=host.mac, port=port,
                                  raw=detail, problem=problem))


def _as_list(made: Observation | Iterable[Observation] | None) -> list[Observation]:
    if made is None:
        return []
    return [made] if isinstance(made, Observation) else list(made)

