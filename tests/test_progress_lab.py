"""The progress display and Ctrl-C, as a person at a terminal sees them: a lab scan on a pty.

The scan runs inside the lab's scanner namespace on a pseudo-terminal. The hostile drip device
(198.18.0.200) answers HTTP one byte a second, so with the long timeouts given here the scan
cannot end on its own for five minutes: an interrupted scan that ends within BOUND seconds of the
signal ended because Ctrl-C stopped its probes, not because they ran out.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from camsweep.errors import ExitCode
from tests.pty_run import PtyRun

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")
SLOW = ("--request-timeout", "300", "--host-timeout", "600", "--fail-on", "never")  # exit 6, not 3
BOUND = 60.0
"""Seconds from SIGINT to the process's end, at most. Stopping takes about one second; the
bound is generous for a loaded machine (load average 25 on 2 cores) and still far below the
300 s the drip would hold a probe."""

pytestmark = pytest.mark.lab


def _scan_on_pty(lab: Any, tmp_path: Path, *args: str, columns: int = 120) -> PtyRun:
    lab.check_isolated()
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "NO_COLOR")}
    return PtyRun(["ip", "netns", "exec", lab.scanner_namespace, sys.executable, str(ROOT / "scan.py"), "scan",
                   *SEGMENTS, "--no-store", "--state-dir", str(tmp_path / "state"), *args],
                  columns=columns, env={**env, "TERM": "xterm-256color"}, cwd=str(ROOT))


def test_ctrl_c_stops_the_probes_and_the_progress_display_at_once(lab: Any, tmp_path: Path) -> None:
    run = _scan_on_pty(lab, tmp_path, *SLOW)
    try:
        # The display shows the phase, the hosts probed of all, the devices found, elapsed time and ETA.
        assert run.wait_for(lambda text: "probing hosts" in text and "device(s) found" in text, 120), run.output
        assert run.wait_for(lambda text: "ETA" in text and "elapsed" in text, 120), run.output
        shown = len(run.output)
        os.kill(run.process.pid, signal.SIGINT)  # `ip netns exec` execs python: this is camsweep
        signalled = time.monotonic()
        code = run.finish(timeout=600)
        took = time.monotonic() - signalled
    finally:
        if run.process.poll() is None:
            run.process.kill()
    output = run.output
    assert code == ExitCode.PARTIAL, output[-2000:]
    assert took < BOUND, f"the scan took {took:.1f} s to end after Ctrl-C"
    saved = json.loads((tmp_path / "state" / "last-scan.json").read_text(encoding="utf-8"))
    assert saved["partial"] is True and any(note.startswith("interrupted") for note in saved["notes"])
    after = output[shown:]
    assert "PARTIAL" in after
    # The display stopped before the report began: no progress line is drawn after it.
    report = after[after.index("camsweep remediation list"):]
    assert not any(phase in report for phase in ("discovering hosts", "probing hosts", "identifying devices"))


def test_discovery_shows_hosts_answered_and_a_piped_scan_shows_nothing(lab: Any, tmp_path: Path) -> None:
    run = _scan_on_pty(lab, tmp_path, "--format", "json", "-o", str(tmp_path / "scan.json"))
    try:
        assert run.wait_for(lambda text: "discovering hosts" in text and "host(s) answered" in text, 120), run.output
        code = run.finish(timeout=600)
    finally:
        if run.process.poll() is None:
            run.process.kill()
    assert code in (ExitCode.OK, ExitCode.RESTRICTED), run.output[-2000:]
    assert json.loads((tmp_path / "scan.json").read_text(encoding="utf-8"))["scan"]["devices"]
