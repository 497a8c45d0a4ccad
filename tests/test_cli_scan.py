"""``camsweep scan`` and ``camsweep explain`` as a user runs them (subprocess, real exit codes).

Every command runs inside a throw-away network namespace (``cs-t2-cli<pid>``, loopback only,
deleted afterwards), never in the root namespace. Bad input must fail with one line and exit 2
before anything is sent. The real scans target small servers on the namespace's own 127.0.0.1,
with only the ports and http methods (nothing multicast, nothing beyond loopback).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from camsweep import __version__
from camsweep.errors import ExitCode
from camsweep.runconfig import RunLock, lock_path
from tests.pty_run import PtyRun
from tests.schema_check import report_json, scan_json

ROOT = Path(__file__).resolve().parents[1]
SECRET = "do-not-print-me-42"
NETNS = f"cs-t2-cli{os.getpid()}"

SERVER = r"""
import socket, sys, threading, time
mode = sys.argv[1]
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
BODY = b"<html><head><title>Login</title></head></html>"

def serve(conn):
    conn.settimeout(10)
    try:
        request = conn.recv(4096)
        if not request.startswith(b"GET"):
            return  # the port scan's bare connect
        if mode == "drip":  # answers one byte at a time, far slower than the scan waits
            print("ASKED", flush=True)
            for byte in b"HTTP/1.1 200 OK\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(0.5)
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(BODY), BODY))
    except OSError:
        pass
    finally:
        conn.close()

while True:
    conn, _ = listener.accept()
    if mode == "tell":  # says every connection it gets: a test proves nothing was sent
        print("CONNECTED", flush=True)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


@pytest.fixture(scope="module", autouse=True)
def netns(needs_root: None) -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
        yield NETNS
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], check=False)


def in_netns(*command: str) -> list[str]:
    return ["ip", "netns", "exec", NETNS, *command]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(in_netns(sys.executable, str(ROOT / "scan.py"), *args), capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=None if env is None else {**os.environ, **env})


def start_server(mode: str) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(in_netns(sys.executable, "-c", SERVER, mode), stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, int(server.stdout.readline())


@pytest.mark.parametrize("args, message", [
    (["scan", "--methods", "telepathy", "127.0.0.1"], "unknown method 'telepathy'"),
    (["scan", "--methods", "-ports,-http,-rtsp,-tls,-onvif,-arp,-wsd,-sadp,-dhip,-ssdp,-mdns,-snmp", "127.0.0.1"], "no method"),
    (["scan", "8.8.8.0/24"], "--allow-public"),
    (["scan", "10.0.0.0/8"], "more than the limit"),
    (["scan", "198.18.0.9-3"], "range ends before it starts"),
    (["scan", "not a target!"], "not a CIDR"),
    (["scan", "--interface", "eth9", "127.0.0.1"], "does not exist"),
    (["scan", "--ports", "70000", "127.0.0.1"], "--ports"),
    (["scan", "--ports", "http", "127.0.0.1"], "--ports"),
    (["scan", "--credentials", "/nonexistent/creds.toml", "127.0.0.1"], "cannot read credentials"),
    (["scan", "--snmp", "10.0.0.1", "127.0.0.1"], "--snmp agent 10.0.0.1: no [[snmp]] entry of the --credentials file"),
    (["scan", "--snmp", "8.8.8.8", "127.0.0.1"], "--snmp agent 8.8.8.8 is a public address; add --allow-public"),
    (["scan", "--snmp", "core-router", "127.0.0.1"], "--snmp must be IPv4 addresses of SNMP agents"),
    (["scan", "--snmp", "10.0.0.1", "--methods", "ports,http", "127.0.0.1"], "--snmp needs the snmp method, which --methods leaves out"),
    (["scan", "--snmp", "10.0.0.1", "--methods", "-snmp", "127.0.0.1"], "--snmp needs the snmp method, which --methods leaves out"),
    (["scan", "--host-timeout", "0", "127.0.0.1"], "positive"),
    (["scan", "--per-host", "0", "127.0.0.1"], "--per-host must be at least 1"),
    (["scan", "10.0.0.0/33"], "target '10.0.0.0/33': prefix length 33 is over 32"),
    (["scan", "10.0.0.0/24,10.0.1.0/24"], "separate them with spaces"),
    (["scan", "10.0.0.0/24", "--exclude", "10.0.0.0/40"], "--exclude '10.0.0.0/40': prefix length 40 is over 32"),
    (["scan", "10.0.0.0/24", "--exclude", "10.0.0.0/23"], "--exclude leaves no address of the targets"),
    (["scan", "-iL", "/nonexistent/hosts.txt"], "/nonexistent/hosts.txt: cannot read the target file"),
    (["scan", "--policy", "uk", "127.0.0.1"],
     "unknown policy 'uk' (did you mean 'uk-central-government', 'uk-sensitive-sites' or 'uk-dhsc'?)"),
    (["scan", "--format", "xml", "127.0.0.1"], "'xml' is not one of table, json, csv, jsonl, cyclonedx, html"),
    (["scan", "--format", "jsno", "127.0.0.1"], "(did you mean 'json'?)"),
    (["scan", "--fail-on", "nwe", "127.0.0.1"], "'nwe' is not one of restricted, new, never (did you mean 'new'?)"),
    (["history", "--format", "xml"], "Invalid value for '--format': 'xml' is not one of table, json"),
    (["scan", "--bogus", "127.0.0.1"], "No such option '--bogus' (see 'camsweep scan --help')"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == ExitCode.USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert done.stdout == ""


def test_broken_credentials_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    creds = tmp_path / "creds.toml"
    creds.write_text(f'[[credential]]\nnetwork = "127.0.0.0/8"\npassword = "{SECRET}"\n')
    creds.chmod(0o600)
    done = run("scan", "--credentials", str(creds), "127.0.0.1")
    assert done.returncode == ExitCode.USAGE
    assert "'username'" in done.stderr and SECRET not in done.stderr + done.stdout


@pytest.fixture()
def web() -> Iterator[int]:
    server, port = start_server("web")
    yield port
    server.kill()
    server.wait()


def test_scan_saves_state_writes_output_and_explain_reads_it(web: int, tmp_path: Path) -> None:
    creds = tmp_path / "creds.toml"
    creds.write_text(f'[[credential]]\nnetwork = "127.0.0.1"\nusername = "auditor"\npassword = "{SECRET}"\n')
    creds.chmod(0o644)  # readable by others: accepted with a warning
    out = tmp_path / "report.json"
    state = tmp_path / "state"
    done = run("scan", "127.0.0.1", "--methods", "ports,http", "--ports", str(web), "--format", "json",
               "-o", str(out), "--state-dir", str(state), "--no-store", "--credentials", str(creds))
    assert done.returncode == ExitCode.OK, done.stderr
    assert "chmod 600" in done.stderr
    assert done.stdout == ""  # the report went to --output
    assert SECRET not in done.stderr + out.read_text() + (state / "last-scan.json").read_text()
    report = report_json(out.read_text())["scan"]  # the JSON report carries the scan result whole
    assert report["schema_version"] == 1 and report["mode"] == "scan" and not report["partial"]
    assert report["methods"] == ["ports", "http"]
    (device,) = report["devices"]
    probes = {o["probe"] for o in device["device"]["observations"]}
    assert probes == {"ports", "http"}
    assert scan_json((state / "last-scan.json").read_text())["devices"] == report["devices"]
    assert not list(tmp_path.glob("**/.*.json.*"))  # no temporary file left behind

    explained = run("explain", "127.0.0.1", "--state-dir", str(state))
    assert explained.returncode == 0, explained.stderr
    assert "observations (" in explained.stdout and f"127.0.0.1:{web}" in explained.stdout
    assert "http.title = Login" in explained.stdout
    as_json = run("explain", "127.0.0.1", "--scan", str(out), "--format", "json")
    assert json.loads(as_json.stdout)["device"]["ips"] == ["127.0.0.1"]


def test_table_output_is_the_default(web: int, tmp_path: Path) -> None:
    done = run("scan", "127.0.0.1", "--methods", "ports,http", "--ports", str(web), "--state-dir",
               str(tmp_path), "--no-store")
    assert done.returncode == ExitCode.OK, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("camsweep remediation list -- policy none;")
    # A login page names no maker: the host is counted, not listed, unless --all is given.
    assert "1 device(s); 1 other host(s) answered with no maker evidence (--all lists them)" in lines
    assert re.fullmatch(r"camsweep done: 1 address\(es\) scanned, 1 host\(s\) answered, 0 Hikvision/Dahua-made, "
                        r"0 restricted under policy none, in \d+\.\d s", lines[-1])
    assert "\x1b" not in done.stdout and "\r" not in done.stderr  # piped: no colour, no progress display
    listed = run("scan", "127.0.0.1", "--methods", "ports,http", "--ports", str(web), "--state-dir",
                 str(tmp_path), "--no-store", "--all")
    row = next(line for line in listed.stdout.splitlines() if line.startswith("127.0.0.1 "))
    assert row.split()[1:3] == ["unknown", "unknown"] and row.split()[-1] == "clear"


@pytest.mark.parametrize("args, message", [
    (["explain", "127.0.0.1", "--scan", "/nonexistent/scan.json"], "/nonexistent/scan.json: cannot read"),
    (["explain", "not-an-address", "--scan", "/dev/null"], "neither an IP"),
])
def test_explain_bad_input(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == ExitCode.USAGE
    assert message in done.stderr


def test_explain_unknown_device(tmp_path: Path) -> None:
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps({"schema_version": 1, "started": "2026-11-25T10:00:00+00:00",
                                "finished": "2026-11-25T10:00:05+00:00", "devices": []}))
    done = run("explain", "198.18.0.99", "--scan", str(scan))
    assert done.returncode == ExitCode.USAGE and "no device 198.18.0.99" in done.stderr


def _config(tmp_path: Path, port: int, scan: str = "", output: str = "") -> Path:
    config = tmp_path / "camsweep.toml"
    config.write_text(f"""
[scan]
targets = ["127.0.0.1"]
methods = ["ports,http"]
ports = [{port}]
listen = 1.0
{scan}
[policy]
fail_on = "never"

[output]
reports = [{{ format = "json", path = "report.json" }}]
{output}
""")
    return config


def test_config_file_drives_an_unattended_run(web: int, tmp_path: Path) -> None:
    config = _config(tmp_path, web, scan='site = "Leeds depot"\noperator = "night-cron"')
    done = run("scan", "--config", str(config), "--state-dir", str(tmp_path / "state"), "--no-store")
    assert done.returncode == ExitCode.OK, done.stderr
    assert done.stdout == "" and done.stderr == ""  # unattended: report files only, no progress
    report = report_json((tmp_path / "report.json").read_text())["scan"]
    assert report["targets"] == ["127.0.0.1"] and report["methods"] == ["ports", "http"]
    # The audit trail, recorded as the scan ran: who, where, from which interface, with what.
    assert (report["site"], report["operator"]) == ("Leeds depot", "night-cron")
    assert (report["interface"], report["interface_addresses"]) == ("lo", ["127.0.0.1/8"])
    assert (report["scope"], report["addresses"]) == (["127.0.0.1/32"], 1)
    assert report["scanner_host"] == socket.gethostname() and report["tool_version"] == __version__


def test_overlapping_config_runs_exit_5(web: int, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = _config(tmp_path, web)
    with RunLock(lock_path(str(config), state)):
        done = run("scan", "--config", str(config), "--state-dir", str(state), "--no-store")
    assert done.returncode == ExitCode.SCAN_FAILED
    assert f"another camsweep run of {config} holds" in done.stderr
    assert not (tmp_path / "report.json").exists()


@pytest.mark.parametrize("change, problem", [
    (('path = "report.json"', 'path = "missing/report.json"'),
     "cannot write report to {dir}/missing/report.json: folder {dir}/missing does not exist"),
    (("[scan]", '[scan]\ncredentials = "nope.toml"'), "cannot read credentials file {dir}/nope.toml"),
    (("[scan]", '[scan]\ninterface = "cs-nosuch0"'), "interface 'cs-nosuch0' does not exist"),
    (("[output]", '[output]\ndb = "report.json/inv.sqlite"'), "report.json/inv.sqlite"),
])
def test_a_config_problem_is_exit_2_with_nothing_sent(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    server, port = start_server("tell")
    try:
        config = _config(tmp_path, port, output='state_dir = "state"')
        config.write_text(config.read_text().replace(*change))
        (tmp_path / "report.json").write_text("")  # a file where the db's folder should be
        done = run("scan", "--config", str(config))
    finally:
        server.kill()
        server.wait()
    assert done.returncode == ExitCode.USAGE and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and problem.format(dir=tmp_path) in done.stderr, done.stderr
    assert server.stdout is not None and server.stdout.read() == ""  # not even the port scan's connect
    assert not (tmp_path / "state" / "last-scan.json").exists()


def test_listen_runs_from_a_config(tmp_path: Path) -> None:
    config = tmp_path / "listen.toml"
    config.write_text('[listen]\ninterface = "lo"\nduration = 1\nonly = ["127.0.0.0/8"]\n\n[scan]\nsite = "lab"\n\n'
                      '[policy]\nfail_on = "new"\n\n[output]\ndb = "inv.sqlite"\nstate_dir = "state"\n'
                      'reports = [{ format = "json", path = "listen.json" }]\n')
    done = run("listen", "--config", str(config))
    assert (done.returncode, done.stdout, done.stderr) == (ExitCode.OK, "", "")
    scan = report_json((tmp_path / "listen.json").read_text())["scan"]
    assert (scan["mode"], scan["site"], scan["interface"], scan["targets"]) == ("listen", "lab", "lo", ["127.0.0.0/8"])
    assert (tmp_path / "inv.sqlite").exists()
    with RunLock(lock_path(str(config), tmp_path / "state")):
        done = run("listen", "--config", str(config))
    assert done.returncode == ExitCode.SCAN_FAILED and "another camsweep run of" in done.stderr


def test_config_file_state_dir_holds_the_last_scan_and_the_run_lock(web: int, tmp_path: Path) -> None:
    # Before, [output] state_dir was accepted and ignored: both went to $XDG_STATE_HOME/camsweep.
    config = _config(tmp_path, web, scan="request_timeout = 5", output='state_dir = "state"')
    xdg = {"XDG_STATE_HOME": str(tmp_path / "xdg")}
    state = tmp_path / "state"  # relative to the config file
    with RunLock(lock_path(str(config), state)):
        done = run("scan", "--config", str(config), "--no-store", env=xdg)
    assert done.returncode == ExitCode.SCAN_FAILED
    assert f"another camsweep run of {config} holds {lock_path(str(config), state)}" in done.stderr
    done = run("scan", "--config", str(config), "--no-store", env=xdg)
    assert done.returncode == ExitCode.OK, done.stderr
    assert scan_json((state / "last-scan.json").read_text())["targets"] == ["127.0.0.1"]
    assert not (tmp_path / "xdg").exists()


def test_a_bad_value_in_the_config_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, 80, scan="request_timeout = 0")
    done = run("scan", "--config", str(config), "--no-store")
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.splitlines() == [f"camsweep: error: {config}: 'scan.request_timeout' must be positive, not 0.0"]


def test_ctrl_c_prints_the_partial_result_and_exits_6(tmp_path: Path) -> None:
    server, port = start_server("drip")
    process = subprocess.Popen(
        in_netns(sys.executable, str(ROOT / "scan.py"), "scan", "127.0.0.1", "--methods", "ports,http", "--ports",
                 str(port), "--request-timeout", "60", "--host-timeout", "60", "--state-dir", str(tmp_path),
                 "--no-store"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C as at a terminal: a test run started in the background ignores SIGINT (tests/pty_run.py).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ASKED"
        process.send_signal(signal.SIGINT)  # `ip netns exec` execs python: the signal reaches camsweep
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        server.kill()
        server.wait()
    assert process.returncode == ExitCode.PARTIAL, stderr
    assert "PARTIAL" in stdout and "127.0.0.1" in stdout
    assert scan_json((tmp_path / "last-scan.json").read_text())["partial"] is True


def test_listen_shows_its_progress_on_a_terminal_and_a_config_run_shows_none(web: int, tmp_path: Path) -> None:
    listening = PtyRun(in_netns(sys.executable, str(ROOT / "scan.py"), "listen", "-i", "lo", "-d", "1", "--no-store"),
                       columns=120, cwd=str(ROOT))
    assert listening.finish(timeout=60) == ExitCode.OK, listening.output
    assert "listening" in listening.output and "host(s) heard" in listening.output
    unattended = PtyRun(in_netns(sys.executable, str(ROOT / "scan.py"), "scan", "--config", str(_config(tmp_path, web)),
                                 "--state-dir", str(tmp_path / "state"), "--no-store"), columns=120, cwd=str(ROOT))
    assert unattended.finish(timeout=60) == ExitCode.OK, unattended.output
    assert unattended.output == ""  # on a terminal too: cron's mail gets errors only
    assert json.loads((tmp_path / "report.json").read_text())["scan"]["devices"]


def test_asking_for_a_root_only_method_without_raw_sockets_is_refused() -> None:
    setpriv = shutil.which("setpriv")  # util-linux: drop CAP_NET_RAW even when running as root
    assert setpriv, "setpriv (util-linux) is needed to run without CAP_NET_RAW"
    done = subprocess.run(in_netns(setpriv, "--bounding-set", "-net_raw", "--", sys.executable, str(ROOT / "scan.py"),
                                   "scan", "127.0.0.1", "--methods", "arp,ports"),
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip() == "camsweep: error: method 'arp' needs root or CAP_NET_RAW; run as root or leave it out"


def test_a_target_file_is_read_and_checked_like_targets(tmp_path: Path) -> None:
    """-iL's targets go through the same checks (here: public space), before anything is sent."""
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("# lab\n198.18.0.0/24\n8.8.8.8   # a typo: public\n")
    done = run("scan", "-iL", str(hosts))
    assert done.returncode == ExitCode.USAGE and done.stdout == ""
    assert done.stderr.strip() == ("camsweep: error: target '8.8.8.8' (8.8.8.8/32) is public address space; "
                                   "scanning it needs --allow-public")
