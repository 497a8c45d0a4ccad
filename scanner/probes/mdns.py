"""mDNS / DNS-SD browse for the service types cameras and recorders announce.

Hikvision cameras answer ``_CGI._tcp`` with ``HIKVISION <model> - <serial tail>``; Axis, PSIA and
ONVIF devices have their own types. zeroconf does the protocol; we only choose the interface
(never all of them), bound the time, and keep the services whose address is in scope.
"""

from __future__ import annotations

import logging
import queue
import secrets
import time
from typing import Any

from ..config import ScanConfig
from ..models import Observation
from ..protocols import mdns as mdns_codec
from . import HostInfo, Probe, ProbeContext, register
from ._udp import (
    OnceEmitter,
    host_deadline,
    interface_address,
    unicast_ask,
    Quiet,
    window_deadline,
)

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

BROWSE_REPEAT = 1.25
"""Seconds until the browse has asked twice and the answers to the second query are due:
zeroconf's ServiceBrowser sends its first query 20-120 ms in and the second one second later
(zeroconf/_services/browser.py, _process_startup_queries), and responders wait up to 120 ms
(RFC 6762 section 6). After that the browse ends when answers have stopped arriving."""

RESOLVE_TIMEOUT = 1.0
"""Seconds at most to resolve one announced service (SRV/TXT/A)."""

MAX_SERVICES = 1024
"""Services resolved at most per scan: a chatty network cannot keep the probe busy forever."""



def services_from_records(records: list[Any]) -> list[dict[str, Any]]:
    """Group the records of a DNS-SD answer into services (PTR -> SRV/TXT -> A)."""
    from zeroconf import DNSAddress, DNSPointer, DNSService, DNSText

    services: dict[str, dict[str, Any]] = {}
    srv: dict[str, Any] = {}
    txt: dict[str, bytes] = {}
    addresses: dict[str, list[str]] = {}
    for record in records:
        name = record.name.lower()
        if isinstance(record, DNSPointer) and record.name.lower() in {t.lower() for t in SERVICE_TYPES}:
            services.setdefault(record.alias.lower(), {"type": record.name, "name": record.alias})
        elif isinstance(record, DNSService):
            srv[name] = record
        elif isinstance(record, DNSText):
            txt[name] = record.text
        elif isinstance(record, DNSAddress) and len(record.address) == 4:
            addresses.setdefault(name, []).append(".".join(str(b) for b in record.address))
    for key, service in services.items():
        record = srv.get(key)
        service["server"] = record.server if record is not None else None
        service["port"] = record.port if record is not None else None
        service["txt"] = [e.decode("utf-8", "replace") for e in mdns_codec.txt_entries(txt.get(key, b""))]
        service["addresses"] = addresses.get(record.server.lower(), []) if record is not None else []
    return list(services.values())


@register
class MdnsProbe(Probe):
    spec = mdns_codec.SPEC
    description = "mDNS/DNS-SD browse of camera/NVR service types (_CGI, _onvif, _rtsp, ...)"
    waits_for_discovery = True  # probe_host skips the hosts that answered the multicast round

    def __init__(self, config: ScanConfig) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts whose services the multicast browse already resolved."""

    def discover(self, ctx: ProbeContext) -> None:
        from zeroconf import (
            IPVersion,
            ServiceBrowser,
            ServiceInfo,
            ServiceStateChange,
            Zeroconf,
        )

        iface = interface_address(self.config.interface)
        deadline = window_deadline(self.config)
        announced: queue.Queue[tuple[str, str]] = queue.Queue()

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
            quiet = Quiet(BROWSE_REPEAT)
            while not ctx.cancelled.is_set() and len(resolved) < MAX_SERVICES and not quiet():
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
                quiet.heard()
                info = ServiceInfo(service_type, name)
                timeout = max(0.05, min(RESOLVE_TIMEOUT, deadline - time.monotonic()))
                if not info.request(zc, timeout * 1000):
                    log.debug("mdns: %s did not resolve in time", name)
                for observation in self._observations(ctx, service_type, name, info):
                    if observation.ip:
                        self._answered.add(observation.ip)
                    ctx.emit(observation)
        finally:
            if browser is not None:
                browser.cancel()
            zc.close()

    def _observations(
        self, ctx: ProbeContext, service_type: str, name: str, info: Any
    ) -> list[Observation]:
        from zeroconf import IPVersion

        addresses = [ip for ip in info.parsed_addresses(IPVersion.V4Only) if ctx.hears(ip)]
        if not addresses:
            # Unresolved, or (outside discovery) announced by a host outside the targets.
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

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """One legacy-unicast DNS-SD query to ``host:5353`` (RFC 6762 section 6.7).

        Sent from an ephemeral port, so the responder answers unicast to us: this reaches hosts
        on a routed segment, where multicast never arrives.
        """
        if ctx.cancelled.is_set() or host.ip in self._answered:
            return
        from zeroconf import DNSIncoming, DNSOutgoing, DNSQuestion
        from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_PTR

        iface = interface_address(self.config.interface)
        query = DNSOutgoing(_FLAGS_QR_QUERY, multicast=False, id_=secrets.randbelow(0xFFFF) + 1)
        for service_type in SERVICE_TYPES:
            query.add_question(DNSQuestion(service_type, _TYPE_PTR, _CLASS_IN))
        records: list[Any] = []

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            message = DNSIncoming(data, (ip, port))
            if not message.valid or not message.is_response() or message.id != query.id:
                return False
            records.extend(message.answers())
            return True

        unicast_ask(
            ctx, iface, query.packets(), (host.ip, mdns_codec.SPEC.udp[0]), on_reply,
            deadline=host_deadline(self.config, host.ip, iface)
        )
        emit = OnceEmitter(ctx)
        for service in services_from_records(records)[:MAX_SERVICES]:
            # The answer came from host.ip: it speaks for itself only. Address records naming
            # another host are not trusted (a device could pin its services on a neighbour).
            emit(
                mdns_codec.from_service(
                    service["type"], service["name"], server=service["server"],
                    service_port=service["port"], txt=service["txt"], probe=self.name, ip=host.ip,
                )
            )
