"""Shared pytest fixtures.

``lab``: the emulated device lab (scanner/lab/), brought up once per test session with the shipped
profiles and torn down at the end (also on Ctrl-C). Tests that use it skip only when not root AND
not in CI; in CI (``CI`` set) they run, and fail loudly if the lab cannot start. The session's lab
uses its own namespace prefix ``cs-s<pid>-`` (scanner: ``lab.scanner_namespace``), so test runs
started at the same time on one machine, or a `camsweep lab up` demo, do not collide.
``CAMSWEEP_LAB_COUNT=N`` runs the session's lab with N devices (profiles cloned), to check the lab
and camsweep at scale. ``lab_scan``: one scan of both segments of that lab, shared by the tests.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")
SCAN_BOUND = 120  # seconds: the lab scan's subprocess is killed (and the test fails) beyond this


def lab_unavailable_reason() -> str | None:
    """Why lab tests must skip here, or None when they must run."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        return "the device lab needs root (network namespaces); runs in CI"
    return None


@pytest.fixture(scope="session")
def lab() -> Iterator[object]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from camsweep.lab import Lab

    count = int(os.environ["CAMSWEEP_LAB_COUNT"]) if os.environ.get("CAMSWEEP_LAB_COUNT") else None
    with Lab(count=count, prefix=f"cs-s{os.getpid()}-") as running:
        yield running


# ``lab_scan``: one ``camsweep scan`` of both lab segments from the scanner namespace (its JSON,
# stdout, stderr, saved state and the profiles' ONVIF secrets), shared by the accuracy tests
# (test_scan_lab.py) and the findings judged on real lab artefacts (test_findings_lab.py).


def _credentials_file(lab: Any, directory: Path) -> tuple[Path, list[str]]:
    lines: list[str] = []
    secrets: list[str] = []
    for device in lab.devices:
        onvif = device.profile.onvif or {}
        if onvif.get("username") and onvif.get("password"):
            lines += ["[[credential]]", f'network = "{device.ip}"', f'username = "{onvif["username"]}"',
                      f'password = "{onvif["password"]}"', ""]
            secrets.append(onvif["password"])
    path = directory / "credentials.toml"
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path, secrets


@pytest.fixture(scope="session")
def lab_scan(lab: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="camsweep-lab-scan-") as tmp:
        directory = Path(tmp)
        credentials, secrets = _credentials_file(lab, directory)
        done = lab.exec(
            [sys.executable, str(ROOT / "scan.py"), "scan", *SEGMENTS, "--format", "json", "--no-store",
             "--state-dir", str(directory / "state"), "--credentials", str(credentials)],
            cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True,
        )
        saved = (directory / "state" / "last-scan.json").read_text() if done.returncode in (0, 3) else ""
    assert done.returncode in (0, 3), done.stderr  # 3: restricted devices found
    return {"lab": lab, "result": json.loads(done.stdout)["scan"], "stdout": done.stdout, "stderr": done.stderr,
            "saved": saved, "secrets": secrets}
