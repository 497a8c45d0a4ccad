"""Cheap first look at a frame: addresses, transport ports and payload, or None.

This is the hot path of capture analysis. It slices headers with ``struct`` and builds no objects
for frames that cannot carry a signal; only the few frames that can are handed to the protocol
parsers. IPv4 only (the cameras' discovery protocols are IPv4); fragments after the first are
ignored.
"""

from __future__ import annotations

import socket
import struct
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


def decode(linktype: int, frame: bytes) -> Packet | None:
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
    if proto not in (TCP, UDP) or _u16(frame, offset + 6)[0] & 0x1FFF:  # not TCP/UDP, or a later fragment
        return None
    total = _u16(frame, offset + 2)[0]
    end = min(len(frame), offset + total) if total else len(frame)
    src_ip = socket.inet_ntoa(frame[offset + 12 : offset + 16])
    dst_raw = frame[offset + 16 : offset + 20]
    dst_ip = socket.inet_ntoa(dst_raw)
    link_local = dst_raw[0] >= 224 or dst_raw == b"\xff\xff\xff\xff" or (dst_mac is not None and dst_mac[0] & 1 == 1)
    l4 = offset + ihl
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
