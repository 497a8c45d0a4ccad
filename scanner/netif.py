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
