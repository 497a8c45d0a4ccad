"""TCP connect scan of the configured ports; it also tells the engine which hosts are alive.

Two steps keep a sweep of a few hundred mostly empty addresses short: first one connect per
address (an accepted *or refused* connection proves the host is up), then every configured port
of the hosts that proved alive. Hosts other probes find alive later (ARP, discovery answers) get
their full port scan in ``probe_host``. Connects are non-blocking, bounded in number in flight,
paced by the scan's packet rate, and closed as soon as they complete: no payload is sent.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import threading
import time

from .. import netif
from ..config import ScanConfig
from ..protocols import ports as ports_codec
from ..targets import expand
from . import HostInfo, Probe, ProbeContext, register
from ._tcp import CLOSED, NO_BUFFERS, OPEN, SweepQueue, connect_sweep

log = logging.getLogger("camsweep")

RECOVERY_TIME = 30.0
"""Seconds at most spent asking again, paced, the addresses that stayed silent while the kernel's
neighbour table was full; addresses left over are counted in the note (``Probe.extra_time``)."""

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
        table = netif.neighbour_table()
        self._sweep(ctx, SweepQueue((ip, ports[0]) for ip in hosts), MAX_INFLIGHT, ports[1:], retry)
        if self._overflowed(table) and not ctx.cancelled.is_set():
            self._recover(ctx, [ip for ip in hosts if ip not in self.alive], ports, table.limit)
        log.debug("ports: %d of %d addresses answered (%s)", len(self.alive), len(hosts),
                  ", ".join(f"{n} {state}" for state, n in sorted(self.states.items())))

    @classmethod
    def extra_time(cls, config: ScanConfig) -> float:
        return RECOVERY_TIME + netif.NEIGH_SETTLE

    def _overflowed(self, before: netif.NeighbourTable) -> bool:
        """Did the kernel's neighbour table overflow since ``before`` (or a connect say ENOBUFS)?"""
        return netif.neighbour_table_grew(before) or self.states.get(NO_BUFFERS, 0) > 0

    def _recover(self, ctx: ProbeContext, silent: list[str], ports: tuple[int, ...], limit: int | None) -> None:
        """Ask the silent addresses again, paced so the table never holds more new entries than
        half its limit within the kernel's collection age; note what is still silent.

        A SYN that found the table full was dropped without a word to the socket: those hosts
        timed out like absent ones. After ``NEIGH_SETTLE`` the entries the sweep made may be
        collected, so a paced second pass reaches them."""
        pace = max(1.0, (limit or netif.NEIGH_DEFAULT_LIMIT) / 2 / netif.NEIGH_SETTLE)  # new entries per second
        budget = int(pace * RECOVERY_TIME)
        todo, left_over = silent[:budget], len(silent) - min(len(silent), budget)
        log.info("ports: neighbour table overflowed; asking %d silent address(es) again at %.0f/s", len(todo), pace)
        if ctx.cancelled.wait(netif.NEIGH_SETTLE):
            return
        self.states.pop(NO_BUFFERS, None)
        table = netif.neighbour_table()
        interval = 1.0 / pace
        next_send = time.monotonic()

        def paced() -> None:
            nonlocal next_send
            delay = next_send - time.monotonic()
            if delay > 0:
                ctx.cancelled.wait(delay)
            next_send = max(next_send + interval, time.monotonic())
            ctx.wait_rate()

        self._sweep(dataclasses.replace(ctx, wait_rate=paced), SweepQueue((ip, ports[0]) for ip in todo),
                    MAX_INFLIGHT, ports[1:])
        still = [ip for ip in todo if ip not in self.alive]
        log.info("ports: %d of %d recovered after the neighbour table overflow", len(todo) - len(still), len(todo))
        if self._overflowed(table) or left_over:
            # Still overflowing (or no time to ask them all): some silent addresses may be hosts.
            lost = len(still) + left_over
            ctx.note(netif.neighbour_overflow_note(
                f"the host sweep: {lost} address(es) still gave no answer after a paced retry"
                + (f" ({left_over} not asked again: no time)" if left_over else "")
                + " and may be live hosts this scan missed", limit))
        else:
            ctx.note(f"{netif.NEIGH_OVERFLOW} ('neighbour table overflow') during the host sweep; "
                     f"a paced retry of the {len(todo)} silent address(es) found {len(todo) - len(still)} more "
                     "host(s) and the table kept room, so the rest are taken as absent")

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
