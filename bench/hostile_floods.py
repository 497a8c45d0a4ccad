#!/usr/bin/env python3
"""Benchmark: hostile traffic floods through ``camsweep scan --pcap`` (issue 19). Not a test.

Each case writes a capture built by ``tests/hostile_floods.py`` (generation is not timed), then runs
``python -m scanner scan --pcap FILE --format json -o OUT --db DB --state-dir DIR`` in a fresh
process: the whole path a handed-over capture takes (decode, observations, merge, verdicts,
findings, inventory store, JSON report, last-scan.json). Wall time, CPU time and the process's
peak RSS (``os.wait4`` rusage) are recorded with the exit code, the size of the JSON report, the number of
devices in it and the notes that speak of caps, as JSON on stdout and in
``bench/results/hostile_floods-<UTC time>.json``. A case that runs past ``--timeout`` is killed
and reported as such.

    python3 bench/hostile_floods.py                  # every case, 60 s each
    python3 bench/hostile_floods.py --only arp-one-ip-20k --timeout 30

Goal (issue 19): every case <= 5 s and <= 300 MB peak RSS, the JSON report tens of MB at most.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile_floods as hf  # noqa: E402

CASES = {
    "arp-one-ip-20k": lambda: hf.arp_one_ip(20_000),
    "arp-one-ip-30k": lambda: hf.arp_one_ip(30_000),
    "arp-one-ip-100k": lambda: hf.arp_one_ip(100_000),
    "arp-spoof-100k": lambda: hf.arp_spoof(100_000),
    "dhcp-100k": lambda: hf.dhcp_requests(100_000),
    "synack-spoof-100k": lambda: hf.synack_spoof(100_000),
    "http-emoji-20k-one-host": lambda: hf.http_replies(20_000, hosts=1),
    "http-emoji-20k-many-hosts": lambda: hf.http_replies(20_000, hosts=1_000),
}


MEMORY_LIMIT = 6 << 30
"""Address-space cap for a case (the machine is shared): a case past it fails with MemoryError."""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_case(name: str, workdir: Path, timeout: float) -> dict[str, object]:
    capture = hf.write_pcap(workdir / f"{name}.pcap", CASES[name]())
    out = workdir / f"{name}.json"
    cmd = [sys.executable, "-m", "camsweep", "scan", "--pcap", str(capture), "--format", "json", "-o", str(out),
           "--db", str(workdir / f"{name}.sqlite"), "--state-dir", str(workdir / f"{name}-state"),
           "--fail-on", "never"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    errors = open(workdir / f"{name}.stderr", "w+b")  # a file, not a pipe: a chatty child never blocks
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors,
                            start_new_session=True, preexec_fn=_limit_memory)
    status = usage = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            status = None
            break
        time.sleep(0.05)
    wall = time.monotonic() - started
    errors.seek(0)
    stderr = errors.read().decode("utf-8", "replace").strip().splitlines()
    errors.close()
    row: dict[str, object] = {
        "case": name,
        "capture_mb": round(capture.stat().st_size / 1e6, 1),
        "wall_s": round(wall, 2),
        # CPU seconds too: the machine is shared, so wall time alone says as much about the neighbours
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2) if usage else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1) if usage else None,
        "exit": "timeout" if status is None else os.waitstatus_to_exitcode(status),
        "stderr_tail": stderr[-1][:200] if stderr else "",
    }
    if out.exists():
        row["json_mb"] = round(out.stat().st_size / 1e6, 1)
        if out.stat().st_size < 300_000_000:
            data = json.loads(out.read_text())
            result = data.get("scan", data)
            row["devices"] = len(result.get("devices", []))
            row["notes"] = [n for n in result.get("notes", []) if "packets read" not in n]
    for path in workdir.glob(f"{name}*"):
        if path.is_file():
            path.unlink()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="Run this case (repeatable).")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds per case before it is killed.")
    parser.add_argument("--label", default="", help="Recorded with the results (e.g. before/after).")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="camsweep-floods-") as tmp:
        for name in args.only or list(CASES):
            row = run_case(name, Path(tmp), args.timeout)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            rows.append(row)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"hostile_floods-{stamp}.json").write_text(
        json.dumps({"benchmark": "hostile_floods", "time": stamp, "label": args.label, "cases": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
