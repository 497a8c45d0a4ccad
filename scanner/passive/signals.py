"""Turn decoded packets into the same Observations the active probes produce.

What is read: ARP (MAC/IP), DHCP (hostname, vendor class, parameter list), mDNS announcements and
answers, SSDP NOTIFY and replies, WS-Discovery Hello/Bye/ProbeMatches, SADP and DHIP packets,
clear-text HTTP responses, RTSP replies, TLS 1.2 certificates, and the TCP ports hosts serve on
(SYN-ACKs). Memory stays bounded whatever the capture's length: observations are kept per
(host, artefact) -- a device announcing itself every minute for a week is one observation --
within the caps of ``camsweep.bounds`` (bytes and counts per host, per kind and in all, MACs per
IP, hosts seen only at layer 2). TCP reassembly is capped per flow, in flows and in total bytes, and
parses each flow as it arrives (each byte is looked at a bounded number of times, however the flow
is cut into segments or records). What the reassembly bounds cut is counted (``Analyser.cut_notes``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable

from ..bounds import ObservationBudget
from ..models import ArtefactKind, Observation
from ..protocols import dhcp, dhip, http, mdns, rtsp, sadp, tls, upnp, wsd
from .decode import TCP, UDP, Packet, mac_text

log = logging.getLogger("camsweep")

PROBE = "passive"
MAX_FLOWS = 4096
"""TCP directions remembered at once, both those being reassembled and those known to carry
nothing (so a video stream's segments are dismissed by one lookup)."""
FLOW_BYTES = 64 * 1024
"""Bytes reassembled per direction. A reply head or a camera's certificate chain fits many times
over; a body past it is cut by the codecs at 16 KiB anyway."""
TOTAL_FLOW_BYTES = 32 * 1024 * 1024
"""Bytes buffered across all flows being reassembled. MAX_FLOWS x FLOW_BYTES would be 256 MiB, which
thousands of replies that never finish (a hostile capture) could fill; this is 512 full flows."""
MDNS_SERVICES = 64
"""Services read from one mDNS packet. Responders announce a handful; a 64 KiB packet can name
2,800, each an observation to build (~30 us): uncapped, hostile announcements cost ~1.5 us a byte."""
SYN, ACK = 0x02, 0x10

UDP_PORTS = {67, 68, 1900, 3702, 5353, 37020, 37810}


class Analyser:
    """Feed it frames (``feed``); read the observations it made (``observations``)."""

    def __init__(self, in_scope: Callable[[str], bool] | None = None, budget: ObservationBudget | None = None) -> None:
        self.in_scope = in_scope or (lambda ip: True)
        self.budget = budget or ObservationBudget()
        """What may be kept; its ``notes()`` say what a flood made it cut."""
        self._scoped = in_scope is not None
        self._found: dict[tuple[object, ...], Observation] = {}
        self._flows: OrderedDict[tuple[str, int, str, int], _Reply | _Flight] = OrderedDict()
        self._done: OrderedDict[tuple[str, int, str, int], bool] = OrderedDict()
        """Directions with nothing (more) to read; True for one cut at FLOW_BYTES (its bytes are counted)."""
        self._buffered = 0  # bytes held by self._flows
        self._requests: OrderedDict[tuple[str, int, str, int], str] = OrderedDict()
        self.packets = 0
        self.flows_cut = 0  # reached FLOW_BYTES before their artefact was whole
        self.flows_dropped = 0  # unfinished, pushed out by MAX_FLOWS / TOTAL_FLOW_BYTES
        self.flow_bytes_dropped = 0  # bytes those two lost
        self.mdns_services_cut = 0  # past MDNS_SERVICES in one packet

    # -- bookkeeping --------------------------------------------------------------------------
    def _keep(self, key: tuple[object, ...], obs: Observation) -> None:
        if key in self._found:
            return
        if self.budget.admit(obs):
            self._found[key] = obs

    def observations(self) -> list[Observation]:
        return list(self._found.values())

    # -- the hot path -------------------------------------------------------------------------
    def feed(self, ts: float, pkt: Packet) -> None:
        self.packets += 1
        if pkt.proto == UDP:
            if pkt.sport in UDP_PORTS or pkt.dport in UDP_PORTS:
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
        obs = Observation.make(
            PROBE, ArtefactKind.MAC_ADDRESS, ip=pkt.src_ip, mac=mac, raw=mac,
            fields={"mac.address": mac, "mac.oui": mac.replace(":", "")[:6].upper()}, time=self._when(ts),
        )
        if obs.mac:
            self._keep(("arp", pkt.src_ip, obs.mac), obs)

    def _udp(self, ts: float, pkt: Packet) -> None:
        when = self._when(ts)
        src, port, payload = pkt.src_ip, pkt.sport, pkt.payload
        if not payload:
            return
        if port in (67, 68) or pkt.dport in (67, 68):
            obs = dhcp.parse_packet(payload, probe=PROBE, time=when)
            if obs.mac and obs.problem is None and pkt.sport == 68:
                ip = obs.ip or (src if src != "0.0.0.0" else None)
                placed = ip or obs.fields.get("dhcp.requested_ip") or None
                if self._scoped and (placed is None or not self.in_scope(placed)):
                    return  # with targets, a client we cannot place in them is not reported
                obs = Observation.make(PROBE, obs.kind, ip=ip, mac=obs.mac, raw=obs.raw, fields=obs.fields, time=when)
                self._keep(("dhcp", obs.mac), obs)
            return
        if not self.in_scope(src):
            return
        where = {"probe": PROBE, "ip": src, "mac": self._mac(pkt), "time": when}
        if port == 5353 or pkt.dport == 5353:
            if port == 5353:
                found, cut = _mdns_records(payload, where)
                self.mdns_services_cut += cut
                for obs in found:
                    self._keep(("mdns", src, obs.fields.get("mdns.instance")), obs)
            return
        if port == 37020 and payload.lstrip()[:1] == b"<":
            obs = sadp.parse_reply(payload, **where)
            if b"inquiry" not in payload[:400] or b"ProbeMatch" in payload:
                self._keep(("sadp", src), obs)
        elif port == 37810 and payload[4:8] == b"DHIP":
            if b"DHDiscover.search" not in payload[:200]:
                self._keep(("dhip", src), dhip.parse_reply(payload, **where))
        elif port == 3702 or pkt.dport == 3702:
            if b"ProbeMatches" in payload or b"Hello" in payload or b"Bye" in payload:
                self._keep(("wsd", src), wsd.parse_message(payload, **where))
        elif port == 1900 or pkt.dport == 1900:
            if not payload.startswith(b"M-SEARCH"):
                self._keep(("ssdp", src), upnp.parse_ssdp(payload, **where))

    def _tcp(self, ts: float, pkt: Packet) -> None:
        flags = pkt.tcp_flags
        if flags & SYN:
            if flags & ACK and self.in_scope(pkt.src_ip):  # SYN-ACK: the source serves this port
                key = ("port", pkt.src_ip, pkt.sport)
                if key not in self._found:
                    self._keep(key, Observation.make(
                        PROBE, ArtefactKind.OPEN_PORT, ip=pkt.src_ip, port=pkt.sport,
                        fields={"port.number": pkt.sport, "port.protocol": "tcp"}, time=self._when(ts),
                    ))
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
            if head.startswith((b"GET ", b"HEAD ", b"POST ", b"OPTIONS ", b"DESCRIBE")):
                self._remember_request(flow, payload)
                return
            if head.startswith(b"HTTP/1."):
                state = _Reply(rtsp=False)
            elif head.startswith(b"RTSP/1."):
                state = _Reply(rtsp=True)
            elif head[:2] == b"\x16\x03":
                state = _Flight()
            else:
                self._mark_done(flow)
                return
            if not self.in_scope(pkt.src_ip):
                self._mark_done(flow)
                return
            self._flows[flow] = state
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
        src, sport = flow[0], flow[1]
        where = {"probe": PROBE, "ip": src, "mac": None, "time": self._when(ts)}
        if isinstance(state, _Flight):
            if state.certificate is not None:
                self._keep(("tls", src, sport), tls.from_der(state.certificate, port=sport, **where))
            return
        data = bytes(state.data)
        if state.rtsp:
            self._keep(("rtsp", src, sport), rtsp.parse_reply(data, port=sport, **where))
            return
        path = self._requests.pop(flow, "/")
        self._keep(("http", src, sport, path), http.parse_raw_response(data, path=path, port=sport, **where))

    def flush(self, ts: float = 0.0) -> None:
        """At the end of a capture: parse what partially buffered replies hold."""
        for flow, state in list(self._flows.items()):
            if isinstance(state, _Reply):
                self._finish(ts, flow, state)

    def cut_notes(self) -> list[str]:
        """What the bounds on TCP reassembly and mDNS packets cut, for the result's notes."""
        notes = []
        if self.mdns_services_cut:
            notes.append(f"mDNS: {self.mdns_services_cut} services past {MDNS_SERVICES} in one packet not read")
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
    bytes, and its Content-Length read once, so a reply cut into one-byte segments stays linear."""

    __slots__ = ("data", "head_end", "length", "rtsp", "taken")

    def __init__(self, rtsp: bool) -> None:
        self.rtsp = rtsp
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
            if self.rtsp:
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

    __slots__ = ("certificate", "handshake", "records", "taken")

    def __init__(self) -> None:
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


def _mdns_records(payload: bytes, where: dict[str, object]) -> tuple[list[Observation], int]:
    """Services announced in one mDNS response (PTR -> SRV/TXT in the same packet), at most
    MDNS_SERVICES of them, and how many more there were.

    Parsed with zeroconf's DNSIncoming: responders (zeroconf itself, Avahi) put NSEC records in
    every announcement, which dpkt's DNS parser rejects (seen in the lab's chatty mode).
    """
    from zeroconf import DNSIncoming, DNSPointer, DNSService, DNSText

    msg = DNSIncoming(payload)
    if not msg.valid or not msg.is_response():
        return [], 0
    records = msg.answers()
    srv = {r.name.lower(): r for r in records if isinstance(r, DNSService)}
    txt = {r.name.lower(): r for r in records if isinstance(r, DNSText)}
    out: list[Observation] = []
    cut = 0
    for r in records:
        if not isinstance(r, DNSPointer) or r.name.lower().startswith("_services."):
            continue
        if len(out) >= MDNS_SERVICES:
            cut += 1
            continue
        instance, service_type = r.alias, r.name
        label = instance[: -len(service_type) - 1] if instance.lower().endswith("." + service_type.lower()) else instance
        s = srv.get(instance.lower())
        t = txt.get(instance.lower())
        out.append(mdns.from_service(
            service_type, label, server=s.server if s else None, service_port=s.port if s else None,
            txt=_txt_properties(t.text if t else b""), **where,
        ))
    return out, cut


def _txt_properties(raw: bytes) -> dict[str, str]:
    """TXT rdata (length-prefixed ``key=value`` strings) -> dict."""
    properties: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        length = raw[pos]
        item = raw[pos + 1 : pos + 1 + length].decode("utf-8", "replace")
        pos += 1 + length
        if item:
            key, _, value = item.partition("=")
            properties[key] = value
    return properties
