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


SNMP = """
[[snmp]]
network = "198.18.0.1"
community = "s3cr3t-community"

[[snmp]]
network = "198.18.0.0/24"
user = "camsweep"
auth_protocol = "sha256"
auth_key = "s3cr3t-auth-key"
priv_protocol = "AES"
priv_key = "s3cr3t-priv-key"
"""


def test_snmp_entries_v2c_and_v3_most_specific_wins(tmp_path: Path) -> None:
    config = ScanConfig(credentials=load(write(tmp_path, GOOD + SNMP)))
    router = config.snmp_credential_for("198.18.0.1")
    switch = config.snmp_credential_for("198.18.0.4")
    assert router is not None and router.version == "2c" and router.community == "s3cr3t-community"
    assert switch is not None and switch.version == "3" and switch.user == "camsweep"
    assert (switch.auth_protocol, switch.priv_protocol) == ("SHA256", "AES")
    assert config.snmp_credential_for("198.18.1.1") is None
    # the two kinds never stand in for each other
    assert config.credential_for("198.18.0.1").username == "audit"  # type: ignore[union-attr]
    assert ScanConfig(credentials=load(write(tmp_path, SNMP))).credential_for("198.18.0.1") is None
    assert "s3cr3t" not in repr(config)


@pytest.mark.parametrize(("entry", "message"), [
    ('network = "198.18.0.1"', "needs 'community' (SNMPv2c) or 'user'"),
    ('network = "198.18.0.1"\ncommunity = "a"\nuser = "b"', "not both"),
    ('network = "198.18.0.1"\ncommunity = ""', "'community' must be a non-empty string"),
    ('network = "198.18.0.1"\nuser = "u"\nauth_protocol = "SHA"\nauth_key = "12345678"', "'priv_key'"),
    ('network = "198.18.0.1"\nuser = "u"\nauth_protocol = "SHA1"\nauth_key = "12345678"\n'
     'priv_protocol = "AES"\npriv_key = "12345678"', "'auth_protocol' must be one of"),
    ('network = "198.18.0.1"\nuser = "u"\nauth_protocol = "SHA"\nauth_key = "short"\n'
     'priv_protocol = "AES"\npriv_key = "12345678"', "at least 8 characters"),
    ('network = "nowhere"\ncommunity = "s3cr3t-x"', "is not an address or subnet"),
    ('network = "198.18.0.1"\ncommunity = "s3cr3t-x"\nversion = "1"', "unknown key(s) version"),
])
def test_bad_snmp_entries_are_one_clear_error_without_the_secret(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, f"[[snmp]]\n{entry}\n"))
    assert message in str(caught.value) and "snmp #1" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
