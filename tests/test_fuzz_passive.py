"""Property-based fuzzing of the passive path: the frame decoder, IP and TCP reassembly, the
analyser, and the pcap/pcapng readers (issue 19).

Strategies are structure-aware: valid Ethernet/VLAN/Linux-cooked/raw-IP frames carrying IPv4,
UDP and TCP with mutated fields and lying lengths, payloads that open the flows and datagrams the
analyser reads (HTTP, RTSP, TLS records of any size down to one byte, SADP/DHIP/SSDP/WS-Discovery
heads), fragment storms, and pcap/pcapng containers (several interfaces, sections, timestamp
options) that are then truncated, bit-flipped or given lying block lengths.

Properties: nothing raises except ``InputFileError`` for a file that is not a readable capture;
every buffer stays within its documented bound after every packet; the same input gives the same
result; incremental reassembly agrees with parsing the whole stream at once. Deterministic
(``derandomize``, no example database) and sized to run well within a minute on a loaded machine.
"""

from __future__ import annotations

import itertools
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

from camsweep.errors import InputFileError
from camsweep.passive import analyse_capture, signals
from camsweep.passive.capture import (
    LINKTYPE_LINUX_SLL,
    MAX_FRAME,
    SUPPORTED_LINKTYPES,
    open_capture,
)
from camsweep.passive.decode import Defragmenter, Packet, decode
from camsweep.passive.signals import FLOW_BYTES, Analyser, _Flight, _Reply
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile_captures as hc
from tests.test_passive_signals import _hikvision_dvr_cert_der, _tls12_server_flight

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=120,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=40)

IPS = ["198.18.0.20", "198.18.0.2", "239.255.255.250", "255.255.255.255", "0.0.0.0", "10.1.2.3"]
PORTS = [67, 68, 80, 443, 554, 1900, 3702, 5353, 37020, 37810, 40000]
HEADS = [b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 401 Unauthorized\r\nContent-Length: 5\r\n\r\n", b"RTSP/1.0 200 OK\r\n",
         b"GET / HTTP/1.1\r\n", b"DESCRIBE rtsp://x/ RTSP/1.0\r\n", b"\x16\x03\x03", b"<?xml version=\"1.0\"?><ProbeMatch>",
         b"\x20\x00\x00\x00DHIP", b"NOTIFY * HTTP/1.1\r\n", b"<Envelope><Hello>", b"\x84\x00\x00\x00\x00\x01\x00\x00"]


# -- strategies --------------------------------------------------------------------------------

def tls_record(body: bytes, content_type: int = 22, lie: int | None = None) -> bytes:
    return bytes([content_type]) + b"\x03\x03" + (len(body) if lie is None else lie).to_bytes(2, "big") + body


records = st.builds(
    tls_record, st.binary(max_size=12),
    st.sampled_from([22, 22, 22, 22, 20, 21, 23]) | st.integers(0, 255),
    st.none() | st.none() | st.integers(0, 65_535),
)

payloads = st.one_of(
    st.binary(max_size=120),
    st.tuples(st.sampled_from(HEADS), st.binary(max_size=120)).map(b"".join),
    st.lists(records, max_size=16).map(b"".join),
    st.tuples(st.sampled_from(HEADS), st.text(alphabet="a:\r\n 0123456789Content-Length", max_size=80))
    .map(lambda t: t[0] + t[1].encode()),
)


def _segments(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    return [stream[a:b] for a, b in itertools.pairwise(points) if b > a]


mutations = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, value in flips if buf else ():
        buf[pos % len(buf)] = value
    return bytes(buf if cut is None else buf[: cut % (len(buf) + 1)])


@st.composite
def frames(draw: st.DrawFn) -> tuple[int, bytes]:
    """A frame on a random supported link type: mostly well formed, some fields lying."""
    proto = draw(st.sampled_from([6, 6, 6, 17, 17, 1]))
    sport, dport = draw(st.sampled_from(PORTS)), draw(st.sampled_from(PORTS) | st.integers(0, 65_535))
    payload = draw(payloads)
    if proto == 6:
        l4 = hc.tcp(payload, sport, dport, seq=draw(st.integers(0, 2**32 - 1)),
                    flags=draw(st.sampled_from([0x18, 0x12, 0x10, 0x02, 0x11]) | st.integers(0, 255)))
        if draw(st.booleans()):  # a lying data offset
            l4 = l4[:12] + bytes([draw(st.integers(0, 255))]) + l4[13:]
    elif proto == 17:
        l4 = hc.udp(payload, sport, dport)
    else:
        l4 = payload
    fragment = draw(st.integers(0, 4)) == 0
    ip = bytearray(hc.ipv4(
        l4, src=draw(st.sampled_from(IPS)), dst=draw(st.sampled_from(IPS)), proto=proto, ident=draw(st.integers(0, 3)),
        offset_units=draw(st.sampled_from([0, 1, 3, 185]) | st.integers(0, 8191)) if fragment else 0,
        more=fragment and draw(st.booleans()), total=draw(st.none() | st.none() | st.integers(0, 65_535)),
    ))
    if draw(st.integers(0, 9)) == 0:  # version / header length nibbles
        ip[0] = draw(st.integers(0, 255))
    link = draw(st.sampled_from(["ether"] * 6 + ["vlan", "qinq", "tags", "sll", "raw", "arp"]))
    if link == "raw":
        linktype, frame = draw(st.sampled_from([hc.LINKTYPE_RAW, 228])), bytes(ip)
    elif link == "sll":
        linktype = LINKTYPE_LINUX_SLL
        frame = struct.pack("!HHH8sH", 0, 1, 6, hc.SERVER_MAC + b"\0\0", 0x0800) + bytes(ip)
    elif link == "arp":
        linktype, frame = hc.LINKTYPE_ETHERNET, hc.arp_reply(draw(st.binary(min_size=6, max_size=6)), draw(st.sampled_from(IPS)))
    else:
        tags = {"ether": 0, "vlan": 1, "qinq": 2, "tags": draw(st.integers(3, 40))}[link]
        linktype = hc.LINKTYPE_ETHERNET
        inner = (b"\x00\x01\x81\x00" * (tags - 1) + b"\x00\x01\x08\x00") if tags else b""  # TCI + next type
        frame = hc.ether(inner + bytes(ip), ethertype=0x8100 if tags else 0x0800,
                         dst=draw(st.sampled_from([hc.CLIENT_MAC, b"\xff" * 6, bytes.fromhex("01005e7ffffa")])))
    if draw(st.integers(0, 7)) == 0:
        frame = frame[: draw(st.integers(0, len(frame)))]
    return linktype, frame


REPLIES = Path(__file__).parent / "fixtures" / "replies"
STREAMS = [
    (REPLIES / "http_hikvision_nvr_isapi_status_401.txt").read_bytes().replace(b"\n", b"\r\n"),
    (REPLIES / "rtsp_hikvision_describe_401.txt").read_bytes().replace(b"\n", b"\r\n"),
    _tls12_server_flight(_hikvision_dvr_cert_der()),
]


@st.composite
def flows(draw: st.DrawFn) -> list[tuple[int, bytes]]:
    """One TCP direction: a recorded reply, a TLS flight or random records, cut into segments."""
    stream = draw(st.sampled_from(STREAMS) | st.lists(records, min_size=1, max_size=30).map(b"".join) | payloads)
    if draw(st.booleans()):  # mutated
        stream = _mutate(stream, draw(mutations), draw(st.none() | st.integers(0, 10**6)))
    src, sport = draw(st.sampled_from(IPS[:2])), draw(st.sampled_from([80, 443, 554]))
    segments = _segments(stream, draw(st.lists(st.integers(0, 10**6), max_size=20)))
    if segments and draw(st.booleans()):  # the first segment whole enough to name the protocol
        segments = [segments[0] + b"".join(segments[1:3])] + segments[3:]
    return [(hc.LINKTYPE_ETHERNET, hc.tcp_frame(seg, sport, 40000, seq=n, src=src)) for n, seg in enumerate(segments)]


traffic = st.lists(st.one_of(frames().map(lambda f: [f]), flows()), max_size=12).map(lambda parts: [f for p in parts for f in p])


def _check_packet(pkt: Packet | None, frame: bytes) -> None:
    if pkt is None:
        return
    assert isinstance(pkt, Packet) and pkt.proto in (0, 6, 17)
    assert 0 <= pkt.sport <= 65_535 and 0 <= pkt.dport <= 65_535
    assert isinstance(pkt.payload, bytes) and len(pkt.payload) <= max(len(frame), Defragmenter.MAX_SIZE)


def _check_bounds(analyser: Analyser, defrag: Defragmenter) -> None:
    held = [state.held for state in analyser._flows.values()]
    assert analyser._buffered == sum(held) <= signals.TOTAL_FLOW_BYTES
    assert all(state.taken <= FLOW_BYTES and state.held <= state.taken for state in analyser._flows.values())
    assert len(analyser._flows) <= signals.MAX_FLOWS and len(analyser._done) <= signals.MAX_FLOWS
    assert len(analyser._requests) <= signals.MAX_FLOWS
    assert defrag._bytes == sum(e.have for e in defrag._pending.values()) <= Defragmenter.MAX_BYTES
    assert len(defrag._pending) <= Defragmenter.MAX_DATAGRAMS and len(defrag._refused) <= Defragmenter.MAX_DATAGRAMS
    assert all(len(e.parts) <= Defragmenter.MAX_FRAGMENTS for e in defrag._pending.values())


def _analyse(items: Iterable[tuple[int, bytes]]) -> tuple[list[tuple[object, ...]], list[str]]:
    """Decode and analyse frames, checking every bound after every frame; a comparable summary."""
    analyser, defrag = Analyser(), Defragmenter()
    for n, (linktype, frame) in enumerate(items):
        pkt = decode(linktype, frame, defrag)
        _check_packet(pkt, frame)
        if pkt is not None:
            analyser.feed(1_764_000_000.0 + n, pkt)
        _check_bounds(analyser, defrag)
    analyser.flush()
    summary = [(o.kind, o.ip, o.mac, o.port, sorted(o.fields.items()), o.problem, o.truncated)
               for o in analyser.observations()]
    return summary, analyser.cut_notes() + defrag.notes()


# -- decoder and analyser ----------------------------------------------------------------------

@FUZZ
@given(traffic)
def test_decoder_and_analyser_never_raise_stay_bounded_and_are_deterministic(items: list[tuple[int, bytes]]) -> None:
    assert _analyse(items) == _analyse(items)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(sorted(SUPPORTED_LINKTYPES) + [0, 147]), st.binary(max_size=80)), max_size=30))
def test_random_bytes_on_any_link_type(items: list[tuple[int, bytes]]) -> None:
    _analyse(items)


def _certificate_oracle(stream: bytes) -> tuple[bool, bytes | None]:
    """Whole-stream reading of a server flight: (finished, leaf certificate), as the old parser did
    plus the two ends it did not see (a non-handshake record, ServerHelloDone)."""
    handshake, pos, over = b"", 0, False
    while pos + 5 <= len(stream):
        if stream[pos] != 22:
            over = True
            break
        length = int.from_bytes(stream[pos + 3 : pos + 5], "big")
        if pos + 5 + length > len(stream):
            break
        handshake += stream[pos + 5 : pos + 5 + length]
        pos += 5 + length
    pos = 0
    while pos + 4 <= len(handshake):
        msg_type, length = handshake[pos], int.from_bytes(handshake[pos + 1 : pos + 4], "big")
        body = handshake[pos + 4 : pos + 4 + length]
        if len(body) < length:
            break
        if msg_type == 11 and length >= 6:
            first = int.from_bytes(body[3:6], "big")
            der = body[6 : 6 + first]
            return True, (der if len(der) == first and first else None)
        if msg_type == 14:
            return True, None
        pos += 4 + length
    return over, None


handshake_messages = st.one_of(
    st.builds(lambda der: b"\x0b" + (len(der) + 6).to_bytes(3, "big") + (len(der) + 3).to_bytes(3, "big")
              + len(der).to_bytes(3, "big") + der, st.binary(min_size=1, max_size=60)),
    st.builds(lambda t, body: bytes([t]) + len(body).to_bytes(3, "big") + body,
              st.sampled_from([2, 12, 14, 11, 0]), st.binary(max_size=20)),
)


@FUZZ
@given(st.lists(handshake_messages, min_size=1, max_size=5), st.lists(st.integers(1, 9), min_size=1, max_size=40),
       st.lists(st.integers(0, 10**6), max_size=60), st.binary(max_size=6))
def test_tls_flight_read_incrementally_matches_the_whole_stream(
    messages: list[bytes], record_sizes: list[int], cuts: list[int], tail: bytes
) -> None:
    """Any record framing (one-byte records included) and any segmentation give the same answer."""
    handshake = b"".join(messages)
    stream, pos, n = b"", 0, 0
    while pos < len(handshake):
        size = record_sizes[n % len(record_sizes)]
        stream += tls_record(handshake[pos : pos + size])
        pos, n = pos + size, n + 1
    stream += tail  # perhaps a change-cipher-spec, an alert, or half a record
    flight, finished = _Flight(), False
    for segment in _segments(stream, cuts):
        finished = flight.feed(segment)
        assert flight.held <= len(stream)
        if finished:
            break
    assert (finished, flight.certificate if finished else None) == _certificate_oracle(stream)


@FUZZ
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b":", b"\r\nContent-Length: 3", b"\r\n\r\n"]), max_size=60)
       .map(b"".join), st.lists(st.integers(0, 10**6), max_size=80), st.booleans())
def test_reply_head_found_incrementally_as_in_the_whole_stream(data: bytes, cuts: list[int], rtsp: bool) -> None:
    reply, whole = _Reply(rtsp), False
    for segment in _segments(data, cuts):
        whole = reply.feed(segment)
        if whole:
            break
    head_end = data.find(b"\r\n\r\n")
    assert reply.head_end == head_end
    if head_end >= 0 and not rtsp:
        length = signals._content_length(data[:head_end])
        assert whole == (length is not None and len(reply.data) >= head_end + 4 + length)
    else:
        assert whole == (head_end >= 0)


# -- IP reassembly -----------------------------------------------------------------------------

@FUZZ
@given(st.binary(min_size=8, max_size=4000), st.integers(1, 200), st.randoms(use_true_random=False), st.integers(0, 3))
def test_defragmenter_reassembles_any_order_and_duplicates(payload: bytes, unit: int, rng, duplicates: int) -> None:
    size = max(unit * 8, -(-len(payload) // Defragmenter.MAX_FRAGMENTS) // 8 * 8 + 8)
    pieces = [(pos, pos + size < len(payload), payload[pos : pos + size]) for pos in range(0, len(payload), size)]
    pieces += [rng.choice(pieces) for _ in range(duplicates)]
    rng.shuffle(pieces)
    defrag = Defragmenter()
    results = [defrag.add((b"a", b"b", 1, 17), *piece) for piece in pieces]
    done = [r for r in results if r is not None]
    assert done[0] == payload and all(r == payload for r in done)  # a duplicate after the end starts over
    assert defrag.dropped_datagrams == 0


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 8191), st.booleans(), st.integers(0, 1500)), max_size=300))
def test_fragment_storms_stay_bounded(storm: list[tuple[int, int, bool, int]]) -> None:
    defrag = Defragmenter()
    for ident, units, more, size in storm:
        whole = defrag.add((b"a", b"b", ident, 17), units * 8, more, bytes(size))
        assert whole is None or len(whole) <= Defragmenter.MAX_SIZE
        _check_bounds(Analyser(), defrag)
    assert defrag.dropped_bytes >= 0 and (defrag.dropped_datagrams == 0) == (not defrag.notes())


# -- capture containers ------------------------------------------------------------------------

def _read(data: bytes) -> tuple[list[tuple[float, int, bytes]], str | None, list[str]] | str:
    """Read a capture from bytes: its frames, problem and notes, or the InputFileError's text."""
    fd, path = tempfile.mkstemp(suffix=".cap")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            with open_capture(path) as capture:
                frames = list(capture.frames())
                return frames, capture.problem, capture.notes()
        except InputFileError as exc:
            assert "\n" not in str(exc)
            return str(exc).replace(path, "FILE")
    finally:
        os.unlink(path)


def _check_read(outcome: object) -> None:
    if isinstance(outcome, str):
        return  # refused with one line: a non-capture, or no readable interface
    frames, problem, _ = outcome  # type: ignore[misc]
    assert problem is None or isinstance(problem, str)
    for ts, linktype, frame in frames:
        assert isinstance(ts, float) and linktype in SUPPORTED_LINKTYPES and len(frame) <= MAX_FRAME


@FUZZ
@given(st.lists(frames(), min_size=1, max_size=6), mutations, st.none() | st.integers(0, 10**6),
       st.sampled_from([hc.LINKTYPE_ETHERNET, hc.LINKTYPE_RAW, 147]))
def test_pcap_readers_survive_corrupt_containers(items, flips, cut, linktype) -> None:
    data = hc.pcap_header(linktype) + b"".join(hc.pcap_records(frame for _, frame in items))
    intact = _read(data)
    if linktype == 147:
        assert isinstance(intact, str) and "unsupported link type 147" in intact
    else:
        stamps = [(hc.START + n // 1000) + (n % 1000 * 1000) * 1e-6 for n in range(len(items))]
        assert intact == ([(ts, linktype, f) for ts, (_, f) in zip(stamps, items)], None, [])
    outcome = _read(_mutate(data, flips, cut))
    _check_read(outcome)
    assert outcome == _read(_mutate(data, flips, cut))  # deterministic


@st.composite
def pcapng_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, bytes]]]:
    """One or two sections (either byte order), interfaces of mixed link types, packets on them."""
    data, expected = b"", []
    for _ in range(draw(st.integers(1, 2))):
        order = draw(st.sampled_from(["<", ">"]))
        linktypes = draw(st.lists(st.sampled_from([1, 101, 113, 228, 147, 0]), min_size=1, max_size=4))
        data += hc.pcapng_shb(order) + b"".join(
            hc.pcapng_idb(lt, order, tsresol=draw(st.none() | st.integers(0, 255))) for lt in linktypes)
        for linktype, frame in draw(st.lists(frames(), max_size=5)):
            iface = draw(st.integers(0, len(linktypes)))  # one past the end: never declared
            data += hc.pcapng_epb(iface, draw(st.integers(0, 2**64 - 1)), frame, order)
            if iface < len(linktypes) and linktypes[iface] in SUPPORTED_LINKTYPES:
                expected.append((linktypes[iface], frame))
        if draw(st.booleans()):  # a block camsweep does not read (name resolution), skipped
            data += hc.pcapng_block(4, draw(st.binary(max_size=40)), order)
    return data, expected


@FUZZ
@given(pcapng_files(), mutations, st.none() | st.integers(0, 10**6), st.none() | st.integers(0, 2**32 - 1))
def test_pcapng_reader_uses_each_interface_and_survives_corruption(file, flips, cut, lie) -> None:
    data, expected = file
    intact = _read(data)
    if isinstance(intact, str):
        assert "unsupported link type" in intact  # no section declared a readable interface
    else:
        assert [(lt, f) for _, lt, f in intact[0]] == expected and intact[1] is None
    mutated = bytearray(_mutate(data, flips, cut))
    if lie is not None and len(mutated) >= 36:  # the block after the section header lies about its length
        mutated[32:36] = lie.to_bytes(4, "little")
    outcome = _read(bytes(mutated))
    _check_read(outcome)
    assert outcome == _read(bytes(mutated))


@FEW
@given(pcapng_files(), mutations, st.none() | st.integers(0, 10**6))
def test_analyse_capture_refuses_or_reports_never_raises(file, flips, cut) -> None:
    data = _mutate(file[0], flips, cut)
    fd, path = tempfile.mkstemp(suffix=".pcapng")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            result = analyse_capture(path)
        except InputFileError:
            return
        assert result.notes and result.notes[0].endswith("packets read")
        assert result.partial == any("results are from the readable part" in n for n in result.notes)
    finally:
        os.unlink(path)
