"""Interfaces and privileges, read from the kernel without sending anything.

The engine never guesses an interface silently: with none given it takes the interface of the
IPv4 default route (``/proc/net/route``), and an interface that does not exist is a UsageError.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

_CAP_NET_RAW = 13


def interface_exists(name: str) -> bool:
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def default_route_interface(route_table: str = "/proc/net/route") -> str | None:
    """The interface of the IPv4 default route (lowest metric), or None."""
    try:
        lines = Path(route_table).read_text(encoding="ascii", errors="replace").splitlines()[1:]
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for line in lines:
        cols = line.split()
        if len(cols) < 8 or cols[1] != "00000000" or cols[7] != "00000000":
            continue
        try:
            metric = int(cols[6])
        except ValueError:
            continue
        if best is None or metric < best[0]:
            best = (metric, cols[0])
    return best[1] if best else None


def choose_interface(name: str | None) -> str:
    """The interface to scan from: ``name`` if it exists, else the default route's."""
    if name:
        if not interface_exists(name):
            raise UsageError(f"interface {name!r} does not exist")
        return name
    found = default_route_interface()
    if not found:
        raise UsageError("no default route to pick an interface from; pass --interface or targets")
    return found


def interface_addresses(name: str) -> list[ipaddress.IPv4Interface]:
    """The IPv4 addresses configured on ``name``, with their prefix (``ip -j addr``; sends nothing)."""
    try:
        done = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", name],
                              capture_output=True, text=True, timeout=5, check=False)
        links = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError):
        links = []
    found: list[ipaddress.IPv4Interface] = []
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("family") == "inet" and info.get("local") and info.get("prefixlen") is not None:
                address = ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}")
                if address not in found:
                    found.append(address)
    return found


def interface_networks(name: str) -> list[ipaddress.IPv4Network]:
    """The IPv4 subnets configured on ``name`` (sends nothing)."""
    return list(dict.fromkeys(address.network for address in interface_addresses(name)))


def has_raw_sockets() -> bool:
    """True if this process may open raw sockets: CAP_NET_RAW in its effective set.

    Read from /proc (root whose capabilities were dropped cannot open raw sockets either); only
    where /proc is unreadable does uid 0 stand in for it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> _CAP_NET_RAW & 1)
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


# -- the kernel's IPv4 neighbour (ARP) table ------------------------------------------------------
# A connect to an on-link address needs a neighbour entry. When the table is full (more than
# gc_thresh3 entries younger than the forced collection's 5 s), the kernel drops the SYN without
# telling the socket: the connect just times out, and the host looks absent. Its statistics do say
# so (`table_fulls`), which is how a scan notices. camsweep reads these; it never writes a sysctl.

NEIGH_SYSCTL = "net.ipv4.neigh.default.gc_thresh3"
NEIGH_DEFAULT_LIMIT = 1024
"""gc_thresh3 when it cannot be read: the kernel's default."""
NEIGH_OVERFLOW = "the kernel's neighbour (ARP) table overflowed"
"""How every note about a full neighbour table starts."""
NEIGH_SETTLE = 5.5
"""Seconds after which an unused entry may be collected when the table is full (the kernel's 5 s)."""


@dataclass(frozen=True)
class NeighbourTable:
    """The IPv4 neighbour table's hard limit (gc_thresh3) and how often it was found full so far.

    Both are kernel-wide: another program or network namespace filling the table counts too,
    which is right, since its entries take the scan's room. None where unreadable."""

    limit: int | None = None
    fulls: int | None = None
    entries: int | None = None


def neighbour_table() -> NeighbourTable:
    """What ``ip -s -j ntable show name arp_cache`` says (it works inside a network namespace,
    where /proc/net/stat/arp_cache and the gc_thresh sysctls are not shown)."""
    try:
        done = subprocess.run(["ip", "-s", "-j", "ntable", "show", "name", "arp_cache"], capture_output=True,
                              text=True, timeout=5, check=False)
        tables = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError):
        return NeighbourTable()
    for table in tables if isinstance(tables, list) else []:
        if isinstance(table, dict) and "dev" not in table and "thresh3" in table:
            limit, fulls, entries = (table.get(k) for k in ("thresh3", "table_fulls", "entries"))
            return NeighbourTable(*(v if isinstance(v, int) and not isinstance(v, bool) else None
                                    for v in (limit, fulls, entries)))
    return NeighbourTable()


def neighbour_table_grew(before: NeighbourTable) -> bool:
    """True if the table was found full since ``before`` was read."""
    now = neighbour_table().fulls
    return before.fulls is not None and now is not None and now > before.fulls


def neighbour_overflow_note(what: str, limit: int | None) -> str:
    """The result's note when the neighbour table overflowed during ``what`` (which says what may be missing)."""
    shown = f"{limit}" if limit is not None else f"{NEIGH_DEFAULT_LIMIT} by default"
    return (f"{NEIGH_OVERFLOW} ('neighbour table overflow') during {what}; "
            f"raise {NEIGH_SYSCTL} (now {shown}) above the number of hosts on the scanned subnets, e.g. "
            f"`sysctl -w {NEIGH_SYSCTL}=4096` (with gc_thresh1/gc_thresh2 below it), and scan again")
