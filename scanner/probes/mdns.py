"""mDNS / DNS-SD browse for the service types cameras and recorders announce.

Hikvision cameras answer ``_CGI._tcp`` with ``HIKVISION <model> - <serial tail>``; Axis, PSIA and
ONVIF devices have their own types. zeroconf does the protocol; we only choose the interface
(never all of them), bound the time, and keep the services whose address is in scope.
"""

from __future__ import annotations

import logging
import queue
import time
from typing import Any

from ..models import Observation
from ..protocols import mdns as mdns_codec
from . import Probe, ProbeContext, register
from ._udp import interface_address, window_deadline

log = logging.getLogger("camsweep")

SERVICE_TYPES = (
    "_CGI._tcp.local.",  # Hikvision
    "_http._tcp.local.",
    "_rtsp._tcp.local.",
    "_onvif._tcp.local.",
    "_device-info._tcp.local.",
    "_axis-video._tcp.local.",
    "_psia._tcp.local.",
)

RESOLVE_TIMEOUT = 1.0
"""Seconds at most to resolve one announced service (SRV/TXT/A)."""

MAX_SERVICES = 1024
"""Services resolved at most per scan: a chatty network cannot keep the probe busy forever."""


@register
class MdnsProbe(Probe):
    name = "mdns"
    description = "mDNS/DNS-SD browse of camera/NVR service types (_CGI, _onvif, _rtsp, ...)"

    def discover(self, ctx: ProbeContext) -> None:
        from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

        iface = interface_address(getattr(self.config, "interface", None))
        deadline = window_deadline(self.config)
        announced: "queue.Queue[tuple[str, str]]" = queue.Queue()

        def on_change(
            zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
        ) -> None:
            if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
                announced.put((service_type, name))

        try:
            zc = Zeroconf(interfaces=[iface.ip], ip_version=IPVersion.V4Only)
        except OSError as exc:
            log.warning("mdns: cannot listen on %s (%s); skipped", iface.ip, exc)
            return
        browser = None
        try:
            browser = ServiceBrowser(zc, list(SERVICE_TYPES), handlers=[on_change])
            resolved: set[tuple[str, str]] = set()
            while not ctx.cancelled.is_set() and len(resolved) < MAX_SERVICES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    service_type, name = announced.get(timeout=min(remaining, 0.1))
                except queue.Empty:
                    continue
                if (service_type, name) in resolved:
                    continue
                resolved.add((service_type, name))
                info = ServiceInfo(service_type, name)
                timeout = max(0.05, min(RESOLVE_TIMEOUT, deadline - time.monotonic()))
                if not info.request(zc, timeout * 1000):
                    log.debug("mdns: %s did not resolve in time", name)
                for observation in self._observations(ctx, service_type, name, info):
                    ctx.emit(observation)
        finally:
            if browser is not None:
                browser.cancel()
            zc.close()

    def _observations(
        self, ctx: ProbeContext, service_type: str, name: str, info: Any
    ) -> list[Observation]:
        from zeroconf import IPVersion

        addresses = [ip for ip in info.parsed_addresses(IPVersion.V4Only) if ctx.in_scope(ip)]
        if not addresses:
            # Unresolved, or announced by a host outside the scan: nothing we may report.
            return []
        return [
            mdns_codec.from_service(
                service_type,
                name,  # the codec cuts the full name to its instance label
                server=info.server,
                service_port=info.port,
                txt=info.properties,
                probe=self.name,
                ip=ip,
            )
            for ip in addresses
        ]
