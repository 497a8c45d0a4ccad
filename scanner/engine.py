"""The scan engine: plan (check everything, send nothing), discover, probe live hosts, identify.

The engine knows no protocol: which probes exist, their order, which run first and which hold
connections come from the protocol declarations (``camsweep.protocols``), and what a per-host
step needs from discovery from the probe (``Probe.host_fields``). ``plan`` validates targets,
interface, methods and privileges and raises a CamsweepError before a single packet leaves.
``scan`` then runs every selected probe's ``discover`` at once (they share one listen window),
takes as live every in-scope host that answered anything (ARP, a discovery reply, a TCP
connect), and runs the per-host probes under a global concurrency limit, a per-host politeness
limit and a per-host time bound. Ctrl-C stops the probes and still returns what was found,
marked partial.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from . import audit, netif
from .bounds import ObservationBudget
from .config import ScanConfig
from .errors import CamsweepError, PrivilegeError, UsageError
from .models import ArtefactKind, Observation, ScanResult, utcnow
from .probes import HostInfo, Probe, ProbeContext, load_all
from .probes._tcp import HostSlots, Watchdog
from .protocols import spec as protocol_spec
from .targets import Targets, expand

log = logging.getLogger("camsweep")

EventHandler = Callable[[str, dict[str, Any]], None]
"""``on_event(kind, data)``, called from the scan's threads (a handler must be thread-safe and quick):

* "phase" {"name": "discover", "addresses": N, "expected": seconds discovery should take}
* "discover" {"answered": hosts that answered so far} -- about twice a second during discovery
* "phase" {"name": "hosts", "total": live hosts to probe}
* "progress" {"probed", "total", "devices": hosts found so far} -- after each host is probed
* "phase" {"name": "identify"} -- probing is over (also when interrupted)
"""

@dataclass(frozen=True)
class Plan:
    """A checked scan: what will be scanned, from where, with which probes."""

    config: ScanConfig
    targets: Targets
    interface: str | None
    probes: tuple[str, ...]
    skipped: tuple[str, ...]
    notes: tuple[str, ...]
    root: bool


class RateLimiter:
    """Paces packets across all probes: ``wait()`` before each send."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def available_probes() -> dict[str, type[Probe]]:
    """Every probe, in run order (a copy of the registry)."""
    return dict(load_all())


def _run_order(name: str) -> tuple[int, str]:
    declared = protocol_spec(name)
    return (declared.order if declared is not None and declared.method else 1 << 30, name)


def select_methods(spec: Iterable[str], known: Iterable[str]) -> tuple[list[str], bool]:
    """``("a,b",)`` -> methods a and b; ``("-a",)`` -> all but a; () -> all.

    Returns (selected names in engine order, whether the user named methods explicitly).
    Raises UsageError for an unknown name.
    """
    order = sorted(set(known), key=_run_order)
    include: list[str] = []
    exclude: set[str] = set()
    for token in (t.strip() for item in spec for t in str(item).split(",")):
        if not token:
            continue
        name = token[1:] if token[0] in "-!" else token.lstrip("+")
        if name not in order:
            raise UsageError(f"unknown method {name!r}; known methods: {', '.join(order)}")
        if token[0] in "-!":
            exclude.add(name)
        else:
            include.append(name)
    chosen = [m for m in order if (not include or m in include) and m not in exclude]
    if not chosen:
        raise UsageError("--methods leaves no method to run")
    return chosen, bool(include)


def _interface_for(targets: Targets) -> str | None:
    """The interface whose subnet holds the targets (no default route in a lab namespace)."""
    try:
        names = sorted(name for _, name in socket.if_nameindex())
    except OSError:
        return None
    for name in names:
        for net in netif.interface_networks(name):
            if any(net.overlaps(t) for t in targets.networks):
                return name
    return None


def plan(config: ScanConfig, *, registry: dict[str, type[Probe]] | None = None,
         root: bool | None = None) -> Plan:
    """Check what the configuration asks of this system (methods, targets, interface, privileges;
    each value was checked when the ScanConfig was built); raise a CamsweepError if anything is
    wrong. Sends nothing."""
    registry = available_probes() if registry is None else registry
    methods, explicit = select_methods(config.methods, registry)
    for name, probe_class in registry.items():
        option = probe_class.asked_for_by(config)
        if option and name not in methods:
            raise UsageError(f"{option} needs the {name} method, which --methods leaves out")
    interface = netif.choose_interface(config.interface) if config.interface else None
    notes: list[str] = []
    if config.targets or config.target_file:
        targets = expand(config.targets + config.target_file, exclude=config.exclude,
                         allow_public=config.allow_public, max_hosts=config.max_hosts)
    else:
        interface = netif.choose_interface(interface)
        nets = netif.interface_networks(interface)
        if not nets:
            raise UsageError(f"interface {interface!r} has no IPv4 subnet to scan; give targets")
        targets = expand([str(n) for n in nets], exclude=config.exclude, allow_public=config.allow_public,
                         max_hosts=config.max_hosts)
        notes.append(f"no targets given: scanning the subnets of {interface} ({', '.join(map(str, nets))})")
    if interface is None:
        interface = _interface_for(targets) or netif.default_route_interface()
    root = netif.has_raw_sockets() if root is None else root
    selected: list[str] = []
    skipped: list[str] = []
    for name in methods:
        if registry[name].needs_root and not root:
            if explicit:
                raise PrivilegeError(f"method {name!r} needs root or CAP_NET_RAW; run as root or leave it out")
            skipped.append(name)
            instead = registry[name].without_root
            notes.append(f"method {name} skipped: needs root or CAP_NET_RAW{'; ' + instead if instead else ''}")
            continue
        selected.append(name)
        notes += registry[name].plan_notes(config)
    resolved = replace(config, targets=tuple(str(n) for n in targets.networks), target_file=(), interface=interface,
                       allow_public=True, methods=tuple(selected))
    return Plan(resolved, targets, interface, tuple(selected), tuple(skipped), tuple(notes), root)


class _Collector:
    """Thread-safe store of observations; drops out-of-scope ones, late arrivals and what the
    budget (scanner/bounds.py: bytes and counts per host, per kind, in all) has no room for."""

    def __init__(self, targets: Targets, budget: ObservationBudget | None = None) -> None:
        self.targets = targets
        self.budget = budget or ObservationBudget()
        self.observations: list[Observation] = []
        self.lock = threading.Lock()
        self.closed = False
        self.seen: set[str] = set()
        """Addresses with at least one observation: the devices found so far (for progress)."""
        self._scope_cache: dict[str, bool] = {}

    def in_scope(self, ip: str) -> bool:
        hit = self._scope_cache.get(ip)
        if hit is None:
            hit = self._scope_cache[ip] = self.targets.contains(ip)
        return hit

    def emit(self, observation: Observation) -> None:
        if observation.ip is None and observation.mac is None:
            return
        if observation.ip is not None and not self.in_scope(observation.ip):
            log.debug("dropping an observation from out-of-scope %s (%s)", observation.ip, observation.probe)
            return
        with self.lock:
            if not self.closed and self.budget.admit(observation):
                self.observations.append(observation)
                self.seen.add(observation.ip or observation.mac or "")

    def snapshot(self) -> list[Observation]:
        with self.lock:
            return list(self.observations)


def live_hosts(observations: Iterable[Observation], wanted: Iterable[str] = ()) -> dict[str, HostInfo]:
    """Every host that answered anything, with its MAC, open ports and the values of the
    ``wanted`` field keys (what the selected per-host probes read, ``Probe.host_fields``)."""
    keys = tuple(dict.fromkeys(wanted))
    hosts: dict[str, HostInfo] = {}
    for o in observations:
        if o.ip is None:
            continue
        host = hosts.setdefault(o.ip, HostInfo(ip=o.ip))
        if o.mac and not host.mac:
            host.mac = o.mac
        if o.kind is ArtefactKind.OPEN_PORT and o.port:
            host.open_ports.add(o.port)
        for key in keys:
            value = o.fields.get(key)
            if value:
                values = host.seen.setdefault(key, [])
                if value not in values:
                    values.append(value)
    return hosts


def _identify(observations: list[Observation], plan_: Plan, started: Any, partial: bool,
              notes: list[str]) -> ScanResult:
    from .verdicts import identify_result

    return identify_result(observations, targets=plan_.targets.specs, mode="scan", started=started,
                           partial=partial, notes=tuple(notes), methods=plan_.probes)


def scan(config: ScanConfig, on_event: EventHandler | None = None, *,
         registry: dict[str, type[Probe]] | None = None) -> ScanResult:
    """Run a scan and return its result (partial if interrupted with Ctrl-C)."""
    checked = plan(config, registry=registry)
    return run(checked, on_event, registry=registry)


def run(checked: Plan, on_event: EventHandler | None = None, *,
        registry: dict[str, type[Probe]] | None = None) -> ScanResult:
    registry = available_probes() if registry is None else registry
    cfg = checked.config
    notify = on_event or (lambda kind, data: None)
    Watchdog.resume()  # an earlier scan in this process may have been interrupted
    started = utcnow()
    notes = list(checked.notes)
    collector = _Collector(checked.targets)
    cancelled = threading.Event()
    limiter = RateLimiter(cfg.rate)
    connections = HostSlots()  # like the rate limiter: one per scan, shared by every probe context
    probes = [registry[name](cfg) for name in checked.probes]
    partial = False
    log.info("scanning %d address(es) with %s", checked.targets.count, ", ".join(checked.probes))
    try:
        count = checked.targets.count
        notify("phase", {"name": "discover", "addresses": count,
                         "expected": cfg.listen_window + cfg.connect_timeout + 2.0 * count / cfg.rate})
        clock = time.monotonic()
        notes += _discover(probes, collector, cancelled, limiter, connections, cfg, count, notify)
        for kind in registry.values():  # selected or not: this sends nothing
            for observation in kind.known_without_sending(checked.interface, collector.in_scope):
                collector.emit(observation)
        hosts = live_hosts(collector.snapshot(), (key for p in probes for key in p.host_fields))
        for probe in probes:
            # A host that only refused a connection left no artefact but is alive all the same
            # (a probe may expose such hosts as `alive`); unicast discovery may still reach it.
            for ip in sorted(getattr(probe, "alive", ())):
                if collector.in_scope(ip):
                    hosts.setdefault(ip, HostInfo(ip=ip))
        log.info("discovery: %d live host(s) in %.1f s", len(hosts), time.monotonic() - clock)
        notify("phase", {"name": "hosts", "total": len(hosts)})
        clock = time.monotonic()
        notes += _probe_hosts(probes, hosts, collector, cancelled, limiter, connections, cfg, notify)
        log.info("per-host probes: %.1f s", time.monotonic() - clock)
    except KeyboardInterrupt:
        partial = True
        cancelled.set()
        Watchdog.stop_all()  # wake every probe blocked on a device now, not at its deadline
        notes.append("interrupted: the scan was stopped early; results are partial")
        log.warning("interrupted; keeping what was found so far")
    finally:
        cancelled.set()
    with collector.lock:
        collector.closed = True
        observations = list(collector.observations)
        notes += collector.budget.notes()
    notify("phase", {"name": "identify"})
    result = _identify(observations, checked, started, partial, notes)
    return replace(result, scope=tuple(str(net) for net in checked.targets.networks),
                   addresses=checked.targets.count,
                   **audit.at_scan_time(interface=checked.interface))


def _wait(futures: Iterable[cf.Future[Any]], deadline: float | None) -> set[cf.Future[Any]]:
    """Wait in short slices (so Ctrl-C is seen at once); return the futures not done.

    A future cancelled before it ran (``shutdown(cancel_futures=True)`` after Ctrl-C) is done, but
    ``cf.wait`` never says so (only a worker taking it up would): left to it, a host's coordinator
    would wait out the host's whole time limit, and the process with it."""
    pending = set(futures)
    while pending:
        slice_ = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
        if slice_ <= 0:
            break
        _, pending = cf.wait(pending, timeout=slice_)
        pending = {future for future in pending if not future.cancelled()}
    return pending


def _discover(probes: list[Probe], collector: _Collector, cancelled: threading.Event, limiter: RateLimiter,
              connections: HostSlots, cfg: ScanConfig, count: int, notify: EventHandler) -> list[str]:
    notes: list[str] = []
    stop = threading.Event()  # ends discovery only; `cancelled` ends the whole scan
    said: list[str] = []  # list.append is atomic: probes' threads may note at once
    ctx = ProbeContext(config=cfg, emit=collector.emit, cancelled=stop, in_scope=collector.in_scope,
                       wait_rate=limiter.wait, connections=connections, note=said.append)
    # Every discover() bounds itself; this cap only guards against a probe that does not.
    cap = cfg.listen_window + 2 * cfg.read_timeout + 3 * cfg.connect_timeout + 2.0 * count / cfg.rate + 10
    pool = cf.ThreadPoolExecutor(max_workers=max(1, len(probes)), thread_name_prefix="discover")
    def timed(probe: Probe) -> str | None:
        clock = time.monotonic()
        try:
            return _guarded(probe.name, probe.discover, ctx)
        finally:
            log.debug("discovery: %s took %.2f s", probe.name, time.monotonic() - clock)

    futures = {pool.submit(timed, p): p.name for p in probes}
    deadline = time.monotonic() + cap
    try:
        pending = set(futures)
        while pending and time.monotonic() < deadline:
            pending = _wait(pending, min(deadline, time.monotonic() + 0.5))
            notify("discover", {"answered": len(collector.seen)})  # a set's size: no lock needed
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
    notes += said
    for future, name in futures.items():
        if future in pending:
            notes.append(f"method {name} did not finish within {cap:.0f} s and was stopped")
        elif not future.cancelled():
            message = future.result()
            if message:
                notes.append(message)
    return notes


def _guarded(name: str, step: Callable[..., None], *args: Any) -> str | None:
    """Run one probe step; turn its failure into a note instead of ending the scan."""
    try:
        step(*args)
    except PrivilegeError as exc:
        return f"method {name} skipped: {exc}"
    except CamsweepError as exc:
        return f"method {name} failed: {exc}"
    except Exception as exc:  # a probe bug must not lose the other probes' results
        log.warning("method %s failed: %s", name, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return f"method {name} failed: {type(exc).__name__}: {exc}"
    return None


def _probe_hosts(probes: list[Probe], hosts: dict[str, HostInfo], collector: _Collector,
                 cancelled: threading.Event, limiter: RateLimiter, connections: HostSlots, cfg: ScanConfig,
                 notify: EventHandler) -> list[str]:
    notes: list[str] = []
    if not hosts:
        return notes
    per_host = [p for p in probes if type(p).probe_host is not Probe.probe_host]
    first = [p for p in per_host if p.spec.runs_first]
    rest = [p for p in per_host if not p.spec.runs_first]
    slots = threading.BoundedSemaphore(cfg.concurrency)
    host_events: dict[str, threading.Event] = {}
    failures: list[str] = []
    lock = threading.Lock()
    probed = 0

    def one(probe: Probe, ctx: ProbeContext, host: HostInfo) -> None:
        with slots:
            if ctx.cancelled.is_set():
                return
            clock = time.monotonic()
            message = _guarded(probe.name, probe.probe_host, ctx, host)
            log.debug("%s: %s took %.2f s", host.ip, probe.name, time.monotonic() - clock)
            if message:
                with lock:
                    failures.append(f"{host.ip}: {message}")

    # Twice the limit: a task waiting for its host's politeness gate holds a thread but no slot.
    workers = cf.ThreadPoolExecutor(max_workers=2 * cfg.concurrency, thread_name_prefix="probe")

    def host_job(host: HostInfo) -> None:
        nonlocal probed
        event = host_events[host.ip]
        ctx = ProbeContext(config=cfg, emit=collector.emit, cancelled=event, in_scope=collector.in_scope,
                           wait_rate=limiter.wait, connections=connections)
        deadline = time.monotonic() + cfg.host_timeout
        try:
            for probe in first:
                if _wait([workers.submit(one, probe, ctx, host)], deadline):
                    break  # the host's time is up already
            if time.monotonic() < deadline and not event.is_set():
                gate = threading.BoundedSemaphore(cfg.per_host)

                def polite(probe: Probe) -> None:
                    with gate:
                        one(probe, ctx, host)

                def start(probe: Probe) -> cf.Future[None]:
                    if probe.spec.holds_connections:  # at most `per_host` of these at a time
                        return workers.submit(polite, probe)
                    return workers.submit(one, probe, ctx, host)

                futures = [start(p) for p in rest]
                if _wait(futures, deadline):
                    with lock:
                        notes.append(f"{host.ip}: probing stopped after {cfg.host_timeout:g} s (host time limit)")
        finally:
            event.set()
            log.debug("%s: probed in %.2f s", host.ip, time.monotonic() - (deadline - cfg.host_timeout))
            with lock:
                probed += 1
                done = probed
            notify("progress", {"probed": done, "total": len(hosts), "devices": len(collector.seen)})

    for ip in hosts:
        host_events[ip] = threading.Event()
    # Coordinators only wait; the probe work itself is bounded by `slots`.
    coordinators = cf.ThreadPoolExecutor(max_workers=min(len(hosts), cfg.concurrency), thread_name_prefix="host")
    try:
        futures = [coordinators.submit(host_job, host) for host in hosts.values()]
        pending = set(futures)
        while pending:
            pending = _wait(pending, time.monotonic() + 0.5)
    except KeyboardInterrupt:
        for event in host_events.values():
            event.set()
        raise
    finally:
        if cancelled.is_set():
            for event in host_events.values():
                event.set()
        coordinators.shutdown(wait=False, cancel_futures=True)
        workers.shutdown(wait=False, cancel_futures=True)
    notes += sorted(failures)
    return notes
