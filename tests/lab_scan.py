"""One ``camsweep scan`` of the lab, run in a child process from the lab's scanner namespace, with
the scan's own peak RSS read from ``os.wait4`` (memory, not time, is what the flood test asserts;
bench/hostile_floods.py --lab reports the same numbers).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")


MEASURE = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "maxrss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}, out)
"""


@dataclass
class LabScan:
    fmt: str
    exit: int | str
    wall: float
    cpu: float | None
    peak_rss_mb: float | None
    report_bytes: int | None
    report: dict[str, Any] | None
    """The parsed report when ``fmt`` is json."""
    stderr: str


def scan_in_lab(lab: Any, fmt: str, workdir: Path, *, timeout: float = 300.0, checkout: Path = ROOT) -> LabScan:
    """``scan <both segments> --format FMT -o FILE`` in ``lab``'s scanner namespace, with the
    scan.py of ``checkout`` (this one, or another for a before/after)."""
    lab.check_isolated()
    out = workdir / f"scan.{fmt}"
    rusage = workdir / f"scan-{fmt}.rusage"
    # A child's ru_maxrss counts the memory image it had before exec, i.e. a copy of its parent's:
    # run from a big parent (pytest), the scan would be charged the parent's size. So a small
    # Python (MEASURE) starts the scan and writes the scan's own rusage from os.wait4.
    command = ["ip", "netns", "exec", lab.scanner_namespace, sys.executable, "-c", MEASURE, str(rusage),
               sys.executable, str(checkout / "scan.py"), "scan", *SEGMENTS, "--format", fmt, "-o", str(out),
               "--no-store", "--state-dir", str(workdir / f"state-{fmt}"), "--fail-on", "never"]
    errors = open(workdir / f"scan-{fmt}.stderr", "w+b")  # a file, not a pipe: a chatty child never blocks
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    wall = time.monotonic() - started
    measured = json.loads(rusage.read_text()) if rusage.exists() else None
    status = measured["status"] if measured else None
    errors.seek(0)
    stderr = errors.read().decode("utf-8", "replace")
    errors.close()
    report = None
    if fmt == "json" and out.exists():
        report = json.loads(out.read_text())
    return LabScan(
        fmt=fmt,
        exit="timeout" if status is None else os.waitstatus_to_exitcode(status),
        wall=round(wall, 2),
        cpu=round(measured["cpu"], 2) if measured else None,
        peak_rss_mb=round(measured["maxrss_kib"] / 1024, 1) if measured else None,
        report_bytes=out.stat().st_size if out.exists() else None,
        report=report,
        stderr=stderr,
    )
