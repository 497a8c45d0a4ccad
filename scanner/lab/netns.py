"""Network-namespace plumbing: privilege checks, ``ip`` invocations, ``setns`` and the isolation check.

Everything here acts on namespaces named with ``PREFIX``; nothing adds an interface, address or
route to the root namespace.
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..errors import PrivilegeError, ScanError

log = logging.getLogger("camsweep")

PREFIX = "cs-"
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
LAB_NETWORK = ipaddress.IPv4Network("198.18.0.0/15")  # RFC 2544 benchmarking range: never routed
STRAY_NETWORK = ipaddress.IPv4Network("192.168.1.0/24")
"""The lab's stray subnet: units left at their factory addresses (Hikvision 192.168.1.64, Dahua
192.168.1.108) on segment A's wire, with no gateway. It exists only inside lab namespaces; a test
may give the scanner an address in it, as an installer would to reach such a unit."""


class IsolationError(ScanError):
    """The scanner namespace could reach something outside the lab: nothing is sent."""


def require_privileges() -> None:
    """Raise a one-line ``PrivilegeError`` unless we are root and ``ip netns`` works."""
    if os.geteuid() != 0:
        raise PrivilegeError("the device lab needs root (network namespaces); run it with sudo")
    if shutil.which("ip") is None:
        raise PrivilegeError("the device lab needs the `ip` command (Debian: apt-get install iproute2)")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise PrivilegeError(f"`ip netns` is unavailable: {probe.stderr.strip() or 'unknown error'}")


def ip(args: Sequence[str], *, netns: str | None = None, check: bool = True) -> str:
    """Run ``ip [-n NS] ARGS`` and return stdout; raise ``ScanError`` with ip's message on failure."""
    command = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise ScanError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def ip_batch(lines: Sequence[str], *, netns: str | None = None) -> None:
    """Run many ``ip`` commands in one process (``ip -batch -``); fast for hundreds of devices."""
    if not lines:
        return
    command = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    done = subprocess.run(command, input="\n".join(lines) + "\n", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ScanError(f"ip -batch{' in ' + netns if netns else ''}: {done.stderr.strip()}")


def lab_namespaces() -> list[str]:
    """Names of all existing namespaces with the lab prefix (ours or a crashed run's)."""
    names = []
    for line in ip(["netns", "list"], check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            names.append(name)
    return names


_libc = ctypes.CDLL(None, use_errno=True)


def setns(path: str) -> None:
    """Move the *calling thread* into the network namespace at ``path`` (``/run/netns/NAME``)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if hasattr(os, "setns"):  # Python >= 3.12
            os.setns(fd, CLONE_NEWNET)
        elif _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


@contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the body with this thread in namespace ``name``; sockets made there stay there."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(os.path.join(NETNS_DIR, name))
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the original namespace failed")
    finally:
        os.close(home)


def write_sysctl(key: str, value: str) -> None:
    """Write a ``net.*`` sysctl of the current thread's namespace (``/proc/sys/net`` is per-netns)."""
    with open("/proc/sys/" + key.replace(".", "/"), "w", encoding="ascii") as handle:
        handle.write(value)


def _is_lab_destination(dst: str) -> bool:
    if dst == "default":
        return False
    network = ipaddress.ip_network(dst, strict=False)
    if not isinstance(network, ipaddress.IPv4Network):
        return False
    return (network.subnet_of(LAB_NETWORK) or network.subnet_of(STRAY_NETWORK)
            or network.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
            or network == ipaddress.ip_network("224.0.0.0/4"))


def check_isolated(scanner_ns: str) -> None:
    """Refuse (raise ``IsolationError``) unless ``scanner_ns`` holds only lab addresses and routes.

    Called before anything sends a packet from the scanner namespace: its interfaces may carry only
    198.18.x.x, stray-subnet (``STRAY_NETWORK``) and loopback addresses, and every route in every table must lead to the lab
    (198.18.0.0/15), loopback or multicast on the lab link -- no default route, no IPv6.
    """
    if not os.path.exists(os.path.join(NETNS_DIR, scanner_ns)):
        raise IsolationError(f"scanner namespace {scanner_ns} does not exist; is the lab up?")
    try:
        links = json.loads(ip(["-j", "addr", "show"], netns=scanner_ns) or "[]")
        routes = json.loads(ip(["-j", "route", "show", "table", "all"], netns=scanner_ns) or "[]")
        routes6 = json.loads(ip(["-j", "-6", "route", "show", "table", "all"], netns=scanner_ns) or "[]")
    except (json.JSONDecodeError, ScanError) as error:
        raise IsolationError(f"cannot inspect {scanner_ns}: {error}") from None
    for link in links:
        if link.get("ifname") not in ("lo", "eth0"):
            raise IsolationError(f"{scanner_ns} has an unexpected interface {link.get('ifname')!r}")
        for addr in link.get("addr_info", []):
            local = ipaddress.ip_address(addr["local"])
            if not (local in LAB_NETWORK or local in STRAY_NETWORK or local.is_loopback):
                raise IsolationError(f"{scanner_ns} has a non-lab address {local} on {link['ifname']}")
    for route in routes:
        if not _is_lab_destination(route.get("dst", "")):
            raise IsolationError(f"{scanner_ns} has a non-lab route {route.get('dst')!r}; refusing to send")
        gateway = route.get("gateway")
        if gateway and ipaddress.ip_address(gateway) not in LAB_NETWORK:
            raise IsolationError(f"{scanner_ns} routes via non-lab gateway {gateway}; refusing to send")
    if routes6:
        raise IsolationError(f"{scanner_ns} has IPv6 routes; refusing to send")


def run_in_netns(name: str, command: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``ip netns exec NAME COMMAND`` (a subprocess; kwargs go to ``subprocess.run``)."""
    return subprocess.run(["ip", "netns", "exec", name, *command], **kwargs)  # type: ignore[call-overload]
