"""Issue 19's hostile captures, small: the passive path stays correct and within its bounds, and
says what it cut. Captures come from tests/hostile_captures.py (written with struct into tmp_path);
their full-size versions are timed by bench/hostile_captures.py, not here.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from camsweep.errors import ExitCode, InputFileError
from camsweep.models import ArtefactKind
from camsweep.passive import analyse_capture, signals
from camsweep.passive.capture import open_capture
from camsweep.passive.decode import Defragmenter, decode
from camsweep.passive.signals import FLOW_BYTES, Analyser
from camsweep.protocols import mdns

from tests import hostile_captures as hc
from tests.test_passive_signals import _hikvision_dvr_cert_der, _tls12_server_flight

ROOT = Path(__file__).resolve().parent.parent
SADP_REPLY = (ROOT / "tests" / "fixtures" / "replies" / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()


def _observations(result, kind):
    return [o for item in result.devices for o in item.device.observations if o.kind is kind]


def _run(path: Path, *, analyser: Analyser | None = None, defrag: Defragmenter | None = None, check=None) -> Analyser:
    """Feed a capture through decode and an Analyser, calling ``check`` after every packet."""
    analyser = analyser or Analyser()
    defrag = defrag or Defragmenter()
    with open_capture(str(path)) as capture:
        for ts, linktype, frame in capture.frames():
            pkt = decode(linktype, frame, defrag)
            if pkt is not None:
                analyser.feed(ts, pkt)
            if check:
                check(analyser, defrag)
    return analyser


def _flow_bounds(analyser: Analyser, defrag: Defragmenter) -> None:
    held = [state.held for state in analyser._flows.values()]
    assert analyser._buffered == sum(held) <= signals.TOTAL_FLOW_BYTES
    assert all(h <= FLOW_BYTES for h in held) and len(analyser._flows) <= signals.MAX_FLOWS
    assert len(analyser._done) <= signals.MAX_FLOWS


# -- TLS reassembly ----------------------------------------------------------------------------

def test_empty_tls_records_are_consumed_as_they_arrive(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    hc.tls_empty_records(path, segments=8000)

    def nothing_kept(analyser: Analyser, defrag: Defragmenter) -> None:
        _flow_bounds(analyser, defrag)
        assert analyser._buffered == 0  # whole empty records: nothing left to hold

    analyser = _run(path, check=nothing_kept)
    assert analyser.cut_notes() == [] and not analyser.observations()


def test_a_flow_past_the_per_flow_bound_is_cut_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "long.pcap"
    segments = FLOW_BYTES // 5 + 1000  # 5-byte records, 5,000 bytes past the bound
    hc.tls_empty_records(path, segments=segments, flows=3)
    result = analyse_capture(str(path))
    assert not result.devices
    over = 3 * (segments * 5 - FLOW_BYTES)
    assert f"TCP reassembly: 3 flows cut at the 64 KiB per-flow bound; {over} bytes not analysed" in result.notes


def test_certificate_in_one_byte_records_one_per_segment(tmp_path: Path) -> None:
    flight = _tls12_server_flight(_hikvision_dvr_cert_der())
    path = tmp_path / "bytes.pcap"
    hc.tls_one_byte_records(path, flight)
    result = analyse_capture(str(path))
    (tls,) = _observations(result, ArtefactKind.TLS_CERTIFICATE)
    assert "O=HIKVISION" in tls.fields["tls.subject"] and tls.port == 443
    assert not any("reassembly" in n for n in result.notes)


def test_certificate_in_segments_that_split_record_headers(tmp_path: Path) -> None:
    """Three servers' flights, each cut into segments of 1-7 bytes (the first names the protocol), interleaved."""
    flight = _tls12_server_flight(_hikvision_dvr_cert_der())
    rng = random.Random(19)
    frames = []
    for server in range(3):
        pos, n = 0, 0
        while pos < len(flight):
            size = rng.randint(1, 7) if pos else 3
            frames.append((rng.random(), hc.tcp_frame(flight[pos : pos + size], 443, 41000,
                                                      seq=1 + pos, src=f"198.18.0.{60 + server}")))
            pos += size
            n += 1
    # keep each flow in order, interleave the flows
    by_flow: dict[bytes, list[bytes]] = {}
    for _, frame in frames:
        by_flow.setdefault(frame[26:30], []).append(frame)
    interleaved = [flow[i] for i in range(max(map(len, by_flow.values()))) for flow in by_flow.values() if i < len(flow)]
    path = tmp_path / "split.pcap"
    hc.write_pcap(path, interleaved)
    result = analyse_capture(str(path))
    certs = _observations(result, ArtefactKind.TLS_CERTIFICATE)
    assert sorted(o.ip for o in certs) == ["198.18.0.60", "198.18.0.61", "198.18.0.62"]


def test_stalled_flows_are_held_within_the_total_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real bound is 32 MiB; a small one shows the same behaviour on a small capture.
    monkeypatch.setattr(signals, "TOTAL_FLOW_BYTES", 256 * 1024)
    path = tmp_path / "stalled.pcap"
    hc.tls_stalled_flows(path, flows=16, flow_bytes=FLOW_BYTES)
    analyser = _run(path, check=_flow_bounds)
    assert analyser.flows_dropped > 0 and analyser.flows_cut > 0
    assert analyser.flows_cut + analyser.flows_dropped == 16
    (note,) = analyser.cut_notes()
    assert f"{analyser.flows_dropped} unfinished flows dropped at the 4096-flow / 0 MiB bound" in note


def test_reply_head_one_byte_per_segment(tmp_path: Path) -> None:
    body = b"<html><head><title>login</title></head></html>"
    reply = (b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Length: " + str(len(body)).encode()
             + b"\r\n\r\n" + body)
    # The first segment names the protocol (a flow is classified by it); then one byte per segment.
    start = len(b"HTTP/1.1 ")
    frames = [hc.tcp_frame(reply[:start], 80, 40000, seq=1)]
    frames += [hc.tcp_frame(reply[n : n + 1], 80, 40000, seq=1 + n) for n in range(start, len(reply))]
    path = tmp_path / "dribble.pcap"
    hc.write_pcap(path, frames)
    result = analyse_capture(str(path))
    (obs,) = _observations(result, ArtefactKind.HTTP_RESPONSE)
    assert obs.fields["http.header.server"] == "App-webs/" and obs.fields["http.title"] == "login"


def test_endless_reply_head_is_cut_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "endless.pcap"
    hc.http_header_dribble(path, size=FLOW_BYTES + 100)
    analyser = _run(path, check=_flow_bounds)
    assert analyser.flows_cut == 1 and analyser.flow_bytes_dropped == 100
    (obs,) = analyser.observations()  # what arrived is still read (the cut is in the notes)
    assert obs.fields["http.status"] == "200"


def test_out_of_scope_flows_do_not_grow_the_flow_table(tmp_path: Path) -> None:
    frames = [hc.tcp_frame(b"HTTP/1.1 200 OK\r\n", 80, 1024 + n % 60000, src=f"10.0.{n // 250 % 250}.{n % 250}")
              for n in range(3 * signals.MAX_FLOWS)]
    path = tmp_path / "elsewhere.pcap"
    hc.write_pcap(path, frames)
    analyser = _run(path, analyser=Analyser(lambda ip: ip.startswith("198.18.")), check=_flow_bounds)
    assert len(analyser._done) == signals.MAX_FLOWS


def test_mdns_packet_naming_thousands_of_services_is_cut_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "mdns.pcap"
    hc.mdns_flood(path, packets=3, services=2800)
    result = analyse_capture(str(path))
    records = _observations(result, ArtefactKind.MDNS_RECORD)
    assert len(records) == mdns.MAX_SERVICES  # the same 64 from each of the 3 packets
    assert {o.fields["mdns.instance"] for o in records} >= {"cam00001", "cam00063"}
    assert f"mDNS: {3 * (2800 - mdns.MAX_SERVICES)} services past 64 in one packet not read" in result.notes


# -- IP reassembly -----------------------------------------------------------------------------

def _defrag_bounds(analyser: Analyser, defrag: Defragmenter) -> None:
    held = [entry.have for entry in defrag._pending.values()]
    assert defrag._bytes == sum(held) <= Defragmenter.MAX_BYTES
    assert len(defrag._pending) <= Defragmenter.MAX_DATAGRAMS
    assert all(len(entry.parts) <= Defragmenter.MAX_FRAGMENTS for entry in defrag._pending.values())


def _fragments(datagram_payload: bytes, ident: int, size: int, src: str = "198.18.0.20") -> list[bytes]:
    """A UDP datagram's IP fragments of ``size`` payload bytes each (a multiple of 8)."""
    return [hc.ether(hc.ipv4(datagram_payload[pos : pos + size], src=src, dst="239.255.255.250", proto=17, ident=ident,
                             offset_units=pos // 8, more=pos + size < len(datagram_payload)),
                     dst=bytes.fromhex("01005e7ffffa"))
            for pos in range(0, len(datagram_payload), size)]


def test_fragment_storm_is_refused_per_datagram_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "storm.pcap"
    hc.fragment_storm(path, datagrams=300, fragments=100, size=128)
    defrag = Defragmenter()
    _run(path, defrag=defrag, check=_defrag_bounds)
    assert defrag.dropped_datagrams == 300 and defrag.dropped_bytes == 300 * 100 * 128
    assert not defrag._pending  # each was refused at its 65th fragment


def test_fragment_bytes_are_bounded_and_a_later_datagram_still_reassembles(tmp_path: Path) -> None:
    """100 datagrams of 40 full-size fragments that never complete (5.9 MB), then a real SADP reply."""
    storm = [frame for ident in range(100)
             for frame in _fragments(bytes(40 * 1480), ident, 1480, src="198.18.0.99")[1:]]
    reply = hc.udp(SADP_REPLY + b" " * 3000, 37020, 37020)
    path = tmp_path / "bytes.pcap"
    hc.write_pcap(path, storm + list(reversed(_fragments(reply, 7, 1480))))
    defrag = Defragmenter()
    _run(path, defrag=defrag, check=_defrag_bounds)
    assert defrag.dropped_datagrams > 0 and defrag.dropped_bytes == defrag.dropped_datagrams * 39 * 1480
    result = analyse_capture(str(path))
    assert [o.problem for o in _observations(result, ArtefactKind.SADP_REPLY)] == [None]
    assert any(n.startswith(f"IP reassembly: {defrag.dropped_datagrams} unfinished") for n in result.notes)


def test_many_small_fragments_last_first_reassemble(tmp_path: Path) -> None:
    reply = hc.udp(SADP_REPLY + b" " * (3000 - len(SADP_REPLY)), 37020, 37020)
    pieces = _fragments(reply, 9, 48)  # 63 fragments: within the per-datagram bound
    assert len(pieces) == Defragmenter.MAX_FRAGMENTS - 1
    middle = pieces[:-1]
    random.Random(19).shuffle(middle)
    path = tmp_path / "small.pcap"
    hc.write_pcap(path, [pieces[-1]] + middle)
    result = analyse_capture(str(path))
    assert [o.problem for o in _observations(result, ArtefactKind.SADP_REPLY)] == [None]
    assert not any("reassembly" in n for n in result.notes)


def test_fragments_last_first_with_a_late_hole(tmp_path: Path) -> None:
    path = tmp_path / "hole.pcap"
    hc.fragment_last_first(path, fragments=200)
    defrag = Defragmenter()
    _run(path, defrag=defrag, check=_defrag_bounds)
    assert defrag.dropped_datagrams == 1 and defrag.dropped_bytes == 200 * 8


# -- pcapng with several interfaces ------------------------------------------------------------

@pytest.mark.parametrize("order", ["<", ">"])
def test_each_pcapng_packet_uses_its_own_interfaces_link_type(tmp_path: Path, order: str) -> None:
    path = tmp_path / "multi.pcapng"
    packets = [(0, hc.arp_reply(bytes.fromhex("5850ed000001"), "198.18.0.20")),
               (1, hc.sadp_datagram(SADP_REPLY, "198.18.0.20"))] + [(2, bytes(40))] * 3
    path.write_bytes(hc.pcapng_bytes([hc.LINKTYPE_ETHERNET, hc.LINKTYPE_RAW, hc.LINKTYPE_USER0], packets, order))
    result = analyse_capture(str(path))
    (item,) = result.devices
    assert item.device.mac == "58:50:ed:00:00:01"
    assert [o.problem for o in _observations(result, ArtefactKind.SADP_REPLY)] == [None]
    assert item.verdict.manufacturer.value == "hikvision"
    assert "3 packets skipped on interfaces with unsupported link types: 147 (3 packets)" in result.notes
    assert "capture multi.pcapng: 2 packets read" in result.notes and not result.partial


def test_pcapng_generator_matches_the_issue_case(tmp_path: Path) -> None:
    path = tmp_path / "multi.pcapng"
    hc.multi_interface_pcapng(path, SADP_REPLY)
    with open_capture(str(path)) as capture:
        linktypes = [linktype for _, linktype, _ in capture.frames()]
    assert linktypes == [hc.LINKTYPE_ETHERNET, hc.LINKTYPE_RAW] and capture.skipped == {hc.LINKTYPE_USER0: 3}


def test_pcapng_sections_and_timestamp_resolutions(tmp_path: Path) -> None:
    arp = hc.arp_reply(bytes.fromhex("5850ed000001"), "198.18.0.20")
    first = hc.pcapng_shb("<") + hc.pcapng_idb(hc.LINKTYPE_ETHERNET, "<", tsresol=9) + hc.pcapng_epb(0, 1_500_000_000_250_000_000, arp, "<")
    # a second section, big-endian, whose interface 0 is raw IP and counts in 2^-10 s
    raw = hc.sadp_datagram(SADP_REPLY)
    second = hc.pcapng_shb(">") + hc.pcapng_idb(hc.LINKTYPE_RAW, ">", tsresol=0x8A) + hc.pcapng_epb(0, 3 * 1024, raw, ">")
    path = tmp_path / "sections.pcapng"
    path.write_bytes(first + second + hc.pcapng_epb(5, 0, raw, ">"))  # interface 5 is never declared
    with open_capture(str(path)) as capture:
        frames = list(capture.frames())
    assert [(ts, lt) for ts, lt, _ in frames] == [(1_500_000_000.25, hc.LINKTYPE_ETHERNET), (3.0, hc.LINKTYPE_RAW)]
    assert capture.problem is None and capture.notes() == ["1 packets skipped on interfaces the file does not declare"]


def test_pcapng_with_no_supported_interface_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "user0.pcapng"
    path.write_bytes(hc.pcapng_bytes([hc.LINKTYPE_USER0, 148], [(0, bytes(40)), (1, bytes(40))]))
    with pytest.raises(InputFileError, match="unsupported link types 147, 148"):
        analyse_capture(str(path))
    proc = subprocess.run([sys.executable, "-m", "camsweep", "scan", "--pcap", str(path), "--no-store",
                           "--state-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == ExitCode.USAGE
    assert proc.stderr.count("\n") == 1 and "unsupported link types 147, 148" in proc.stderr


def test_pcapng_block_claiming_gigabytes_stops_cleanly(tmp_path: Path) -> None:
    arp = hc.arp_reply(bytes.fromhex("5850ed000001"), "198.18.0.20")
    good = hc.pcapng_bytes([hc.LINKTYPE_ETHERNET], [(0, arp)])
    lying = bytearray(hc.pcapng_epb(0, 0, arp))
    lying[4:8] = (0xFFFFFFF0).to_bytes(4, "little")
    path = tmp_path / "lying.pcapng"
    path.write_bytes(good + bytes(lying))
    result = analyse_capture(str(path))
    assert result.partial and [i.device.ip for i in result.devices] == ["198.18.0.20"]
    assert any("corrupt or truncated block" in n for n in result.notes)


def test_a_certificate_the_tls_library_warns_about_prints_nothing_on_stderr(tmp_path: Path) -> None:
    """Issue 14: a certificate with a 10,000-character CN made cryptography print a UserWarning
    twice during a scan. The warning is now the observation's problem, and the scan is silent."""
    from tests.hostile_inputs import long_cn_certificate

    path = tmp_path / "long-cn.pcap"
    hc.write_pcap(path, [hc.tcp_frame(_tls12_server_flight(long_cn_certificate()), seq=1)])
    proc = subprocess.run([sys.executable, "-W", "default", "-m", "camsweep", "scan", "--pcap", str(path), "--no-store",
                           "--state-dir", str(tmp_path), "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (ExitCode.OK, ExitCode.RESTRICTED), proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    certificate = next(o for d in json.loads(proc.stdout)["scan"]["devices"] for o in d["device"]["observations"]
                       if o["kind"] == ArtefactKind.TLS_CERTIFICATE.value)
    assert certificate["problem"].startswith("library-warning: UserWarning") and certificate["fields"]["tls.subject.o"] == "HIKVISION"
