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
TCP, UDP = 6, 17

_u16 = struct.Struct("!H").unpack_from
_ports = struct.Struct("!HH").unpack_from


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


class Defragmenter:
    """Reassembles fragmented IPv4 datagrams, with bounded memory (RFC 791 offsets, no overlap policy).

    At most ``MAX_DATAGRAMS`` datagrams wait for their missing fragments; the oldest is dropped
    beyond that, so a capture full of lost fragments does not grow memory.
    """

    MAX_DATAGRAMS = 256
    MAX_SIZE = 65_535

    def __init__(self) -> None:
        self._pending: OrderedDict[tuple[bytes, bytes, int, int], tuple[dict[int, bytes], list[int]]] = OrderedDict()

    def add(self, key: tuple[bytes, bytes, int, int], offset: int, more: bool, data: bytes) -> bytes | None:
        """Store one fragment's payload; the whole IP payload once every fragment is in, else None."""
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = ({}, [-1])
            if len(self._pending) > self.MAX_DATAGRAMS:
                self._pending.popitem(last=False)
        parts, total = entry
        if offset + len(data) > self.MAX_SIZE:
            self._pending.pop(key, None)
            return None
        parts[offset] = data
        if not more:
            total[0] = offset + len(data)
        if total[0] < 0:
            return None
        position = 0
        for start in sorted(parts):
            if start > position:
                return None  # a hole: still waiting
            position = max(position, start + len(parts[start]))
        if position < total[0]:
            return None
        del self._pending[key]
        whole = bytearray(total[0])
        for start in sorted(parts):
            whole[start : start + len(parts[start])] = parts[start]
        return bytes(whole[: total[0]])


def decode(linktype: int, frame: bytes, defrag: Defragmenter | None = None) -> Packet | None:
    src_mac = dst_mac = None
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        dst_mac, src_mac = frame[0:6], frame[6:12]
        ethertype = _u16(frame, 12)[0]
        offset = 14
        while ethertype in ETH_VLAN and len(frame) >= offset + 4:
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
    first = frame[offset]
    if first >> 4 != 4:
        return None
    ihl = (first & 0x0F) * 4
    proto = frame[offset + 9]
    if proto not in (TCP, UDP):
        return None
    fragment = _u16(frame, offset + 6)[0] & 0x3FFF  # MF flag and fragment offset
    total = _u16(frame, offset + 2)[0]
    end = min(len(frame), offset + total) if total else len(frame)
    src_ip = socket.inet_ntoa(frame[offset + 12 : offset + 16])
    dst_raw = frame[offset + 16 : offset + 20]
    dst_ip = socket.inet_ntoa(dst_raw)
    link_local = dst_raw[0] >= 224 or dst_raw == b"\xff\xff\xff\xff" or (dst_mac is not None and dst_mac[0] & 1 == 1)
    l4 = offset + ihl
    if fragment:
        if defrag is None or proto != UDP:
            if fragment & 0x1FFF:  # a later fragment carries no header to read
                return None
        else:
            key = (frame[offset + 12 : offset + 16], dst_raw, _u16(frame, offset + 4)[0], proto)
            whole = defrag.add(key, (fragment & 0x1FFF) * 8, bool(fragment & 0x2000), frame[l4:end])
            if whole is None or len(whole) < 8:
                return None
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
