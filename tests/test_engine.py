"""The scan engine and the TCP probes against servers on 127.0.0.1 inside this process.

Only per-host TCP probes run here (ports, http, rtsp, tls, onvif): nothing is multicast or
broadcast, nothing leaves loopback. The verdict step is replaced at its seam by a plain merge so
these tests exercise the engine alone (the lab test covers identification end to end).
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camsweep import engine
from camsweep.config import Credential, ScanConfig
from camsweep.devices import merge
from camsweep.errors import PrivilegeError, UsageError
from camsweep.models import IdentifiedDevice, Observation, ScanResult, Verdict, utcnow
from camsweep.probes import HostInfo, Probe, ProbeContext
from camsweep.probes.http import follow_ups
from camsweep.protocols import Field, ProtocolSpec
from camsweep.protocols.http import parse_response

TCP_PROBES = ("ports", "http", "rtsp", "tls", "onvif")
FORBIDDEN = re.compile(r"webLanguage|auth=|current_config|RPC2", re.IGNORECASE)


@pytest.fixture()
def registry() -> dict[str, type[Probe]]:
    known = engine.available_probes()
    return {name: known[name] for name in TCP_PROBES}


@pytest.fixture(autouse=True)
def plain_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    def identify(observations: list[Observation], plan: engine.Plan, started: Any, partial: bool,
                 notes: list[str]) -> ScanResult:
        devices = tuple(IdentifiedDevice(d, Verdict()) for d in merge(observations))
        return ScanResult(started=started, finished=utcnow(), devices=devices, targets=plan.targets.specs,
                          methods=plan.probes, partial=partial, notes=tuple(notes))

    monkeypatch.setattr(engine, "_identify", identify)


class Server:
    """A threaded TCP server on 127.0.0.1 whose handler is a plain function of the socket."""

    def __init__(self, handle: Any, wrap: ssl.SSLContext | None = None) -> None:
        self.requests: list[bytes] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock = self.request
                if wrap is not None:
                    try:
                        sock = wrap.wrap_socket(sock, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                try:
                    handle(outer, sock)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def read_request(self, sock: socket.socket) -> bytes:
        data = b""
        sock.settimeout(5)
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        if data:  # a bare connect (the port scan) is not a request
            self.requests.append(data)
        return data

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_reply(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def hik_like(server: Server, sock: socket.socket) -> None:
    request = server.read_request(sock)
    path = request.split(b" ")[1] if b" " in request else b"/"
    if path == b"/":
        sock.sendall(http_reply("302 Found", [("Server", "App-webs/"), ("Location", "/doc/page/login.asp")], b""))
    elif path.startswith(b"/ISAPI"):
        sock.sendall(http_reply("401 Unauthorized", [("Server", "App-webs/"),
                                ("WWW-Authenticate", 'Digest realm="IP Camera(C1234)", nonce="abc", qop="auth"')],
                                b"<userCheck><statusValue>401</statusValue></userCheck>"))
    else:
        sock.sendall(http_reply("200 OK", [("Server", "App-webs/"), ("Content-Type", "text/html")],
                                b"<html><title>Login</title>see http://192.0.2.1/evil</html>"))


def drip(server: Server, sock: socket.socket) -> None:
    server.read_request(sock)
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
        sock.sendall(bytes([byte]))
        time.sleep(0.3)


def huge(server: Server, sock: socket.socket) -> None:
    server.read_request(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n")
    chunk = b"x" * 65536
    for _ in range(800):
        sock.sendall(chunk)


def garbage(server: Server, sock: socket.socket) -> None:
    server.read_request(sock)
    sock.sendall(b"\x00\xff\x13garbage that is not HTTP at all\r\n\r\n")


def rtsp(server: Server, sock: socket.socket) -> None:
    for _ in range(2):
        request = server.read_request(sock)
        cseq = re.search(rb"CSeq: (\d+)", request)
        number = cseq.group(1).decode() if cseq else "0"
        if request.startswith(b"OPTIONS"):
            sock.sendall(f"RTSP/1.0 200 OK\r\nCSeq: {number}\r\nServer: Dahua Rtsp Server\r\n"
                         "Public: OPTIONS, DESCRIBE\r\n\r\n".encode())
        else:
            sock.sendall(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {number}\r\n"
                         'WWW-Authenticate: Digest realm="Login to 6C01E93PAG69A7D", nonce="00"\r\n\r\n'.encode())


def onvif_fault(server: Server, sock: socket.socket) -> None:
    request = server.read_request(sock)
    if not request:  # the port scan's bare connect
        return
    length = re.search(rb"Content-Length: (\d+)", request, re.IGNORECASE)
    body = request.split(b"\r\n\r\n", 1)[1]
    while length and len(body) < int(length.group(1)):
        body += sock.recv(65536)
    server.requests[-1] = request.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    fault = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
             b'xmlns:ter="http://www.onvif.org/ver10/error"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>'
             b'<s:Subcode><s:Value>ter:NotAuthorized</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">'
             b'Sender not Authorized</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>')
    sock.sendall(http_reply("400 Bad Request", [("Content-Type", "application/soap+xml")], fault))


def tls_context(tmp: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "www.hikvision.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return context


@pytest.fixture()
def servers(tmp_path: Path) -> Iterator[dict[str, Server]]:
    made = {
        "hik": Server(hik_like), "drip": Server(drip), "huge": Server(huge), "garbage": Server(garbage),
        "rtsp": Server(rtsp), "tls": Server(hik_like, wrap=tls_context(tmp_path)),
    }
    yield made
    for server in made.values():
        server.close()


def observations_of(result: ScanResult) -> list[Observation]:
    return [o for item in result.devices for o in item.device.observations]


def test_loopback_scan_records_banners_and_bounds_hostile_servers(
        servers: dict[str, Server], registry: dict[str, type[Probe]], monkeypatch: pytest.MonkeyPatch) -> None:
    from camsweep.probes import http as http_probe
    from camsweep.probes import rtsp as rtsp_probe

    # The probes pick ports by role; map the test servers' random ports onto those roles.
    monkeypatch.setattr(http_probe, "TLS_PORTS", frozenset({servers["tls"].port}))
    monkeypatch.setattr(rtsp_probe, "RTSP_PORTS", (servers["rtsp"].port,))
    monkeypatch.setattr(http_probe, "NOT_HTTP", frozenset({servers["rtsp"].port}))
    from camsweep.probes import tls as tls_probe
    monkeypatch.setattr(tls_probe, "TLS_PORTS", frozenset({servers["tls"].port}))
    ports = tuple(s.port for s in servers.values())
    config = ScanConfig(targets=("127.0.0.1",), methods=TCP_PROBES, ports=ports + (1,), request_timeout=1.5,
                        read_timeout=1.0, max_body=100_000, host_timeout=30)
    events: list[tuple[str, dict[str, Any]]] = []
    result = engine.scan(config, on_event=lambda kind, data: events.append((kind, data)), registry=registry)

    assert not result.partial
    (device,) = result.devices
    assert set(device.device.open_ports) >= set(ports)
    seen = observations_of(result)
    by_port = {p: [o for o in seen if o.port == p] for p in ports}

    hik = by_port[servers["hik"].port] + by_port[servers["tls"].port]  # both answer like a Hikvision
    paths = {o.fields.get("http.path") for o in hik if o.problem is None and o.probe == "http"}
    assert {"/", "/doc/page/login.asp", "/ISAPI/System/deviceInfo"} <= paths
    assert any(o.fields.get("http.header.server") == "App-webs/" for o in hik)

    assert any(o.problem == "http-timeout" for o in by_port[servers["drip"].port])
    assert any(o.problem == "http-oversize" for o in by_port[servers["huge"].port])
    assert any(o.problem and o.problem.startswith("http-") for o in by_port[servers["garbage"].port])
    rtsp_obs = [o for o in by_port[servers["rtsp"].port] if o.probe == "rtsp"]
    assert [o.fields.get("rtsp.status") for o in rtsp_obs] == ["200", "401"]
    tls_obs = [o for o in by_port[servers["tls"].port] if o.probe == "tls"]
    assert tls_obs and "O=HIKVISION" in tls_obs[0].fields.get("tls.subject", "")

    requests = [r for s in servers.values() for r in s.requests if r.startswith(b"GET")]
    assert not any(FORBIDDEN.search(r.split(b"\r\n")[0].decode("latin-1")) for r in requests)
    assert len(requests) <= config.max_requests + len(ports)
    assert ("phase", {"name": "identify"}) in events
    assert any(kind == "progress" and data["probed"] == 1 for kind, data in events)


def test_onvif_auth_failure_is_an_observation_and_credentials_never_leak(
        registry: dict[str, type[Probe]], monkeypatch: pytest.MonkeyPatch) -> None:
    from camsweep.probes import onvif as onvif_probe

    server = Server(onvif_fault)
    try:
        monkeypatch.setattr(onvif_probe, "ONVIF_PORTS", (server.port,))
        secret = "pa55-word-never-shown"
        config = ScanConfig(targets=("127.0.0.1",), methods=("ports", "onvif"), ports=(server.port,),
                            credentials=(Credential("127.0.0.0/8", "auditor", secret),))
        result = engine.scan(config, registry=registry)
    finally:
        server.close()
    problems = [o.problem for o in observations_of(result) if o.probe == "onvif"]
    assert problems == ["onvif-auth-failed"]
    assert secret not in str(result.to_dict())
    # One login attempt, and it used a digest: the password itself never crossed the wire.
    posts = [r for r in server.requests if r.startswith(b"POST")]
    assert len(posts) == 1 and secret.encode() not in posts[0] and b"PasswordDigest" in posts[0]


def test_onvif_is_not_attempted_without_credentials(registry: dict[str, type[Probe]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from camsweep.probes import onvif as onvif_probe

    server = Server(onvif_fault)
    try:
        monkeypatch.setattr(onvif_probe, "ONVIF_PORTS", (server.port,))
        result = engine.scan(ScanConfig(targets=("127.0.0.1",), methods=("ports", "onvif"), ports=(server.port,)),
                             registry=registry)
    finally:
        server.close()
    assert server.requests == []
    assert any("no --credentials" in n for n in result.notes)


class _Blocking(Probe):
    name = "blocking"
    description = "never finishes on its own"

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        ctx.cancelled.wait(30)


class _Announcer(Probe):
    name = "announcer"
    description = "reports one host in scope and one outside it"

    def discover(self, ctx: ProbeContext) -> None:
        ctx.emit(Observation.make(self.name, "mac_address", ip="127.0.0.9", mac="58:50:ed:00:00:09",
                                  fields={"mac.address": "58:50:ed:00:00:09"}))
        ctx.emit(Observation.make(self.name, "mac_address", ip="192.0.2.1", mac="58:50:ed:00:00:01"))


class _Rooted(Probe):
    name = "rooted"
    description = "needs raw sockets"
    needs_root = True


def test_host_time_limit_stops_a_probe_that_hangs() -> None:
    registry: dict[str, type[Probe]] = {"announcer": _Announcer, "blocking": _Blocking}
    config = ScanConfig(targets=("127.0.0.0/28",), host_timeout=0.5)
    result = engine.scan(config, registry=registry)
    assert any("probing stopped" in n for n in result.notes)
    assert [d.device.ips for d in result.devices] == [("127.0.0.9",)]  # 192.0.2.1 is out of scope


def test_ctrl_c_returns_a_partial_result() -> None:
    registry: dict[str, type[Probe]] = {"announcer": _Announcer, "blocking": _Blocking}

    def interrupt(kind: str, data: dict[str, Any]) -> None:
        if kind == "phase" and data["name"] == "hosts":
            raise KeyboardInterrupt

    result = engine.scan(ScanConfig(targets=("127.0.0.0/28",)), on_event=interrupt, registry=registry)
    assert result.partial
    assert any("interrupted" in n for n in result.notes)
    assert [d.device.ips for d in result.devices] == [("127.0.0.9",)]


def test_ctrl_c_ends_a_tls_handshake_the_device_never_answers() -> None:
    """A TLS socket takes the descriptor over from the TCP socket it wraps: the watchdog must hold
    the TLS socket, or Ctrl-C (Watchdog.stop_all) leaves the handshake waiting out its timeout."""
    from camsweep.probes._tcp import Watchdog
    from camsweep.probes.tls import peer_certificate

    listener = socket.create_server(("127.0.0.1", 0))
    got: dict[str, Any] = {}

    def handshake() -> None:
        got["result"] = peer_certificate("127.0.0.1", listener.getsockname()[1], connect_timeout=5,
                                         read_timeout=600, total=600)

    worker = threading.Thread(target=handshake, daemon=True)
    worker.start()
    with listener, listener.accept()[0] as conn:
        conn.settimeout(60)
        assert conn.recv(5)[:1] == b"\x16"  # the ClientHello's record: the client waits for an answer now
        Watchdog.stop_all()
        worker.join(timeout=60)  # 600 s would pass before the handshake ended on its own
    assert not worker.is_alive()
    assert got["result"] == (None, "timeout: no complete TLS handshake in time")


def test_an_exchange_started_just_after_ctrl_c_is_cut_on_entry_until_the_next_scan() -> None:
    from camsweep.probes._tcp import Watchdog

    Watchdog.stop_all()  # a probe checked its cancel flag just before Ctrl-C, then starts an exchange
    with Watchdog(600) as late:
        assert late.fired
    Watchdog.resume()  # what the next scan's run() does first
    with Watchdog(600) as next_scans:
        assert not next_scans.fired


def test_root_only_methods_are_skipped_with_a_note_or_refused_when_asked_for() -> None:
    registry: dict[str, type[Probe]] = {"announcer": _Announcer, "rooted": _Rooted}
    checked = engine.plan(ScanConfig(targets=("127.0.0.1",)), registry=registry, root=False)
    assert checked.probes == ("announcer",)
    assert any("rooted skipped" in n for n in checked.notes)
    with pytest.raises(PrivilegeError):
        engine.plan(ScanConfig(targets=("127.0.0.1",), methods=("rooted",)), registry=registry, root=False)
    assert engine.plan(ScanConfig(targets=("127.0.0.1",)), registry=registry, root=True).probes == ("announcer", "rooted")


@pytest.mark.parametrize("spec, expected", [
    ((), ["ports", "http", "rtsp", "tls", "onvif"]),
    (("http,rtsp",), ["http", "rtsp"]),
    (("-onvif", "-tls"), ["ports", "http", "rtsp"]),
    (("ports,http", "-http"), ["ports"]),
])
def test_method_selection(spec: tuple[str, ...], expected: list[str]) -> None:
    assert engine.select_methods(spec, TCP_PROBES)[0] == expected


@pytest.mark.parametrize("config, message", [
    (ScanConfig(targets=("127.0.0.1",), methods=("telepathy",)), "unknown method"),
    (ScanConfig(targets=("127.0.0.1",), methods=("-ports,-http,-rtsp,-tls,-onvif",)), "no method"),
    (ScanConfig(targets=("127.0.0.1",), interface="cs-no-such-if0"), "does not exist"),
    (ScanConfig(targets=("8.8.8.8",)), "allow-public"),
])
def test_bad_configuration_is_refused_before_anything_is_sent(
        config: ScanConfig, message: str, registry: dict[str, type[Probe]]) -> None:
    with pytest.raises(UsageError, match=message):
        engine.plan(config, registry=registry)


def test_rate_limiter_spaces_sends() -> None:
    limiter = engine.RateLimiter(1000)
    start = limiter._next
    for _ in range(5):
        limiter.wait()
    assert limiter._next == pytest.approx(start + 5 / 1000, abs=0.05)


HIK_PAGES = (["/ISAPI/System/deviceInfo", "/doc/page/login.asp"], "/ISAPI/System/deviceInfo")
DAHUA_PAGES = (["/cgi-bin/magicBox.cgi?action=getDeviceType"], "/cgi-bin/magicBox.cgi?action=getSystemInfo")


@pytest.mark.parametrize("headers, body, expected", [
    ([("Server", "App-webs/")], b"", HIK_PAGES),
    ([("Server", "DNVRS-Webs")], b"", HIK_PAGES),
    ([("WWW-Authenticate", 'Digest realm="fe12f37bd9a04bccbbd35f1e", nonce="1", qop="auth"')], b"", HIK_PAGES),
    ([("CONNECTION", "close"), ("CONTENT-LENGTH", "10")], b"", DAHUA_PAGES),
    ([("Content-Type", "text/html")], b"<title>WEB SERVICE</title>", DAHUA_PAGES),
    ([("Server", "nginx")], b"<title>Router</title>", ([], None)),
    ([("Server", "uc-httpd 1.0.0")], b"<title>NETSurveillance WEB</title>", ([], None)),
    ([("Server", "Webs")], b"", ([], None)),  # a counter-example in the rule data: no Hikvision pages
])
def test_follow_up_pages_are_the_pages_the_matched_rules_name(
        headers: list[tuple[str, str]], body: bytes, expected: tuple[list[str], str | None]) -> None:
    reply = parse_response(200, headers, body, path="/", port=80, probe="http", ip="198.18.0.20")
    assert follow_ups([reply]) == expected


@pytest.mark.parametrize("server, asked", [
    ("App-webs/", ["/", "/ISAPI/System/deviceInfo", "/doc/page/login.asp"]),
    ("webserver", ["/"]),  # too generic alone: no rule matches, so no Hikvision page is asked
])
def test_http_probe_asks_only_the_pages_its_matched_rules_name(server: str, asked: list[str]) -> None:
    def answer(srv: Server, sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(http_reply("200 OK", [("Server", server)], b"<html></html>"))

    web = Server(answer)
    try:
        config = ScanConfig(targets=("127.0.0.1",), host_timeout=20)
        ctx = ProbeContext(config=config, emit=lambda o: None, cancelled=threading.Event(), in_scope=lambda ip: True)
        engine.available_probes()["http"](config).probe_host(ctx, HostInfo("127.0.0.1", open_ports={web.port}))
    finally:
        web.close()
    assert [r.split(b" ")[1].decode() for r in web.requests] == asked


class _Heard(Probe):
    """A multicast round that hears one host, then listens on; its per-host step asks hosts that
    did not answer (``waits_for_discovery``). Records the order things happened in."""

    name = "heard"
    description = "stand-in multicast round"
    waits_for_discovery = True
    log: list[str] = []
    stepped = threading.Event()
    listen = 0.0

    def discover(self, ctx: ProbeContext) -> None:
        ctx.emit(Observation.make(self.name, "mac_address", ip="127.0.0.9", mac="58:50:ed:00:00:09",
                                  fields={"mac.address": "58:50:ed:00:00:09"}))
        if _Heard.stepped.wait(_Heard.listen):
            _Heard.log.append("step began while listening")
        _Heard.log.append("listening over")

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        _Heard.log.append(f"step {host.ip}")
        _Heard.stepped.set()


@pytest.mark.parametrize("routed", [True, False])
def test_routed_hosts_are_probed_while_multicast_answers_are_read(
        routed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Multicast never reaches a routed host: its unicast follow-up starts as soon as the host is
    known. An on-link host's follow-up waits for the round (it skips hosts that answered it)."""
    if routed:  # nothing on-link: every target sits behind a router
        monkeypatch.setattr(engine.netif, "interface_networks", lambda name: [])
    _Heard.log, _Heard.stepped, _Heard.listen = [], threading.Event(), 10.0 if routed else 0.5
    engine.scan(ScanConfig(targets=("127.0.0.9",), interface="lo"), registry={"heard": _Heard})
    if routed:
        assert _Heard.log == ["step 127.0.0.9", "step began while listening", "listening over"]
    else:
        assert _Heard.log == ["listening over", "step 127.0.0.9"]


class _QuickRound(Probe):
    """A multicast round that is over at once (SADP's: 1.3 s); its step asks the silent hosts."""

    name = "quick"
    description = "stand-in short multicast round"
    waits_for_discovery = True
    log: list[str] = []
    stepped = threading.Event()

    def discover(self, ctx: ProbeContext) -> None:
        ctx.emit(Observation.make(self.name, "mac_address", ip="127.0.0.9", mac="58:50:ed:00:00:09",
                                  fields={"mac.address": "58:50:ed:00:00:09"}))

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        _QuickRound.log.append("quick step")
        _QuickRound.stepped.set()


class _SlowRound(Probe):
    """A round that listens on (SSDP's waits out MX: 2.3 s) and declares a field another step reads."""

    spec = ProtocolSpec(name="", title="a slow round", fields={"slow.url": Field("slow", "a URL")},
                        order=1 << 29, method=False)
    name = "slow"
    description = "stand-in long multicast round"
    waits_for_discovery = True

    def discover(self, ctx: ProbeContext) -> None:
        if _QuickRound.stepped.wait(10.0):
            _QuickRound.log.append("quick step began while the slow round listened")
        ctx.emit(Observation.make(self.name, "mac_address", ip="127.0.0.9", fields={"slow.url": "http://x/"}))
        _QuickRound.log.append("slow round over")

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        _QuickRound.log.append("slow step")


class _Reader(Probe):
    """A step that reads what the slow round heard (``host_fields``): ONVIF reading XAddrs."""

    name = "reader"
    description = "reads the slow round's field"
    host_fields = ("slow.url",)

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        _QuickRound.log.append(f"reader saw {host.seen.get('slow.url')}")


def test_each_follow_up_waits_only_for_the_rounds_it_needs() -> None:
    """On an on-link host, a step waits for its own round and for the rounds that declare the
    fields it reads, not for the slowest round of all (issue 14: the scan's tail)."""
    _QuickRound.log, _QuickRound.stepped = [], threading.Event()
    engine.scan(ScanConfig(targets=("127.0.0.9",), interface="lo"),
                registry={"quick": _QuickRound, "slow": _SlowRound, "reader": _Reader})
    log = _QuickRound.log
    assert log[:2] == ["quick step", "quick step began while the slow round listened"]
    assert log.index("slow round over") < log.index("slow step")
    assert "reader saw ['http://x/']" in log and log.index("slow round over") < log.index("reader saw ['http://x/']")


class _Strays(Probe):
    """A multicast method (its spec declares a group): one answer from a target, one from a
    private address outside the targets, one from a public one, one from 0.0.0.0 (no address)."""

    spec = ProtocolSpec(name="", title="a multicast method", fields={}, order=1 << 29, method=False,
                        groups=("239.255.255.250",))
    name = "strays"
    description = "answers heard on the segment"
    probed: list[str] = []

    def discover(self, ctx: ProbeContext) -> None:
        for ip, mac in (("127.0.0.9", "58:50:ed:00:00:09"), ("192.168.1.64", "58:50:ed:00:00:64"),
                        ("8.8.8.8", "58:50:ed:00:00:05"), ("0.0.0.0", "58:50:ed:00:00:00")):
            ctx.emit(Observation.make(self.name, "mac_address", ip=ip, mac=mac))

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        type(self).probed.append(host.ip)


@pytest.mark.parametrize("probe_strays, probed", [(False, ["127.0.0.9"]), (True, ["127.0.0.9", "192.168.1.64"])])
def test_answers_from_outside_the_targets_are_strays_sent_nothing_more(probe_strays, probed) -> None:
    _Strays.probed = []
    config = ScanConfig(targets=("127.0.0.0/28",), probe_strays=probe_strays)
    result = engine.scan(config, registry={"strays": _Strays})
    assert sorted(_Strays.probed) == probed  # a public stray is never probed, nor one without an address
    outside = {d.device.key for d in result.devices if d.device.outside_targets}
    assert outside == {"58:50:ed:00:00:64", "58:50:ed:00:00:05", "58:50:ed:00:00:00"}
    unconfigured = next(d.device for d in result.devices if d.device.key == "58:50:ed:00:00:00")
    assert unconfigured.ips == ()  # reported by its MAC
    assert any(n.startswith("3 device(s) outside the targets answered discovery") for n in result.notes)
    saved = ScanResult.from_dict(result.to_dict())  # last-scan.json, the inventory's copy
    assert {d.device.key for d in saved.devices if d.device.outside_targets} == outside


class _Repeater(Probe):
    """One device answering the same thing over and over (a chatty unit, a resent reply)."""

    name = "repeater"
    description = "the same answer 5,000 times"

    def discover(self, ctx: ProbeContext) -> None:
        for _ in range(5000):
            ctx.emit(Observation.make(self.name, "mac_address", ip="127.0.0.9", mac="58:50:ed:00:00:09",
                                      raw="127.0.0.9 is-at 58:50:ed:00:00:09",
                                      fields={"mac.address": "58:50:ed:00:00:09"}))


def test_repeated_observations_are_kept_once() -> None:
    """Memory does not grow with observations that cannot change a verdict."""
    result = engine.scan(ScanConfig(targets=("127.0.0.0/28",)), registry={"repeater": _Repeater})
    assert [len(d.device.observations) for d in result.devices] == [1]
