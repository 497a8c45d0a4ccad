"""Turn decoded packets into the same Observations the active probes produce.

What is read: ARP (MAC/IP), DHCP (hostname, vendor class, parameter list), mDNS announcements and
answers, SSDP NOTIFY and replies, WS-Discovery Hello/Bye/ProbeMatches, SADP and DHIP packets,
clear-text HTTP responses, RTSP replies, TLS 1.2 certificates, and the TCP ports hosts serve on
(SYN-ACKs). Which ports and replies go to which decoder, and the decoders themselves, are
declared with each protocol (``ProtocolSpec.passive``, ``camsweep.protocols``). Memory stays
bounded whatever the capture's length: observations are kept per (host, artefact) -- a device
announcing itself every minute for a week is one observation -- and per-flow buffers are capped
in size and number.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timezone

from .. import protocols
from ..models import ArtefactKind, Observation
from ..protocols import PASSIVE_PROBE, Heard, Passive
from ..protocols.arp import mac_fields
from ..protocols.ports import open_port
from .decode import TCP, UDP, Packet, mac_text

log = logging.getLogger("camsweep")

PROBE = PASSIVE_PROBE
MAX_FLOWS = 4096
FLOW_BYTES = 64 * 1024
MAX_OBSERVATIONS = 200_000
SYN, ACK = 0x02, 0x10


def _udp_dispatch() -> tuple[dict[int, Passive], dict[int, Passive]]:
    """(decoder by the port a datagram comes from, decoder by the port it goes to)."""
    from_port: dict[int, Passive] = {}
    to_port: dict[int, Passive] = {}
    for spec in protocols.specs():
        if spec.passive is not None:
            for port in spec.udp:
                from_port[port] = spec.passive
                if not spec.passive.replies_only:
                    to_port[port] = spec.passive
    return from_port, to_port


FROM_PORT, TO_PORT = _udp_dispatch()
REPLIES = tuple((start, spec.passive) for spec in protocols.specs() if spec.passive for start in spec.passive.tcp)
"""(first bytes of a TCP reply direction, its decoder)."""
REQUESTS = tuple(start for spec in protocols.specs() if spec.passive for start in spec.passive.requests)
"""First bytes of a TCP request whose path the reply is filed under."""


class Analyser:
    """Feed it frames (``feed``); read the observations it made (``observations``)."""

    def __init__(self, in_scope: Callable[[str], bool] | None = None) -> None:
        self.in_scope = in_scope or (lambda ip: True)
        self._scoped = in_scope is not None
        self._found: dict[Hashable, Observation] = {}
        self._flows: OrderedDict[tuple[str, int, str, int], tuple[Passive, bytearray] | None] = OrderedDict()
        self._requests: OrderedDict[tuple[str, int, str, int], str] = OrderedDict()
        self.packets = 0
        self.dropped_observations = 0

    # -- bookkeeping --------------------------------------------------------------------------
    def _keep(self, key: Hashable, obs: Observation) -> None:
        if key in self._found:
            return
        if len(self._found) >= MAX_OBSERVATIONS:
            self.dropped_observations += 1
            return
        self._found[key] = obs

    def observations(self) -> list[Observation]:
        return list(self._found.values())

    # -- the hot path -------------------------------------------------------------------------
    def feed(self, ts: float, pkt: Packet) -> None:
        self.packets += 1
        if pkt.proto == UDP:
            if pkt.sport in FROM_PORT or pkt.dport in TO_PORT:
                self._udp(ts, pkt)
        elif pkt.proto == TCP:
            self._tcp(ts, pkt)
        elif pkt.proto == 0:
            self._arp(ts, pkt)

    def _when(self, ts: float) -> datetime:
        # A capture's timestamps are file data: pcapng's 64-bit ones can lie past year 9999
        # (or be NaN), which datetime refuses. Such a packet is dated at the epoch, not fatal.
        try:
            return datetime.fromtimestamp(ts, timezone.utc)
        except (ValueError, OverflowError, OSError):
            return datetime.fromtimestamp(0, timezone.utc)

    def _mac(self, pkt: Packet) -> str | None:
        return mac_text(pkt.src_mac) if pkt.link_local else None

    def _arp(self, ts: float, pkt: Packet) -> None:
        if pkt.src_ip == "0.0.0.0" or not self.in_scope(pkt.src_ip):
            return
        mac = mac_text(pkt.src_mac)
        if not mac:
            return
        obs = Observation.make(PROBE, ArtefactKind.MAC_ADDRESS, ip=pkt.src_ip, mac=mac, raw=mac,
                               fields=mac_fields(mac), time=self._when(ts))
        if obs.mac:
            self._keep(("arp", pkt.src_ip, obs.mac), obs)

    def _udp(self, ts: float, pkt: Packet) -> None:
        payload = pkt.payload
        if not payload:
            return
        passive = FROM_PORT.get(pkt.sport) or TO_PORT.get(pkt.dport)
        if passive is None:
            return
        src = pkt.src_ip
        if not passive.places_itself and not self.in_scope(src):
            return
        heard = Heard(payload, src, pkt.sport, pkt.dport, self._mac(pkt), self._when(ts),
                      in_scope=self.in_scope if self._scoped else None)
        for key, obs in passive.decode(heard):
            self._keep(key, obs)

    def _tcp(self, ts: float, pkt: Packet) -> None:
        flags = pkt.tcp_flags
        if flags & SYN:
            if flags & ACK and self.in_scope(pkt.src_ip):  # SYN-ACK: the source serves this port
                key = ("port", pkt.src_ip, pkt.sport)
                if key not in self._found:
                    self._keep(key, open_port(PROBE, pkt.src_ip, pkt.sport, time=self._when(ts)))
            return
        if not pkt.payload:
            return
        flow = (pkt.src_ip, pkt.sport, pkt.dst_ip, pkt.dport)
        entry = self._flows.get(flow, ())
        if entry is None:  # this direction is done
            return
        if not entry:
            head = pkt.payload[:8]
            if head.startswith(REQUESTS):
                self._remember_request(flow, pkt.payload)
                return
            passive = next((p for start, p in REPLIES if head.startswith(start)), None)
            if passive is None:
                self._flows[flow] = None
                self._trim()
                return
            if not self.in_scope(pkt.src_ip):
                self._flows[flow] = None
                return
            entry = self._flows[flow] = (passive, bytearray())
            self._trim()
        passive, state = entry
        state += pkt.payload[: FLOW_BYTES - len(state)]
        if _whole(passive.framing, state) or len(state) >= FLOW_BYTES:
            self._finish(ts, flow, entry)

    def _remember_request(self, flow: tuple[str, int, str, int], payload: bytes) -> None:
        line = payload.split(b"\r\n", 1)[0][:300].decode("latin-1")
        parts = line.split(" ")
        if len(parts) >= 2:
            # the reply flows the other way
            self._requests[(flow[2], flow[3], flow[0], flow[1])] = parts[1]
            while len(self._requests) > MAX_FLOWS:
                self._requests.popitem(last=False)

    def _trim(self) -> None:
        while len(self._flows) > MAX_FLOWS:
            self._flows.popitem(last=False)

    def _finish(self, ts: float, flow: tuple[str, int, str, int], entry: tuple[Passive, bytearray]) -> None:
        self._flows[flow] = None
        passive, state = entry
        data = bytes(state)
        path = self._requests.pop(flow, "/")
        if passive.framing == "tls":
            der = _certificate_from_handshake(data)
            if der is None:
                return
            data = der
        heard = Heard(data, flow[0], flow[1], flow[3], None, self._when(ts), path=path)
        for key, obs in passive.decode(heard):
            self._keep(key, obs)

    def flush(self, ts: float = 0.0) -> None:
        """At the end of a capture: parse what partially buffered flows hold."""
        for flow, entry in list(self._flows.items()):
            if entry and entry[1]:
                self._finish(ts, flow, entry)


def _whole(framing: str, state: bytearray) -> bool:
    """True when the buffered bytes already hold a whole artefact (``Passive.framing``)."""
    if framing == "tls":
        return _certificate_from_handshake(bytes(state)) is not None
    head_end = state.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    if framing == "head":
        return True
    length = _content_length(bytes(state[:head_end]))
    return length is not None and len(state) >= head_end + 4 + length


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _certificate_from_handshake(data: bytes) -> bytes | None:
    """The server's leaf certificate (DER) from a TLS 1.2 server flight, once it is complete.

    TLS 1.3 encrypts the certificate, so nothing is read from it (documented limit).
    """
    handshake = bytearray()
    pos = 0
    while pos + 5 <= len(data):
        content_type, length = data[pos], int.from_bytes(data[pos + 3 : pos + 5], "big")
        if content_type != 22:  # not a handshake record
            break
        handshake += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
    pos = 0
    while pos + 4 <= len(handshake):
        msg_type = handshake[pos]
        length = int.from_bytes(handshake[pos + 1 : pos + 4], "big")
        body = handshake[pos + 4 : pos + 4 + length]
        if len(body) < length:
            return None  # not all of it has arrived yet
        if msg_type == 11 and length >= 6:  # Certificate
            first = int.from_bytes(body[3:6], "big")
            der = bytes(body[6 : 6 + first])
            return der if len(der) == first and first else None
        pos += 4 + length
    return None
