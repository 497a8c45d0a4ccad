"""The one bounded HTTP client (``scanner/probes/_http_client.py``) that the HTTP probe, the UPnP
description fetch and the ONVIF transport share, against loopback servers on 127.0.0.1 that send
exactly the bytes a test writes and record every request they receive."""

from __future__ import annotations

import ast
import gzip
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from camsweep.probes._http_client import HttpClient, Limits, redirect_target, target_of
from camsweep.probes._tcp import HostSlots

from tests.test_engine import Server, http_reply

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(connect_timeout=2.0, read_timeout=2.0, request_timeout=3.0, max_body=10_000, per_host=2)


def answer(reply: bytes) -> object:
    def handle(server: Server, sock: socket.socket) -> None:
        server.read_request(sock)
        sock.sendall(reply)
    return handle


@pytest.fixture()
def serve() -> Iterator[object]:
    made: list[Server] = []

    def start(handle: object) -> Server:
        made.append(Server(handle))
        return made[-1]

    yield start
    for server in made:
        server.close()


def test_header_names_keep_wire_order_original_case_and_repeats(serve: object) -> None:
    reply = (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"n\"\r\n"
             b"CONNECTION: close\r\nWWW-Authenticate: Basic realm=\"a\"\r\nCONTENT-LENGTH: 2\r\n\r\nok")
    server = serve(answer(reply))  # type: ignore[operator]
    got = HttpClient(LIMITS).get(f"http://127.0.0.1:{server.port}/x")
    assert got.status == 401 and got.problem is None and got.body == b"ok"
    assert [name for name, _ in got.headers] == ["WWW-Authenticate", "CONNECTION", "WWW-Authenticate", "CONTENT-LENGTH"]
    assert got.headers[2] == ("WWW-Authenticate", 'Basic realm="a"')


def test_request_carries_the_fixed_headers_and_no_cookie_or_proxy(serve: object) -> None:
    server = serve(answer(http_reply("200 OK", [("Set-Cookie", "a=1")], b"")))  # type: ignore[operator]
    client = HttpClient(LIMITS)
    client.get(f"http://127.0.0.1:{server.port}/one")
    client.get(f"http://127.0.0.1:{server.port}/two", headers=[("Accept", "text/xml")])
    first, second = (r.decode("latin-1") for r in server.requests)
    assert first.startswith("GET /one HTTP/1.1\r\n")
    assert "Accept-Encoding: identity\r\n" in first and "Connection: close\r\n" in first
    assert "Cookie" not in second and "Accept: text/xml\r\n" in second and "Accept: */*" not in second


def test_body_is_cut_at_max_body_and_compressed_bodies_inflate_only_that_far(serve: object) -> None:
    big = serve(answer(http_reply("200 OK", [], b"x" * 50_000)))  # type: ignore[operator]
    got = HttpClient(LIMITS).get(f"http://127.0.0.1:{big.port}/")
    assert (got.status, len(got.body), got.oversize, got.problem) == (200, 10_000, True, None)
    bomb = gzip.compress(b"y" * 5_000_000)
    zipped = serve(answer(http_reply("200 OK", [("Content-Encoding", "gzip")], bomb)))  # type: ignore[operator]
    got = HttpClient(LIMITS).get(f"http://127.0.0.1:{zipped.port}/")
    assert got.status == 200 and got.body == b"y" * 10_000


def test_a_head_that_never_ends_is_a_timeout_with_no_status(serve: object) -> None:
    def drip(server: Server, sock: socket.socket) -> None:
        server.read_request(sock)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            sock.sendall(bytes([byte]))
            time.sleep(0.05)

    server = serve(drip)  # type: ignore[operator]
    got = HttpClient(Limits(request_timeout=0.5, read_timeout=2.0)).get(f"http://127.0.0.1:{server.port}/")
    assert got.problem == "http-timeout" and got.status is None and got.headers == []


def test_a_silent_port_says_whether_the_connection_or_the_tls_handshake_went_unanswered(serve: object) -> None:
    """The evidence says what happened: a port that accepts and never speaks is connected, and
    then either no HTTP reply (plain) or no TLS handshake (https) came."""
    def silent(server: Server, sock: socket.socket) -> None:
        sock.settimeout(5)
        while sock.recv(4096):
            pass

    server = serve(silent)  # type: ignore[operator]
    limits = Limits(connect_timeout=0.3, read_timeout=0.4, request_timeout=3.0)
    plain = HttpClient(limits).get(f"http://127.0.0.1:{server.port}/")
    secure = HttpClient(limits).get(f"https://127.0.0.1:{server.port}/")
    assert (plain.problem, plain.detail, plain.status) == ("http-timeout", "no data for 0.4 s", None)
    assert (secure.problem, secure.detail, secure.status) == (
        "http-timeout", "connected, but no TLS handshake within 0.3 s", None)


def test_a_caller_deadline_bounds_the_exchange_before_it_starts(serve: object) -> None:
    server = serve(answer(http_reply("200 OK", [], b"")))  # type: ignore[operator]
    got = HttpClient(LIMITS).get(f"http://127.0.0.1:{server.port}/", deadline=time.monotonic() - 1)
    assert got.problem == "http-timeout" and server.requests == []


def test_refused_garbage_and_cut_replies_are_problems_not_exceptions(serve: object) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    assert HttpClient(LIMITS).get(f"http://127.0.0.1:{port}/").problem == "http-refused"
    garbage = serve(answer(b"\x00\xffnot http at all\r\n\r\n"))  # type: ignore[operator]
    assert HttpClient(LIMITS).get(f"http://127.0.0.1:{garbage.port}/").problem == "http-bad-reply"
    short = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"))  # type: ignore[operator]
    got = HttpClient(LIMITS).get(f"http://127.0.0.1:{short.port}/")
    assert (got.status, got.problem, got.body) == (200, "http-bad-reply", b"only this")


@pytest.mark.parametrize("url, problem", [
    ("http://localhost:{port}/", "http-bad-url"),  # a name is never resolved
    ("ftp://127.0.0.1:{port}/", "http-bad-url"),
    ("http://127.0.0.1:{port}/%63urrent_config", "http-forbidden-path"),
    ("http://127.0.0.1:{port}/ISAPI/Security/userCheck?%61uth=YWRtaW4", "http-forbidden-path"),
    ("http://127.0.0.1:{port}/RPC2_Login", "http-forbidden-path"),
])
def test_nothing_is_sent_to_a_name_another_scheme_or_a_never_request_path(serve: object, url: str, problem: str) -> None:
    server = serve(answer(http_reply("200 OK", [], b"")))  # type: ignore[operator]
    got = HttpClient(LIMITS).request("POST", url.format(port=server.port), body=b"x")
    assert got.problem == problem and got.status is None
    assert server.requests == []


def test_each_request_waits_for_the_rate_limiter(serve: object) -> None:
    server = serve(answer(http_reply("200 OK", [], b"")))  # type: ignore[operator]
    paced: list[int] = []
    client = HttpClient(LIMITS, wait_rate=lambda: paced.append(1))
    for path in ("/a", "/b", "/c"):
        client.get(f"http://127.0.0.1:{server.port}{path}")
    assert len(paced) == 3 and len(server.requests) == 3


def test_per_host_limit_is_shared_through_the_slots(serve: object) -> None:
    server = serve(answer(http_reply("200 OK", [], b"")))  # type: ignore[operator]
    slots = HostSlots()
    client = HttpClient(Limits(request_timeout=0.3, per_host=1), slots=slots)
    assert slots.acquire("127.0.0.1", 1, 0)  # another probe holds the host's only connection
    got = client.get(f"http://127.0.0.1:{server.port}/")
    assert got.problem == "http-timeout" and "busy" in got.detail and server.requests == []
    slots.release("127.0.0.1")
    assert client.get(f"http://127.0.0.1:{server.port}/").status == 200
    assert slots.in_use("127.0.0.1") == 0  # released after the exchange


def test_host_slots_count_per_address() -> None:
    slots = HostSlots()
    assert slots.acquire("198.18.0.20", 2, 0) and slots.acquire("198.18.0.20", 2, 0)
    assert not slots.acquire("198.18.0.20", 2, 0)
    assert slots.acquire("198.18.0.21", 2, 0)  # another host is not held up
    slots.release("198.18.0.20")
    assert slots.acquire("198.18.0.20", 2, 0)


@pytest.mark.parametrize("location, expected", [
    ("/doc/page/login.asp", "http://198.18.0.20:80/doc/page/login.asp"),
    ("https://198.18.0.20/ISAPI/System/deviceInfo?randnum=123", "https://198.18.0.20:443/ISAPI/System/deviceInfo?randnum=123"),
    ("page two.html", "http://198.18.0.20:80/doc/page%20two.html"),
    ("http://198.18.0.21/", None),  # another host
    ("http://camera.local/", None),
    ("http://198.18.0.20:99999/", None),
    ("/%2563urrent_config", None),
    ("/doc/../RPC2", None),
])
def test_redirect_policy_same_host_and_never_a_forbidden_path(location: str, expected: str | None) -> None:
    target = redirect_target("http://198.18.0.20:80/doc/index.html", location)
    assert (target.url if target else None) == expected


def test_target_is_rebuilt_from_checked_parts() -> None:
    target = target_of("http://evil.example\\@127.0.0.5:8080/a b\\c?x=1#frag")
    assert (target.ip, target.port, target.path) == ("127.0.0.5", 8080, "/a%20b%5Cc?x=1")
    assert target_of("https://[::1]/").url == "https://[::1]:443/"


def _private_names_used(tree: ast.AST) -> set[str]:
    """``x._name`` (not on self/cls) and ``getattr(x, "_name")``/``setattr(x, "_name", ...)``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            names.add(node.attr)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            names.add(node.args[1].value)
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def _names_defined(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
              and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def test_no_private_attribute_of_any_library_is_used() -> None:
    """Every ``x._name`` in camsweep's own code names something camsweep itself defines: no
    ``response._content``, ``raw._original_response`` or ``HTTPDigestAuth._thread_local``."""
    files = [p for folder in ("scanner", "fingerprints", "reports") for p in (ROOT / folder).rglob("*.py")]
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in files]
    ours = set().union(*(_names_defined(t) for t in trees))
    foreign = {name for tree in trees for name in _private_names_used(tree)} - ours
    assert foreign == set()
