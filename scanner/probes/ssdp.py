"""SSDP M-SEARCH and UPnP device descriptions.

Devices answer the search with a LOCATION URL; the description behind it names manufacturer and
model. We fetch a LOCATION only if its host is an in-scope IP literal (never a name, never a
redirect), through the one bounded HTTP client (``_http_client.py``): the scan's time and size
limits, ``--rate`` pacing and per-host connection limit, like every other HTTP request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from ..config import ScanConfig
from ..models import ArtefactKind, Observation
from ..protocols import upnp
from . import HostInfo, Probe, ProbeContext, register
from ._http_client import HttpClient, target_of
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

SEARCH_TARGETS = ("ssdp:all", "upnp:rootdevice")
MX = 1
"""Seconds devices may wait before answering (spread); short, so answers fit the listen window."""

FETCH_WORKERS = 8
MAX_LOCATIONS = 256
"""Descriptions fetched at most per discover() / probe_host() call."""


def location_target(location: str, in_scope: Callable[[str], bool]) -> tuple[str, str] | None:
    """(url, host ip) if ``location`` is an http URL whose host is an in-scope IP literal.

    The URL returned is rebuilt by the HTTP client's own parser from the checked address, port and
    path, never the device's string: parsers disagree on some URLs (``http://evil.example\\@10.0.0.5/``
    is host 10.0.0.5 to urlsplit but evil.example to requests), so the host checked here is the
    host the client connects to.
    """
    try:
        target = target_of(location)
    except ValueError:
        return None  # not http(s), a host name (resolving it could lead anywhere), or a bad port
    if target.scheme != "http" or not in_scope(target.ip):
        return None
    return target.url, target.ip


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
    spec = upnp.SPEC
    description = "SSDP M-SEARCH and UPnP device description (manufacturer, model)"
    waits_for_discovery = True  # probe_host skips the hosts that answered the multicast round

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

        requests = [(upnp.build_msearch(st, MX), (upnp.GROUP, upnp.PORT)) for st in SEARCH_TARGETS]
        # Answers come to our source port; NOTIFY announcements go to the group.
        listener = group_listener(iface, upnp.GROUP, upnp.PORT)
        try:
            with udp_socket(iface) as sender:
                multicast_round(
                    ctx, sender, requests, [listener], on_reply,
                    window_deadline(self.config), own_ips=[iface.ip], answer_delay=MX,
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
                ctx, iface, [payload], (host.ip, upnp.PORT), on_reply,
                deadline=host_deadline(self.config, host.ip, iface)
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
        if ctx.cancelled.is_set():
            return None
        got = HttpClient.for_context(ctx, source_ip=source_ip).get(url)
        port = target_of(url).port
        if got.status is None:
            log.debug("ssdp: fetching %s failed: %s: %s", url, got.problem, got.detail)
            return None
        if got.status != 200:
            return Observation.make(
                self.name, ArtefactKind.UPNP_DESCRIPTION, ip=ip, port=port,
                raw=got.body, problem=f"description {url} answered HTTP {got.status}",
            )
        observation = upnp.parse_description(got.body, probe=self.name, ip=ip, port=port)
        if (got.oversize or got.problem) and observation.problem is None:
            # Fields from a cut document may be incomplete: say so, keep what was parsed.
            log.debug("ssdp: description %s cut at %d bytes (%s)", url, len(got.body), got.problem or "oversize")
        return observation
