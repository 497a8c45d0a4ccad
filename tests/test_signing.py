"""``camsweep report --sign KEY``: a detached SSH signature anyone can check with ssh-keygen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from camsweep.errors import ExitCode
from tests.test_findings import sample_result

ROOT = Path(__file__).resolve().parents[1]
IDENTITY = "audit@example.org"


@pytest.fixture()
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "camsweep test", "-f", str(path)], check=True)
    return path


@pytest.fixture()
def scan_file(tmp_path: Path) -> Path:
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(sample_result().to_dict()), encoding="utf-8")
    return path


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scan.py"), "report", *args], capture_output=True, text=True,
                          timeout=120)


def verify(tmp_path: Path, key: Path, signed: Path) -> subprocess.CompletedProcess[str]:
    """As README "Audit trail" shows: an allowed_signers line from the public key, then verify."""
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"{IDENTITY} {key.with_suffix('.pub').read_text()}")
    with signed.open("rb") as data:
        return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", IDENTITY, "-n", "camsweep-report",
                               "-s", f"{signed}.sig"], stdin=data, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("fmt", ["html", "json", "csv", "table"])
def test_a_signed_report_verifies_and_an_edited_one_does_not(tmp_path: Path, key: Path, scan_file: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    done = report(str(scan_file), "--format", fmt, "-o", str(out), "--sign", str(key))
    assert done.returncode == ExitCode.RESTRICTED, done.stderr
    assert Path(f"{out}.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    good = verify(tmp_path, key, out)
    assert good.returncode == 0 and f'Good "camsweep-report" signature for {IDENTITY}' in good.stdout + good.stderr
    out.write_text(out.read_text(encoding="utf-8").replace("198.18.0.21", "198.18.0.99"), encoding="utf-8")
    assert verify(tmp_path, key, out).returncode != 0


@pytest.mark.parametrize("problem", ["missing", "directory", "not a key", "empty"])
def test_a_key_that_cannot_be_used_is_one_line_exit_2_and_nothing_is_written(tmp_path: Path, key: Path, scan_file: Path,
                                                                             problem: str) -> None:
    (tmp_path / "empty").write_bytes(b"")
    bad = {"missing": tmp_path / "nope", "directory": tmp_path, "not a key": scan_file, "empty": tmp_path / "empty"}[problem]
    out = tmp_path / "report.html"
    done = report(str(scan_file), "--format", "html", "-o", str(out), "--sign", str(bad))
    assert done.returncode == ExitCode.USAGE
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("camsweep: error: cannot ") and str(bad) in lines[0], done.stderr
    assert not out.exists() and not Path(f"{out}.sig").exists()


def test_sign_needs_an_output_file(key: Path, scan_file: Path) -> None:
    done = report(str(scan_file), "--sign", str(key))
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip() == "camsweep: error: --sign needs -o/--output: the signature is of the report file"
    assert done.stdout == ""
