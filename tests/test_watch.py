"""``camsweep watch`` without root: the state machine replaying the shipped lab capture, the
alert sinks against real receivers (an http.server on loopback, a throwaway rsyslogd on a Unix
socket in a temporary folder), the ``[watch]`` config section and the hardened systemd unit.

The replays drive ``Watch`` with the packets' own timestamps as its clock, so "an alert within
10 s of first hearing the device" is checked exactly, not timed. The capture is
``examples/lab-capture.pcap`` (8 s of the chatty lab heard from the scanner's port, recorded by
``examples/record_lab_capture.py``); what it must identify is ``test_passive_lab.EXAMPLE_VERDICTS``.
The live parts (interface down/up, SIGHUP, the unit as a process) are in test_watch_lab.py.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from camsweep import alerts
from camsweep.alerts import Alert, JsonLines, Sinks, Syslog, Webhook
from camsweep.config import Outputs, WatchConfig
from camsweep.errors import ConfigError
from camsweep.passive.capture import open_capture
from camsweep.store import open_store
from camsweep.types import RESTRICTED_MAKERS
from camsweep.watch import Snapshot, Watch

from tests.test_passive_lab import EXAMPLE, EXAMPLE_VERDICTS
from tests.environment import unavailable

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "examples" / "camsweep-watch.service"
BOUND = 30.0  # seconds any wait for a receiver is bounded by (a failure, not a timing)


def replay(watch_kwargs: dict[str, Any] | None = None, *, settings: WatchConfig | None = None,
           outputs: Outputs | None = None, known: set[str] | None = None,
           store: Any = None) -> tuple[Watch, list[Alert], list[Snapshot]]:
    """Feed the example capture to a new Watch, packet time as its clock."""
    raised: list[Alert] = []
    snapshots: list[Snapshot] = []

    def keep(snapshot: Snapshot) -> None:
        snapshots.append(snapshot)
        if store is not None:
            store(snapshot)

    watch = None
    with open_capture(str(EXAMPLE)) as capture:
        for ts, linktype, frame in capture.frames():
            if watch is None:
                watch = Watch(settings or WatchConfig(interface="eth0", snapshot_interval=3.0), outputs or Outputs(),
                              alert=raised.append, snapshot=keep, known=known or set(), now=ts, **(watch_kwargs or {}))
            watch.feed(ts, linktype, frame)
            watch.tick(ts)
    assert watch is not None
    return watch, raised, snapshots


# -- the state machine -------------------------------------------------------------------------

def test_every_hikvision_dahua_device_is_alerted_once_within_ten_seconds() -> None:
    _, raised, _ = replay()
    by_ip = {a.ip: a for a in raised}
    assert len(raised) == len(by_ip) == len({a.identity for a in raised})  # once each
    assert set(by_ip) == set(EXAMPLE_VERDICTS)  # every Hikvision/Dahua-made device, nothing else
    for ip, (_, maker, _) in EXAMPLE_VERDICTS.items():
        alert = by_ip[ip]
        assert alert.maker == maker and alert.reason == "maker"  # no policy: made by a restricted maker
        assert (alert.at - alert.first_seen).total_seconds() <= 10.0, alert
    assert {a.maker for a in raised} <= set(RESTRICTED_MAKERS)


def test_under_a_policy_the_alert_says_restricted_and_names_the_instruments() -> None:
    _, raised, _ = replay(outputs=Outputs(policy="us-federal"))
    assert raised and {a.reason for a in raised} == {"restricted"}
    assert all(a.policies == ("us-federal",) and a.instruments for a in raised)
    body = raised[0].to_dict()
    assert body["schema"] == "camsweep.alert/1" and body["event"] == "new-device"
    assert json.loads(json.dumps(body)) == body


def test_snapshots_are_stored_and_a_restart_does_not_alert_again(tmp_path: Path) -> None:
    db = str(tmp_path / "inv.sqlite")

    def store(snapshot: Snapshot) -> None:
        with open_store(db) as inventory:
            inventory.store_and_prune(snapshot.result, snapshot.assessment, None)

    watch, raised, snapshots = replay(store=store)
    # 8 s of capture, a snapshot every 3 s and one 5 s after the first alerts
    assert len(snapshots) >= 2 and watch.snapshots == len(snapshots)
    assert all(s.result.mode == "listen" and s.result.interface == "eth0" for s in snapshots)
    with open_store(db, read_only=True) as inventory:
        scans = inventory.scans("")
        known = inventory.flagged_identities("")
        others = {s.identity for s in inventory.sightings(scans[-1].id).values() if s.manufacturer not in RESTRICTED_MAKERS}
    assert len(scans) == len(snapshots)
    assert {a.identity for a in raised} <= known and {f"at:{a.ip}" for a in raised} <= known
    assert others and not others & known  # the other makers' devices may still be alerted, once identified
    _, again, _ = replay(known=known)  # the next run starts from the inventory
    assert again == []


def test_flagged_identities_on_both_backends(db_location: str) -> None:
    _, raised, snapshots = replay()
    with open_store(db_location) as inventory:
        inventory.store_and_prune(snapshots[-1].result, snapshots[-1].assessment, None)
        known = inventory.flagged_identities("")
        assert inventory.flagged_identities("elsewhere") == set()
    names = {a.identity for a in raised} | {f"at:{a.ip}" for a in raised} | {f"mac:{a.mac}" for a in raised if a.mac}
    assert names <= known
    assert not {n for n in known if n.startswith("mac:")} - {f"mac:{a.mac}" for a in raised}
    assert {n for n in known if n.startswith("ip:")} == {f"ip:{a.ip}" for a in raised if not a.mac}


def test_a_device_alerted_under_its_address_is_not_alerted_again_under_its_mac() -> None:
    _, raised, _ = replay(known={"ip:198.18.0.22"})  # e.g. alerted when only its HTTP replies were heard
    assert "198.18.0.22" not in {a.ip for a in raised}
    assert len(raised) == len(EXAMPLE_VERDICTS) - 1


def test_a_new_mac_at_an_alerted_address_is_a_new_device() -> None:
    # 198.18.0.22 was alerted as another camera (another MAC) before DHCP gave its address away
    _, raised, _ = replay(known={"mac:44:19:b6:00:00:01", "at:198.18.0.22"})
    assert "198.18.0.22" in {a.ip for a in raised}
    assert len(raised) == len(EXAMPLE_VERDICTS)


def test_nothing_heard_stores_no_empty_snapshot() -> None:
    taken: list[Snapshot] = []
    watch = Watch(WatchConfig(interface="eth0", snapshot_interval=1), Outputs(), alert=print, snapshot=taken.append,
                  now=1000.0)
    for now in (1000.5, 1001.0, 1002.0, 1003.5):
        watch.tick(now)
    watch.store_snapshot(1004.0)
    assert taken == [] and watch.snapshots == 0


def test_reconfigure_keeps_what_was_alerted() -> None:
    raised: list[Alert] = []
    watch = None
    with open_capture(str(EXAMPLE)) as capture:
        for n, (ts, linktype, frame) in enumerate(capture.frames()):
            if watch is None:
                watch = Watch(WatchConfig(interface="eth0"), Outputs(), alert=raised.append, now=ts)
            if n == 1000:  # half-way: a new policy, as SIGHUP would load
                before = len(raised)
                watch.reconfigure(WatchConfig(interface="eth0", snapshot_interval=60), Outputs(policy="us-federal"),
                                  alert=raised.append, now=ts)
            watch.feed(ts, linktype, frame)
            watch.tick(ts)
    assert 0 < before < len(raised) or before == len(raised) > 0
    assert len({a.identity for a in raised}) == len(raised) == len(EXAMPLE_VERDICTS)


# -- sinks ---------------------------------------------------------------------------------------

class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logged() -> Iterator[_Logged]:
    """What the ``camsweep`` logger says, heard on the logger itself, alone: the CLI's
    ``setup_logging`` (run in-process by other tests) stops it propagating to pytest's caplog and
    leaves a handler on a stream that test has closed."""
    logger, handler = logging.getLogger("camsweep"), _Logged()
    level, handlers = logger.level, logger.handlers[:]
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


def _alert(**changes: Any) -> Alert:
    from datetime import UTC, datetime

    values: dict[str, Any] = {
        "reason": "maker", "at": datetime(2026, 12, 4, 12, 0, 5, tzinfo=UTC), "first_seen": datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
        "identity": "mac:18:68:cb:15:b3:06", "ip": "198.18.0.22", "mac": "18:68:cb:15:b3:06", "maker": "hikvision", "brand": None,
        "device_type": "camera", "model": "DS-2CD2722FWD-IZS", "firmware": None, "status": "listed", "confidence": "high",
        "summary": "Hikvision camera", "site": "hq", "interface": "eth0"}
    values.update(changes)
    return Alert(**values)


def test_json_lines_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with open(path, "w") as stream:
        sinks = Sinks([JsonLines(stream)])
        sinks.send(_alert())
        sinks.send(_alert(ip="198.18.0.23", model="evil\n\x1b[31m"))
        sinks.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["ip"] for line in lines] == ["198.18.0.22", "198.18.0.23"]
    assert json.loads(lines[1])["model"] == "evil\n\x1b[31m"  # device text escaped, never a raw control


class _Receiver(http.server.BaseHTTPRequestHandler):
    script: ClassVar[list[int]] = []
    got: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).got.append((self.path, dict(self.headers), body))
        status = type(self).script.pop(0) if type(self).script else 200
        self.send_response(status)
        if status in (301, 302, 307, 308):
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"script": [], "got": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/s3cr3t-path", handler
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_posts_the_documented_body_with_the_token(receiver: Any) -> None:
    url, handler = receiver
    hook = Webhook(url, alerts.Secret("tok-123"))
    hook.send(_alert())
    ((path, headers, body),) = handler.got
    assert path == "/hooks/s3cr3t-path"
    assert headers["Authorization"] == "Bearer tok-123" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == _alert().to_dict()
    assert "tok-123" not in repr(hook) and "s3cr3t" not in repr(hook)


def test_webhook_retries_with_backoff_then_gives_up_without_naming_url_or_token(
        receiver: Any, logged: _Logged) -> None:
    url, handler = receiver
    waited: list[float] = []
    handler.script = [500, 503, 200]
    Webhook(url, alerts.Secret("tok-123"), sleep=waited.append).send(_alert())
    assert len(handler.got) == 3 and waited == [1.0, 2.0]  # delivered at the third attempt
    handler.got.clear()
    waited.clear()
    handler.script = [500] * 10
    Webhook(url, alerts.Secret("tok-123"), sleep=waited.append).send(_alert())
    assert len(handler.got) == alerts.WEBHOOK_ATTEMPTS and waited == [1.0, 2.0, 4.0]  # bounded
    assert "not delivered after 4 attempt(s) (HTTP 500)" in logged.text
    assert "s3cr3t" not in logged.text and "tok-123" not in logged.text and "127.0.0.1" not in logged.text


def test_webhook_does_not_follow_a_redirect_with_the_token(receiver: Any, logged: _Logged) -> None:
    url, handler = receiver
    handler.script = [302]
    Webhook(url, alerts.Secret("tok-123"), sleep=lambda s: None).send(_alert())
    assert [path for path, _, _ in handler.got] == ["/hooks/s3cr3t-path"]  # never /elsewhere
    assert "HTTP 302" in logged.text


def test_webhook_to_nothing_listening_is_logged_not_raised(logged: _Logged) -> None:
    import socket

    with socket.socket() as free:  # a loopback port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    Webhook(f"http://127.0.0.1:{port}/x", None, sleep=lambda s: None).send(_alert())
    assert "not delivered" in logged.text and str(port) not in logged.text


# -- syslog, against a real rsyslogd ---------------------------------------------------------------

@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A throwaway rsyslogd: its own config, imuxsock on a socket in ``tmp_path`` (no network),
    every message written in RFC 5424 form to a file; stopped at the end."""
    binary = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
    if binary is None:
        unavailable("rsyslogd is not installed (Debian package rsyslog)")
    sock, out, work = tmp_path / "log.sock", tmp_path / "messages", tmp_path / "work"
    work.mkdir()
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f'''
global(workDirectory="{work}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" ParseHostname="on" RateLimit.Interval="0")
*.* action(type="omfile" file="{out}" template="RSYSLOG_SyslogProtocol23Format")
''')
    process = subprocess.Popen([binary, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + BOUND
        while not sock.exists():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "rsyslogd did not open its socket"
            time.sleep(0.05)
        yield sock, out
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(BOUND)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_lines(path: Path, count: int) -> list[str]:
    deadline = time.monotonic() + BOUND
    while True:
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_syslog_alert_reaches_rsyslog_as_rfc5424(rsyslog: tuple[Path, Path]) -> None:
    sock, out = rsyslog
    sink = Syslog(f"unix:{sock}")
    sink.send(_alert(model='DS-2CD"]\\x'))  # SD-PARAM characters that must be escaped
    sink.close()
    (line,) = wait_for_lines(out, 1)
    # <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG; PRI 28 = daemon (3) * 8 + warning (4)
    head, _, rest = line.partition(" [camsweep@32473 ")
    fields = head.split(" ")
    assert fields[0] == "<28>1" and fields[3] == "camsweep" and fields[4] == str(os.getpid())
    assert fields[5] == "new-device"
    assert 'reason="maker"' in rest and 'ip="198.18.0.22"' in rest and 'maker="hikvision"' in rest
    assert 'model="DS-2CD\\"\\]\\\\x"' in rest
    assert rest.endswith("new device hikvision DS-2CD\"]\\x at 198.18.0.22: made by hikvision (listed, high confidence)")


def test_syslog_target_forms() -> None:
    import socket

    assert alerts.parse_syslog_target("/dev/log") == ("/dev/log", socket.SOCK_DGRAM)
    assert alerts.parse_syslog_target("unix:/run/x.sock") == ("/run/x.sock", socket.SOCK_DGRAM)
    assert alerts.parse_syslog_target("udp://198.18.0.9") == (("198.18.0.9", 514), socket.SOCK_DGRAM)
    assert alerts.parse_syslog_target("tcp://log.example:6514") == (("log.example", 6514), socket.SOCK_STREAM)
    for bad in ("syslog.example", "http://x", "udp://", "udp://h:99999"):
        with pytest.raises(ValueError, match="must be a Unix socket path"):
            alerts.parse_syslog_target(bad)


# -- the [watch] section -----------------------------------------------------------------------------

def test_watch_section_is_read_relative_to_the_file(tmp_path: Path) -> None:
    from camsweep import runconfig

    (tmp_path / "token").write_text("tok-123\n")
    config = tmp_path / "site.toml"
    config.write_text('[watch]\ninterface = "eth1"\nsnapshot_interval = 60\nsyslog = "udp://198.18.0.9:514"\n'
                      'webhook_url = "https://hooks.example/abc"\nwebhook_token_file = "token"\njsonl = false\n'
                      '[policy]\nnames = ["us-federal"]\n')
    loaded = runconfig.load(str(config))
    assert loaded.get(WatchConfig) == {"interface": "eth1", "snapshot_interval": 60.0, "syslog": "udp://198.18.0.9:514",
                            "webhook_url": "https://hooks.example/abc",
                            "webhook_token": str(tmp_path / "token"), "jsonl": False}
    assert loaded.outputs["policy"] == "us-federal"
    assert repr(alerts.read_token(str(tmp_path / "token"))) == "'<secret>'"


@pytest.mark.parametrize(("line", "message"), [
    ('webhook_url = "ftp://hooks.example/s3cr3t"', "'watch.webhook_url' must be an http:// or https:// URL with a host"),
    ('syslog = "loghost"', "'watch.syslog' must be a Unix socket path"),
    ("snapshot_interval = 0", "'watch.snapshot_interval' must be positive"),
    ('snapshot_intervall = 5', "unknown key 'watch.snapshot_intervall' (did you mean 'snapshot_interval'?)"),
])
def test_bad_watch_keys_are_one_line(tmp_path: Path, line: str, message: str) -> None:
    from camsweep import runconfig

    config = tmp_path / "site.toml"
    config.write_text(f"[watch]\n{line}\n")
    with pytest.raises(ConfigError) as error:
        runconfig.load(str(config))
    assert message in str(error.value) and "s3cr3t" not in str(error.value)


def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scan.py"), *args], capture_output=True, text=True,
                          timeout=120, cwd=str(ROOT), check=False, **kwargs)


def test_watch_without_an_interface_or_with_a_bad_one_is_exit_2(tmp_path: Path) -> None:
    done = _cli("watch", "--db", str(tmp_path / "inv.sqlite"))
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "camsweep: error: watch needs an interface: --interface, or 'interface' in the config's [watch]"]
    done = _cli("watch", "-i", "nosuch0", "--db", str(tmp_path / "inv.sqlite"))
    assert done.returncode == 2 and done.stderr.strip() == "camsweep: error: interface 'nosuch0' does not exist"
    config = tmp_path / "bad.toml"
    config.write_text('[watch]\ninterface = "lo"\nwebhook_token_file = "missing"\n')
    done = _cli("watch", "--config", str(config))
    assert done.returncode == 2 and "cannot read the webhook token" in done.stderr and done.stdout == ""


# -- the systemd unit ---------------------------------------------------------------------------------

def test_systemd_unit_is_hardened() -> None:
    text = UNIT.read_text()
    settings = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    assert settings["User"] == "camsweep" and settings["Group"] == "camsweep"
    assert settings["AmbientCapabilities"] == settings["CapabilityBoundingSet"] == "CAP_NET_RAW"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "StateDirectory": "camsweep", "ExecReload": "/bin/kill -HUP $MAINPID"}.items():
        assert settings[key] == value, key
    assert "watch --config /etc/camsweep/watch.toml" in settings["ExecStart"]


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` checks every directive; it also wants ExecStart's program to
    exist, so the copy verified points at this checkout's camsweep (the only line changed)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze is not installed (Debian package systemd)")
    program = shutil.which("camsweep") or sys.executable
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/camsweep/bin/camsweep", program))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [line for line in (done.stdout + done.stderr).splitlines() if UNIT.name in line]
    assert done.returncode == 0 and problems == [], done.stdout + done.stderr


def test_syslog_that_went_away_is_one_logged_line(tmp_path: Path, logged: _Logged,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    import socket

    path = tmp_path / "log.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # a syslog daemon's socket ...
    listener.bind(str(path))
    sinks = Sinks([Syslog(str(path))])
    listener.close()  # ... whose daemon stopped: sending, and the reconnect emit tries, are refused
    sinks.send(_alert())
    sinks.close()
    assert "syslog: alert for mac:18:68:cb:15:b3:06 not delivered" in logged.text
    assert "Traceback" not in capfd.readouterr().err
