"""Scan settings: what to scan, how, and how hard. Built by the CLI or by a library caller."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

def default_state_dir() -> Path:
    """Where camsweep keeps its state: ``$XDG_STATE_HOME/camsweep`` (``~/.local/state/camsweep``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "camsweep"


DEFAULT_PORTS = (80, 443, 554, 8000, 8080, 8443, 8899, 37777, 37778, 34567)


@dataclass(frozen=True)
class Credential:
    """A username/password for ONVIF/HTTP, valid for one host or subnet. Never logged or output."""

    network: str  # "198.18.0.21/32", "198.18.1.0/24"
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ScanConfig:
    targets: tuple[str, ...] = ()
    """Expanded later by scanner.targets; CIDRs, ranges a.b.c.d-e, hosts, hostnames."""
    interface: str | None = None
    methods: tuple[str, ...] = ()
    """Probe names to run; empty = all registered probes."""
    ports: tuple[int, ...] = DEFAULT_PORTS
    credentials: tuple[Credential, ...] = ()
    connect_timeout: float = 1.0
    """Seconds to wait for a TCP connect."""
    read_timeout: float = 2.0
    """Seconds to wait for each read of a reply."""
    host_timeout: float = 8.0
    """Upper bound on all per-host probing of one host."""
    listen_window: float = 2.5
    """Seconds the multicast/broadcast probes listen for answers (shared by all of them)."""
    concurrency: int = 256
    """Global limit on simultaneous probe tasks."""
    per_host: int = 3
    """Politeness: at most this many simultaneous probes against one host."""
    rate: int = 1000
    """Packets per second for sweeps (ARP, unicast discovery)."""
    max_body: int = 256 * 1024
    """Bytes read at most from any one reply body."""
    allow_public: bool = False
    max_hosts: int = 65536
    """Refuse target sets covering more addresses than this (clear error, nothing sent)."""
    request_timeout: float = 3.0
    """Upper bound on one whole request/reply exchange (a server dripping bytes is cut off)."""
    max_requests: int = 4
    """Politeness: HTTP requests per host beyond ``/`` on each open web port (redirects, maker pages)."""

    def credential_for(self, ip: str) -> Credential | None:
        """Most specific credential whose network contains ``ip``."""
        import ipaddress

        addr = ipaddress.ip_address(ip)
        best: Credential | None = None
        best_len = -1
        for cred in self.credentials:
            net = ipaddress.ip_network(cred.network, strict=False)
            if addr in net and net.prefixlen > best_len:
                best, best_len = cred, net.prefixlen
        return best
