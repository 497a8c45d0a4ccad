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
import ipaddress
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
from .probes._udp import UNCONFIGURED
from .protocols import spec as protocol_spec
from .targets import Targets, expand, is_public

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
    """Paces packets across all probes: ``wait()`` before each send.

    Each send has a slot on a fixed schedule of ``rate`` per second. A sender that woke late (a
    loaded machine oversleeps every 1 ms wait) may use slots up to ``CATCH_UP`` seconds in the
    past, so lateness is not added to every packet: without it 1,000 packets/s became a few
    hundred under load. Over any second at most ``rate * (1 + CATCH_UP)`` packets leave."""

    CATCH_UP = 0.02

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now - self.CATCH_UP, self._next)
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
    """Thread-safe store of observations; drops out-of-scope ones (except strays heard during
    discovery), late arrivals, repeats (same probe, host, kind, port, fields and problem: nothing a
    verdict could use twice) and what the budget (scanner/bounds.py: bytes and counts per host,
    per kind, in all) has no room for."""

    def __init__(self, targets: Targets, budget: ObservationBudget | None = None) -> None:
        self.targets = targets
        self.on_new_host: Callable[[Observation], None] | None = None
        """Called (outside the lock) with the first kept observation of each new IP."""
        self.budget = budget or ObservationBudget()
        self.observations: list[Observation] = []
        self.lock = threading.Lock()
        self.closed = False
        self.seen: set[str] = set()
        """Addresses with at least one observation: the devices found so far (for progress)."""
        self.strays: set[str] = set()
        """IPs (or, for a unit answering from 0.0.0.0, MACs) outside the targets that answered
        discovery on the local segment."""
        self._scope_cache: dict[str, bool] = {}
        self._kept: set[tuple[object, ...]] = set()
        """What was kept, less its time and raw text: a repeat of it cannot change a verdict."""

    def in_scope(self, ip: str) -> bool:
        hit = self._scope_cache.get(ip)
        if hit is None:
            hit = self._scope_cache[ip] = self.targets.contains(ip)
        return hit

    def admit_strays(self, ips: Iterable[str]) -> None:
        """``--probe-strays``: these stray addresses become in scope (probed like targets)."""
        for ip in ips:
            self._scope_cache[ip] = True

    def emit(self, observation: Observation) -> None:
        self._keep(observation, heard=False)

    def emit_heard(self, observation: Observation) -> None:
        """Discovery's emit: an answer from outside the targets is kept, as a stray."""
        self._keep(observation, heard=True)

    def _keep(self, observation: Observation, heard: bool) -> None:
        stray = False
        if observation.ip == UNCONFIGURED:
            # A unit without an address (factory state) answers from 0.0.0.0: known by its MAC.
            observation = replace(observation, ip=None)
            stray = True
        if observation.ip is None and observation.mac is None:
            return
        if observation.ip is not None and not self.in_scope(observation.ip):
            if not heard:
                log.debug("dropping an observation from out-of-scope %s (%s)", observation.ip, observation.probe)
                return
            stray = True
        same = (observation.probe, observation.kind, observation.ip, observation.mac, observation.port,
                tuple(sorted(observation.fields.items())), observation.problem)
        with self.lock:
            if same in self._kept or self.closed or not self.budget.admit(observation):
                return  # a repeat (the first is kept: its time is when it was first seen), late, or no room
            self._kept.add(same)
            self.observations.append(observation)
            key = observation.ip or observation.mac or ""
            new = key not in self.seen
            self.seen.add(key)
            if stray:
                self.strays.add(key)
        if new and not stray and observation.ip is not None and self.on_new_host is not None:
            self.on_new_host(observation)  # a stray is sent nothing (--probe-strays: after discovery)

    def snapshot(self) -> list[Observation]:
        with self.lock:
            return list(self.observations)


def mark_strays(result: ScanResult, strays: set[str], in_scope: Callable[[str], bool]) -> ScanResult:
    """Mark the devices that answered from outside the targets (none of their IPs in scope)."""
    if not strays:
        return result
    marked = []
    for item in result.devices:
        device = item.device
        outside = (any(a in strays for a in (*device.ips, *device.macs))
                   and not any(in_scope(ip) for ip in device.ips))
        marked.append(replace(item, device=replace(device, outside_targets=True)) if outside else item)
    return replace(result, devices=tuple(marked))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _stray_note(strays: list[str], probed: bool) -> str:
    """The scan's note on what answered from outside the targets (IPs, or MACs of units without one)."""
    shown = ", ".join(strays[:10]) + (f" and {len(strays) - 10} more" if len(strays) > 10 else "")
    done = ("private ones were probed (--probe-strays)" if probed
            else "reported from what they sent, not probed (--probe-strays probes private ones)")
    return f"{len(strays)} device(s) outside the targets answered discovery on the local segment ({shown}): {done}"


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
    whole = netif.neighbour_table()  # a full table loses connects silently: the result must say so
    on_link = netif.interface_networks(checked.interface) if checked.interface else []
    hosts = _HostScheduler(probes, collector, cancelled, limiter, connections, cfg, notify, on_link)
    collector.on_new_host = lambda first: hosts.offer(HostInfo(ip=first.ip or "", mac=first.mac))
    try:
        count = checked.targets.count
        notify("phase", {"name": "discover", "addresses": count,
                         "expected": cfg.listen_window + cfg.connect_timeout + 2.0 * count / cfg.rate})
        clock = time.monotonic()
        notes += _discover(probes, collector, cancelled, limiter, connections, cfg, count, notify,
                           on_round_over=hosts.round_over, alive=lambda ip: hosts.offer(HostInfo(ip=ip)))
        for kind in registry.values():  # selected or not: this sends nothing
            for observation in kind.known_without_sending(checked.interface, collector.in_scope):
                collector.emit(observation)
        if collector.strays:
            notes.append(_stray_note(sorted(collector.strays), cfg.probe_strays))
        if cfg.probe_strays:
            # Private as for targets (without --allow-public): RFC 1918, link-local, CGNAT, test nets.
            collector.admit_strays(ip for ip in collector.strays
                                   if _is_ip(ip) and not is_public(ipaddress.IPv4Network(ip)))
        live = {ip: host for ip, host in live_hosts(collector.snapshot(), hosts.keys).items()
                if collector.in_scope(ip)}  # a stray is sent nothing more (unless admitted above)
        for probe in probes:
            # A host that only refused a connection left no artefact but is alive all the same
            # (a probe may expose such hosts as `alive`); unicast discovery may still reach it.
            for ip in sorted(getattr(probe, "alive", ())):
                if collector.in_scope(ip):
                    live.setdefault(ip, HostInfo(ip=ip))
        hosts.discovery_heard()
        for host in live.values():
            hosts.offer(host)
        log.info("discovery: %d live host(s) in %.1f s", hosts.total, time.monotonic() - clock)
        notify("phase", {"name": "hosts", "total": hosts.total})
        notes += hosts.finish()
        log.info("per-host probes done %.1f s after discovery", time.monotonic() - clock)
        if netif.neighbour_table_grew(whole) and not any(netif.NEIGH_OVERFLOW in note for note in notes):
            # Connects dropped for want of a neighbour entry fail silently: say what may be missing.
            notes.append(netif.neighbour_overflow_note("the scan: some hosts or their answers may be missing",
                                                       whole.limit))
    except KeyboardInterrupt:
        partial = True
        cancelled.set()
        Watchdog.stop_all()  # wake every probe blocked on a device now, not at its deadline
        notes.append("interrupted: the scan was stopped early; results are partial")
        log.warning("interrupted; keeping what was found so far")
    finally:
        cancelled.set()
        hosts.stop()
    with collector.lock:
        collector.closed = True
        observations = list(collector.observations)
        notes += collector.budget.notes()
    notify("phase", {"name": "identify"})
    result = mark_strays(_identify(observations, checked, started, partial, notes), collector.strays,
                         checked.targets.contains)
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
              connections: HostSlots, cfg: ScanConfig, count: int, notify: EventHandler,
              on_round_over: Callable[[str], None] = lambda name: None,
              alive: Callable[[str], None] = lambda ip: None) -> list[str]:
    """Run every ``discover`` at once; ``on_round_over(name)`` is called as soon as one probe's
    discover (its multicast round, or its sweep) is over, while the others may go on;
    ``alive(ip)`` when a probe proves a host alive without an observation."""
    notes: list[str] = []
    stop = threading.Event()  # ends discovery only; `cancelled` ends the whole scan
    said: list[str] = []  # list.append is atomic: probes' threads may note at once
    ctx = ProbeContext(config=cfg, emit=collector.emit, cancelled=stop, in_scope=collector.in_scope,
                       wait_rate=limiter.wait, connections=connections, note=said.append, alive=alive)
    # A method that asks by multicast/broadcast (``spec.hears_segment``) keeps what it hears from
    # outside the targets: a unit on the wire at another subnet's address (a stray, reported).
    heard = replace(ctx, emit=collector.emit_heard, strays=True)
    # Every discover() bounds itself; this cap only guards against a probe that does not.
    cap = (cfg.listen_window + 2 * cfg.read_timeout + 3 * cfg.connect_timeout + 2.0 * count / cfg.rate + 10
           + max((type(p).extra_time(cfg) for p in probes), default=0.0))
    pool = cf.ThreadPoolExecutor(max_workers=max(1, len(probes)), thread_name_prefix="discover")
    def timed(probe: Probe) -> str | None:
        clock = time.monotonic()
        try:
            return _guarded(probe.name, probe.discover, heard if probe.spec.hears_segment else ctx)
        finally:
            log.debug("discovery: %s took %.2f s", probe.name, time.monotonic() - clock)
            _guarded("discovery", on_round_over, probe.name)

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


def waits_for_discovery(probe: Probe) -> bool:
    """Whether a probe's per-host step on an on-link host waits for a multicast round to be over
    (which ones: ``_rounds_needed``): it reads values one heard (``host_fields``) or skips the
    hosts that answered its own."""
    return probe.waits_for_discovery or bool(probe.host_fields)


class _HostScheduler:
    """Runs each live host's per-host steps from the moment the host is known, during discovery.

    A host is offered when its first observation arrives (or when discovery ends). Its ``runs_first``
    steps go first (the port step waits for the sweep to finish that host's ports), then the rest
    at once. A step that needs a multicast round (``waits_for_discovery``) waits, on an on-link
    host, for the rounds it needs only: its own and those of the probes that produce the fields it
    reads (``host_fields``, by the protocols' declared fields), so the SADP follow-up of a host
    that stayed silent starts when the SADP round is over, not when the slowest round is. On a
    routed host, which multicast never reaches, it starts at once: that is how unicast follow-ups
    to routed hosts overlap the listen window. The host's time bound counts probing, not that
    wait. Concurrency: ``cfg.concurrency`` steps in all, ``cfg.per_host`` connection-holding steps
    per host.
    """

    def __init__(self, probes: list[Probe], collector: _Collector, cancelled: threading.Event,
                 limiter: RateLimiter, connections: HostSlots, cfg: ScanConfig, notify: EventHandler,
                 on_link: Iterable[Any]) -> None:
        per_host = [p for p in probes if type(p).probe_host is not Probe.probe_host]
        self.first = [p for p in per_host if p.spec.runs_first]
        self.rest = [p for p in per_host if not p.spec.runs_first]
        self.gates = {p.name: _rounds_needed(p, probes) for p in per_host if waits_for_discovery(p)}
        """Per-host step -> the discovers (multicast rounds) it waits for on an on-link host."""
        self.collector, self.cancelled, self.limiter, self.connections = collector, cancelled, limiter, connections
        self.cfg, self.notify = cfg, notify
        self.on_link = list(on_link)
        self.keys = tuple(key for p in probes for key in p.host_fields)
        self.rounds_over: set[str] = set()
        """Probes whose discover is over (all of them once discovery ends or the scan is cancelled)."""
        self.everything_heard = False
        self.round_changed = threading.Condition()
        self.heard_hosts: dict[str, HostInfo] = {}
        """What the rounds over so far heard, per host (for ``host_fields``)."""
        self.hosts: dict[str, HostInfo] = {}
        self.events: dict[str, threading.Event] = {}
        self.futures: list[cf.Future[None]] = []
        self.notes: list[str] = []
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.probed = 0
        self.reporting = False  # progress events only once the "hosts" phase is shown
        self.slots = threading.BoundedSemaphore(cfg.concurrency)
        # Twice the limit: a task waiting for its host's politeness gate holds a thread but no slot.
        self.workers = cf.ThreadPoolExecutor(max_workers=2 * cfg.concurrency, thread_name_prefix="probe")
        # Coordinators only wait; the probe work itself is bounded by `slots`.
        self.coordinators = cf.ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="host")

    @property
    def total(self) -> int:
        return len(self.hosts)

    def routed(self, ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        return not any(address in net for net in self.on_link)

    def offer(self, host: HostInfo) -> None:
        """Start probing ``host`` unless it is already started (thread-safe)."""
        if self.cancelled.is_set() or not self.collector.in_scope(host.ip):
            return
        with self.lock:
            if host.ip in self.hosts:
                return
            self.hosts[host.ip] = host
            self.events[host.ip] = threading.Event()
            try:
                self.futures.append(self.coordinators.submit(self._host_job, host))
            except RuntimeError:  # the scan is over (stop() ran): a late answer starts nothing
                self.events[host.ip].set()

    def round_over(self, name: str) -> None:
        """Probe ``name``'s discover is over: what it heard is handed to the steps waiting for it."""
        if any(name in gate for gate in self.gates.values()):
            self._heard({name})

    def discovery_heard(self) -> None:
        """Every round is over (discovery ended, or the scan was cancelled)."""
        if not self.everything_heard:
            self._heard(None)

    def _heard(self, names: set[str] | None) -> None:
        heard = live_hosts(self.collector.snapshot(), self.keys) if self.keys else {}
        with self.round_changed:
            self.heard_hosts = heard
            if names is None:
                self.everything_heard = True
            else:
                self.rounds_over |= names
            self.round_changed.notify_all()

    def _ready(self, gate: frozenset[str]) -> bool:
        return self.everything_heard or gate <= self.rounds_over

    def _one(self, probe: Probe, ctx: ProbeContext, host: HostInfo) -> None:
        with self.slots:
            if ctx.cancelled.is_set():
                return
            clock = time.monotonic()
            message = _guarded(probe.name, probe.probe_host, ctx, host)
            log.debug("%s: %s took %.2f s", host.ip, probe.name, time.monotonic() - clock)
            if message:
                with self.lock:
                    self.failures.append(f"{host.ip}: {message}")

    def _host_job(self, host: HostInfo) -> None:
        cfg = self.cfg
        event = self.events[host.ip]
        ctx = ProbeContext(config=cfg, emit=self.collector.emit, cancelled=event, in_scope=self.collector.in_scope,
                           wait_rate=self.limiter.wait, connections=self.connections)
        clock = time.monotonic()
        deadline = clock + cfg.host_timeout
        gate = threading.BoundedSemaphore(cfg.per_host)

        def polite(probe: Probe) -> None:
            with gate:
                self._one(probe, ctx, host)

        def start(probe: Probe) -> cf.Future[None]:
            if probe.spec.holds_connections:  # at most `per_host` of these at a time
                return self.workers.submit(polite, probe)
            return self.workers.submit(self._one, probe, ctx, host)

        try:
            for probe in self.first:
                if _wait([self.workers.submit(self._one, probe, ctx, host)], deadline):
                    break  # the host's time is up already
            if time.monotonic() < deadline and not event.is_set():
                later = {p: self.gates[p.name] for p in self.rest if p.name in self.gates} \
                    if not self.routed(host.ip) else {}
                futures = [start(p) for p in self.rest if p not in later]
                waited = time.monotonic()
                while later and not event.is_set():
                    with self.round_changed:
                        ready = [p for p, gate in later.items() if self._ready(gate)]
                        if not ready:
                            self.round_changed.wait(0.2)
                            continue
                        heard = self.heard_hosts.get(host.ip)
                    _merge_host(host, heard)
                    for probe in ready:
                        del later[probe]
                        futures.append(start(probe))
                deadline += time.monotonic() - waited
                if _wait(futures, deadline):
                    with self.lock:
                        self.notes.append(f"{host.ip}: probing stopped after {cfg.host_timeout:g} s (host time limit)")
        finally:
            event.set()
            log.debug("%s: probed in %.2f s", host.ip, time.monotonic() - clock)
            with self.lock:
                self.probed += 1
                done, reporting = self.probed, self.reporting
            if reporting:
                self.notify("progress", {"probed": done, "total": self.total, "devices": len(self.collector.seen)})

    def finish(self) -> list[str]:
        """Wait for every host started so far (discovery is over: no more will come)."""
        self.discovery_heard()
        with self.lock:
            self.reporting = True
        while True:  # a host's probes may still find another host (an SSDP LOCATION elsewhere)
            with self.lock:
                pending = {future for future in self.futures if not future.done()}
            if not pending:
                break
            _wait(pending, time.monotonic() + 0.5)
        return self.notes + sorted(self.failures)

    def stop(self) -> None:
        """Wake every host's steps and drop what has not started (Ctrl-C, or the scan is over)."""
        with self.round_changed:
            self.everything_heard = True
            self.round_changed.notify_all()
        with self.lock:
            events = list(self.events.values())
        for event in events:
            event.set()
        self.coordinators.shutdown(wait=False, cancel_futures=True)
        self.workers.shutdown(wait=False, cancel_futures=True)


def _rounds_needed(probe: Probe, probes: Iterable[Probe]) -> frozenset[str]:
    """The discovers a probe's per-host step waits for on an on-link host: its own multicast round
    (``waits_for_discovery``) and those of the selected probes whose protocol declares a field the
    step reads (``host_fields``: ONVIF's XAddrs come from WS-Discovery)."""
    needed = {probe.name} if probe.waits_for_discovery else set()
    wanted = set(probe.host_fields)
    needed |= {other.name for other in probes if wanted & set(other.spec.fields)}
    return frozenset(needed)


def _merge_host(host: HostInfo, heard: HostInfo | None) -> None:
    """Add what discovery heard about a host to the HostInfo of its steps (before the steps that
    read it start; open ports are the port step's to fill)."""
    if heard is None:
        return
    host.mac = host.mac or heard.mac
    for key, values in heard.seen.items():
        mine = host.seen.setdefault(key, [])
        mine += [value for value in values if value not in mine]
