"""Turn decoded packets into the same Observations the active probes produce.

What is read: ARP (MAC/IP), DHCP (hostname, vendor class, parameter list), mDNS announcements and
answers, SSDP NOTIFY and replies, WS-Discovery Hello/Bye/ProbeMatches, SADP and DHIP packets,
clear-text HTTP responses, RTSP replies, TLS 1.2 certificates, and the TCP ports hosts serve on
(SYN-ACKs). Which ports and replies go to which decoder, and the decoders themselves, are
declared with each protocol (``ProtocolSpec.passive``, ``camsweep.protocols``); this module only
reassembles and bounds. Memory stays bounded whatever the capture's length: observations are kept
per (host, artefact) -- a device announcing itself every minute for a week is one observation --
within the caps of ``camsweep.bounds`` (bytes and counts per host, per kind and in all, MACs per
IP, hosts seen only at layer 2). TCP reassembly is capped per flow, in flows and in total bytes, and
parses each flow as it arrives (each byte is looked at a bounded number of times, however the flow
is cut into segments or records). What the reassembly bounds, and the decoders' own bounds, cut is
counted (``Analyser.cut_notes``).
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import replace
from datetime import datetime, timezone

from .. import protocols
from ..bounds import ObservationBudget
from ..models import ArtefactKind, Observation
from ..protocols import PASSIVE_PROBE, Heard, Passive, Unread
from ..protocols.arp import mac_fields
from ..protocols.ports import open_port
from .capture import LINKTYPE_ETHERNET
from .decode import TCP, UDP, Defragmenter, Packet, decode, mac_text

log = logging.getLogger("camsweep")

PROBE = PASSIVE_PROBE
MAX_FLOWS = 4096
"""TCP directions remembered at once, both those being reassembled and those whose reply was read
(so the rest of a stream after its reply is dismissed by one lookup)."""
FLOW_BYTES = 64 * 1024
"""Bytes reassembled per direction. A reply head or a camera's certificate chain fits many times
over; a body past it is cut by the codecs at 16 KiB anyway."""
TOTAL_FLOW_BYTES = 32 * 1024 * 1024
"""Bytes buffered across all flows being reassembled. MAX_FLOWS x FLOW_BYTES would be 256 MiB, which
thousands of replies that never finish (a hostile capture) could fill; this is 512 full flows."""
SETTLED_BYTES = 4 * 1024 * 1024
"""Bytes of frames remembered as changing nothing (``Analyser.feed_frame``)."""
SYN, ACK = 0x02, 0x10
UNCONFIGURED = "0.0.0.0"
"""The source address of a unit without one (factory state): such a unit is known by its MAC."""


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

    def __init__(self, in_scope: Callable[[str], bool] | None = None, budget: ObservationBudget | None = None) -> None:
        self.in_scope = in_scope or (lambda ip: True)
        self.budget = budget or ObservationBudget()
        """What may be kept; its ``notes()`` say what a flood made it cut."""
        self._scoped = in_scope is not None
        self._found: dict[Hashable, Observation] = {}
        self._flows: OrderedDict[tuple[str, int, str, int], _Reply | _Flight] = OrderedDict()
        self._done: OrderedDict[tuple[str, int, str, int], bool] = OrderedDict()
        """Directions whose reply was read (or is out of scope); True for one cut at FLOW_BYTES (its bytes are counted)."""
        self._buffered = 0  # bytes held by self._flows
        self._requests: OrderedDict[tuple[str, int, str, int], str] = OrderedDict()
        self.packets = 0
        self.flows_cut = 0  # reached FLOW_BYTES before their artefact was whole
        self.flows_dropped = 0  # unfinished, pushed out by MAX_FLOWS / TOTAL_FLOW_BYTES
        self.flow_bytes_dropped = 0  # bytes those two lost
        self.unread: Counter[tuple[str, str]] = Counter()
        """What decoders left unread at their own bounds (``Unread``), by (who, what)."""
        self.changes = 0
        """Observations offered (kept or cut) and cuts counted: a frame that moved none of this
        moves nothing when it comes again (``feed_frame``)."""
        self._settled: set[bytes] = set()
        self._settled_bytes = 0

    # -- bookkeeping --------------------------------------------------------------------------
    def _keep(self, key: Hashable, obs: Observation) -> None:
        if key in self._found:
            return
        self.changes += 1
        if self.budget.admit(obs):
            self._found[key] = obs

    def _decode(self, passive: Passive, heard: Heard, by_mac: str | None = None) -> None:
        """Keep what ``passive`` reads from ``heard``; ``by_mac``: the sender has no address, so
        its observations carry none and are keyed by this MAC too."""
        for item in passive.decode(heard):
            if isinstance(item, Unread):
                self.changes += 1
                self.unread[item.who, item.what] += item.count
            elif by_mac is None:
                self._keep(*item)
            else:
                key, obs = item
                self._keep((key, by_mac), replace(obs, ip=None))

    def observations(self) -> list[Observation]:
        return list(self._found.values())

    # -- the hot path -------------------------------------------------------------------------
    def feed_frame(self, ts: float, linktype: int, frame: bytes, defrag: Defragmenter | None = None) -> None:
        """Decode a frame and feed it. A site repeats itself (ARP chatter, the same announcement
        every few seconds): an Ethernet frame, not TCP nor a fragment, that changed nothing is
        remembered (within SETTLED_BYTES), and the same bytes again are dismissed by one lookup,
        before they are decoded. The result is the same as feeding every frame."""
        if linktype == LINKTYPE_ETHERNET and frame in self._settled:
            self.packets += 1
            return
        changes, fragments = self.changes, defrag.fragments if defrag else 0
        pkt = decode(linktype, frame, defrag)
        if pkt is None:
            return
        self.feed(ts, pkt)
        if (linktype == LINKTYPE_ETHERNET and pkt.proto != TCP and self.changes == changes
                and (defrag is None or defrag.fragments == fragments)
                and self._settled_bytes + len(frame) <= SETTLED_BYTES):
            self._settled.add(frame)
            self._settled_bytes += len(frame)

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
        # A quarter of a site's frames can be ARP chatter repeating what is already kept; the key
        # (mac_text is already the normalised form) settles that before building an Observation,
        # the costliest step of this path. A key not found yet goes through make() as before.
        if ("arp", pkt.src_ip, mac) in self._found:
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
        mac = self._mac(pkt)
        by_mac = None
        if src == UNCONFIGURED and not passive.places_itself:
            # A unit without an address (factory state) is known by its MAC, as the scan knows it:
            # keyed by 0.0.0.0, a second such unit's announcement was taken for a repeat of the
            # first's and the unit was lost. It is in no target, so only an unscoped run keeps it.
            if self._scoped or mac is None:
                return
            by_mac = mac
        elif not passive.places_itself and not self.in_scope(src):
            return
        self._decode(passive, Heard(payload, src, pkt.sport, pkt.dport, mac, self._when(ts),
                                    in_scope=self.in_scope if self._scoped else None), by_mac)

    def _tcp(self, ts: float, pkt: Packet) -> None:
        flags = pkt.tcp_flags
        if flags & SYN:
            if flags & ACK and self.in_scope(pkt.src_ip):  # SYN-ACK: the source serves this port
                key = ("port", pkt.src_ip, pkt.sport)
                if key not in self._found:
                    self._keep(key, open_port(PROBE, pkt.src_ip, pkt.sport, time=self._when(ts)))
            return
        payload = pkt.payload
        if not payload:
            return
        flow = (pkt.src_ip, pkt.sport, pkt.dst_ip, pkt.dport)
        cut = self._done.get(flow)
        if cut is not None:  # this direction is done
            if cut:
                self.flow_bytes_dropped += len(payload)
            return
        state = self._flows.get(flow)
        if state is None:
            head = payload[:8]
            if head.startswith(REQUESTS):
                self._remember_request(flow, payload)
                return
            passive = next((p for start, p in REPLIES if head.startswith(start)), None)
            if passive is None:
                # Nothing is remembered of a direction until a reply starts in it: what the
                # analysis reads then depends only on packets that start a reply or a request and
                # on the directions they start, which is what lets the BPF prefilter
                # (``camsweep.passive.bpf``) drop every other segment without changing the result.
                return
            state = _Flight(passive) if passive.framing == "tls" else _Reply(passive.framing == "head", passive)
            if not self.in_scope(pkt.src_ip):
                self._mark_done(flow)
                return
            self._flows[flow] = state
        state.seen = ts
        room = FLOW_BYTES - state.taken
        taken = payload if len(payload) <= room else payload[:room]
        state.taken += len(taken)
        held = state.held
        whole = state.feed(taken)
        self._buffered += state.held - held
        if whole:
            self._finish(ts, flow, state)
        elif state.taken >= FLOW_BYTES:
            cut = not state.readable
            if cut:
                self.flows_cut += 1
                self.flow_bytes_dropped += len(payload) - len(taken)
            self._finish(ts, flow, state, cut=cut)
        else:
            self._bound()

    def _remember_request(self, flow: tuple[str, int, str, int], payload: bytes) -> None:
        line = payload[:300].split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if len(parts) >= 2:
            # the reply flows the other way
            self._requests[(flow[2], flow[3], flow[0], flow[1])] = parts[1]
            while len(self._requests) > MAX_FLOWS:
                self._requests.popitem(last=False)

    def _mark_done(self, flow: tuple[str, int, str, int], cut: bool = False) -> None:
        self._done[flow] = cut
        if len(self._done) > MAX_FLOWS:
            self._done.popitem(last=False)

    def _bound(self) -> None:
        """Drop the oldest unfinished flows beyond MAX_FLOWS or TOTAL_FLOW_BYTES, counting them."""
        while len(self._flows) > MAX_FLOWS or self._buffered > TOTAL_FLOW_BYTES:
            flow, state = self._flows.popitem(last=False)
            self._buffered -= state.held
            self.flows_dropped += 1
            self.flow_bytes_dropped += state.held
            self._mark_done(flow)  # its later segments are mid-stream: not a new flow

    def _finish(self, ts: float, flow: tuple[str, int, str, int], state: _Reply | _Flight, cut: bool = False) -> None:
        del self._flows[flow]
        self._buffered -= state.held
        self._mark_done(flow, cut)
        if isinstance(state, _Flight):
            if state.certificate is None:
                return
            data = state.certificate  # what a "tls" decoder reads (``Heard.payload``)
        else:
            data = bytes(state.data)
        path = self._requests.pop(flow, "/")
        if state.passive is not None:  # None only for a state made outside the analyser (tests)
            self._decode(state.passive, Heard(data, flow[0], flow[1], flow[3], None, self._when(ts), path=path))

    def flush(self) -> None:
        """At the end of a capture: parse what partially buffered replies hold, dated by their last
        segment (not by the capture's last frame, which a prefilter may not pass)."""
        for flow, state in list(self._flows.items()):
            if isinstance(state, _Reply):
                self._finish(state.seen, flow, state)

    def cut_notes(self) -> list[str]:
        """What the bounds on TCP reassembly and the decoders' own bounds (mDNS services in one
        packet) cut, for the result's notes."""
        notes = [f"{who}: {count} {what} not read" for (who, what), count in self.unread.items()]
        if not (self.flows_cut or self.flows_dropped):
            return notes
        parts = []
        if self.flows_cut:
            parts.append(f"{self.flows_cut} flows cut at the {FLOW_BYTES // 1024} KiB per-flow bound")
        if self.flows_dropped:
            parts.append(f"{self.flows_dropped} unfinished flows dropped at the {MAX_FLOWS}-flow / "
                         f"{TOTAL_FLOW_BYTES // 2**20} MiB bound")
        return notes + [f"TCP reassembly: {' and '.join(parts)}; {self.flow_bytes_dropped} bytes not analysed"]


class _Reply:
    """An HTTP or RTSP reply being reassembled. The end of its head is searched for only in the new
    bytes, and its Content-Length read once, so a reply cut into one-byte segments stays linear.
    ``head_only``: the reply is whole at its head (``Passive.framing`` "head", RTSP); else a
    Content-Length body follows ("message", HTTP)."""

    __slots__ = ("data", "head_end", "head_only", "length", "passive", "seen", "taken")

    def __init__(self, head_only: bool, passive: Passive | None = None) -> None:
        self.head_only = head_only
        self.passive = passive
        self.seen = 0.0  # when its last segment came
        self.data = bytearray()
        self.taken = 0
        self.head_end = -1
        self.length: int | None = None

    @property
    def held(self) -> int:
        return len(self.data)

    @property
    def readable(self) -> bool:
        """Its head is whole: parsing it now loses no more than body the codecs would cut."""
        return self.head_end >= 0

    def feed(self, payload: bytes) -> bool:
        """Add bytes; True once the reply is whole."""
        data = self.data
        if self.head_end < 0:
            scanned = len(data)
            data += payload
            # the blank line may straddle the old and new bytes: look 3 bytes back, no further
            self.head_end = data.find(b"\r\n\r\n", max(0, scanned - 3))
            if self.head_end < 0:
                return False
            if self.head_only:
                return True  # an RTSP reply's head is all that is read
            self.length = _content_length(bytes(data[: self.head_end]))
        else:
            data += payload
        return self.length is not None and len(data) >= self.head_end + 4 + self.length


class _Flight:
    """A TLS server flight parsed as it arrives: bytes into records, records into handshake
    messages, the server's leaf certificate out of the Certificate message.

    Only the unfinished tail of each layer is kept (an incomplete record, an incomplete message), so
    memory is what is still needed, and each byte is copied at most twice. Re-parsing the whole flow
    on every segment was quadratic (issue 19: 8,000 empty records took 9.8 s). TLS 1.3 encrypts the
    certificate, so nothing is read from it (documented limit).
    """

    __slots__ = ("certificate", "handshake", "passive", "records", "seen", "taken")

    def __init__(self, passive: Passive | None = None) -> None:
        self.passive = passive
        self.seen = 0.0
        self.taken = 0
        self.records = bytearray()  # bytes of a record not yet whole
        self.handshake = bytearray()  # handshake bytes of a message not yet whole
        self.certificate: bytes | None = None

    @property
    def held(self) -> int:
        return len(self.records) + len(self.handshake)

    readable = False  # a flight not finished by ``feed`` holds no certificate

    def feed(self, data: bytes) -> bool:
        """Add bytes; True once the certificate is read or cannot come any more."""
        records = self.records
        records += data
        handshake = self.handshake
        pos, end, over = 0, len(records), False
        while end - pos >= 5:
            if records[pos] != 22:  # not a handshake record: the server's flight is over
                over = True
                break
            length = (records[pos + 3] << 8) | records[pos + 4]
            if end - pos - 5 < length:
                break  # the rest of this record has not arrived yet
            handshake += records[pos + 5 : pos + 5 + length]
            pos += 5 + length
        del records[:pos]
        pos, end = 0, len(handshake)
        while end - pos >= 4:
            msg_type = handshake[pos]
            length = int.from_bytes(handshake[pos + 1 : pos + 4], "big")
            if end - pos - 4 < length:
                break  # not all of it has arrived yet
            if msg_type == 11 and length >= 6:  # Certificate
                first = int.from_bytes(handshake[pos + 7 : pos + 10], "big")
                der = bytes(handshake[pos + 10 : pos + 10 + min(first, length - 6)])
                self.certificate = der if len(der) == first and first else None
                return True
            if msg_type == 14:  # ServerHelloDone: the flight ended without a certificate
                return True
            pos += 4 + length
        del handshake[:pos]
        return over


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None
