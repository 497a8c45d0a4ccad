"""ARP sweep of the interface's own subnets: which in-scope addresses are alive, and their MACs.

The MAC is the one identifier that links what every other probe sees about a host, and its OUI is
network-tier evidence of the maker. ARP needs a raw socket (root); without root the engine falls
back to ``read_neighbour_table()``, i.e. the MACs the kernel already learnt.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrivilegeError
from ..models import Observation, normalize_mac
from ..protocols import arp as arp_codec
from ..protocols.arp import mac_observation
from . import HostInfo, Probe, ProbeContext, register
from ._udp import QUIET, InterfaceAddress, enlarge_receive_buffer, interface_addresses

log = logging.getLogger("camsweep")

MAX_SWEEP_ADDRESSES = 65536
"""Addresses considered per interface subnet; a bigger on-link subnet is swept only in part."""

_ETH_P_ARP = 0x0806
_ARP_REPLY = 2
_ATF_COM = 0x2  # /proc/net/arp flag: entry complete (a MAC was learnt)


RETRY_LIMIT = 4096
"""Silent addresses asked a second time at most. A /16 with a thousand hosts leaves 64,000
silent, and asking them all again doubles the sweep at the shared ``--rate`` (its discovery then
overran the engine's bound, issue 15). Nothing else asks those addresses (the ports sweep leaves
on-link ones to ARP), so a host whose one request or reply was lost is missing: the result's notes
say how many addresses were asked only once."""
MAX_ANNOUNCED = 256
"""Units outside the targets kept from their gratuitous ARPs in one sweep (a flood keeps the first)."""

DRAIN_AFTER_DEADLINE = 256
"""Frames read at most once a drain's time is up (keeps the receive buffer short mid-sweep)."""


def sweep_targets(
    addresses: list[InterfaceAddress], in_scope: Callable[[str], bool]
) -> Iterator[tuple[str, InterfaceAddress]]:
    """(target ip, the interface address on its subnet) for every in-scope on-link address."""
    own = {a.ip for a in addresses}
    seen: set[str] = set()
    for addr in addresses:
        hosts = addr.network.hosts() if addr.network.prefixlen < 31 else iter(addr.network)
        for count, host in enumerate(hosts):
            if count >= MAX_SWEEP_ADDRESSES:
                log.warning("subnet %s is larger than %d addresses; ARP sweep cut", addr.network, count)
                break
            ip = str(host)
            if ip in own or ip in seen or not in_scope(ip):
                continue
            seen.add(ip)
            yield ip, addr


def asked_once_note(silent: int, asked: int) -> str:
    return (f"arp: {silent:,} of {asked:,} on-link addresses stayed silent and were asked only once "
            f"(a second round is sent when at most {RETRY_LIMIT:,} stay silent): a device whose one "
            f"request or reply was lost is missing; scan ranges of at most {RETRY_LIMIT:,} addresses (a /20 or "
            "smaller) to have every silent address asked twice")


_BROADCAST = b"\xff" * 6
_ARP_HEADER = struct.Struct("!6s6sHHHBBH6s4s6s4s")
"""Ethernet header + ARP for IPv4 over Ethernet (RFC 826): 42 bytes."""


def open_arp_socket(iface: str) -> tuple[socket.socket, bytes]:
    """A packet socket on ``iface`` that sends and receives ARP frames only, and the interface's MAC.

    Frames are built and read with ``struct``: a sweep of a /24 is ~500 frames, and building and
    dissecting them with scapy cost seconds of CPU on a loaded machine (issue 14)."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ARP))
    except PermissionError as exc:
        raise PrivilegeError(f"ARP sweep needs root or CAP_NET_RAW ({exc.strerror})") from exc
    try:
        sock.bind((iface, _ETH_P_ARP))
        enlarge_receive_buffer(sock)  # a big sweep's replies arrive in a burst
        own_mac = sock.getsockname()[4]
    except OSError:
        sock.close()
        raise
    return sock, own_mac


def arp_request(own_mac: bytes, own_ip: str, target_ip: str) -> bytes:
    """A broadcast who-has ``target_ip`` from ``own_ip``/``own_mac``."""
    return _ARP_HEADER.pack(_BROADCAST, own_mac, _ETH_P_ARP, 1, 0x0800, 6, 4, 1, own_mac,
                            socket.inet_aton(own_ip), b"\0" * 6, socket.inet_aton(target_ip))


def _parse_arp(frame: bytes) -> tuple[int, bytes, bytes, bytes] | None:
    """(op, sender MAC, sender IP, target IP) of an ARP frame for IPv4 over Ethernet, else None."""
    if len(frame) < _ARP_HEADER.size:
        return None
    _dst, _src, ethertype, htype, ptype, hlen, plen, op, sha, spa, _tha, tpa = _ARP_HEADER.unpack_from(frame)
    if ethertype != _ETH_P_ARP or htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        return None
    return op, sha, spa, tpa


def parse_arp_reply(frame: bytes) -> tuple[str, str] | None:
    """(sender IP, sender MAC) of an ARP reply for IPv4 over Ethernet; None for anything else."""
    parsed = _parse_arp(frame)
    if parsed is None or parsed[0] != _ARP_REPLY:
        return None
    return socket.inet_ntoa(parsed[2]), parsed[1].hex(":")


def parse_gratuitous(frame: bytes) -> tuple[str, str] | None:
    """(IP, MAC) of a gratuitous ARP (sender address = target address: "I am here"), else None."""
    parsed = _parse_arp(frame)
    if parsed is None or parsed[2] != parsed[3]:
        return None
    return socket.inet_ntoa(parsed[2]), parsed[1].hex(":")


@register
class ArpProbe(Probe):
    spec = arp_codec.SPEC
    description = "ARP sweep of the in-scope addresses on the interface's own subnets (MAC + OUI)"
    needs_root = True
    without_root = "MACs are read from the kernel neighbour table instead"

    @classmethod
    def known_without_sending(cls, interface: str | None, in_scope: Callable[[str], bool]) -> list[Observation]:
        """The kernel's neighbour table: MACs without a sweep (the no-root fallback)."""
        return read_neighbour_table(interface, in_scope)

    def discover(self, ctx: ProbeContext) -> None:
        config = self.config
        addresses = interface_addresses(config.interface)
        targets = list(sweep_targets(addresses, ctx.in_scope))
        if not targets:
            log.debug("arp: no in-scope address on %s", addresses[0].name)
            return
        iface = addresses[0].name
        sock, own_mac = open_arp_socket(iface)
        try:
            pending = {ip for ip, _ in targets}
            found: set[str] = set()
            strays: set[str] = set()

            def announced(ip: str, mac: str) -> None:
                """A gratuitous ARP from outside the targets: a unit on this wire at another
                subnet's address, kept as a stray (the discovery context ``hears`` it)."""
                own = {a.ip for a in addresses}
                if (ip in strays or ip in own or ip == "0.0.0.0" or len(strays) >= MAX_ANNOUNCED
                        or not ctx.hears(ip)):
                    return
                observation = mac_observation(self.name, ip, mac, f"gratuitous ARP: {ip} is-at {mac}")
                if observation is not None:
                    strays.add(ip)
                    ctx.emit(observation)

            def drain(until: float, quiet: float | None = None) -> None:
                """Read the ARP replies that arrive before ``until``, or until none came for
                ``quiet`` seconds; emit each host once.

                Past ``until`` at most DRAIN_AFTER_DEADLINE more frames are read: the socket hears
                all ARP on the segment, and a busy or hostile one never goes quiet.
                """
                late = 0
                final = until
                if quiet is not None:
                    until = min(until, time.monotonic() + quiet)
                while not ctx.cancelled.is_set() and len(found) < len(pending):
                    remaining = until - time.monotonic()
                    if remaining <= 0:
                        late += 1
                        if late > DRAIN_AFTER_DEADLINE:
                            return
                    ready, _, _ = select.select([sock], [], [], max(0.0, min(remaining, 0.1)))
                    if not ready:
                        if remaining <= 0:
                            return
                        continue
                    try:
                        frame = sock.recv(65535)
                    except OSError:
                        continue
                    heard = parse_gratuitous(frame)
                    if heard is not None and not ctx.in_scope(heard[0]):
                        announced(*heard)
                        continue
                    reply = parse_arp_reply(frame)
                    if reply is None:
                        continue
                    ip, mac = reply
                    if ip not in pending or ip in found or not ctx.in_scope(ip):
                        continue
                    observation = mac_observation(self.name, ip, mac, f"{ip} is-at {mac}")
                    if observation is not None:
                        found.add(ip)
                        ctx.emit(observation)
                        if quiet is not None:  # answers are still coming: keep listening
                            until = max(until, min(final, time.monotonic() + quiet))

            def sweep(batch: list[tuple[str, InterfaceAddress]]) -> None:
                for ip, addr in batch:
                    if ctx.cancelled.is_set() or ip in found:
                        continue
                    ctx.wait_rate()
                    request = arp_request(own_mac, addr.ip, ip)
                    try:
                        sock.send(request)
                    except OSError as exc:
                        log.debug("arp: send to %s failed: %s", ip, exc)
                    drain(time.monotonic())  # keep the socket buffer short during big sweeps

            # Replies come within milliseconds on a segment: the wait ends when they have stopped
            # arriving (QUIET), bounded by the read timeout.
            wait = config.read_timeout
            sweep(targets)
            drain(time.monotonic() + wait / 2, QUIET)
            # One retry for the silent ones: a request or its reply may have been lost.
            retry = [(ip, addr) for ip, addr in targets if ip not in found]
            if len(retry) > RETRY_LIMIT:
                ctx.note(asked_once_note(len(retry), len(targets)))
                retry = []
            if retry and not ctx.cancelled.is_set():
                sweep(retry)
                drain(time.monotonic() + wait, QUIET)
            log.debug("arp: %d of %d addresses answered", len(found), len(targets))
        finally:
            sock.close()

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        """Nothing per host: the sweep already asked every on-link address."""


@dataclass(frozen=True)
class NeighbourEntry:
    ip: str
    mac: str
    device: str


def parse_proc_net_arp(text: str) -> list[NeighbourEntry]:
    """Complete entries of a ``/proc/net/arp`` table (incomplete/failed ones have no MAC)."""
    entries: list[NeighbourEntry] = []
    for line in text.splitlines()[1:]:
        columns = line.split()
        if len(columns) < 6:
            continue
        ip, _hw_type, flags, hw_address, _mask, device = columns[:6]
        try:
            complete = int(flags, 16) & _ATF_COM
            ipaddress.IPv4Address(ip)
        except ValueError:
            continue
        mac = normalize_mac(hw_address)
        if complete and mac is not None:
            entries.append(NeighbourEntry(ip, mac, device))
    return entries


def read_neighbour_table(
    interface: str | None = None,
    in_scope: Callable[[str], bool] | None = None,
    *,
    path: str | Path = "/proc/net/arp",
) -> list[Observation]:
    """MAC observations from the kernel's neighbour table: the no-root fallback for the sweep.

    Only entries learnt on ``interface`` (if given) and, if ``in_scope`` is given, in scope.
    Sends nothing. An unreadable table gives an empty list (logged).
    """
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        log.warning("cannot read the neighbour table %s: %s", path, exc)
        return []
    observations: list[Observation] = []
    for entry in parse_proc_net_arp(text):
        if interface is not None and entry.device != interface:
            continue
        if in_scope is not None and not in_scope(entry.ip):
            continue
        observation = mac_observation(
            ArpProbe.name, entry.ip, entry.mac, f"{entry.ip} lladdr {entry.mac} dev {entry.device}"
        )
        if observation is not None:
            observations.append(observation)
    return observations
