"""``camsweep watch`` live, in a small chatty lab (namespaces ``cs-w<pid>-``, torn down at the end).

One watch process runs in the lab's scanner namespace on eth0, configured by a file as an admin
would (``[watch]``, ``[output] db``), with its syslog alerts going to a throwaway rsyslogd
(``tests/test_watch.py``'s fixture: a Unix socket in a temporary folder), and, once SIGHUP has
re-read the changed file, to a webhook: a real ``http.server`` run inside the scanner namespace on
its loopback, which records what it receives. In that one run, in order:

1. every Hikvision/Dahua device of the lab is alerted on stdout (JSON lines) and in syslog;
2. SIGHUP reloads the config (the webhook is added);
3. eth0 goes down and comes back (``ip link set``): the watch says so and keeps listening;
4. a new Hikvision device announces itself (a SADP reply sent from the lab's client namespace):
   it is alerted on stdout and to the webhook, with the token; no earlier device is alerted again;
5. SIGTERM: exit 0, the snapshot is in the inventory;
6. a second watch on the same inventory alerts nothing for the devices it already holds.

Every wait is bounded (a failure, not a timing): devices announce every ``PERIOD`` seconds.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from camsweep.lab import SHIPPED_PROFILES
from camsweep.store import open_store
from camsweep.types import RESTRICTED_MAKERS

from tests.test_watch import rsyslog, wait_for_lines  # noqa: F401 - the fixture is used by name

ROOT = Path(__file__).resolve().parents[1]
PERIOD = 2.0
BOUND = 90.0  # seconds any one wait is bounded by
PROFILES = ["hik-ds-2cd2722fwd-izs", "dahua-ipc-hdw1431t1-s4", "axis-m3058-plve", "workstation-linux"]
SADP = (ROOT / "tests" / "fixtures" / "replies" / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()
"""A real DS-2CD2385G1-I SADP reply (its .source file cites it): the 'new device' of step 4."""
RECEIVER = r"""
import http.server, json, sys
out = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization"),
                              "body": json.loads(body)}) + "\n"); out.flush()
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
print("ready", flush=True)
server.serve_forever()
"""


@pytest.fixture(scope="module")
def small_lab(needs_root: None) -> Iterator[Any]:
    from camsweep.lab import Lab

    with tempfile.TemporaryDirectory(prefix="camsweep-watch-lab-") as tmp:
        for name in PROFILES:
            shutil.copy(SHIPPED_PROFILES / f"{name}.toml", tmp)
        with Lab(tmp, prefix=f"cs-w{os.getpid()}-", chatter=True, chatter_period=PERIOD) as lab:
            yield lab


class Lines:
    """A pipe's lines, read on a thread (so every wait on them is bounded)."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def rest(self) -> list[str]:
        """Every line, once the process has closed the pipe (it has exited)."""
        self._thread.join(BOUND)
        while not self._queue.empty():
            self.lines.append(self._queue.get_nowait())
        return self.lines

    def wait(self, done: Callable[[list[str]], bool], what: str) -> list[str]:
        deadline = time.monotonic() + BOUND
        while not done(self.lines):
            try:
                self.lines.append(self._queue.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"waited {BOUND:g} s for {what}; got: {self.lines[-20:]}") from None
        return self.lines


def _alerts(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def _watch(lab: Any, *args: str) -> subprocess.Popen[str]:
    lab.check_isolated()
    return subprocess.Popen(["ip", "netns", "exec", lab.scanner_namespace, sys.executable, str(ROOT / "scan.py"),
                             "watch", *args], cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def _announce_new_hikvision(lab: Any) -> None:
    """A SADP reply multicast from the client namespace, as a Hikvision tool's search is answered."""
    from camsweep.lab.netns import in_netns

    with in_netns(lab.client_namespace):
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sender:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(lab.plan.client_ip))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sender.bind((lab.plan.client_ip, 37020))
        sender.sendto(SADP, ("239.255.255.250", 37020))


def test_watch_alerts_reloads_survives_link_down_and_does_not_repeat(
        small_lab: Any, rsyslog: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    lab = small_lab
    syslog_socket, syslog_file = rsyslog
    db = tmp_path / "inv.sqlite"
    config = tmp_path / "watch.toml"
    base = f'[output]\ndb = "{db}"\n[watch]\ninterface = "eth0"\nsnapshot_interval = 3600\nsyslog = "unix:{syslog_socket}"\n'
    config.write_text(base)
    expected = {d.ip for d in lab.devices if d.truth["manufacturer"] in RESTRICTED_MAKERS}
    assert len(expected) == 2

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    received = tmp_path / "webhook.jsonl"
    receiver = subprocess.Popen(["ip", "netns", "exec", lab.scanner_namespace, sys.executable, "-c", RECEIVER,
                                 str(port), str(received)], stdout=subprocess.PIPE, text=True)
    watch = None
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
        watch = _watch(lab, "--config", str(config))
        out, err = Lines(watch.stdout), Lines(watch.stderr)

        # 1. the lab's Hikvision and Dahua devices, on stdout and in syslog
        # (by IP: a device first heard in its replies to the lab's client has no MAC yet)
        out.wait(lambda lines: {a["ip"] for a in _alerts(lines)} >= expected, "the lab's devices alerted")
        first = _alerts(out.lines)
        assert {a["maker"] for a in first} <= set(RESTRICTED_MAKERS)
        logged = wait_for_lines(syslog_file, len(first))
        assert all(" camsweep " in line and " new-device [camsweep@32473 " in line for line in logged)
        assert {ip for ip in expected if any(f'ip="{ip}"' in line for line in logged)} == expected

        # 2. SIGHUP: the webhook is added, with a token from a file
        token = tmp_path / "token"
        token.write_text("tok-lab-42\n")
        config.write_text(base + f'webhook_url = "http://127.0.0.1:{port}/hook/s3cr3t"\n'
                                 f'webhook_token_file = "{token}"\n')
        watch.send_signal(signal.SIGHUP)
        err.wait(lambda lines: any("reload" in line for line in lines), "the reload")
        assert any("configuration reloaded" in line for line in err.lines), err.lines

        # 3. the capture interface goes down and comes back
        subprocess.run(["ip", "-n", lab.scanner_namespace, "link", "set", "dev", "eth0", "down"], check=True)
        err.wait(lambda lines: any("capture on eth0 stopped" in line for line in lines), "the outage to be seen")
        subprocess.run(["ip", "-n", lab.scanner_namespace, "link", "set", "dev", "eth0", "up"], check=True)
        err.wait(lambda lines: any("capture on eth0 is back" in line for line in lines), "the capture to resume")

        # 4. a new Hikvision device: alerted once, on stdout and to the webhook; nothing repeated
        def new_one(lines: list[str]) -> bool:
            if not any(a["model"] == "DS-2CD2385G1-I" for a in _alerts(lines)):
                _announce_new_hikvision(lab)  # again until heard: multicast may be lost, waits are bounded
                time.sleep(0.5)
                return False
            return True

        out.wait(new_one, "the new device's alert")
        deadline = time.monotonic() + BOUND
        while not (received.exists() and received.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        hooks = [json.loads(line) for line in received.read_text().splitlines()]
        assert [h["body"]["model"] for h in hooks] == ["DS-2CD2385G1-I"]
        assert hooks[0]["path"] == "/hook/s3cr3t" and hooks[0]["auth"] == "Bearer tok-lab-42"
        assert hooks[0]["body"]["schema"] == "camsweep.alert/1"
        identities = [a["identity"] for a in _alerts(out.lines)]
        assert len(identities) == len(set(identities))

        # 5. SIGTERM: a clean stop, the snapshot stored; the secrets were never logged
        assert _stop(watch) == 0
        stderr = "\n".join(err.rest())
        assert "s3cr3t" not in stderr and "tok-lab-42" not in stderr
        with open_store(str(db), read_only=True) as inventory:
            scans = inventory.scans("")
            known = inventory.flagged_identities("")
        assert scans and all(s.mode == "listen" and s.interface == "eth0" for s in scans)
        assert set(identities) <= known  # (with each device's mac:/ip:/serial: names)

        # 6. a restart alerts nothing the inventory holds: two snapshots hold the lab's devices
        watch = _watch(lab, "--config", str(config), "--snapshot-interval", "3")
        again, again_err = Lines(watch.stdout), Lines(watch.stderr)

        def stored_twice() -> bool:
            with open_store(str(db), read_only=True) as inventory:
                later = [s.id for s in inventory.scans("") if s.id > scans[-1].id]
                held = [{x.ip for x in inventory.sightings(i).values() if x.ip} for i in later]
            return sum(1 for ips in held if expected <= ips) >= 2

        deadline = time.monotonic() + BOUND
        while not stored_twice():
            assert time.monotonic() < deadline, "the restarted watch stored no snapshot of the lab"
            time.sleep(0.5)
        assert _stop(watch) == 0
        assert _alerts(again.rest()) == [], (again_err.rest(), sorted(known))
        watch = None
    finally:
        if watch is not None and watch.poll() is None:
            watch.kill()
            watch.wait()
        receiver.terminate()
        receiver.wait(BOUND)
