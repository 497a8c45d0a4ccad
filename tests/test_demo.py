"""`camsweep demo`, the README's first command, end to end: lab up, scan, report, lab down."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from camsweep.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.usefixtures("needs_root")
def test_demo_scans_the_lab_and_cleans_up(tmp_path):
    report = tmp_path / "demo.html"
    done = subprocess.run(
        [sys.executable, "scan.py", "demo", "--report", str(report), "--db", str(tmp_path / "demo.sqlite")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == ExitCode.RESTRICTED, done.stderr[-2000:]
    assert "lab torn down." in done.stderr
    assert f"HTML report: {report}" in done.stdout
    assert "camsweep remediation list" in done.stdout
    html = report.read_text()
    assert "<html" in html and "DS-2CD2385G1-I" in html
    prefix = re.search(r"namespaces (cs-d\d+-)\*", done.stderr).group(1)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in namespaces
