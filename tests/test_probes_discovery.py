"""Tests for the network-wide discovery probes (arp, wsd, sadp, dhip, ssdp, mdns) and their helpers.

Two layers:
* pure/unit tests that send nothing (parsing, scope filtering, routing of datagrams) or use only
  loopback sockets inside this process;
* lab tests that run each probe inside the lab's scanner namespace against emulated devices
  (skipped only when not root and not in CI).
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
import time
from pathlib import Path

import pytest

from scanner.config import ScanConfig
from scanner.models import ArtefactKind, Observation
from scanner.probes import ProbeContext
from scanner.probes import _udp
from scanner.probes.arp import parse_proc_net_arp, read_neighbour_table, sweep_targets
from scanner.probes.ssdp import fetch_bounded, location_target, _source_bound_session

REPLIES = Path(__file__).parent / "fixtures" / "replies"

# /proc/net/arp as the kernel wrote it in a throwaway namespace (198.18.0.2/24 on veth-s) after
# datagrams to 198.18.0.10, .11 (alive, one veth with two addresses) and .99 (nobody: incomplete).
PROC_NET_ARP = """\
IP address       HW type     Flags       HW address            Mask     Device
198.18.0.10      0x1         0x2         3a:35:28:0a:bc:b4     *        veth-s
198.18.0.99      0x1         0x0         00:00:00:00:00:00     *        veth-s
198.18.0.11      0x1         0x2         3a:35:28:0a:bc:b4     *        veth-s
"""


def make_ctx(scope: str = "127.0.0.0/8", **config: object) -> tuple[ProbeContext, list[Observation]]:
    seen: list[Observation] = []
    network = ipaddress.ip_network(scope)
    ctx = ProbeContext(
        config=ScanConfig(**config),  # type: ignore[arg-type]
        emit=seen.append,
        cancelled=threading.Event(),
        in_scope=lambda ip: ipaddress.ip_address(ip) in network,
    )
    return ctx, seen


# ------------------------------------------------------------------------------ neighbour table


def test_proc_net_arp_keeps_only_complete_entries() -> None:
    entries = parse_proc_net_arp(PROC_NET_ARP)
    assert [(e.ip, e.mac, e.device) for e in entries] == [
        ("198.18.0.10", "3a:35:28:0a:bc:b4", "veth-s"),
        ("198.18.0.11", "3a:35:28:0a:bc:b4", "veth-s"),
    ]


def test_proc_net_arp_ignores_garbage_lines() -> None:
    text = PROC_NET_ARP + "not an entry\n300.1.2.3 0x1 0x2 aa:bb:cc:dd:ee:ff * veth-s\n\n"
    assert len(parse_proc_net_arp(text)) == 2


def test_neighbour_table_observations_filter_interface_and_scope(tmp_path: Path) -> None:
    table = tmp_path / "arp"
    table.write_text(PROC_NET_ARP)
    all_on_veth = read_neighbour_table("veth-s", path=table)
    assert [o.ip for o in all_on_veth] == ["198.18.0.10", "198.18.0.11"]
    first = all_on_veth[0]
    assert first.kind is ArtefactKind.MAC_ADDRESS and first.probe == "arp"
    assert first.mac == "3a:35:28:0a:bc:b4"
    assert dict(first.fields) == {"mac.address": "3a:35:28:0a:bc:b4", "mac.oui": "3A3528"}

    only_10 = read_neighbour_table("veth-s", lambda ip: ip == "198.18.0.10", path=table)
    assert [o.ip for o in only_10] == ["198.18.0.10"]
    assert read_neighbour_table("eth9", path=table) == []


def test_unreadable_neighbour_table_is_empty(tmp_path: Path) -> None:
    assert read_neighbour_table(path=tmp_path / "missing") == []


def test_sweep_targets_are_in_scope_on_link_and_not_ourselves() -> None:
    iface = _udp.InterfaceAddress("veth-s", "198.18.0.2", ipaddress.IPv4Network("198.18.0.0/24"))
    scope = ipaddress.ip_network("198.18.0.0/28")
    targets = [ip for ip, _ in sweep_targets([iface], lambda ip: ipaddress.ip_address(ip) in scope)]
    assert targets == [f"198.18.0.{n}" for n in range(1, 16) if n != 2]
    # Targets off the interface's subnets (a routed segment) are never ARPed.
    assert list(sweep_targets([iface], lambda ip: ip.startswith("198.18.1."))) == []


# ------------------------------------------------------------------------------ interface helper


def test_no_interface_is_a_usage_error() -> None:
    from scanner.errors import UsageError

    with pytest.raises(UsageError):
        _udp.interface_address(None)


def test_missing_interface_is_a_scan_error() -> None:
    from scanner.errors import ScanError

    with pytest.raises(ScanError):
        _udp.interface_address("cs-nope0")


def test_loopback_interface_address() -> None:
    lo = _udp.interface_address("lo")
    assert lo.ip == "127.0.0.1" and lo.network == ipaddress.IPv4Network("127.0.0.0/8")


# ------------------------------------------------------------------- datagram routing (loopback)


def _loopback_iface() -> _udp.InterfaceAddress:
    return _udp.InterfaceAddress("lo", "127.0.0.1", ipaddress.IPv4Network("127.0.0.0/8"))


def test_receive_until_drops_out_of_scope_and_own_addresses() -> None:
    ctx_in, _ = make_ctx("127.0.0.0/8")
    ctx_out, _ = make_ctx("198.18.0.0/24")
    for ctx, own, expected in ((ctx_in, (), 1), (ctx_out, (), 0), (ctx_in, ("127.0.0.1",), 0)):
        got: list[bytes] = []
        with _udp.udp_socket(_loopback_iface()) as receiver, _udp.udp_socket(_loopback_iface()) as peer:
            peer.sendto(b"hello", receiver.getsockname())
            stop = lambda: len(got) >= 1  # noqa: E731
            _udp.receive_until(
                ctx, [receiver], time.monotonic() + 0.5, lambda d, ip, port: got.append(d),
                own_ips=own, stop=stop,
            )
        assert len(got) == expected


def test_receive_until_survives_a_failing_handler() -> None:
    ctx, _ = make_ctx()
    calls: list[bytes] = []

    def handler(data: bytes, ip: str, port: int) -> None:
        calls.append(data)
        if data == b"boom":
            raise ValueError("parser bug")

    with _udp.udp_socket(_loopback_iface()) as receiver, _udp.udp_socket(_loopback_iface()) as peer:
        peer.sendto(b"boom", receiver.getsockname())
        peer.sendto(b"fine", receiver.getsockname())
        _udp.receive_until(ctx, [receiver], time.monotonic() + 1.0, handler, stop=lambda: len(calls) >= 2)
    assert calls == [b"boom", b"fine"]


def test_receive_until_returns_at_once_when_cancelled() -> None:
    ctx, _ = make_ctx()
    ctx.cancelled.set()
    with _udp.udp_socket(_loopback_iface()) as receiver:
        started = time.monotonic()
        _udp.receive_until(ctx, [receiver], started + 30, lambda *a: None)
    assert time.monotonic() - started < 5  # generous: it returns without waiting 30 s


def test_unicast_ask_reads_the_answer_of_that_host_only() -> None:
    """A loopback responder answers SADP-style; the exchange stops at the first answer."""
    ctx, _ = make_ctx()
    reply = (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as responder:
        responder.bind(("127.0.0.1", 0))
        responder.settimeout(5)

        def answer() -> None:
            _, peer = responder.recvfrom(2048)
            responder.sendto(reply, peer)

        thread = threading.Thread(target=answer)
        thread.start()
        answers: list[bytes] = []
        ok = _udp.unicast_ask(
            ctx, _loopback_iface(), [b"<Probe>inquiry</Probe>"], responder.getsockname(),
            lambda data, ip, port: answers.append(data) or True,
            deadline=time.monotonic() + 3,
        )
        thread.join()
    assert ok and answers == [reply]


def test_unicast_ask_never_sends_out_of_scope() -> None:
    ctx, _ = make_ctx("198.18.0.0/24")
    assert not _udp.unicast_ask(
        ctx, _loopback_iface(), [b"x"], ("127.0.0.1", 9), lambda *a: True, deadline=time.monotonic() + 1
    )


def test_once_emitter_drops_repeated_answers() -> None:
    ctx, seen = make_ctx()
    emit = _udp.OnceEmitter(ctx)
    first = Observation.make("sadp", ArtefactKind.SADP_REPLY, ip="127.0.0.2", fields={"sadp.serial": "X"})
    again = Observation.make("sadp", ArtefactKind.SADP_REPLY, ip="127.0.0.2", fields={"sadp.serial": "X"})
    other = Observation.make("sadp", ArtefactKind.SADP_REPLY, ip="127.0.0.3", fields={"sadp.serial": "X"})
    assert [emit(first), emit(again), emit(other)] == [True, False, True]
    assert seen == [first, other]


# ----------------------------------------------------------------------------- request filters


def test_requests_from_other_clients_are_not_answers() -> None:
    from scanner.probes.dhip import is_search
    from scanner.probes.sadp import is_inquiry
    from scanner.probes.wsd import message_type

    sadp_reply = (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()
    assert is_inquiry(b'<?xml version="1.0"?><Probe><Uuid>1</Uuid><Types>inquiry</Types></Probe>')
    assert not is_inquiry(sadp_reply)

    dhip_reply = (REPLIES / "dhip_notifydevinfo_ipc-hdw1431t1-s4.json").read_bytes()
    assert is_search(b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }')
    assert not is_search(dhip_reply)

    probe_matches = (REPLIES / "wsd_probematches_ds-2cd3955fwd-iws.xml").read_bytes()
    assert message_type(probe_matches) == "ProbeMatches"
    assert message_type(b"<s:Envelope><s:Body><d:Probe><d:Types/></d:Probe></s:Body>") == "Probe"
    assert message_type(b"<Envelope><Body><wsd:Hello>") == "Hello"
    assert message_type(b"\x00garbage") is None


# --------------------------------------------------------------------------------- SSDP fetches


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://127.0.0.5:49152/desc.xml", ("http://127.0.0.5:49152/desc.xml", "127.0.0.5")),
        ("http://198.18.0.9/desc.xml", None),  # out of scope
        ("http://camera.local/desc.xml", None),  # a name: never resolved
        ("https://127.0.0.5/desc.xml", None),  # UPnP descriptions are plain HTTP
        ("ftp://127.0.0.5/desc.xml", None),
        ("http://127.0.0.5:99999/desc.xml", None),  # bad port
        ("not a url", None),
    ],
)
def test_location_is_followed_only_to_in_scope_addresses(location: str, expected: object) -> None:
    in_scope = lambda ip: ip.startswith("127.")  # noqa: E731
    assert location_target(location, in_scope) == expected


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
        else:
            self.send_response(302)
            self.send_header("Location", "http://192.0.2.1/elsewhere")
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_server() -> object:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_description_fetch_is_size_bounded_and_does_not_follow_redirects(http_server: object) -> None:
    port = http_server.server_address[1]  # type: ignore[attr-defined]
    session = _source_bound_session("127.0.0.1")
    status, body, truncated = fetch_bounded(
        session, f"http://127.0.0.1:{port}/big", connect_timeout=2, read_timeout=2,
        max_body=10_000, total_timeout=5,
    )
    assert (status, len(body), truncated) == (200, 10_000, True)
    status, body, _ = fetch_bounded(
        session, f"http://127.0.0.1:{port}/redirect", connect_timeout=2, read_timeout=2,
        max_body=10_000, total_timeout=5,
    )
    assert status == 302  # reported as is; the redirect target is never contacted
    session.close()
