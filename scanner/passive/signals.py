"""Turn decoded packets into the same Observations the active probes produce.

What is read: ARP (MAC/IP), DHCP (hostname, vendor class, parameter list), mDNS announcements and
answers, SSDP NOTIFY and replies, WS-Discovery Hello/Bye/ProbeMatches, SADP and DHIP packets,
clear-text HTTP responses, RTSP replies, TLS 1.2 certificates, and the TCP ports hosts serve on
(SYN-ACKs). Memory stays bounded whatever the capture's length: observations are kept per
(host, artefact) -- a device announcing itself every minute for a week is one observation --
within the caps of ``camsweep.bounds`` (bytes and counts per host, per kind and in all, MACs per
IP, hosts seen only at layer 2), and per-flow buffers are capped in size and number.
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
FLOW_BYTES = 64 * 1024
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
        self._flows: OrderedDict[tuple[str, int, str, int], bytearray | None] = OrderedDict()
        self._requests: OrderedDict[tuple[str, int, str, int], str] = OrderedDict()
        self.packets = 0

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
                for obs in _mdns_records(payload, where):
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
        if not pkt.payload:
            return
        flow = (pkt.src_ip, pkt.sport, pkt.dst_ip, pkt.dport)
        state = self._flows.get(flow, b"")
        if state is None:  # this direction is done
            return
        if not state:
            head = pkt.payload[:8]
            if head.startswith((b"GET ", b"HEAD ", b"POST ", b"OPTIONS ", b"DESCRIBE")):
                self._remember_request(flow, pkt.payload)
                return
            if not (head.startswith((b"HTTP/1.", b"RTSP/1.")) or head[:2] in (b"\x16\x03",)):
                self._flows[flow] = None
                self._trim()
                return
            if not self.in_scope(pkt.src_ip):
                self._flows[flow] = None
                return
            state = bytearray()
            self._flows[flow] = state
            self._trim()
        state += pkt.payload[: FLOW_BYTES - len(state)]
        if self._try_finish(ts, flow, state) or len(state) >= FLOW_BYTES:
            self._finish(ts, flow, state, force=True)

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

    def _try_finish(self, ts: float, flow: tuple[str, int, str, int], state: bytearray) -> bool:
        """True when the buffered bytes already hold a whole artefact."""
        if state[:2] == b"\x16\x03":
            return _certificate_from_handshake(bytes(state)) is not None
        head_end = state.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        if state.startswith(b"RTSP/"):
            return True
        length = _content_length(bytes(state[:head_end]))
        return length is not None and len(state) >= head_end + 4 + length

    def _finish(self, ts: float, flow: tuple[str, int, str, int], state: bytearray, force: bool = False) -> None:
        src, sport = flow[0], flow[1]
        data = bytes(state)
        self._flows[flow] = None
        where = {"probe": PROBE, "ip": src, "mac": None, "time": self._when(ts)}
        if data[:2] == b"\x16\x03":
            der = _certificate_from_handshake(data)
            if der is not None:
                self._keep(("tls", src, sport), tls.from_der(der, port=sport, **where))
            return
        if data.startswith(b"RTSP/"):
            self._keep(("rtsp", src, sport), rtsp.parse_reply(data, port=sport, **where))
            return
        path = self._requests.pop(flow, "/")
        self._keep(("http", src, sport, path), http.parse_raw_response(data, path=path, port=sport, **where))

    def flush(self, ts: float = 0.0) -> None:
        """At the end of a capture: parse what partially buffered flows hold."""
        for flow, state in list(self._flows.items()):
            if state:
                self._finish(ts, flow, state)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _mdns_records(payload: bytes, where: dict[str, object]) -> list[Observation]:
    """Services announced in one mDNS response (PTR -> SRV/TXT in the same packet).

    Parsed with zeroconf's DNSIncoming: responders (zeroconf itself, Avahi) put NSEC records in
    every announcement, which dpkt's DNS parser rejects (seen in the lab's chatty mode).
    """
    from zeroconf import DNSIncoming, DNSPointer, DNSService, DNSText

    msg = DNSIncoming(payload)
    if not msg.valid or not msg.is_response():
        return []
    records = msg.answers()
    srv = {r.name.lower(): r for r in records if isinstance(r, DNSService)}
    txt = {r.name.lower(): r for r in records if isinstance(r, DNSText)}
    out = []
    for r in records:
        if not isinstance(r, DNSPointer) or r.name.lower().startswith("_services."):
            continue
        instance, service_type = r.alias, r.name
        label = instance[: -len(service_type) - 1] if instance.lower().endswith("." + service_type.lower()) else instance
        s = srv.get(instance.lower())
        t = txt.get(instance.lower())
        out.append(mdns.from_service(
            service_type, label, server=s.server if s else None, service_port=s.port if s else None,
            txt=_txt_properties(t.text if t else b""), **where,
        ))
    return out


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
