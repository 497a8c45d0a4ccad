"""The BPF prefilter (``camsweep.passive.bpf``): the same analysis, from fewer frames.

Every capture the repository has (the shipped lab capture, the hostile captures' generators, a
small version of the benchmark's site capture), read with the prefilter (tcpdump/libpcap drops
what cannot carry a signal) and without it (every frame read in Python), must give byte-identical
results. The filter is computed from the protocol declarations, compiles for every link type
camsweep reads, and leaves the frames it should drop out on the real file.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from camsweep import jsonio, protocols
from camsweep.models import ScanResult
from camsweep.passive import analyse_capture, bpf
from camsweep.passive.capture import LINKTYPE_LINUX_SLL, SUPPORTED_LINKTYPES, open_capture
from camsweep.passive.signals import FROM_PORT, REPLIES, REQUESTS, TO_PORT

from tests import hostile_captures as hc
from tests.environment import unavailable

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lab-capture.pcap"
SADP_REPLY = (ROOT / "tests" / "fixtures" / "replies" / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()

if shutil.which("tcpdump") is None:
    unavailable("tcpdump is not installed (Debian package tcpdump)")


def _text(result: ScanResult) -> str:
    """The result as saved, less what differs between two runs (its id and when it ran)."""
    data = result.to_dict()
    for key in ("scan_id", "started", "finished"):
        data.pop(key)
    return jsonio.dumps(data, indent=1)


def _same_both_ways(path: Path, targets: tuple[str, ...] = ()) -> str:
    filtered = _text(analyse_capture(str(path), targets=targets))
    assert filtered == _text(analyse_capture(str(path), targets=targets, prefilter=False))
    return filtered


def _through_tcpdump(path: Path) -> tuple[int, int]:
    """(frames the filter passed, packets in the file), read through tcpdump with no fallback."""
    linktype = bpf.linktype_of(str(path))
    assert linktype is not None
    source = bpf.Prefiltered(str(path), linktype)
    passed = sum(1 for _ in source.frames())  # raises bpf.Failed if tcpdump did not read it whole
    return passed, source.frames_read


def _bench_capture(path: Path, packets: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import passive_capture
    finally:
        sys.path.remove(str(ROOT / "bench"))
    passive_capture.write_capture(str(path), packets)


def _pcapng_copy(source: Path, target: Path) -> None:
    """The same frames as a pcapng (nanosecond ticks, hc's writer)."""
    with open_capture(str(source)) as capture:
        packets = [(0, frame, round(ts * 1e9)) for ts, _, frame in capture.frames()]
    blocks = [hc.pcapng_shb(), hc.pcapng_idb(hc.LINKTYPE_ETHERNET, tsresol=9)]
    blocks += [hc.pcapng_epb(iface, ticks, frame) for iface, frame, ticks in packets]
    target.write_bytes(b"".join(blocks))


# -- the same analysis ---------------------------------------------------------------------------

def test_example_capture_is_analysed_the_same_with_the_filter() -> None:
    text = _same_both_ways(EXAMPLE)
    passed, total = _through_tcpdump(EXAMPLE)
    assert 0 < passed < total
    assert '"tls_certificate"' in text and '"sadp_reply"' in text and '"http_response"' in text


def test_example_capture_in_scope_is_analysed_the_same_with_the_filter() -> None:
    _same_both_ways(EXAMPLE, ("198.18.1.0/24",))


def test_example_capture_as_pcapng_is_analysed_the_same(tmp_path: Path) -> None:
    path = tmp_path / "lab.pcapng"
    _pcapng_copy(EXAMPLE, path)
    assert _through_tcpdump(path) == _through_tcpdump(EXAMPLE)
    as_pcapng = _same_both_ways(path).replace(str(path), str(EXAMPLE)).replace(path.name, EXAMPLE.name)
    assert as_pcapng == _text(analyse_capture(str(EXAMPLE)))  # and the same as from the pcap


def _relinked(source: Path, target: Path, linktype: int) -> None:
    """The lab capture's frames under another link type: raw IP (IPv4 frames without their
    Ethernet header) or Linux cooked (a 16-byte header carrying the sender's MAC)."""
    frames = []
    with open_capture(str(source)) as capture:
        for _, _, frame in capture.frames():
            if linktype == hc.LINKTYPE_RAW:
                if frame[12:14] == b"\x08\x00":
                    frames.append(frame[14:])
            else:  # LINKTYPE_LINUX_SLL: packet type, ARPHRD_ETHER, address length, address, protocol
                frames.append(b"\x00\x00\x00\x01\x00\x06" + frame[6:12] + b"\x00\x00" + frame[12:])
    hc.write_pcap(target, frames, linktype)


@pytest.mark.parametrize("linktype", [hc.LINKTYPE_RAW, LINKTYPE_LINUX_SLL])
def test_example_capture_in_other_link_types_is_analysed_the_same(tmp_path: Path, linktype: int) -> None:
    path = tmp_path / f"lab-{linktype}.pcap"
    _relinked(EXAMPLE, path, linktype)
    assert bpf.linktype_of(str(path)) == linktype
    assert '"sadp_reply"' in _same_both_ways(path)
    passed, total = _through_tcpdump(path)
    assert 0 < passed < total


def test_truncated_capture_gives_the_same_partial_result(tmp_path: Path) -> None:
    data = EXAMPLE.read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: len(data) * 2 // 3])
    text = _same_both_ways(path)
    assert '"partial": true' in text and "truncated" in text


def test_bench_site_capture_is_analysed_the_same_from_a_fraction_of_its_frames(tmp_path: Path) -> None:
    path = tmp_path / "site.pcap"
    _bench_capture(path, 20_000)
    _same_both_ways(path)
    passed, total = _through_tcpdump(path)
    assert total == 20_000
    assert passed < total * 0.35  # the RTP and video/download segments stay in libpcap (the ARP chatter passes)


HOSTILE: dict[str, Callable[[Path], object]] = {
    "tls-empty-records": lambda p: hc.tls_empty_records(p, segments=2000, flows=3),
    "tls-stalled": lambda p: hc.tls_stalled_flows(p, flows=16, flow_bytes=8192),
    "http-dribble": lambda p: hc.http_header_dribble(p, size=5000),
    "fragment-storm": lambda p: hc.fragment_storm(p, datagrams=40, fragments=50),
    "fragments-last-first": lambda p: hc.fragment_last_first(p, fragments=200),
    "mdns-flood": lambda p: hc.mdns_flood(p, packets=3, services=300),
    "many-reply-ports": lambda p: hc.write_pcap(p, [hc.tcp_frame(b"HTTP/1.1 200 OK\r\n", 80, 1024 + n)
                                                    for n in range(bpf.MAX_PORT_PAIRS + 10)]),
    "multi-interface-pcapng": lambda p: hc.multi_interface_pcapng(p, SADP_REPLY),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_captures_are_analysed_the_same_with_the_filter(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.{'pcapng' if 'pcapng' in name else 'pcap'}"
    HOSTILE[name](path)
    _same_both_ways(path)


def test_without_tcpdump_every_frame_is_read_and_the_note_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no tcpdump on it
    result = analyse_capture(str(EXAMPLE))
    assert any(note.startswith("tcpdump not found") for note in result.notes)
    expected = _text(analyse_capture(str(EXAMPLE), prefilter=False))
    assert _text(dataclasses.replace(result, notes=tuple(n for n in result.notes if not n.startswith("tcpdump")))) == expected


# -- the filter itself ---------------------------------------------------------------------------

def test_filter_is_computed_from_the_protocol_declarations() -> None:
    text = bpf.expression()
    passive_udp = {port for spec in protocols.specs() if spec.passive for port in spec.udp}
    assert passive_udp and passive_udp == set(FROM_PORT)
    for port in FROM_PORT:
        assert f"src port {port}" in text
    for port in TO_PORT:
        assert f"dst port {port}" in text
    for start in [s for s, _ in REPLIES] + list(REQUESTS):
        assert f"0x{int.from_bytes(start[:4] if len(start) >= 4 else start[:2], 'big'):x}" in text
    assert "arp" in text and "tcp[13] & 0x12 = 0x12" in text


@pytest.mark.parametrize("linktype", sorted(SUPPORTED_LINKTYPES))
def test_filter_compiles_for_every_link_type_read(linktype: int) -> None:
    program = bpf.compile_filter(bpf.expression(linktype, [(80, 40000)]), linktype)
    assert 10 < len(program) < 4096  # the kernel's limit (BPF_MAXINSNS)


def test_a_filter_that_does_not_compile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="does not compile"):
        bpf.compile_filter("udp port nonsense")


# -- listen: the kernel filters a real packet socket in a lab namespace -------------------------

_SOCKETS = r"""
import json, select, socket, sys, time
from camsweep.passive import bpf
from camsweep.passive.capture import LINKTYPE_ETHERNET

def packet_socket(program):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    if program:
        bpf.attach(sock, program)
    sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: nothing dropped for want of room
    sock.bind(("eth0", 0))
    return sock

filtered = packet_socket(bpf.compile_filter(bpf.expression(LINKTYPE_ETHERNET)))
plain = packet_socket(None)
counts = {"filtered": {}, "plain": {}}
ended = set()
print("ready", flush=True)
deadline = time.monotonic() + 60
while len(ended) < 2 and time.monotonic() < deadline:
    ready, _, _ = select.select([filtered, plain], [], [], 1.0)
    for sock in ready:
        name = "filtered" if sock is filtered else "plain"
        frame, address = sock.recvfrom(65535)
        if address[2] == 4 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue  # outgoing, not IPv4 UDP
        port = int.from_bytes(frame[36:38], "big")
        counts[name][port] = counts[name].get(port, 0) + 1
        if frame[42:] == b"END":
            ended.add(name)
print(json.dumps(counts), flush=True)
"""

_SEND = r"""
import socket, sys
ip, broadcast = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
sock.bind((ip, 0))
for n in range(200):
    sock.sendto(b"\x80\x60" + bytes(100), (broadcast, 50000))  # RTP-like bulk: no decoder reads port 50000
    if n % 20 == 0:
        sock.sendto(b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n", (broadcast, 1900))
sock.sendto(b"END", (broadcast, 1900))
"""


def test_listen_socket_filter_drops_bulk_in_the_kernel_and_passes_signals(tmp_path: Path, needs_root: None) -> None:
    import os
    import select
    import subprocess

    from camsweep.lab import SHIPPED_PROFILES, Lab
    from camsweep.lab.netns import lab_namespaces, run_in_netns

    shutil.copy(SHIPPED_PROFILES / "hik-ds-2cd2722fwd-izs.toml", tmp_path)
    prefix = f"cs-b{os.getpid()}-"
    with Lab(tmp_path, prefix=prefix) as lab:
        (device,) = lab.devices
        lab.check_isolated()
        child = subprocess.Popen(["ip", "netns", "exec", lab.scanner_namespace, sys.executable, "-c", _SOCKETS],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            ready, _, _ = select.select([child.stdout], [], [], 60)
            assert ready and child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
            broadcast = device.ip.rsplit(".", 1)[0] + ".255"
            sent = run_in_netns(device.namespace, [sys.executable, "-c", _SEND, device.ip, broadcast],
                                capture_output=True, text=True, timeout=60)
            assert sent.returncode == 0, sent.stderr
            out, err = child.communicate(timeout=90)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 0, err
        counts = json.loads(out.strip().splitlines()[-1])
    assert [n for n in lab_namespaces() if n.startswith(prefix)] == []
    plain, filtered = counts["plain"], counts["filtered"]
    assert plain.get("50000") == 200 and plain.get("1900") == 11  # both reached the interface
    assert "50000" not in filtered  # the bulk stayed in the kernel
    assert filtered.get("1900") == 11  # every SSDP datagram (a decoder's port) passed


def test_pcapng_whose_times_libpcap_would_round_is_read_in_python(tmp_path: Path) -> None:
    arp = hc.arp_reply(bytes.fromhex("5850ed000001"), "198.18.0.20")
    path = tmp_path / "binary-ticks.pcapng"
    path.write_bytes(hc.pcapng_shb() + hc.pcapng_idb(hc.LINKTYPE_ETHERNET, tsresol=0x8A)
                     + hc.pcapng_epb(0, 1_764_000_000 * 1024 + 1, arp))  # 1/1024 s ticks
    assert bpf.linktype_of(str(path)) is None
    _same_both_ways(path)
    decimal = tmp_path / "decimal-ticks.pcapng"
    decimal.write_bytes(hc.pcapng_shb() + hc.pcapng_idb(hc.LINKTYPE_ETHERNET, tsresol=3)
                        + hc.pcapng_epb(0, 1_764_000_000_123, arp))  # milliseconds: libpcap's times are exact
    assert _through_tcpdump(decimal) == (1, 1)
    _same_both_ways(decimal)


# -- repeated frames ---------------------------------------------------------------------------

def test_repeated_frames_that_change_nothing_are_dismissed_but_fragments_never_are() -> None:
    from camsweep.passive.decode import Defragmenter
    from camsweep.passive.signals import Analyser

    analyser, defrag = Analyser(), Defragmenter()
    arp = hc.arp_reply(bytes.fromhex("5850ed000001"), "198.18.0.20")
    for n in range(3):
        analyser.feed_frame(1_764_000_000.0 + n, hc.LINKTYPE_ETHERNET, arp, defrag)
    assert analyser._settled == {arp} and len(analyser.observations()) == 1 and analyser.packets == 3

    datagram = hc.udp(SADP_REPLY + b" " * 1600, 37020, 37020)
    def fragment(data: bytes, units: int, more: bool) -> bytes:
        return hc.ether(hc.ipv4(data, src="198.18.0.21", dst="239.255.255.250", proto=17, ident=9,
                                offset_units=units, more=more))
    first, last = fragment(datagram[:1480], 0, True), fragment(datagram[1480:], 185, False)
    other_first = fragment(datagram[:1479] + b"!", 0, True)
    for frame in (first, last, other_first, last):  # the second "last" completes the other datagram
        analyser.feed_frame(1_764_000_010.0, hc.LINKTYPE_ETHERNET, frame, defrag)
    assert not defrag._pending and defrag.fragments == 4
    assert last not in analyser._settled and first not in analyser._settled
