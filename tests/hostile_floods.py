"""Generators for hostile traffic floods (issue 19), used by the regression tests and bench/.

Everything is built in memory with ``struct`` (no large binary fixtures, no scapy on the hot path so
100,000-frame captures are written in a second): Ethernet/ARP/IPv4/UDP/TCP frames, a classic pcap
around them, and the same floods as Observation lists for the merge/verdict step alone.

What each flood imitates (all from one hostile or broken host on the LAN):

* ``arp_one_ip``: N ARP replies claiming one IP from N distinct MACs (an ARP-spoofing tool cycling
  source MACs, or a switch loop replaying replies).
* ``arp_spoof``: N ARP replies from N distinct MACs for N distinct IPs (``macof``-style flooding).
* ``synack_spoof``: N SYN-ACKs from N distinct IPs (a SYN-proxy or a spoofing tool): hosts that
  say more than ARP, so only the cap on hosts holds them.
* ``dhcp_requests``: N DHCPDISCOVERs with N distinct client MACs (DHCP starvation, e.g. ``dhcpig``).
* ``http_replies``: N HTTP replies whose bodies are non-ASCII (4-byte emoji), the worst case for
  byte size per character.
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from camsweep.models import ArtefactKind, Observation

BROADCAST = b"\xff" * 6
SCANNER_MAC = bytes.fromhex("020000000002")
EPOCH = 1_764_000_000

_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LINKTYPE_ETHERNET
_RECORD = struct.Struct("<IIII")


# -- addresses -------------------------------------------------------------------------------------
def macs(n: int, seed: int = 19) -> list[bytes]:
    """N distinct, globally administered unicast MACs, pseudo-random but the same for one seed.

    Globally administered so that every one of them goes through the OUI lookup (a locally
    administered MAC skips it): the worst case for the verdict step.
    """
    rng = random.Random(seed)
    out: list[bytes] = []
    seen: set[bytes] = set()
    while len(out) < n:
        mac = bytearray(rng.randbytes(6))
        mac[0] &= 0xFC
        value = bytes(mac)
        if value not in seen and value != b"\x00" * 6:
            seen.add(value)
            out.append(value)
    return out


def ip_at(index: int, base: str = "10.0.0.0") -> str:
    """The ``index``-th host address after ``base`` (skipping .0 and .255 of each /24)."""
    start = struct.unpack("!I", socket.inet_aton(base))[0]
    value = start + (index // 254) * 256 + index % 254 + 1
    return socket.inet_ntoa(struct.pack("!I", value))


def mac_text(mac: bytes) -> str:
    return mac.hex(":")


# -- frames ----------------------------------------------------------------------------------------
def ether(src: bytes, dst: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def arp_reply(mac: bytes, ip: str, target_ip: str = "10.0.0.250") -> bytes:
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mac + socket.inet_aton(ip) + SCANNER_MAC + socket.inet_aton(target_ip)
    return ether(mac, BROADCAST, 0x0806, arp)


def ipv4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    # Checksums are left zero: the passive decoder does not verify them (nor do many taps).
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header + payload


def udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


def tcp(src: str, sport: int, dst: str, dport: int, payload: bytes, flags: int = 0x18, seq: int = 1) -> bytes:
    return ipv4(src, dst, 6, struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0) + payload)


def dhcp_discover(mac: bytes, xid: int, hostname: bytes = b"") -> bytes:
    """A BOOTREQUEST/DHCPDISCOVER from client ``mac``, as a UDP payload."""
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4, b"\0" * 4,
                        b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"", b"")
    options = b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\x37\x04\x01\x03\x06\x0f"
    if hostname:
        options += b"\x0c" + bytes([len(hostname)]) + hostname
    return bootp + options + b"\xff"


def http_reply(body: bytes, server: bytes = b"flood") -> bytes:
    head = (b"HTTP/1.1 200 OK\r\nServer: " + server + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    return head + body


def emoji_body(size: int) -> bytes:
    """``size`` bytes of 4-byte UTF-8 emoji inside a page with a title (every field gets some)."""
    emoji = "\U0001F600".encode()
    filler = emoji * max(1, (size - 40) // len(emoji))
    return b"<html><title>" + emoji * 8 + b"</title>" + filler + b"</html>"


# -- floods as frames ------------------------------------------------------------------------------
def arp_one_ip(n: int, ip: str = "10.0.0.1") -> Iterator[bytes]:
    for mac in macs(n):
        yield arp_reply(mac, ip)


def arp_spoof(n: int) -> Iterator[bytes]:
    for index, mac in enumerate(macs(n)):
        yield arp_reply(mac, ip_at(index))


def synack_spoof(n: int, port: int = 80) -> Iterator[bytes]:
    """N SYN-ACKs from N distinct IPs: each makes an open-port observation, evidence above layer 2."""
    for index, mac in enumerate(macs(n)):
        yield ether(mac, SCANNER_MAC, 0x0800, tcp(ip_at(index), port, "10.255.255.250", 40_000, b"", flags=0x12))


def dhcp_requests(n: int) -> Iterator[bytes]:
    for index, mac in enumerate(macs(n)):
        payload = dhcp_discover(mac, index, hostname=b"host-%d" % index)
        yield ether(mac, BROADCAST, 0x0800, udp("0.0.0.0", 68, "255.255.255.255", 67, payload))


def http_replies(n: int, body_bytes: int = 16 * 1024, hosts: int = 1, base: str = "10.0.0.0") -> Iterator[bytes]:
    """N HTTP replies spread over ``hosts`` servers; each reply answers its own request path.

    Each reply comes on its own TCP connection after a request (so the passive analyser keeps one
    observation per host, port and path, as it does for a real crawl of a device's pages).
    """
    reply = http_reply(emoji_body(body_bytes))
    client = "10.255.255.250"
    host_macs = macs(hosts, seed=7)
    for index in range(n):
        host = index % hosts
        server, mac = ip_at(host, base), host_macs[host]
        cport = 10_000 + index % 50_000
        request = b"GET /page/%d HTTP/1.1\r\nHost: x\r\n\r\n" % index
        yield ether(SCANNER_MAC, mac, 0x0800, tcp(client, cport, server, 80, request))
        yield ether(mac, SCANNER_MAC, 0x0800, tcp(server, 80, client, cport, reply))


# -- captures --------------------------------------------------------------------------------------
def pcap_records(frames: Iterable[bytes]) -> Iterator[bytes]:
    yield _PCAP_HEADER
    for n, frame in enumerate(frames):
        yield _RECORD.pack(EPOCH + n // 10_000, n % 10_000 * 100, len(frame), len(frame)) + frame


def pcap(frames: Iterable[bytes]) -> bytes:
    return b"".join(pcap_records(frames))


def write_pcap(path: str | Path, frames: Iterable[bytes]) -> Path:
    with open(path, "wb", buffering=1 << 20) as fh:
        for chunk in pcap_records(frames):
            fh.write(chunk)
    return Path(path)


# -- floods as observations (the merge/verdict step alone) -----------------------------------------
_T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def arp_observation(mac: str, ip: str, index: int = 0) -> Observation:
    return Observation.make(
        "arp", ArtefactKind.MAC_ADDRESS, ip=ip, mac=mac, raw=mac,
        fields={"mac.address": mac, "mac.oui": mac.replace(":", "")[:6].upper()},
        time=_T0 + timedelta(microseconds=index),
    )


def many_macs_one_ip(n: int, ip: str = "10.0.0.1") -> list[Observation]:
    return [arp_observation(mac_text(mac), ip, i) for i, mac in enumerate(macs(n))]


def many_ips_one_mac(n: int, mac: str = "58:50:ed:00:00:01") -> list[Observation]:
    return [arp_observation(mac, ip_at(i), i) for i in range(n)]
