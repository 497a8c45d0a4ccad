"""The progress display of ``scan --pcap`` (no network): on a terminal only, silent when piped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from camsweep.errors import ExitCode
from tests.hostile_floods import arp_spoof, write_pcap
from tests.pty_run import PtyRun

ROOT = Path(__file__).resolve().parents[1]


def _capture(tmp_path: Path) -> Path:
    return write_pcap(tmp_path / "site.pcap", arp_spoof(30_000))


def test_a_capture_shows_bytes_read_on_a_terminal(tmp_path: Path) -> None:
    capture = _capture(tmp_path)
    run = PtyRun([sys.executable, str(ROOT / "scan.py"), "scan", "--pcap", str(capture), "--no-store", "--state-dir",
                  str(tmp_path / "state"), "--format", "json", "-o", str(tmp_path / "out.json")], columns=120)
    code = run.finish(timeout=120)
    assert code == ExitCode.OK, run.output
    assert "reading the capture" in run.output and f"/{capture.stat().st_size / 1e6:.1f} MB" in run.output
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["scan"]["capture"] == str(capture)


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    capture = _capture(tmp_path)
    done = subprocess.run([sys.executable, str(ROOT / "scan.py"), "scan", "--pcap", str(capture), "--no-store",
                           "--state-dir", str(tmp_path / "state"), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == ExitCode.OK
    assert done.stderr == ""  # not even a note: the display is for terminals only
    assert json.loads(done.stdout)["scan"]["mode"] == "pcap"
