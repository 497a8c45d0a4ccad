"""The HTTP probe's one authenticated request (``--credentials``), against loopback servers and the lab.

Loopback servers on 127.0.0.1 inside this process stand in for a Hikvision and a Dahua web server;
the lab test scans the emulated Hikvision NVR inside the lab's scanner namespace.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from camsweep.config import Credential, ScanConfig
from camsweep.models import Observation
from camsweep.probes import HostInfo, ProbeContext
from camsweep.probes import http as http_probe
from tests.conftest import PATIENT, SCAN_BOUND, write_credentials
from tests.schema_check import report_json

USERNAME = "audit-user"
PASSWORD = "s3cret-Pa55word"

# Real ISAPI deviceInfo reply: maciej-or/hikvision_next@b1dc1b9477aba092602cca66f8a2d81e066210a3
# tests/fixtures/ISAPI/System.deviceInfo/nvr.xml (copied as is).
HIK_DEVICE_INFO = """<?xml version="1.0" encoding="UTF-8" ?>
<DeviceInfo version="2.0"
  xmlns="http://www.isapi.org/ver20/XMLSchema">
  <deviceName>nvr</deviceName>
  <deviceID>484a3831-3130-0000-0000-000c0000f00e</deviceID>
  <model>DS-7608NXI-I2/8P/S</model>
  <serialNumber>DS-7608NXI-I0/0P/S0000000000CCRRJ00000000WCVU</serialNumber>
  <macAddress>cc:ed:d6:41:a8:39</macAddress>
  <firmwareVersion>V4.62.210</firmwareVersion>
  <firmwareReleasedDate>build 230612</firmwareReleasedDate>
  <encoderVersion>V5.0</encoderVersion>
  <encoderReleasedDate>build 230530</encoderReleasedDate>
  <deviceType>NVR</deviceType>
  <telecontrolID>255</telecontrolID>
  <hardwareVersion>0100000092010000</hardwareVersion>
  <decordChannelNums>8</decordChannelNums>
  <VGANums>1</VGANums>
  <USBNums>2</USBNums>
  <auxoutNums>0</auxoutNums>
  <regionVersion>basic</regionVersion>
</DeviceInfo>"""

# Real magicBox getSystemInfo reply of a Dahua NVR: https://github.com/rroller/dahua/issues/9
DAHUA_SYSTEM_INFO = "deviceType=31\nprocessor=ST7108\nserialNumber=4F07335PAZEEA9B\nupdateSerial=NVR2X-4KS3\n"

_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@dataclass
class Device:
    """What the loopback web server pretends to be, and what it was asked."""

    maker: str = "hikvision"
    challenge: str = "digest"  # "digest" | "basic" | "digest+basic"
    username: str = USERNAME
    password: str = PASSWORD
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    stall: str | None = None  # a path the server never answers in time

    @property
    def realm(self) -> str:
        return "fe12f37bd9a04bccbbd35f1e" if self.maker == "hikvision" else "Login to 4F07335PAZEEA9B"

    def challenges(self) -> list[str]:
        out = []
        if "digest" in self.challenge:
            out.append(f'Digest realm="{self.realm}", qop="auth", nonce="0a4f113b", opaque="", algorithm="MD5"')
        if "basic" in self.challenge:
            out.append(f'Basic realm="{self.realm}"')
        return out

    def accepts(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        if scheme == "Basic":
            return "basic" in self.challenge and base64.b64decode(value).decode() == f"{self.username}:{self.password}"
        params = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(value)}
        if scheme != "Digest" or params.get("username") != self.username or params.get("realm") != self.realm:
            return False
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"GET:{params.get('uri')}")
        expected = _md5(f"{ha1}:{params.get('nonce')}:{params.get('nc')}:{params.get('cnonce')}:auth:{ha2}")
        return params.get("response") == expected


def serve(device: Device, context: ssl.SSLContext | None = None) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response_only(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization")
            device.requests.append((self.path, authorization))
            hik = device.maker == "hikvision"
            if self.path == device.stall:
                time.sleep(30)
                return
            if self.path == "/":
                if hik:
                    self.reply(302, [("Server", "App-webs/"), ("Location", "/doc/page/login.asp")], b"")
                else:
                    self.reply(200, [("Content-Type", "text/html")], b"<html><title>WEB SERVICE</title></html>")
                return
            protected = self.path.startswith("/ISAPI/") or self.path.startswith("/cgi-bin/")
            if not protected:
                self.reply(200, [("Content-Type", "text/html")], b"<html><title>Login</title></html>")
            elif device.accepts(authorization):
                body = HIK_DEVICE_INFO if hik else DAHUA_SYSTEM_INFO
                self.reply(200, [("Content-Type", "application/xml" if hik else "text/plain")], body.encode())
            else:
                self.reply(401, [("WWW-Authenticate", c) for c in device.challenges()], b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@contextmanager
def served(device: Device, context: ssl.SSLContext | None = None) -> Iterator[int]:
    """``device`` served on 127.0.0.1 (``serve``) for the block: its port; closed after."""
    server, port = serve(device, context)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()


def run_probe(port: int, credentials: tuple[Credential, ...], notes: list[str] | None = None,
              **limits: float) -> list[Observation]:
    config = ScanConfig(targets=("127.0.0.1",), credentials=credentials,
                        **{"request_timeout": 3.0, "host_timeout": 20.0, **limits})  # type: ignore[arg-type]
    seen: list[Observation] = []
    ctx = ProbeContext(config=config, emit=seen.append, cancelled=threading.Event(), in_scope=lambda ip: True,
                       note=(notes if notes is not None else []).append)
    http_probe.HttpProbe(config).probe_host(ctx, HostInfo("127.0.0.1", open_ports={port}))
    return seen


def authenticated(device: Device) -> list[str | None]:
    return [a for _, a in device.requests if a]


def dump(observations: list[Observation]) -> str:
    return json.dumps([o.to_dict() for o in observations])


CREDENTIAL = (Credential("127.0.0.0/8", USERNAME, PASSWORD),)


@pytest.fixture()
def device() -> Iterator[Device]:
    yield Device()


@pytest.fixture()
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="camsweep")
    return caplog


def test_hikvision_digest_one_request_body_parsed_no_secret(device: Device, debug_log: pytest.LogCaptureFixture) -> None:
    with served(device) as port:
        seen = run_probe(port, CREDENTIAL)
    sent = authenticated(device)
    assert len(sent) == 1 and sent[0] is not None and sent[0].startswith("Digest ")
    assert PASSWORD not in sent[0]  # digest sends a hash, never the password
    assert [p for p, a in device.requests if a] == ["/ISAPI/System/deviceInfo"]
    (reply,) = [o for o in seen if o.fields.get("http.authenticated") == "yes"]
    assert reply.fields["http.status"] == "200"
    assert reply.fields["http.path"] == "/ISAPI/System/deviceInfo"
    assert "<serialNumber>DS-7608NXI-I0/0P/S0000000000CCRRJ00000000WCVU</serialNumber>" in reply.fields["http.body"]
    # Without the credential's observation marked, nothing else claims to be authenticated.
    assert all(o.fields.get("http.authenticated") is None for o in seen if o is not reply)
    text = dump(seen) + debug_log.text
    assert PASSWORD not in text and USERNAME not in text and "Authorization" not in text


def test_authenticated_reply_feeds_the_fingerprint_rules(device: Device) -> None:
    from camsweep.devices import merge
    from camsweep.verdicts import identify

    with served(device) as port:
        seen = run_probe(port, CREDENTIAL)
    (reply,) = [o for o in seen if o.fields.get("http.authenticated") == "yes"]
    (merged,) = merge([reply])  # the authenticated reply alone
    verdict = identify(merged)
    assert verdict.manufacturer.value == "hikvision"
    assert verdict.model == "DS-7608NXI-I2/8P/S"
    assert verdict.serial == "DS-7608NXI-I0/0P/S0000000000CCRRJ00000000WCVU"
    assert verdict.firmware == "V4.62.210"


def test_dahua_system_info_with_digest(debug_log: pytest.LogCaptureFixture) -> None:
    device = Device(maker="dahua")
    with served(device) as port:
        seen = run_probe(port, CREDENTIAL)
    assert [p for p, a in device.requests if a] == ["/cgi-bin/magicBox.cgi?action=getSystemInfo"]
    (reply,) = [o for o in seen if o.fields.get("http.authenticated") == "yes"]
    assert reply.fields["http.body"] == DAHUA_SYSTEM_INFO
    assert PASSWORD not in dump(seen) + debug_log.text


def test_no_credential_for_the_host_means_no_login(device: Device) -> None:
    with served(device) as port:
        seen = run_probe(port, (Credential("198.18.0.0/24", USERNAME, PASSWORD),))
    assert authenticated(device) == []
    assert not any(o.fields.get("http.authenticated") for o in seen)


def test_a_login_the_hosts_time_left_no_room_for_is_recorded_not_silently_dropped() -> None:
    """The requests before the login (here a login page that never answers) used up the host's
    HTTP time: the unsent login is an observation on the device and a note, naming the cure."""
    device = Device(stall="/doc/page/login.asp")
    with served(device) as port:
        notes: list[str] = []
        seen = run_probe(port, CREDENTIAL, notes, request_timeout=2.0, host_timeout=1.0)
    assert authenticated(device) == []
    skipped = [o for o in seen if o.problem == "http-auth-skipped"]
    assert len(skipped) == 1 and "GET /ISAPI/System/deviceInfo with credentials not sent" in (skipped[0].raw or "")
    assert len(notes) == 1 and notes[0].startswith("http: 127.0.0.1: GET /ISAPI/System/deviceInfo with credentials")
    assert notes[0].endswith("raise --host-timeout") and PASSWORD not in dump(seen) + notes[0]


def test_basic_only_over_plain_http_is_refused(debug_log: pytest.LogCaptureFixture) -> None:
    device = Device(challenge="basic")
    with served(device) as port:
        seen = run_probe(port, CREDENTIAL)
    assert authenticated(device) == []
    (skipped,) = [o for o in seen if o.problem == "http-auth-skipped"]
    assert "Basic over plain HTTP would expose the password" in (skipped.raw or "")
    assert PASSWORD not in dump(seen) + debug_log.text


def test_digest_preferred_when_basic_is_also_offered() -> None:
    device = Device(challenge="digest+basic")
    with served(device) as port:
        run_probe(port, CREDENTIAL)
    sent = authenticated(device)
    assert len(sent) == 1 and sent[0] is not None and sent[0].startswith("Digest ")


def tls_context(tmp: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
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


def test_basic_only_over_https_is_answered_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                debug_log: pytest.LogCaptureFixture) -> None:
    device = Device(challenge="basic")
    with served(device, tls_context(tmp_path)) as port:
        monkeypatch.setattr(http_probe, "TLS_PORTS", frozenset({port}))
        seen = run_probe(port, CREDENTIAL)
    sent = authenticated(device)
    assert len(sent) == 1 and sent[0] is not None and sent[0].startswith("Basic ")
    (reply,) = [o for o in seen if o.fields.get("http.authenticated") == "yes"]
    assert reply.fields["http.scheme"] == "https" and "<model>DS-7608NXI-I2/8P/S</model>" in reply.fields["http.body"]
    token = sent[0].split(" ", 1)[1]
    text = dump(seen) + debug_log.text
    assert PASSWORD not in text and token not in text


def test_wrong_password_is_one_attempt_recorded_as_auth_failed(debug_log: pytest.LogCaptureFixture) -> None:
    device = Device(password="the-real-one")
    with served(device) as port:
        seen = run_probe(port, CREDENTIAL)
    assert len(authenticated(device)) == 1  # no retry, no other username
    (failed,) = [o for o in seen if o.problem == "http-auth-failed"]
    assert failed.fields == {} and failed.port == port
    assert not any(o.fields.get("http.authenticated") for o in seen)
    assert PASSWORD not in dump(seen) + debug_log.text


def test_authorization_for_declines_without_a_challenge() -> None:
    header, why = http_probe.authorization_for([("Server", "x")], CREDENTIAL[0], "http://127.0.0.1/")
    assert header is None and why.startswith("http-auth-skipped")


# --- the lab: the emulated Hikvision NVR and Dahua NVR, scanned from the lab's scanner namespace ---

ROOT = Path(__file__).resolve().parents[1]
LAB_DEVICES = {"hik-ds-7608nxi-i2-nvr": "/ISAPI/System/deviceInfo",
               "dahua-nvr2108-4ks3": "/cgi-bin/magicBox.cgi?action=getSystemInfo"}


def _auth_route(profile: Any, path: str) -> dict[str, Any]:
    (route,) = [r for server in profile.http if server["port"] == 80 for r in server.get("routes", [])
                if r["path"] == path and r.get("auth") == "digest"]
    return route


def test_lab_scan_reads_identity_from_the_authenticated_reply(lab: Any, tmp_path: Path) -> None:
    devices = {d.name: d for d in lab.devices if d.name in LAB_DEVICES}
    assert set(devices) == set(LAB_DEVICES)
    routes = {name: _auth_route(device.profile, LAB_DEVICES[name]) for name, device in devices.items()}
    credentials = write_credentials(tmp_path, [(devices[name].ip, route["username"], route["password"])
                                               for name, route in routes.items()])
    secrets = [route["password"] for route in routes.values()]
    state = tmp_path / "state"
    done = lab.exec([sys.executable, str(ROOT / "scan.py"), "scan", *(d.ip for d in devices.values()),
                     "--credentials", str(credentials), "--format", "json", "--no-store", "--state-dir", str(state),
                     # The login is the HTTP probe's last request to a host, within one per-host
                     # budget (3.2 s by default) a loaded machine used up before it: PATIENT bounds.
                     *PATIENT], cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True)
    assert done.returncode in (0, 3), done.stderr  # 3: restricted devices found
    saved = "".join(p.read_text(errors="replace") for p in state.rglob("*") if p.is_file())
    for secret in secrets:
        assert secret not in done.stdout + done.stderr + saved
    found = {ip: item for item in report_json(done.stdout)["scan"]["devices"] for ip in item["device"]["ips"]}

    hik = found[devices["hik-ds-7608nxi-i2-nvr"].ip]
    (reply,) = [o for o in hik["device"]["observations"] if o["fields"].get("http.authenticated") == "yes"]
    assert reply["fields"]["http.path"] == "/ISAPI/System/deviceInfo" and reply["fields"]["http.status"] == "200"
    verdict = hik["verdict"]
    assert verdict["manufacturer"] == "hikvision"
    assert (verdict["model"], verdict["serial"]) == ("DS-7608NXI-I2/8P/S", "DS-7608NXI-I2/8P/S2023062CCRRJ58123467WCVU")
    assert verdict["firmware"].startswith("V4.62.210")  # SADP's "V4.62.210build 230619" may be preferred
    # Model, serial and firmware are extracted by the ISAPI deviceInfo rules from this reply's body.
    extracted: dict[str, str] = {}
    for hit in verdict["hits"]:
        excerpt = hit["value"].strip("…")  # long bodies are kept as an excerpt around the match
        if hit["probe"] == "http" and hit["field"] == "http.body" and excerpt in reply["fields"]["http.body"]:
            extracted.update(hit["extracted"])
    assert {k: extracted.get(k) for k in ("model", "serial", "firmware")} == {
        "model": "DS-7608NXI-I2/8P/S", "serial": "DS-7608NXI-I2/8P/S2023062CCRRJ58123467WCVU", "firmware": "V4.62.210"}

    dahua = found[devices["dahua-nvr2108-4ks3"].ip]
    (reply,) = [o for o in dahua["device"]["observations"] if o["fields"].get("http.authenticated") == "yes"]
    assert reply["fields"]["http.path"] == "/cgi-bin/magicBox.cgi?action=getSystemInfo"
    assert "serialNumber=7J02B45PAZ3C81E" in reply["fields"]["http.body"]
    assert dahua["verdict"]["manufacturer"] == "dahua"
    assert "http-dahua-magicbox-systeminfo" in {h["rule_id"] for h in dahua["verdict"]["hits"]}


def test_a_hostile_redirect_location_is_not_followed_and_does_not_raise():
    from camsweep.config import ScanConfig
    from camsweep.probes import HostInfo
    from camsweep.probes.http import HttpProbe

    probe = HttpProbe(ScanConfig())
    host = HostInfo(ip="198.18.0.20", open_ports={80})
    for location in ("http://198.18.0.20:99999/x", "http://[::1/x", "http://evil.example/", "ftp://198.18.0.20/"):
        assert probe._same_host(host, 80, "http", location) is None
    assert probe._same_host(host, 80, "http", "/doc/page/login.asp") is not None
