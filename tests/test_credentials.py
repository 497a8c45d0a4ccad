"""The credentials file: format, errors, permission warning, and that passwords never leak."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from camsweep.config import ScanConfig
from camsweep.credentials import load
from camsweep.errors import ConfigError

GOOD = """
[[credential]]
network = "198.18.0.0/24"
username = "audit"
password = "s3cr3t-subnet"

[[credential]]
network = "198.18.0.21"
username = "admin"
password = "s3cr3t-host"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "creds.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_most_specific_credential_wins(tmp_path: Path) -> None:
    creds = load(write(tmp_path, GOOD))
    config = ScanConfig(credentials=creds)
    assert config.credential_for("198.18.0.21").username == "admin"  # type: ignore[union-attr]
    assert config.credential_for("198.18.0.22").username == "audit"  # type: ignore[union-attr]
    assert config.credential_for("198.18.1.5") is None


def test_password_is_not_in_repr(tmp_path: Path) -> None:
    creds = load(write(tmp_path, GOOD))
    assert "s3cr3t" not in repr(creds)


def test_group_readable_file_warns_but_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("camsweep")
    logger.addHandler(caplog.handler)
    try:
        creds = load(write(tmp_path, GOOD, 0o644))
    finally:
        logger.removeHandler(caplog.handler)
    assert len(creds) == 2
    assert any("chmod 600" in r.getMessage() for r in caplog.records)
    assert not any("s3cr3t" in r.getMessage() for r in caplog.records)


def test_private_file_does_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("camsweep")
    logger.addHandler(caplog.handler)
    try:
        load(write(tmp_path, GOOD, 0o600))
    finally:
        logger.removeHandler(caplog.handler)
    assert not any("chmod" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("text, message", [
    ("[[credential]]\nnetwork = \"10.0.0.0/8\"\nusername = \"u\"\n", "'password'"),
    ("[[credential]]\nnetwork = \"nonsense\"\nusername = \"u\"\npassword = \"topsecret\"\n", "not an address"),
    ("[[credential]]\nnetwork = \"10.0.0.1\"\nusername = \"u\"\npassword = \"p\"\nport = 80\n", "unknown key"),
    ("[credentials]\nx = 1\n", "unknown key"),
    ("[[credential]\nbroken", "not valid TOML"),
])
def test_bad_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load(write(tmp_path, text))
    assert "topsecret" not in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")
