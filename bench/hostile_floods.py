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
    sudo python3 bench/hostile_floods.py --lab       # the hostile lab, scanned in every format

Goal (issue 19): every case <= 5 s and <= 300 MB peak RSS, the JSON report tens of MB at most.

``--lab`` (root; issue 14 item 6) brings up the hostile part of the lab (``hostile-*`` profiles and
``profiles/floods/``: a camera answering each WS-Discovery Probe with 5,000 ProbeMatches) in its own
namespaces and scans it from the lab's scanner namespace once per output format, recording the
scan process's peak RSS (``os.wait4``), its wall time, and the flood device's observation and rule
hit counts (from the JSON run). Goal: <= 150 MB peak RSS in every format.
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


LAB_RSS_GOAL_MB = 150
FLOOD_IP = "198.18.0.206"  # hostile-wsd-probematch-flood.toml


def run_lab(timeout: float, prefix: str, checkout: Path = ROOT) -> list[dict[str, object]]:
    """Scan the hostile lab once per output format; one row per format."""
    from camsweep.lab import Lab
    from camsweep.lab.profiles import hostile_profiles
    from camsweep.types import REPORT_FORMATS
    from tests.lab_scan import scan_in_lab

    rows: list[dict[str, object]] = []
    with Lab(prefix=prefix, profiles=hostile_profiles()) as lab, \
            tempfile.TemporaryDirectory(prefix="camsweep-floods-") as tmp:
        for fmt in REPORT_FORMATS:
            run = scan_in_lab(lab, fmt, Path(tmp), timeout=timeout, checkout=checkout)
            row: dict[str, object] = {"case": f"hostile-lab-{fmt}", "devices_in_lab": len(lab.devices),
                                      "wall_s": run.wall, "cpu_s": run.cpu, "peak_rss_mb": run.peak_rss_mb,
                                      "goal_rss_mb": LAB_RSS_GOAL_MB, "exit": run.exit,
                                      "report_mb": round(run.report_bytes / 1e6, 3) if run.report_bytes else None}
            if fmt == "json" and run.report is not None:
                result = run.report.get("scan", run.report)
                for item in result["devices"]:
                    if FLOOD_IP in item["device"]["ips"]:
                        row["flood_device_observations"] = len(item["device"]["observations"])
                        row["flood_device_rule_hits"] = len(item["verdict"]["hits"])
                        row["flood_problems"] = sorted({o["problem"] for o in item["device"]["observations"]
                                                        if (o.get("problem") or "").startswith("flood")})
                row["flood_notes"] = [n for n in result.get("notes", []) if "flood" in n.lower()]
            print(json.dumps(row, ensure_ascii=False), flush=True)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="Run this case (repeatable).")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds per case before it is killed.")
    parser.add_argument("--label", default="", help="Recorded with the results (e.g. before/after).")
    parser.add_argument("--lab", action="store_true", help="Scan the hostile lab in every format instead (root).")
    parser.add_argument("--prefix", default="cs-floods-", help="Namespace prefix of --lab's lab.")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="--lab: scan with this checkout's scan.py (e.g. a worktree of main: before/after).")
    args = parser.parse_args()
    rows = []
    if args.lab:
        rows = run_lab(args.timeout, args.prefix, args.checkout)
    else:
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
