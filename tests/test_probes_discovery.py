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
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from camsweep.config import ScanConfig
from camsweep.models import ArtefactKind, Observation
from camsweep.probes import ProbeContext, _udp
from camsweep.probes._http_client import HttpClient, Limits
from camsweep.probes.arp import parse_proc_net_arp, read_neighbour_table, sweep_targets
from camsweep.probes.ssdp import location_target

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
    from camsweep.errors import UsageError

    with pytest.raises(UsageError):
        _udp.interface_address(None)


def test_missing_interface_is_a_scan_error() -> None:
    from camsweep.errors import ScanError

    with pytest.raises(ScanError):
        _udp.interface_address("cs-nope0")


def test_loopback_interface_address() -> None:
    lo = _udp.interface_address("lo")
    assert lo.ip == "127.0.0.1" and lo.network == ipaddress.IPv4Network("127.0.0.0/8")


# ------------------------------------------------------------------- datagram routing (loopback)


def _loopback_iface() -> _udp.InterfaceAddress:
    return _udp.InterfaceAddress("lo", "127.0.0.1", ipaddress.IPv4Network("127.0.0.0/8"))


@pytest.mark.parametrize(
    ("scope", "own", "expected"),
    [
        ("127.0.0.0/8", (), [b"hello"]),
        ("198.18.0.0/24", (), []),  # the sender is out of scope
        ("127.0.0.0/8", ("127.0.0.1",), []),  # our own address (a looped-back request)
    ],
)
def test_receive_until_drops_out_of_scope_and_own_addresses(
    scope: str, own: tuple[str, ...], expected: list[bytes]
) -> None:
    ctx, _ = make_ctx(scope)
    got: list[bytes] = []
    with _udp.udp_socket(_loopback_iface()) as receiver, _udp.udp_socket(_loopback_iface()) as peer:
        peer.sendto(b"hello", receiver.getsockname())
        _udp.receive_until(
            ctx, [receiver], time.monotonic() + 0.5, lambda data, ip, port: got.append(data),
            own_ips=own, stop=lambda: bool(got),
        )
    assert got == expected


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


def test_closed_port_is_reported_by_icmp_and_ends_the_wait() -> None:
    ctx, _ = make_ctx()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        closed = placeholder.getsockname()  # free again once closed: nobody listens there
    refused: list[str] = []
    with _udp.udp_socket(_loopback_iface(), report_unreachable=True) as sock:
        sock.sendto(b"inquiry", closed)
        _udp.receive_until(
            ctx, [sock], time.monotonic() + 5, lambda *a: None,
            on_refused=refused.append, stop=lambda: bool(refused),
        )
    assert refused == ["127.0.0.1"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("copies", [1, 2])  # with 2, the ICMP error surfaces on the second send
def test_unicast_ask_to_a_closed_port_gives_no_answer(copies: int) -> None:
    ctx, _ = make_ctx()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        closed = placeholder.getsockname()
    answers: list[bytes] = []
    # The deadline is far: only the ICMP port unreachable lets this return within the timeout.
    assert not _udp.unicast_ask(
        ctx, _loopback_iface(), [b"inquiry"] * copies, closed,
        lambda data, ip, port: answers.append(data) or True, deadline=time.monotonic() + 120,
    )
    assert answers == []


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
    """Group listeners hear other clients' searches; those are dropped, device answers kept."""
    from camsweep.protocols import dhip, sadp, upnp, wsd

    assert _udp.is_not_a_reply(sadp.parse_reply(sadp.build_inquiry(str(uuid.uuid4())), probe="sadp"))
    assert _udp.is_not_a_reply(dhip.parse_reply(dhip.build_search(), probe="dhip"))
    assert _udp.is_not_a_reply(upnp.parse_ssdp(upnp.build_msearch("ssdp:all", 1), probe="ssdp"))
    probe = wsd.build_probe(f"urn:uuid:{uuid.uuid4()}", "2005")
    assert _udp.is_not_a_reply(wsd.parse_message(probe, probe="wsd"))

    sadp_reply = (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()
    assert not _udp.is_not_a_reply(sadp.parse_reply(sadp_reply, probe="sadp"))
    garbage = sadp.parse_reply(b"\x00\xffnot xml", probe="sadp")
    assert garbage.problem and not _udp.is_not_a_reply(garbage)  # kept as evidence


# ------------------------------------------------------------------------ mDNS unicast records


def test_dns_sd_records_are_grouped_into_services() -> None:
    """The records of the real Hikvision _CGI answer (hikvision-mdns fixture), as zeroconf parses them."""
    import json
    import socket as _socket

    from camsweep.probes.mdns import services_from_records
    from camsweep.protocols.mdns import txt_entries
    from zeroconf import DNSAddress, DNSPointer, DNSService, DNSText
    from zeroconf.const import _CLASS_IN, _TYPE_A, _TYPE_PTR, _TYPE_SRV, _TYPE_TXT

    capture = json.loads((REPLIES / "mdns_cgi_ds-2cd2722fwd-izs.json").read_text())
    instance = capture["fqdn"] + "."
    srv = capture["additionals"][1]["rdata"]
    host = srv["target"] + "."
    records = [
        DNSPointer("_CGI._tcp.local.", _TYPE_PTR, _CLASS_IN, 4500, instance),
        DNSText(instance, _TYPE_TXT, _CLASS_IN, 4500, b"\x06path=/"),
        DNSService(instance, _TYPE_SRV, _CLASS_IN, 120, srv["priority"], srv["weight"], srv["port"], host),
        DNSAddress(host, _TYPE_A, _CLASS_IN, 120, _socket.inet_aton(capture["address"])),
        DNSPointer("_printer._tcp.local.", _TYPE_PTR, _CLASS_IN, 4500, "other._printer._tcp.local."),
    ]
    assert services_from_records(records) == [{
        "type": "_CGI._tcp.local.", "name": instance, "server": host, "port": 80,
        "txt": ["path=/"], "addresses": ["10.0.1.164"],
    }]
    assert txt_entries(b"\x06path=/\x00\x03a=b") == [b"path=/", b"a=b"]
    assert txt_entries(b"\x09cut") == [b"cut"]  # a length past the end keeps what is there


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
    in_scope = lambda ip: ip.startswith("127.")
    assert location_target(location, in_scope) == expected


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
        elif self.path == "/drip":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(600):  # one byte every 50 ms for 30 s
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
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
    # As the SSDP probe fetches a LOCATION: the scan's client, bound to the interface's address.
    client = HttpClient(Limits(connect_timeout=2, read_timeout=2, request_timeout=5, max_body=10_000),
                        source_ip="127.0.0.1")
    got = client.get(f"http://127.0.0.1:{port}/big")
    assert (got.status, len(got.body), got.oversize) == (200, 10_000, True)
    got = client.get(f"http://127.0.0.1:{port}/redirect")
    assert got.status == 302  # reported as is; the redirect target is never contacted
    assert got.header("location") == "http://192.0.2.1/elsewhere"


@pytest.mark.timeout(20)
def test_description_fetch_cuts_a_dripping_server_off(http_server: object) -> None:
    """Each byte comes well within the read timeout; only the total bound stops the read."""
    port = http_server.server_address[1]  # type: ignore[attr-defined]
    client = HttpClient(Limits(connect_timeout=2, read_timeout=2, request_timeout=1, max_body=10_000),
                        source_ip="127.0.0.1")
    got = client.get(f"http://127.0.0.1:{port}/drip")
    assert got.status == 200 and got.problem == "http-timeout" and 0 < len(got.body) < 600


# ------------------------------------------------------------------------------------ lab tests
# Each probe runs inside the lab's scanner namespace (interface eth0, 198.18.0.2) against the
# emulated devices; segment B (198.18.1.0/24) is routed and sees no multicast or ARP from us.

ROOT = Path(__file__).resolve().parents[1]
LAB_SCOPE = ("198.18.0.0/24", "198.18.1.0/24")
LAB_INTERFACE = "eth0"

_RUNNER = r"""
import ipaddress, json, sys, threading
from camsweep.config import ScanConfig
from camsweep.engine import RateLimiter
from camsweep.probes import HostInfo, ProbeContext, load_all

args = json.loads(sys.argv[1])
networks = [ipaddress.ip_network(n) for n in args["scope"]]
found, lock = [], threading.Lock()

def emit(observation):
    with lock:
        found.append(observation.to_dict())

config = ScanConfig(interface=args["interface"], listen_window=args["window"], read_timeout=10.0)
ctx = ProbeContext(config=config, emit=emit, cancelled=threading.Event(),
                   in_scope=lambda ip: any(ipaddress.ip_address(ip) in n for n in networks),
                   wait_rate=RateLimiter(config.rate).wait)  # paced as the engine paces it
probe = load_all()[args["probe"]](config)
if args["hosts"]:
    for ip in args["hosts"]:
        probe.probe_host(ctx, HostInfo(ip=ip))
else:
    probe.discover(ctx)
print(json.dumps(found))
"""


def run_probe(
    lab: object, probe: str, *, hosts: list[str] | None = None, scope: tuple[str, ...] = LAB_SCOPE,
    window: float = 10.0,
) -> list[dict[str, object]]:
    """Run one probe's discover() (or probe_host() for ``hosts``) in the scanner namespace.

    The listen window and the unicast read timeout are far beyond the defaults (2.5 s, 2 s): on a
    loaded 2-core machine an emulated device's answer may come later than those, and what is
    tested is which devices answer, not how fast. A unicast wait still ends at the answer (or the
    ICMP port unreachable of a silent host)."""
    import json

    args = {"probe": probe, "hosts": hosts or [], "scope": list(scope), "window": window,
            "interface": LAB_INTERFACE}
    done = lab.exec([sys.executable, "-c", _RUNNER, json.dumps(args)], cwd=str(ROOT), timeout=600)  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def devices_with(lab: object, service: str, segment: str) -> dict[str, object]:
    """ip -> lab device, for the devices of ``segment`` whose profile answers ``service``."""
    out = {}
    for device in lab.devices:  # type: ignore[attr-defined]
        if device.segment != segment:
            continue
        config = getattr(device.profile, service)
        if config:
            out[device.ip] = device
    return out


@pytest.fixture(scope="module")
def discovered(lab: object) -> dict[str, list[dict[str, object]]]:
    """Each discovery probe's discover() run once against the lab."""
    return {name: run_probe(lab, name) for name in ("arp", "sadp", "dhip", "wsd", "ssdp", "mdns")}


def _ips(observations: list[dict[str, object]], kind: str | None = None) -> set[str]:
    return {str(o["ip"]) for o in observations if kind is None or o["kind"] == kind}


def test_arp_sweep_finds_every_segment_a_device_with_its_mac(lab: object, discovered: dict) -> None:
    by_ip = {str(o["ip"]): o for o in discovered["arp"]}
    segment_a = {d.ip: d for d in lab.devices if d.segment == "A"}  # type: ignore[attr-defined]
    assert set(by_ip) - {"198.18.0.1"} == set(segment_a)  # .1 is the lab's router
    for ip, device in segment_a.items():
        observation = by_ip[ip]
        assert observation["mac"] == device.mac
        assert observation["fields"] == {
            "mac.address": device.mac, "mac.oui": device.mac.replace(":", "")[:6].upper()
        }
    # Segment B is routed: never ARPed.
    assert not [ip for ip in by_ip if ip.startswith("198.18.1.")]


@pytest.mark.parametrize(("probe", "service", "kind"), [
    ("sadp", "sadp", "sadp_reply"),
    ("dhip", "dhip", "dhip_reply"),
    ("wsd", "wsd", "onvif_scopes"),
    ("ssdp", "ssdp", "ssdp_reply"),
    ("mdns", "mdns", "mdns_record"),
])
def test_multicast_discovery_finds_exactly_the_segment_a_devices_that_speak_it(
    lab: object, discovered: dict, probe: str, service: str, kind: str
) -> None:
    expected = set(devices_with(lab, service, "A"))
    assert expected, f"the lab has no segment-A device answering {service}"
    assert _ips(discovered[probe], kind) == expected


@pytest.mark.parametrize("probe", ["sadp", "dhip", "wsd", "ssdp"])
def test_each_answer_is_reported_once(discovered: dict, probe: str) -> None:
    """Requests are sent twice (and WSD in two namespaces): copies of one answer are not re-emitted.

    (A device may give several different answers, e.g. one SSDP reply per search target.)
    """
    volatile = {"onvif.message_id", "onvif.relates_to", "sadp.uuid"}
    seen = [
        (o["ip"], o["kind"], o["problem"],
         tuple(sorted((k, v) for k, v in o["fields"].items() if k not in volatile)))
        for o in discovered[probe]
    ]
    assert seen and len(seen) == len(set(seen))


def test_device_answers_are_parsed_and_hostile_ones_recorded_as_problems(lab: object, discovered: dict) -> None:
    by_name = {d.ip: d.name for d in lab.devices}  # type: ignore[attr-defined]
    sadp = {by_name[str(o["ip"])]: o for o in discovered["sadp"]}
    assert sadp["hik-ds-2cd2385g1-i"]["fields"]["sadp.model"] == "DS-2CD2385G1-I"
    assert sadp["hostile-sadp-xxe"]["problem"]  # XXE refused by the codec, kept as evidence
    dhip = {by_name[str(o["ip"])]: o for o in discovered["dhip"]}
    assert dhip["dahua-ipc-hdw1431t1-s4"]["fields"]["dhip.model"] == "IPC-HDW1431T1-S4"
    wsd = {by_name[str(o["ip"])]: o for o in discovered["wsd"]}
    assert wsd["hostile-wsd-billion-laughs"]["problem"]
    assert "DS-2CD2385G1-I" in wsd["hik-ds-2cd2385g1-i"]["fields"]["onvif.scope.hardware"]
    mdns = {by_name[str(o["ip"])]: o for o in discovered["mdns"]}
    assert mdns["hik-ds-2cd2722fwd-izs"]["fields"]["mdns.service_type"] == "_CGI._tcp.local"


def test_ssdp_fetches_descriptions_of_in_scope_locations(lab: object, discovered: dict) -> None:
    descriptions = {str(o["ip"]): o for o in discovered["ssdp"] if o["kind"] == "upnp_description"}
    assert set(descriptions) == set(devices_with(lab, "ssdp", "A"))
    by_name = {d.name: d.ip for d in lab.devices}  # type: ignore[attr-defined]
    assert descriptions[by_name["hostile-upnp-billion-laughs"]]["problem"]
    assert descriptions[by_name["synology-ds216plus2"]]["fields"].get("upnp.manufacturer")


@pytest.mark.parametrize(("probe", "kind"), [
    ("sadp", "sadp_reply"), ("dhip", "dhip_reply"), ("wsd", "onvif_scopes"), ("ssdp", "ssdp_reply"),
    ("mdns", "mdns_record"),
])
def test_unicast_probe_covers_the_routed_segment(lab: object, probe: str, kind: str) -> None:
    """probe_host asks each host directly: devices behind the router answer too; silent hosts
    (port closed) end the wait at once."""
    speaking = devices_with(lab, probe, "B")
    silent = [d.ip for d in lab.devices if d.segment == "B" and d.ip not in speaking][:2]  # type: ignore[attr-defined]
    if not speaking:
        pytest.skip(f"the lab profiles put no {probe} device behind the router")
    found = run_probe(lab, probe, hosts=[*speaking, *silent])
    assert _ips(found, kind) == set(speaking)


def test_replies_from_out_of_scope_devices_are_dropped(lab: object) -> None:
    answering = sorted(devices_with(lab, "sadp", "A"))
    chosen = answering[0]
    found = run_probe(lab, "sadp", scope=(f"{chosen}/32",))
    assert _ips(found) == {chosen}
    # ... and unicast never goes to a host outside the scope.
    assert run_probe(lab, "sadp", hosts=[answering[1]], scope=(f"{chosen}/32",)) == []


_CANCEL_RUNNER = r"""
import json, sys, threading
from camsweep.config import ScanConfig
from camsweep.probes import ProbeContext, load_all

names = json.loads(sys.argv[1])
# A listen window far longer than the test's time bound: only the cancel flag can end it.
config = ScanConfig(interface="eth0", listen_window=600.0, read_timeout=600.0)
cancelled = threading.Event()
ctx = ProbeContext(config=config, emit=lambda o: None, cancelled=cancelled, in_scope=lambda ip: True)
threads = [threading.Thread(target=load_all()[n](config).discover, args=(ctx,), daemon=True) for n in names]
for t in threads:
    t.start()
threading.Timer(1.0, cancelled.set).start()
for t in threads:
    t.join()
print(json.dumps({"stopped": [n for n, t in zip(names, threads) if not t.is_alive()]}))
"""


def test_discovery_stops_promptly_when_the_scan_is_cancelled(lab: object) -> None:
    import json

    names = ["arp", "sadp", "dhip", "wsd", "ssdp", "mdns"]
    done = lab.exec(  # type: ignore[attr-defined]
        [sys.executable, "-c", _CANCEL_RUNNER, json.dumps(names)], cwd=str(ROOT), timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {"stopped": names}


# A device that answers only to the discovery group, never to our source port (Haicam's
# dahuaProbe and UniversalScanner's Dahua2/Hikvision engines read the group for such answers).
# It replays the real replies in tests/fixtures/replies/ and runs in a lab device namespace.
_GROUP_ANSWERER = r"""
import socket, struct, sys, selectors
me, reply_dir = sys.argv[1], sys.argv[2]
sadp = open(reply_dir + "/sadp_probematch_ds-2cd2385g1-i.xml", "rb").read()
body = open(reply_dir + "/dhip_notifydevinfo_ipc-hdw1431t1-s4.json", "rb").read().strip() + b"\n"
dhip = struct.pack("<I4sIIIIII", 0x20, b"DHIP", 0, 0, len(body), 0, len(body), 0) + body
services = {37020: ("239.255.255.250", b"<Probe>", sadp), 37810: ("239.255.255.251", b"DHDiscover.search", dhip)}
selector = selectors.DefaultSelector()
for port, (group, _, _) in services.items():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((group, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(me))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(me))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    selector.register(sock, selectors.EVENT_READ, port)
print("ready", flush=True)
while True:
    for key, _ in selector.select():
        data, peer = key.fileobj.recvfrom(65536)
        group, request, answer = services[key.data]
        if request in data and peer[0] != me:
            key.fileobj.sendto(answer, (group, key.data))  # to the group only
"""


@pytest.fixture(scope="module")
def group_answerer(lab: object) -> object:
    """The answerer, in the namespace of a segment-A lab device that speaks neither SADP nor DHIP."""
    import subprocess

    device = next(
        d for d in lab.devices  # type: ignore[attr-defined]
        if d.segment == "A" and not d.profile.sadp and not d.profile.dhip
    )
    process = subprocess.Popen(
        ["ip", "netns", "exec", device.namespace, sys.executable, "-c", _GROUP_ANSWERER, device.ip, str(REPLIES)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield device
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(("probe", "field", "value"), [
    ("sadp", "sadp.model", "DS-2CD2385G1-I"),
    ("dhip", "dhip.model", "IPC-HDW1431T1-S4"),
])
def test_answers_sent_to_the_group_are_read_too(
    lab: object, group_answerer: object, probe: str, field: str, value: str
) -> None:
    found = run_probe(lab, probe, scope=(f"{group_answerer.ip}/32",))  # type: ignore[attr-defined]
    assert [o["fields"][field] for o in found] == [value]


def test_an_on_link_follow_up_waits_for_a_device_not_for_the_path() -> None:
    """On the scanner's own subnet the round trip is well under a millisecond: a silent host's
    unicast follow-up waits UNICAST_ANSWER_TIME + QUIET (UPnP: a unicast M-SEARCH is answered
    within 1 s), a routed host's the whole --read-timeout; a shorter --read-timeout wins."""
    iface = _udp.InterfaceAddress("cs-test0", "198.18.0.2", ipaddress.IPv4Network("198.18.0.0/24"))
    config = ScanConfig(targets=("198.18.0.0/23",), read_timeout=2.0)

    def wait(ip: str, cfg: ScanConfig = config) -> float:
        return _udp.host_deadline(cfg, ip, iface) - time.monotonic()

    assert wait("198.18.0.1") == pytest.approx(_udp.UNICAST_ANSWER_TIME + _udp.QUIET, abs=0.1)
    assert wait("198.18.1.1") == pytest.approx(2.0, abs=0.1)
    assert wait("198.18.0.1", ScanConfig(targets=("198.18.0.0/23",), read_timeout=0.5)) == pytest.approx(0.5, abs=0.1)
