"""The HTTP probe never requests the paths of fingerprints.md section 13, however a redirect spells them.

A Location header is device input: ``/%63urrent_config`` and ``/RPC%32`` reach ``/current_config``
and ``/RPC2`` on a server that percent-decodes, so the filter compares decoded paths. The loopback
server on 127.0.0.1 records every request line it receives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from camsweep.config import ScanConfig
from camsweep.models import Observation
from camsweep.probes import HostInfo, ProbeContext
from camsweep.probes import http as http_probe

DISGUISED = [
    "/%63urrent_config",
    "/%63urrent_config/Sofia",
    "/RPC%32",
    "/RPC%32_Login",
    "/%2563urrent_config",  # encoded twice
    "/%25252563urrent_config",  # encoded four times: refused without decoding further
    "/cur%0Arent_config",  # a control character a lenient server drops
    "\\current_config",  # backslash as slash
    "/ISAPI/Security/userCheck?%61uth=YWRtaW4",
    "/SDK/web%4Canguage",
    "/Current_Config",
]
PLAIN = ["/", "/doc/page/login.asp", "/ISAPI/System/deviceInfo", "/cgi-bin/magicBox.cgi?action=getDeviceType",
         "/RPC2x", "/a%20b", "/%7Euser/index.html"]


@pytest.mark.parametrize("path", DISGUISED)
def test_disguised_forbidden_paths_are_refused(path: str) -> None:
    assert http_probe.forbidden(path)


@pytest.mark.parametrize("path", PLAIN)
def test_ordinary_paths_pass(path: str) -> None:
    assert not http_probe.forbidden(path)


@pytest.mark.parametrize("location", ["/%63urrent_config", "/RPC%32", "http://198.18.0.20/RPC%32_Login",
                                      "/doc/../%2563urrent_config/"])
def test_same_host_redirect_to_a_disguised_forbidden_path_is_not_followed(location: str) -> None:
    probe = http_probe.HttpProbe(ScanConfig())
    host = HostInfo(ip="198.18.0.20", open_ports={80})
    assert probe._same_host(host, 80, "http", location) is None
    assert probe._same_host(host, 80, "http", "/doc/page/login.asp") == (80, "http", "/doc/page/login.asp")


@pytest.fixture()
def redirector() -> Iterator[tuple[int, list[str]]]:
    """A web server whose ``/`` redirects to the next disguised forbidden path on every request."""
    requested: list[str] = []
    targets = iter(DISGUISED)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            requested.append(self.path)
            location = next(targets, "/doc/page/login.asp") if self.path == "/" else None
            self.send_response_only(302 if location else 200)
            if location:
                self.send_header("Location", location)
            self.send_header("Server", "App-webs/")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], requested
    server.shutdown()
    server.server_close()


def test_probe_sends_no_request_for_a_disguised_forbidden_redirect(redirector: tuple[int, list[str]]) -> None:
    port, requested = redirector
    config = ScanConfig(targets=("127.0.0.1",), request_timeout=3.0, host_timeout=20)
    seen: list[Observation] = []
    ctx = ProbeContext(config=config, emit=seen.append, cancelled=threading.Event(), in_scope=lambda ip: True)
    http_probe.HttpProbe(config).probe_host(ctx, HostInfo("127.0.0.1", open_ports={port}))

    assert requested[0] == "/"
    assert any(o.fields.get("http.header.location") == DISGUISED[0] for o in seen)  # the redirect was read
    decoded = [unquote(unquote(p)) for p in requested]
    assert not any(word in p.lower() for p in decoded for word in ("current_config", "rpc2", "auth=", "weblanguage"))
