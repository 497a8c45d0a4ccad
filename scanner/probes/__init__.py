"""Discovery probes: one module per method, each registering one Probe class with ``@register``.

A probe is a small class tied to its protocol's declaration (``spec``, from
``camsweep.protocols``). The engine (``scanner/engine.py``) knows no protocol: it calls
``discover`` once per scan on every selected probe (all of them share one listening window), then
``probe_host`` for every live host, and merges what they ``emit``; which probes run first and which
hold connections it reads from the specs. Wire formats live in ``scanner/protocols/`` (pure
codecs); probes only move bytes and bound every read and wait.

Every module of this package whose name does not start with ``_`` is a probe module:
``load_all()`` imports them all, so a new probe cannot be left out of a list.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from ..config import ScanConfig
from ..models import Observation
from ..protocols import ProtocolSpec
from ..protocols import spec as protocol_spec
from ._tcp import HostSlots

REGISTRY: dict[str, type["Probe"]] = {}

UNDECLARED = ProtocolSpec(name="", title="no declaration", fields={}, order=1 << 30, method=False)
"""The spec of a probe class that is not registered (a test's stand-in): no scheduling flags."""


def register(cls: type["Probe"]) -> type["Probe"]:
    """Register a probe class: its name is its spec's, and the spec must be a discovery method."""
    declared = cls.spec
    if protocol_spec(declared.name) is not declared or not declared.method:
        raise ValueError(f"probe {cls.__name__}: its spec {declared.name!r} is not a declared discovery method")
    cls.name = declared.name
    if cls.name in REGISTRY:
        raise ValueError(f"probe {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def load_all() -> dict[str, type["Probe"]]:
    """Import every probe module (each registers itself); the registry in the specs' run order."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return {name: REGISTRY[name] for name in sorted(REGISTRY, key=lambda n: REGISTRY[n].spec.order)}


@dataclass
class HostInfo:
    """What the engine knows about a live host when per-host probes run."""

    ip: str
    mac: str | None = None
    open_ports: set[int] = field(default_factory=set)
    seen: dict[str, list[str]] = field(default_factory=dict)
    """Values discovery saw for the field keys a selected probe asks for (``Probe.host_fields``),
    distinct, in the order seen."""


@dataclass
class ProbeContext:
    """Everything a probe may use. Probes never print and never raise on bad replies."""

    config: ScanConfig
    emit: Callable[[Observation], None]
    cancelled: threading.Event
    in_scope: Callable[[str], bool]
    """True if an address may be sent to (one of the scan's targets): replies from elsewhere are
    dropped, except during discovery (``strays``)."""
    wait_rate: Callable[[], None] = lambda: None
    """Call before sending each packet: blocks to honour the configured packet rate."""
    connections: HostSlots = field(default_factory=HostSlots)
    """Connections open to each address, shared by every context of one scan (``config.per_host``)."""
    note: Callable[[str], None] = lambda text: None
    """Add a line to the result's notes (what a discovery step read from where, what it cut)."""
    strays: bool = False
    """Discovery only: keep answers to our multicast/broadcast requests (and announcements heard
    on the groups) from addresses outside the targets; the engine reports them as devices
    outside the targets and sends them nothing more (unless ``--probe-strays``)."""

    def hears(self, ip: str) -> bool:
        """True if what ``ip`` sent us on the segment is kept (see ``strays``)."""
        return self.strays or self.in_scope(ip)
    alive: Callable[[str], None] = lambda ip: None
    """Call when a host proved alive without an observation (a refused connection): during
    discovery the engine starts its per-host steps at once."""


class Probe:
    spec: ClassVar[ProtocolSpec] = UNDECLARED
    """The protocol's declaration; ``@register`` takes the probe's name from it."""
    name: ClassVar[str]
    description: ClassVar[str]
    needs_root: ClassVar[bool] = False
    """True if the probe needs raw sockets (CAP_NET_RAW); skipped with a note otherwise."""
    without_root: ClassVar[str] = ""
    """What the scan does instead when the probe is skipped for want of root (added to the note)."""
    host_fields: ClassVar[tuple[str, ...]] = ()
    """Field keys whose values from discovery ``probe_host`` reads (``HostInfo.seen``)."""
    waits_for_discovery: ClassVar[bool] = False
    """True if ``probe_host`` uses what this probe's multicast round heard (it skips the hosts that
    answered it): on an on-link host the engine starts it once its own round is over; on a routed
    host, which multicast never reaches, at once. A probe with ``host_fields`` waits for the rounds
    of the probes whose protocol declares those fields."""

    def __init__(self, config: ScanConfig) -> None:
        self.config = config

    @classmethod
    def plan_notes(cls, config: ScanConfig) -> list[str]:
        """Notes for the plan when this probe is selected (what it will not do with this config)."""
        return []

    @classmethod
    def extra_time(cls, config: ScanConfig) -> float:
        """Seconds ``discover`` may need beyond the shared window and the sweep at ``--rate``
        (the engine's bound on discovery grows by it)."""
        return 0.0

    @classmethod
    def asked_for_by(cls, config: ScanConfig) -> str | None:
        """The option that asks for this method by name (``--snmp``), if the config gives it: a
        ``--methods`` that leaves the method out then contradicts it and is refused."""
        return None

    @classmethod
    def known_without_sending(cls, interface: str | None, in_scope: Callable[[str], bool]) -> Iterable[Observation]:
        """What this host already knows about the network for the method, sending nothing (the
        engine asks every probe, selected or not, after discovery)."""
        return ()

    def discover(self, ctx: ProbeContext) -> None:
        """Network-wide step (sweep, multicast/broadcast), run within the shared listen window."""

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """Per-host step (unicast); one that holds connections (``spec.holds_connections``) runs
        under the engine's per-host politeness limit."""
