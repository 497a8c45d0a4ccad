"""Discovery probes: one module per method, each registered here with ``@register``.

A probe is a small class. The engine (``scanner/engine.py``) knows no protocol: it calls
``discover`` once per scan on every selected probe (all of them share one listening window), then
``probe_host`` for every live host, and merges what they ``emit``. Wire formats live in
``scanner/protocols/`` (pure codecs); probes only move bytes and bound every read and wait.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from ..config import ScanConfig
from ..models import Observation
from ._tcp import HostSlots

MODULES = ("arp", "wsd", "sadp", "dhip", "ssdp", "mdns", "ports", "http", "rtsp", "tls", "onvif")
"""Probe modules in the order the engine runs them; each defines and registers one Probe."""

REGISTRY: dict[str, type["Probe"]] = {}


def register(cls: type["Probe"]) -> type["Probe"]:
    if cls.name in REGISTRY:
        raise ValueError(f"probe {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def load_all() -> dict[str, type["Probe"]]:
    """Import every probe module (each registers itself) and return the registry."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return REGISTRY


@dataclass
class HostInfo:
    """What the engine knows about a live host when per-host probes run."""

    ip: str
    mac: str | None = None
    open_ports: set[int] = field(default_factory=set)


@dataclass
class ProbeContext:
    """Everything a probe may use. Probes never print and never raise on bad replies."""

    config: ScanConfig
    emit: Callable[[Observation], None]
    cancelled: threading.Event
    in_scope: Callable[[str], bool]
    """True if an address is one of the scan's targets: replies from elsewhere are dropped."""
    wait_rate: Callable[[], None] = lambda: None
    """Call before sending each packet: blocks to honour the configured packet rate."""
    connections: HostSlots = field(default_factory=HostSlots)
    """Connections open to each address, shared by every context of one scan (``config.per_host``)."""


class Probe:
    name: ClassVar[str]
    description: ClassVar[str]
    needs_root: ClassVar[bool] = False
    """True if the probe needs raw sockets (CAP_NET_RAW); skipped with a note otherwise."""

    def __init__(self, config: ScanConfig) -> None:
        self.config = config

    def discover(self, ctx: ProbeContext) -> None:
        """Network-wide step (sweep, multicast/broadcast), run within the shared listen window."""

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """Per-host step (unicast), run under the engine's per-host politeness limit."""
