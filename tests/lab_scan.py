"""One ``camsweep scan`` of the lab, run in a child process from the lab's scanner namespace, with
the child's peak RSS read from ``os.wait4`` (memory, not time, is what the flood test asserts;
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
    command = ["ip", "netns", "exec", lab.scanner_namespace, sys.executable, str(checkout / "scan.py"), "scan",
               *SEGMENTS, "--format", fmt, "-o", str(out), "--no-store", "--state-dir", str(workdir / f"state-{fmt}"),
               "--fail-on", "never"]
    errors = open(workdir / f"scan-{fmt}.stderr", "w+b")  # a file, not a pipe: a chatty child never blocks
    started = time.monotonic()
    # `ip netns exec` execs the command in its own process: wait4 measures the scan itself.
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    status: int | None = None
    usage = None
    while True:
        pid, status_, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = status_
            break
        if time.monotonic() - started > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            _, _, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = -1  # reaped above: keep Popen from waiting on it again
    wall = time.monotonic() - started
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
        cpu=round(usage.ru_utime + usage.ru_stime, 2) if usage else None,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1) if usage else None,
        report_bytes=out.stat().st_size if out.exists() else None,
        report=report,
        stderr=stderr,
    )
