"""SSDP M-SEARCH and UPnP device descriptions.

Devices answer the search with a LOCATION URL; the description behind it names manufacturer and
model. We fetch a LOCATION only if its host is an in-scope IP literal (never a name, never a
redirect), with bounded connect/read times and a bounded, streamed body.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from ..models import ArtefactKind, Observation
from ..protocols import upnp
from . import HostInfo, Probe, ProbeContext, register
from ._udp import (
    OnceEmitter,
    interface_address,
    multicast_round,
    udp_socket,
    unicast_ask,
    host_deadline,
    window_deadline,
)

log = logging.getLogger("camsweep")

GROUP = "239.255.255.250"
PORT = 1900
SEARCH_TARGETS = ("ssdp:all", "upnp:rootdevice")
MX = 1
"""Seconds devices may wait before answering (spread); short, so answers fit the listen window."""

FETCH_WORKERS = 8
MAX_LOCATIONS = 256
"""Descriptions fetched at most per scan."""


def location_target(location: str, in_scope: Any) -> tuple[str, str] | None:
    """(url, host ip) if ``location`` is an http URL whose host is an in-scope IP literal."""
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme != "http" or not host:
        return None
    try:
        ip = str(ipaddress.ip_address(host))
    except ValueError:
        return None  # a host name: resolving it could lead anywhere
    if not in_scope(ip):
        return None
    return location.strip(), ip


def _source_bound_session(source_ip: str) -> Any:
    """A requests session that connects from ``source_ip`` and ignores proxy settings."""
    import requests
    from requests.adapters import HTTPAdapter

    class SourceAddressAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = (source_ip, 0)
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: talk to the device directly
    adapter = SourceAddressAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def fetch_bounded(
    session: Any, url: str, *, connect_timeout: float, read_timeout: float, max_body: int,
    total_timeout: float,
) -> tuple[int, bytes, bool]:
    """(status, body, truncated): at most ``max_body`` bytes, no redirects, bounded in time."""
    started = time.monotonic()
    with session.get(
        url,
        stream=True,
        allow_redirects=False,
        timeout=(connect_timeout, read_timeout),
        headers={"User-Agent": "camsweep", "Accept": "text/xml, application/xml, */*"},
    ) as response:
        chunks: list[bytes] = []
        size = 0
        truncated = False
        for chunk in response.iter_content(chunk_size=8192):
            chunks.append(chunk)
            size += len(chunk)
            if size >= max_body:
                truncated = size > max_body
                break
            if time.monotonic() - started > total_timeout:
                truncated = True  # a device dripping bytes: keep what came
                break
        return response.status_code, b"".join(chunks)[:max_body], truncated


@register
class SsdpProbe(Probe):
    name = "ssdp"
    description = "SSDP M-SEARCH and UPnP device description (manufacturer, model)"

    def __init__(self, config: object) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts that already answered the multicast round: no need to ask them again."""

    def discover(self, ctx: ProbeContext) -> None:
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx)
        locations: dict[str, str] = {}

        def on_reply(data: bytes, ip: str, port: int) -> None:
            self._answered.add(ip)
            self._handle_reply(ctx, emit, locations, data, ip)

        requests = [(upnp.build_msearch(st, MX), (GROUP, PORT)) for st in SEARCH_TARGETS]
        with udp_socket(iface) as sender:
            multicast_round(
                ctx, sender, [(_bytes(p), a) for p, a in requests], [], on_reply,
                window_deadline(self.config), own_ips=[iface.ip],
            )
        self._fetch_descriptions(ctx, emit, iface.ip, locations)

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """Unicast M-SEARCH (UPnP 1.1) to the host: covers routed segments without multicast."""
        if ctx.cancelled.is_set():
            return
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx)
        locations: dict[str, str] = {}

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            self._handle_reply(ctx, emit, locations, data, ip)
            return True

        payload = _bytes(upnp.build_msearch("ssdp:all", MX))
        unicast_ask(ctx, iface, [payload], (host.ip, PORT), on_reply, deadline=host_deadline(self.config))
        self._fetch_descriptions(ctx, emit, iface.ip, locations)

    def _handle_reply(
        self, ctx: ProbeContext, emit: OnceEmitter, locations: dict[str, str], data: bytes, ip: str
    ) -> None:
        if data.startswith(b"M-SEARCH"):
            return  # another client's search, not an answer
        observation = upnp.parse_ssdp(data, probe=self.name, ip=ip)
        emit(observation)
        location = observation.fields.get("ssdp.location")
        if not location or len(locations) >= MAX_LOCATIONS:
            return
        target = location_target(location, ctx.in_scope)
        if target is None:
            log.debug("ssdp: not following LOCATION %r from %s (not an in-scope address)", location, ip)
            return
        locations.setdefault(target[0], target[1])

    def _fetch_descriptions(
        self, ctx: ProbeContext, emit: OnceEmitter, source_ip: str, locations: dict[str, str]
    ) -> None:
        if not locations or ctx.cancelled.is_set():
            return
        session = _source_bound_session(source_ip)
        try:
            with ThreadPoolExecutor(max_workers=min(FETCH_WORKERS, len(locations))) as pool:
                results = pool.map(lambda item: self._describe(ctx, session, *item), locations.items())
                for observation in results:
                    if observation is not None:
                        emit(observation)
        finally:
            session.close()

    def _describe(self, ctx: ProbeContext, session: Any, url: str, ip: str) -> Observation | None:
        import requests

        if ctx.cancelled.is_set():
            return None
        config = self.config
        port = urlsplit(url).port or 80
        try:
            status, body, truncated = fetch_bounded(
                session,
                url,
                connect_timeout=float(getattr(config, "connect_timeout", 1.0)),
                read_timeout=float(getattr(config, "read_timeout", 2.0)),
                max_body=int(getattr(config, "max_body", 256 * 1024)),
                total_timeout=float(getattr(config, "host_timeout", 8.0)),
            )
        except requests.RequestException as exc:
            log.debug("ssdp: fetching %s failed: %s", url, exc)
            return None
        if status != 200:
            return Observation.make(
                self.name, ArtefactKind.UPNP_DESCRIPTION, ip=ip, port=port,
                raw=body, problem=f"description {url} answered HTTP {status}",
            )
        observation = upnp.parse_description(body, probe=self.name, ip=ip, port=port)
        if truncated and observation.problem is None:
            # Fields from a cut document may be incomplete: say so, keep what was parsed.
            log.debug("ssdp: description %s cut at %d bytes", url, len(body))
        return observation


def _bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload
