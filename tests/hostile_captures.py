"""Hostile capture files, written with ``struct`` (no binary fixtures): issue 19's reproducers.

Every function writes one capture to ``path`` and returns the number of packets written, streaming
the records so that the benchmark's 370 MB fragment storm never sits in memory. The regression
tests (tests/test_passive_hostile.py) call them with small sizes, ``bench/hostile_captures.py``
with the sizes the issue reported. Checksums are left at zero: camsweep does not check them (nor
do capture tools for frames whose checksums the NIC offloads).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Iterator, Sequence

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_USER0 = 147  # not a link type camsweep reads

SERVER_MAC, CLIENT_MAC = bytes.fromhex("c056e3000004"), bytes.fromhex("020000000002")
SERVER_IP, CLIENT_IP = "198.18.0.50", "198.18.0.2"
START = 1_764_000_000
PSH_ACK = 0x18


# -- frames ------------------------------------------------------------------------------------

def ether(payload: bytes, *, src: bytes = SERVER_MAC, dst: bytes = CLIENT_MAC, ethertype: int = 0x0800) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(payload: bytes, *, src: str = SERVER_IP, dst: str = CLIENT_IP, proto: int = 6, ident: int = 0,
         offset_units: int = 0, more: bool = False, total: int | None = None) -> bytes:
    """An IPv4 header (no options) + payload; ``total`` lies about the length when given."""
    flags = (0x2000 if more else 0) | (offset_units & 0x1FFF)
    length = 20 + len(payload) if total is None else total
    return (struct.pack("!BBHHHBBH4s4s", 0x45, 0, length & 0xFFFF, ident & 0xFFFF, flags, 64, proto, 0,
                        socket.inet_aton(src), socket.inet_aton(dst)) + payload)


def udp(payload: bytes, sport: int, dport: int) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(payload: bytes, sport: int, dport: int, *, seq: int = 0, flags: int = PSH_ACK) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535, 0, 0) + payload


def tcp_frame(payload: bytes, sport: int = 443, dport: int = 40000, *, seq: int = 0,
              src: str = SERVER_IP, dst: str = CLIENT_IP) -> bytes:
    return ether(ipv4(tcp(payload, sport, dport, seq=seq), src=src, dst=dst))


def arp_reply(mac: bytes, ip: str, target_ip: str = CLIENT_IP) -> bytes:
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac, socket.inet_aton(ip),
                       CLIENT_MAC, socket.inet_aton(target_ip))
    return ether(body, src=mac, dst=b"\xff" * 6, ethertype=0x0806)


# -- containers --------------------------------------------------------------------------------

def pcap_header(linktype: int = LINKTYPE_ETHERNET, *, snaplen: int = 262_144) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_records(frames: Iterable[bytes], start: int = START) -> Iterator[bytes]:
    record = struct.Struct("<IIII")
    for n, frame in enumerate(frames):
        yield record.pack(start + n // 1000, n % 1000 * 1000, len(frame), len(frame)) + frame


def write_pcap(path: object, frames: Iterable[bytes], linktype: int = LINKTYPE_ETHERNET) -> int:
    count = 0
    with open(path, "wb", buffering=1 << 20) as fh:  # type: ignore[call-overload]
        fh.write(pcap_header(linktype))
        for record in pcap_records(frames):
            fh.write(record)
            count += 1
    return count


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def pcapng_block(block_type: int, body: bytes, order: str = "<") -> bytes:
    body = _pad(body)
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def pcapng_option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad(value)


def pcapng_shb(order: str = "<") -> bytes:
    return pcapng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def pcapng_idb(linktype: int, order: str = "<", *, snaplen: int = 0, tsresol: int | None = None) -> bytes:
    options = b""
    if tsresol is not None:
        options = pcapng_option(9, bytes([tsresol]), order) + pcapng_option(0, b"", order)
    return pcapng_block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + options, order)


def pcapng_epb(interface: int, ticks: int, frame: bytes, order: str = "<") -> bytes:
    head = struct.pack(order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame))
    return pcapng_block(6, head + frame, order)


def pcapng_bytes(linktypes: Sequence[int], packets: Iterable[tuple[int, bytes]], order: str = "<") -> bytes:
    """One section: an IDB per link type, then an EPB per ``(interface, frame)`` (microsecond ticks)."""
    out = [pcapng_shb(order)] + [pcapng_idb(lt, order) for lt in linktypes]
    out += [pcapng_epb(iface, (START + n) * 1_000_000, frame, order) for n, (iface, frame) in enumerate(packets)]
    return b"".join(out)


# -- issue 19's cases --------------------------------------------------------------------------

def tls_empty_records(path: object, segments: int = 8000, flows: int = 1) -> int:
    """TLS flows whose every segment is one empty handshake record (``16 03 03 00 00``).

    Nothing ever completes, so before the fix each segment re-parsed the whole flow (issue 19:
    8,000 segments in one flow took 9.8 s; three flows of 12,900 -- a 2.9 MB file -- over 60 s).
    """
    record = b"\x16\x03\x03\x00\x00"
    return write_pcap(path, (tcp_frame(record, 443, 40000 + f, seq=1 + 5 * n)
                             for n in range(segments) for f in range(flows)))


def tls_byte_records(flight: bytes) -> list[bytes]:
    """A TLS server flight re-framed as one TLS record per handshake byte (legal, if perverse)."""
    records: list[bytes] = []
    pos = 0
    while pos + 5 <= len(flight):
        length = int.from_bytes(flight[pos + 3 : pos + 5], "big")
        body = flight[pos + 5 : pos + 5 + length]
        records += [flight[pos : pos + 3] + b"\x00\x01" + body[i : i + 1] for i in range(len(body))]
        pos += 5 + length
    return records


def tls_one_byte_records(path: object, flight: bytes) -> int:
    """A real server flight, one handshake byte per record and one record per TCP segment."""
    return write_pcap(path, (tcp_frame(rec, seq=1 + 6 * n) for n, rec in enumerate(tls_byte_records(flight))))


def tls_stalled_flows(path: object, flows: int = 4096, flow_bytes: int = 65_536, segment: int = 1400) -> int:
    """Many TLS flows, all open at once, each announcing a handshake message that never ends.

    Interleaved so every flow is buffered at the same time: before the fix 4,096 flows x 64 KiB
    could sit in memory (256 MiB), each segment re-parsing its flow.
    """
    head = b"\x16\x03\x03\xff\xff" + b"\x0b\xff\xff\xff"  # a 64 KiB record holding a 16 MiB Certificate
    def frames() -> Iterator[bytes]:
        for start in range(0, flow_bytes, segment):
            for f in range(flows):
                chunk = (head + bytes(segment))[:segment] if start == 0 else bytes(min(segment, flow_bytes - start))
                yield tcp_frame(chunk, 443, 1024 + f, seq=1 + start, src=f"198.18.{1 + f // 250}.{1 + f % 250}")
    return write_pcap(path, frames())


def http_header_dribble(path: object, size: int = 65_536) -> int:
    """An HTTP response head that never ends: the status line, then one byte per segment (before
    the fix the search for the head's end ran over the whole flow on each segment)."""
    status = b"HTTP/1.1 200 OK\r\n"
    head = b"X-Pad: " + b"a" * max(0, size - len(status) - 7)
    frames = [tcp_frame(status, 80, 40000, seq=1)]
    frames += (tcp_frame(head[n : n + 1], 80, 40000, seq=1 + len(status) + n) for n in range(len(head)))
    return write_pcap(path, frames)


def fragment_storm(path: object, datagrams: int = 256, fragments: int = 8174, size: int = 128) -> int:
    """Datagrams whose fragments never complete (offset 0 never comes), each offset once.

    Issue 19: 392 MB of such fragments held 425 MB of memory (256 datagrams x 8,191 offsets).
    """
    payload = b"\x00" * size
    limit = min(fragments, (65_535 - size) // 8)
    return write_pcap(path, (ether(ipv4(payload, proto=17, ident=d, offset_units=k, more=True))
                             for d in range(datagrams) for k in range(1, limit + 1)))


def fragment_last_first(path: object, fragments: int = 8174, size: int = 8) -> int:
    """One datagram: its last fragment first, then all but the one before it, in shuffled order.

    With the length known, the old defragmenter sorted and walked all fragments on each arrival
    (the hole is near the end, so the walk is long): quadratic.
    """
    import random

    limit = min(fragments, (65_535 - size) // 8)
    middle = list(range(limit - 1))
    random.Random(19).shuffle(middle)
    frames = [ether(ipv4(b"\x00" * size, proto=17, ident=1, offset_units=limit, more=False))]
    frames += [ether(ipv4(b"\x00" * size, proto=17, ident=1, offset_units=k, more=True)) for k in middle]
    return write_pcap(path, frames)


def mdns_services(count: int, *, distinct: bool = True) -> bytes:
    """An mDNS response announcing ``count`` services (PTR records, names compressed), up to 64 KiB."""
    service = b"\x05_http\x04_tcp\x05local\x00"  # at offset 12, pointed to by every record
    body = service + struct.pack("!HHIH", 12, 1, 120, 2) + b"\xc0\x0c"  # the first PTR owns the name
    for n in range(1, count):
        label = b"cam%05d" % (n if distinct else 0)
        body += b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 120, len(label) + 3) + bytes([len(label)]) + label + b"\xc0\x0c"
    return struct.pack("!HHHHHH", 0, 0x8400, 0, count, 0, 0) + body


def mdns_flood(path: object, packets: int = 200, services: int = 2800) -> int:
    """Multicast mDNS responses of ~64 KiB, each naming 2,800 services (one jumbo frame each,
    as a capture with receive offload records them). Before the fix: ~0.1 s of work per packet."""
    payload = mdns_services(services)
    frame = ether(ipv4(udp(payload, 5353, 5353), src="198.18.0.20", dst="224.0.0.251", proto=17),
                  src=bytes.fromhex("5850ed000001"), dst=bytes.fromhex("01005e0000fb"))
    return write_pcap(path, (frame for _ in range(packets)))


def sadp_datagram(reply: bytes, src: str = "198.18.0.20") -> bytes:
    """A SADP reply's IP datagram (UDP 37020 multicast), as raw IP."""
    return ipv4(udp(reply, 37020, 37020), src=src, dst="239.255.255.250", proto=17)


def multi_interface_pcapng(path: object, reply: bytes, *, mac: bytes = bytes.fromhex("5850ed000001"),
                           ip: str = "198.18.0.20", unsupported_packets: int = 3) -> int:
    """A pcapng with three interfaces: Ethernet, raw IP and an unsupported link type.

    Interface 0 carries an ARP reply, interface 1 the device's SADP reply as raw IP (no Ethernet
    header), interface 2 (LINKTYPE_USER0) frames camsweep cannot read. Read with the first
    interface's link type (the old behaviour) the raw-IP SADP reply is garbage.
    """
    packets = [(0, arp_reply(mac, ip)), (1, sadp_datagram(reply, ip))]
    packets += [(2, b"\x00" * 40)] * unsupported_packets
    data = pcapng_bytes([LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_USER0], packets)
    with open(path, "wb") as fh:  # type: ignore[call-overload]
        fh.write(data)
    return len(packets)
