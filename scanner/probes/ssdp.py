"""SSDP M-SEARCH and UPnP device descriptions.

Devices answer the search with a LOCATION URL; the description behind it names manufacturer and
model. We fetch a LOCATION only if its host is an in-scope IP literal (never a name, never a
redirect), with bounded connect/read times and a bounded, streamed body.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

from ..config import ScanConfig
from ..models import ArtefactKind, Observation
from ..protocols import upnp
from . import HostInfo, Probe, ProbeContext, register
from ._udp import (
    OnceEmitter,
    group_listener,
    host_deadline,
    interface_address,
    is_not_a_reply,
    multicast_round,
    udp_socket,
    unicast_ask,
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
"""Descriptions fetched at most per discover() / probe_host() call."""


def location_target(location: str, in_scope: Callable[[str], bool]) -> tuple[str, str] | None:
    """(url, host ip) if ``location`` is an http URL whose host is an in-scope IP literal.

    The URL returned is rebuilt from the checked address, port and path, never the device's
    string: urllib.parse and urllib3 disagree on some URLs (``http://evil.example\\@10.0.0.5/``
    is host 10.0.0.5 to urlsplit but evil.example to requests), so passing the device's text on
    would let a device send us to any host while the check saw an in-scope one.
    """
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname
        port = parts.port or 80
    except ValueError:
        return None  # a bad port
    if parts.scheme != "http" or not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a host name: resolving it could lead anywhere
    ip = str(address)
    if not in_scope(ip):
        return None
    authority = f"[{ip}]" if address.version == 6 else ip
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    path = path.replace("\\", "%5C")
    query = f"?{parts.query}" if parts.query else ""
    return f"http://{authority}:{port}{path}{query}", ip


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
    """(status, body, truncated): at most ``max_body`` bytes, no redirects, bounded in time.

    Reads with ``read1`` (one socket read per call), so a device dripping one byte at a time is
    cut off at ``total_timeout`` instead of holding us while each read waits for a full buffer.
    """
    started = time.monotonic()
    with session.get(
        url,
        stream=True,
        allow_redirects=False,
        timeout=(connect_timeout, read_timeout),
        headers={"User-Agent": "camsweep", "Accept": "text/xml, application/xml, */*"},
    ) as response:
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        truncated = False
        while size < max_body:
            if time.monotonic() - started > total_timeout:
                truncated = True  # a device dripping bytes: keep what came
                break
            chunk = raw.read1(min(8192, max_body + 1 - size), decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size >= max_body and not truncated:
            truncated = size > max_body or bool(raw.read1(1))
        return response.status_code, b"".join(chunks)[:max_body], truncated


class _DescriptionFetcher:
    """Fetches LOCATION descriptions in the background while the listen window is still open."""

    def __init__(self, probe: SsdpProbe, ctx: ProbeContext, source_ip: str) -> None:
        self._probe = probe
        self._ctx = ctx
        self._source_ip = source_ip
        self._pool = ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="ssdp-fetch")
        self._futures: list[Future[Observation | None]] = []
        self._urls: set[str] = set()

    def submit(self, url: str, ip: str) -> None:
        if url in self._urls or len(self._urls) >= MAX_LOCATIONS or self._ctx.cancelled.is_set():
            return
        self._urls.add(url)
        self._futures.append(self._pool.submit(self._probe._describe, self._ctx, self._source_ip, url, ip))

    def finish(self, emit: OnceEmitter, deadline: float) -> None:
        """Emit the descriptions fetched by ``deadline``; abandon the rest (each is time-bounded)."""
        try:
            for future in self._futures:
                remaining = deadline - time.monotonic()
                if self._ctx.cancelled.is_set() or remaining <= 0:
                    break
                try:
                    observation = future.result(timeout=remaining)
                except FutureTimeout:
                    break
                if observation is not None:
                    emit(observation)
            left = [f for f in self._futures if not f.done()]
            if left:
                log.info("ssdp: %d description fetch(es) not finished in time; skipped", len(left))
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)


@register
class SsdpProbe(Probe):
    name = "ssdp"
    description = "SSDP M-SEARCH and UPnP device description (manufacturer, model)"

    def __init__(self, config: ScanConfig) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts that already answered the multicast round: no need to ask them again."""

    def discover(self, ctx: ProbeContext) -> None:
        iface = interface_address(self.config.interface)
        emit = OnceEmitter(ctx)
        fetcher = _DescriptionFetcher(self, ctx, iface.ip)

        def on_reply(data: bytes, ip: str, port: int) -> None:
            if self._handle_reply(ctx, emit, fetcher, data, ip):
                self._answered.add(ip)

        requests = [(upnp.build_msearch(st, MX), (GROUP, PORT)) for st in SEARCH_TARGETS]
        # Answers come to our source port; NOTIFY announcements go to the group.
        listener = group_listener(iface, GROUP, PORT)
        try:
            with udp_socket(iface) as sender:
                multicast_round(
                    ctx, sender, requests, [listener], on_reply,
                    window_deadline(self.config), own_ips=[iface.ip],
                )
        finally:
            if listener is not None:
                listener.close()
            fetcher.finish(emit, time.monotonic() + self._fetch_time())

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """Unicast M-SEARCH (UPnP 1.1) to the host: covers routed segments without multicast."""
        if ctx.cancelled.is_set() or host.ip in self._answered:
            return
        iface = interface_address(self.config.interface)
        emit = OnceEmitter(ctx)
        fetcher = _DescriptionFetcher(self, ctx, iface.ip)

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            return self._handle_reply(ctx, emit, fetcher, data, ip)

        payload = upnp.build_msearch("ssdp:all", MX)
        try:
            unicast_ask(
                ctx, iface, [payload], (host.ip, PORT), on_reply, deadline=host_deadline(self.config)
            )
        finally:
            fetcher.finish(emit, time.monotonic() + self._fetch_time())

    def _fetch_time(self) -> float:
        """Seconds a description fetch may take in all: connect plus one bounded exchange."""
        config = self.config
        return config.connect_timeout + config.request_timeout

    def _handle_reply(
        self, ctx: ProbeContext, emit: OnceEmitter, fetcher: _DescriptionFetcher, data: bytes, ip: str
    ) -> bool:
        """Emit an answer or announcement and fetch its LOCATION; False for a client's request."""
        observation = upnp.parse_ssdp(data, probe=self.name, ip=ip)
        if is_not_a_reply(observation):
            return False  # another client's M-SEARCH heard on the group
        emit(observation)
        location = observation.fields.get("ssdp.location")
        if not location:
            return True
        target = location_target(location, ctx.in_scope)
        if target is None:
            log.debug("ssdp: not following LOCATION %r from %s (not an in-scope address)", location, ip)
            return True
        fetcher.submit(*target)
        return True

    def _describe(self, ctx: ProbeContext, source_ip: str, url: str, ip: str) -> Observation | None:
        import requests

        if ctx.cancelled.is_set():
            return None
        config = self.config
        port = urlsplit(url).port or 80
        try:
            with _source_bound_session(source_ip) as session:
                status, body, truncated = fetch_bounded(
                    session,
                    url,
                    connect_timeout=config.connect_timeout,
                    read_timeout=config.read_timeout,
                    max_body=config.max_body,
                    total_timeout=config.request_timeout,
                )
        except (requests.RequestException, OSError) as exc:
            log.debug("ssdp: fetching %s failed: %s", url, exc)
            return None
        except Exception as exc:  # noqa: BLE001 -- urllib3 read errors: a device never ends the scan
            log.debug("ssdp: reading %s failed: %s: %s", url, type(exc).__name__, exc)
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
