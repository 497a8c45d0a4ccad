"""Lab certificates are written without following planted symlinks, and the key is private."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from camsweep.lab.certs import certificate_files

SUBJECT = "CN=www.example.test,O=Example"


def test_key_is_private_and_cert_readable_by_its_user(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cert, key = certificate_files(SUBJECT, cache_dir=tmp_path / "certs")
    finally:
        os.umask(old)
    assert Path(key).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "certs").stat().st_mode & 0o777 == 0o700
    assert Path(cert).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == sorted([Path(cert).name, Path(key).name])


def test_planted_symlink_at_the_old_predictable_temp_name_is_not_followed(tmp_path: Path) -> None:
    cache = tmp_path / "certs"
    cache.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    digest = hashlib.sha256(f"{SUBJECT}\n{SUBJECT}".encode()).hexdigest()[:20]
    (cache / f"{digest}.{os.getpid()}.tmp").symlink_to(victim)  # the name the old code wrote through
    certificate_files(SUBJECT, cache_dir=cache)
    assert victim.read_text(encoding="utf-8") == "precious"
