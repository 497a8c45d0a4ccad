#!/usr/bin/env python3
"""Benchmark: what the terminal progress display costs a scan (issue 13). Not a test.

The progress display (phase, counters, elapsed time, ETA; ``scanner/cli/_progress.py``) is drawn
only when stderr is a terminal. This script runs the same command both ways, alternating, and
reports wall time and the CPU time the scan process used (user + system, from the kernel's
accounting of the finished child), so the difference is the display's cost:

* ``tty``  -- stderr is a pseudo-terminal 120 columns wide (the display is on; a reader thread
  drains the terminal as a real one would);
* ``pipe`` -- stderr is a pipe (the display is off, as under cron or in the other benchmarks).

Either a lab scan (default: brings the lab up under its own prefix, scans both segments from the
lab's scanner namespace; needs root), ``--pcap FILE`` (``scan --pcap``), or ``--pcap-packets N``
(``scan --pcap`` of the synthetic site capture ``bench/passive_capture.py`` writes, N packets)::

    sudo python3 bench/progress_cost.py --runs 5
    python3 bench/progress_cost.py --pcap-packets 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")


def _drain(fd: int, sink: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side of the terminal
            return
        if not chunk:
            return
        sink += chunk


def run_once(command: list[str], *, tty: bool) -> dict[str, Any]:
    """Run ``command`` with stdout to /dev/null and stderr to a terminal or a pipe."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    shown = bytearray()
    with ExitStack() as stack:
        devnull = stack.enter_context(open(os.devnull, "wb"))
        if tty:
            master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
            started = time.monotonic()
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=devnull, stderr=slave, env=env, cwd=ROOT)
            os.close(slave)
            reader = threading.Thread(target=_drain, args=(master, shown), daemon=True)
            reader.start()
            code = process.wait(timeout=600)
            wall = time.monotonic() - started
            reader.join(timeout=5)
            os.close(master)
        else:
            started = time.monotonic()
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=devnull, stderr=subprocess.PIPE,
                                  cwd=ROOT, timeout=600, check=False)
            wall = time.monotonic() - started
            code = done.returncode
            shown += done.stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if code not in (0, 3, 6):
        raise SystemExit(f"{' '.join(command)} exited {code}: {shown.decode(errors='replace')[-500:]}")
    return {"wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "exit_code": code,
            "stderr_bytes": len(shown)}


def measure(command: list[str], runs: int) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {"tty": [], "pipe": []}
    for index in range(runs):
        order = ("tty", "pipe") if index % 2 == 0 else ("pipe", "tty")  # alternate: load drifts
        for mode in order:
            samples[mode].append(run_once(command, tty=mode == "tty"))
    summary: dict[str, Any] = {"command": " ".join(command), "runs": samples}
    for mode, rows in samples.items():
        summary[mode] = {key: {"median": round(statistics.median(r[key] for r in rows), 3),
                               "best": round(min(r[key] for r in rows), 3)} for key in ("wall_seconds", "cpu_seconds")}
    summary["cpu_cost_seconds_median"] = round(summary["tty"]["cpu_seconds"]["median"] - summary["pipe"]["cpu_seconds"]["median"], 3)
    summary["wall_cost_seconds_median"] = round(summary["tty"]["wall_seconds"]["median"] - summary["pipe"]["wall_seconds"]["median"], 3)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs of each kind (alternated).")
    parser.add_argument("--pcap", help="Time `scan --pcap FILE` instead of a lab scan.")
    parser.add_argument("--pcap-packets", type=int, help="Time `scan --pcap` of a synthetic capture of N packets.")
    parser.add_argument("--count", type=int, default=None, help="Lab devices (default: the lab's own).")
    parser.add_argument("--prefix", default="cs-bench-prog-", help="Namespace prefix of the benchmark's lab.")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="Directory for the JSON result.")
    args = parser.parse_args()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="camsweep-bench-") as state:
        common = ["--format", "json", "--no-store", "--state-dir", state]
        if args.pcap_packets:
            sys.path.insert(0, str(ROOT / "bench"))
            from passive_capture import write_capture

            args.pcap = os.path.join(state, "site.pcap")
            write_capture(args.pcap, args.pcap_packets)
        if args.pcap:
            result = measure([sys.executable, str(ROOT / "scan.py"), "scan", "--pcap", args.pcap, *common], args.runs)
        else:
            from camsweep.lab import Lab

            with Lab(count=args.count, prefix=args.prefix) as lab:
                lab.check_isolated()
                command = ["ip", "netns", "exec", lab.scanner_namespace, sys.executable, str(ROOT / "scan.py"),
                           "scan", *SEGMENTS, *common]
                result = measure(command, args.runs)
                result["lab_devices"] = len(lab.devices)
    result = {"benchmark": "progress_cost", "time": stamp, **result}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"progress_cost-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(f"full result: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
