"""`camsweep demo`, the README's first command, end to end: lab up, scan, report, lab down; what
it leaves (the report and the demo inventory, the invoking user's) and what it does not."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from camsweep.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
INVOKER = (65534, 65534)
"""The user `sudo` says ran the demo (SUDO_UID/SUDO_GID): nobody/nogroup."""


@pytest.mark.usefixtures("needs_root")
def test_demo_scans_the_lab_and_cleans_up(tmp_path):
    report, db, home = tmp_path / "demo.html", tmp_path / "demo.sqlite", tmp_path / "home"
    env = {**os.environ, "SUDO_UID": str(INVOKER[0]), "SUDO_GID": str(INVOKER[1]),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local" / "state")}
    env.pop("CAMSWEEP_LAB_CERTS", None)
    done = subprocess.run(
        [sys.executable, "scan.py", "demo", "--report", str(report), "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    assert done.returncode == ExitCode.RESTRICTED, done.stderr[-2000:]
    assert "lab torn down." in done.stderr
    assert f"HTML report: {report}" in done.stdout
    assert "camsweep remediation list" in done.stdout
    # One closing line says why the exit code is 3, so nobody reads it as a failure.
    assert done.stdout.rstrip().splitlines()[-1].startswith("exit 3: restricted devices found, as designed")
    html = report.read_text()
    assert "<html" in html and "DS-2CD2385G1-I" in html
    prefix = re.search(r"namespaces (cs-d\d+-)\*", done.stderr).group(1)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in namespaces
    # What it leaves belongs to the user who ran sudo, private to them; nothing else is left:
    # no lab certificates in their cache, no state.
    kept = tmp_path / "demo-scan.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-scan.json", "demo.html", "demo.sqlite"]
    for path in (report, db, kept):
        info = path.stat()
        assert (info.st_uid, info.st_gid) == INVOKER and info.st_mode & 0o777 == 0o600, path
    assert not home.exists()
    # The commands it suggests read the demo's scan.
    suggested = done.stdout.split("Next, on the demo's scan (stored in the demo inventory):\n")[1].splitlines()[:3]
    assert [line.split()[:2] for line in suggested] == [["camsweep", "history"], ["camsweep", "report"],
                                                        ["camsweep", "explain"]]
    outputs = []
    for line in suggested:
        ran = subprocess.run([sys.executable, "scan.py", *shlex.split(line)[1:]], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env=env, check=False)
        assert ran.returncode in (0, ExitCode.RESTRICTED) and ran.stderr == "", (line, ran.stderr)
        outputs.append(ran.stdout)
    assert "scan" in outputs[0].lower() and "DS-2CD2385G1-I" in outputs[1] + outputs[2]
    assert not home.exists()  # the read-only commands created nothing either
