"""Cheap first look at a frame: addresses, transport ports and payload, or None.

This is the hot path of capture analysis. It slices headers with ``struct`` and builds no objects
for frames that cannot carry a signal; only the few frames that can are handed to the protocol
parsers. IPv4 only (the cameras' discovery protocols are IPv4). Fragmented UDP datagrams are put back
together when the caller passes a ``Defragmenter`` (Hikvision's SADP replies and WS-Discovery
messages are larger than one Ethernet frame); without one, only the first fragment is seen.
"""

from __future__ import annotations

import socket
import struct
from collections import OrderedDict
from typing import NamedTuple

from .capture import LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_RAW

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = (0x8100, 0x88A8)
VLAN_TAGS = 4
"""Stacked VLAN tags read (802.1ad QinQ uses two). A frame of nothing but tags is not walked to its end."""
TCP, UDP = 6, 17

_u16 = struct.Struct("!H").unpack_from
_ports = struct.Struct("!HH").unpack_from
_ipv4 = struct.Struct("!BxHHHxB").unpack_from  # version/IHL, total length, id, flags/fragment, protocol


class Packet(NamedTuple):
    src_mac: bytes | None
    dst_mac: bytes | None
    src_ip: str
    dst_ip: str
    proto: int  # 6 TCP, 17 UDP, 0 ARP
    sport: int
    dport: int
    tcp_flags: int
    seq: int
    payload: bytes
    link_local: bool
    """Sent to a multicast/broadcast address: the frame's source MAC is the sender's own."""


def mac_text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.hex(":")


class _Datagram:
    """The fragments of one datagram so far: payload by byte offset, their bytes, the length once known."""

    __slots__ = ("have", "parts", "total")

    def __init__(self) -> None:
        self.parts: dict[int, bytes] = {}
        self.have = 0
        self.total = -1


class Defragmenter:
    """Reassembles fragmented IPv4 datagrams, with bounded memory (RFC 791 offsets, no overlap policy).

    Memory is bounded in bytes, not only in datagrams: fragments are file or wire data, and a storm
    of fragments that never complete (issue 19: 392 MB of them held 425 MB) must not grow it. Beyond
    any bound the oldest waiting datagram is dropped, and the drop is counted
    (``dropped_datagrams``, ``dropped_bytes``) for the result's notes.
    """

    MAX_DATAGRAMS = 256
    """Datagrams waiting at once; real discovery traffic has a handful in flight."""
    MAX_BYTES = 4 * 1024 * 1024
    """Payload bytes held for all waiting datagrams: 64 maximal (64 KiB) datagrams at once."""
    MAX_FRAGMENTS = 64
    """Fragments per datagram: a 64 KiB datagram needs 45 at Ethernet's MTU. More is an attack
    (8,191 one-offset fragments) or a broken sender, and each one costs a walk at completion."""
    MAX_SIZE = 65_535

    def __init__(self) -> None:
        self._pending: OrderedDict[tuple[bytes, bytes, int, int], _Datagram] = OrderedDict()
        self._refused: OrderedDict[tuple[bytes, bytes, int, int], None] = OrderedDict()
        """Datagrams refused as malformed (too many fragments, past 64 KiB): their later fragments
        are counted and dropped, not started over as a new datagram. As many as MAX_DATAGRAMS."""
        self._bytes = 0
        self.fragments = 0  # fragments offered, ever
        self.dropped_datagrams = 0
        self.dropped_bytes = 0

    def _drop(self, key: tuple[bytes, bytes, int, int]) -> None:
        entry = self._pending.pop(key)
        self._bytes -= entry.have
        self.dropped_datagrams += 1
        self.dropped_bytes += entry.have

    def _refuse(self, key: tuple[bytes, bytes, int, int], data: bytes) -> None:
        self._drop(key)
        self.dropped_bytes += len(data)
        self._refused[key] = None
        if len(self._refused) > self.MAX_DATAGRAMS:
            self._refused.popitem(last=False)

    def notes(self) -> list[str]:
        """What the bounds dropped, for the result's notes."""
        if not self.dropped_datagrams:
            return []
        return [(f"IP reassembly: {self.dropped_datagrams} unfinished fragmented datagrams ({self.dropped_bytes} bytes) "
                 f"dropped at the {self.MAX_DATAGRAMS}-datagram / {self.MAX_BYTES // 2**20} MiB / "
                 f"{self.MAX_FRAGMENTS}-fragment bounds")]

    def add(self, key: tuple[bytes, bytes, int, int], offset: int, more: bool, data: bytes) -> bytes | None:
        """Store one fragment's payload; the whole IP payload once every fragment is in, else None."""
        self.fragments += 1
        entry = self._pending.get(key)
        if entry is None:
            if key in self._refused:
                self.dropped_bytes += len(data)
                return None
            entry = self._pending[key] = _Datagram()
        parts = entry.parts
        previous = parts.get(offset)
        if offset + len(data) > self.MAX_SIZE or (previous is None and len(parts) >= self.MAX_FRAGMENTS):
            self._refuse(key, data)
            return None
        if previous is not None:  # a repeated fragment replaces the earlier copy
            entry.have -= len(previous)
            self._bytes -= len(previous)
        parts[offset] = data
        entry.have += len(data)
        self._bytes += len(data)
        if not more:
            entry.total = offset + len(data)
        while len(self._pending) > self.MAX_DATAGRAMS or self._bytes > self.MAX_BYTES:
            oldest = next(iter(self._pending))
            self._drop(oldest)
            if oldest == key:
                return None
        # Fewer bytes than the length cannot be whole (overlaps only add bytes), so the walk over
        # the fragments runs only when it may succeed, not on every arrival.
        if entry.total < 0 or entry.have < entry.total:
            return None
        position = 0
        for start in sorted(parts):
            if start > position:
                return None  # a hole (overlapping fragments made up the count): still waiting
            position = max(position, start + len(parts[start]))
        if position < entry.total:
            return None
        del self._pending[key]
        self._bytes -= entry.have
        whole = bytearray(entry.total)
        for start in sorted(parts):
            whole[start : start + len(parts[start])] = parts[start]
        return bytes(whole[: entry.total])


def decode(linktype: int, frame: bytes, defrag: Defragmenter | None = None) -> Packet | None:
    src_mac = dst_mac = None
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        dst_mac, src_mac = frame[0:6], frame[6:12]
        ethertype = _u16(frame, 12)[0]
        offset = 14
        while ethertype in ETH_VLAN and len(frame) >= offset + 4 and offset < 14 + 4 * VLAN_TAGS:
            ethertype = _u16(frame, offset + 2)[0]
            offset += 4
    elif linktype == LINKTYPE_LINUX_SLL:
        if len(frame) < 16:
            return None
        if _u16(frame, 2)[0] == 2 and _u16(frame, 4)[0] == 6:  # ARPHRD_ETHER, 6-byte address
            src_mac = frame[6:12]
        ethertype = _u16(frame, 14)[0]
        offset = 16
    elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        ethertype, offset = ETH_IPV4, 0
    else:
        return None

    if ethertype == ETH_ARP:
        return _arp(frame, offset, src_mac, dst_mac)
    if ethertype != ETH_IPV4 or len(frame) < offset + 20:
        return None
    first, total, ident, fragment, proto = _ipv4(frame, offset)
    if first >> 4 != 4 or (proto != TCP and proto != UDP):
        return None
    fragment &= 0x3FFF  # MF flag and fragment offset
    end = len(frame)
    if total and offset + total < end:
        end = offset + total
    l4 = offset + (first & 0x0F) * 4
    dst_raw = frame[offset + 16 : offset + 20]
    whole = None
    if fragment:
        if defrag is None or proto != UDP:
            if fragment & 0x1FFF:  # a later fragment carries no header to read
                return None
        else:
            key = (frame[offset + 12 : offset + 16], dst_raw, ident, proto)
            whole = defrag.add(key, (fragment & 0x1FFF) * 8, bool(fragment & 0x2000), frame[l4:end])
            if whole is None or len(whole) < 8:
                return None  # (before the addresses are formatted: fragment storms are cheap)
    src_ip = socket.inet_ntoa(frame[offset + 12 : offset + 16])
    dst_ip = socket.inet_ntoa(dst_raw)
    link_local = dst_raw[0] >= 224 or dst_raw == b"\xff\xff\xff\xff" or (dst_mac is not None and dst_mac[0] & 1 == 1)
    if whole is not None:
        sport, dport = _ports(whole, 0)
        return Packet(src_mac, dst_mac, src_ip, dst_ip, UDP, sport, dport, 0, 0, whole[8:], link_local)
    if proto == UDP:
        if end < l4 + 8:
            return None
        sport, dport = _ports(frame, l4)
        return Packet(src_mac, dst_mac, src_ip, dst_ip, UDP, sport, dport, 0, 0, frame[l4 + 8 : end], link_local)
    if end < l4 + 20:
        return None
    sport, dport = _ports(frame, l4)
    seq = struct.unpack_from("!I", frame, l4 + 4)[0]
    data_offset = (frame[l4 + 12] >> 4) * 4
    flags = frame[l4 + 13]
    return Packet(src_mac, dst_mac, src_ip, dst_ip, TCP, sport, dport, flags, seq, frame[l4 + data_offset : end], link_local)


def _arp(frame: bytes, offset: int, src_mac: bytes | None, dst_mac: bytes | None) -> Packet | None:
    if len(frame) < offset + 28 or frame[offset + 4] != 6 or frame[offset + 5] != 4:
        return None
    sender_mac = frame[offset + 8 : offset + 14]
    sender_ip = socket.inet_ntoa(frame[offset + 14 : offset + 18])
    target_ip = socket.inet_ntoa(frame[offset + 24 : offset + 28])
    return Packet(sender_mac, dst_mac, sender_ip, target_ip, 0, 0, 0, 0, 0, b"", True)
