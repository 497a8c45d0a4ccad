"""TCP connect scan of the configured ports; it also tells the engine which hosts are alive.

Two steps keep a sweep of a few hundred mostly empty addresses short: first one connect per
address (an accepted *or refused* connection proves the host is up), then every configured port
of the hosts that proved alive. Hosts other probes find alive later (ARP, discovery answers) get
their full port scan in ``probe_host``. Connects are non-blocking, bounded in number in flight,
paced by the scan's packet rate, and closed as soon as they complete: no payload is sent.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time

from .. import netif
from ..config import ScanConfig
from ..protocols import ports as ports_codec
from ..targets import expand
from . import HostInfo, Probe, ProbeContext, register
from ._tcp import CLOSED, OPEN, SweepQueue, connect_sweep

log = logging.getLogger("camsweep")

MAX_INFLIGHT = 512
"""Connects in flight at once (file descriptors) during the sweep."""


@register
class PortsProbe(Probe):
    spec = ports_codec.SPEC
    description = "TCP connect scan of the configured ports (also finds live hosts)"

    def __init__(self, config: ScanConfig) -> None:
        super().__init__(config)
        self._lock = threading.Condition()
        self._scanned: set[str] = set()
        self._sweeping: dict[str, set[int]] = {}
        """Ports the sweep queued for a host that proved alive and has not resolved yet."""
        self.open_ports: dict[str, set[int]] = {}
        self.alive: set[str] = set()
        self.states: dict[str, int] = {}

    def _ports(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(int(p) for p in self.config.ports))

    def _sweep(self, ctx: ProbeContext, queue: SweepQueue, inflight: int, rest: tuple[int, ...] = (),
               retry: set[str] | None = None) -> None:
        """Run the sweep; a host that proves alive gets the ports in ``rest`` queued at once, an
        address in ``retry`` that stays silent is asked once more the moment it has (same port)."""
        cfg = self.config
        retry = set() if retry is None else retry
        for ip, port, state in connect_sweep(
            queue, timeout=cfg.connect_timeout, max_inflight=inflight,
            wait_rate=ctx.wait_rate, cancelled=ctx.cancelled,
        ):
            self.states[state] = self.states.get(state, 0) + 1
            if state not in (OPEN, CLOSED) and ip in retry:
                retry.discard(ip)
                if ip not in self.alive:
                    queue.add([(ip, port)])
                    continue
            if state in (OPEN, CLOSED):
                with self._lock:
                    # A host whose per-host step already scans it needs no ports queued here.
                    queue_rest = bool(rest) and ip not in self.alive and ip not in self._scanned
                    self.alive.add(ip)
                    self._scanned.add(ip)
                    if queue_rest:
                        self._sweeping[ip] = set(rest)
                if queue_rest:
                    queue.add((ip, p) for p in rest)
                if state == CLOSED:
                    ctx.alive(ip)
            if state == OPEN:
                with self._lock:
                    fresh = port not in self.open_ports.setdefault(ip, set())
                    self.open_ports[ip].add(port)
                if fresh:
                    ctx.emit(ports_codec.open_port(self.name, ip, port, raw=f"{ip}:{port}/tcp open"))
            with self._lock:  # last: the port is recorded before a waiting probe_host reads it
                waiting = self._sweeping.get(ip)
                if waiting is not None:
                    waiting.discard(port)
                    if not waiting:
                        del self._sweeping[ip]
                        self._lock.notify_all()

    def discover(self, ctx: ProbeContext) -> None:
        ports = self._ports()
        if not ports:
            return
        cfg = self.config
        scope = expand(cfg.targets, allow_public=True, max_hosts=cfg.max_hosts,
                       resolve=lambda name: [])
        interface = cfg.interface
        on_link = netif.interface_networks(interface) if interface else []

        def routed(ip: str) -> bool:
            return not any(ipaddress.ip_address(ip) in net for net in on_link)

        # On-link addresses are the ARP sweep's when it runs: a host that does not answer ARP
        # cannot answer a SYN either (the kernel would ARP for it first), and each silent one would
        # cost a connect timeout and three more ARP requests from the kernel. Hosts the ARP sweep
        # finds get their ports scanned by probe_host as soon as they are found.
        arp_sweeps = "arp" in cfg.methods
        hosts = [ip for ip in scope.hosts() if ctx.in_scope(ip) and (not arp_sweeps or routed(ip))]
        # One connect per address finds who is there (accepted or refused: alive); the other
        # ports of a live host are queued the moment it answers, ahead of the remaining sweep.
        # A routed address that stays silent gets one more try at once: its first SYN may have
        # been dropped on the way (a router's neighbour table full, its ARP queue overrun), and no
        # ARP sweep or neighbour table vouches for hosts behind a router.
        retry = {ip for ip in hosts if routed(ip)}
        self._sweep(ctx, SweepQueue((ip, ports[0]) for ip in hosts), MAX_INFLIGHT, ports[1:], retry)
        log.debug("ports: %d of %d addresses answered (%s)", len(self.alive), len(hosts),
                  ", ".join(f"{n} {state}" for state, n in sorted(self.states.items())))

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """Scan the host's ports unless the sweep does; then hand over its open ports.

        The engine starts hosts while the sweep runs: a host the sweep found alive has its other
        ports in flight, so this waits (bounded) until they resolve, or the steps that read
        ``host.open_ports`` would miss some."""
        with self._lock:
            todo = host.ip not in self._scanned
            self._scanned.add(host.ip)
        if todo:
            self._sweep(ctx, SweepQueue((host.ip, port) for port in self._ports()), 16)
        deadline = time.monotonic() + 2 * self.config.connect_timeout + len(self._ports()) / self.config.rate
        with self._lock:
            while host.ip in self._sweeping and not ctx.cancelled.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(min(left, 0.2))
            host.open_ports |= self.open_ports.get(host.ip, set())
