#!/usr/bin/env python3
"""Benchmark: issue 19's hostile captures through ``analyse_capture``. Not a test.

Each case is written by ``tests/hostile_captures.py`` at the size the issue reported, then analysed
in a fresh process under a timeout; the wall time of the analysis and the process's peak RSS are
printed as JSON. The goal (issue 19): every case within 5 s and 300 MB.

    python3 bench/hostile_captures.py                 # every case, 60 s timeout each
    python3 bench/hostile_captures.py --only tls_one_flow --timeout 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests import hostile_captures as hc

CASES = {
    # name: (writer, keyword arguments) -- sizes from issue 19
    "tls_one_flow": (hc.tls_empty_records, {"segments": 8000, "flows": 1}),
    "tls_three_flows": (hc.tls_empty_records, {"segments": 12_900, "flows": 3}),  # 2.9 MB
    "tls_stalled_flows": (hc.tls_stalled_flows, {"flows": 4096, "flow_bytes": 65_536}),
    "http_header_dribble": (hc.http_header_dribble, {"size": 65_536}),
    "fragment_storm": (hc.fragment_storm, {"datagrams": 256, "fragments": 8174, "size": 128}),
    "fragment_last_first": (hc.fragment_last_first, {"fragments": 8174}),
    "mdns_flood": (hc.mdns_flood, {"packets": 200, "services": 2800}),  # not in the issue: found in review
}


def measure(path: str) -> dict[str, object]:
    """In the child: analyse one capture; time it and report peak memory."""
    from camsweep.passive import analyse_capture

    start, cpu = time.perf_counter(), time.process_time()
    result = analyse_capture(path)
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),  # steadier than wall time on a shared machine
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "devices": len(result.devices),
        "notes": list(result.notes),
    }


def _peak_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def run_case(name: str, tmp: str, timeout: float) -> dict[str, object]:
    writer, kwargs = CASES[name]
    path = os.path.join(tmp, name + ".pcap")
    packets = writer(path, **kwargs)
    figures: dict[str, object] = {"case": name, "packets": packets, "capture_mib": round(os.path.getsize(path) / 2**20, 1)}
    child = subprocess.Popen([sys.executable, __file__, "--measure", path], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    peak = None
    while child.poll() is None and time.monotonic() < deadline:
        peak = _peak_rss_mib(child.pid) or peak
        time.sleep(0.2)
    if child.poll() is None:
        peak = _peak_rss_mib(child.pid) or peak
        child.kill()
        child.communicate()
        figures.update({"seconds": f"> {timeout:g} (killed)", "peak_rss_mib": f">= {peak}"})
    else:
        out, _ = child.communicate()
        figures.update(json.loads(out) if child.returncode == 0 else {"error": f"exit {child.returncode}"})
    os.unlink(path)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="run this case (repeatable)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it is killed")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CASES:
            print(json.dumps(run_case(name, tmp, args.timeout)), flush=True)


if __name__ == "__main__":
    main()
