"""What camsweep writes about a site (saved scan, inventory, run lock) is private by default."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from camsweep.errors import CamsweepError
from camsweep.store.sqlite import SqliteStore
from camsweep.models import ScanResult
from camsweep.runconfig import RunLock


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture(autouse=True)
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_state_dir_and_last_scan_are_private(tmp_path: Path) -> None:
    from camsweep.savedscan import save_state

    state = tmp_path / "state" / "camsweep"
    saved = save_state(_empty_result(), state)
    assert _mode(state) == 0o700
    assert _mode(saved) == 0o600


def _empty_result() -> ScanResult:
    now = datetime.now(timezone.utc)
    return ScanResult(started=now, finished=now)


def test_new_inventory_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "db" / "inventory.sqlite"
    with SqliteStore(path):
        pass
    assert _mode(path.parent) == 0o700
    assert _mode(path) == 0o600
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            assert _mode(extra) == 0o600


def test_existing_inventory_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "inventory.sqlite"
    with SqliteStore(path):
        pass
    path.chmod(0o640)
    with SqliteStore(path):
        pass
    assert _mode(path) == 0o640


def test_run_lock_never_follows_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    lock_path = tmp_path / "run.lock"
    lock_path.symlink_to(victim)
    with pytest.raises(CamsweepError):
        with RunLock(lock_path):
            pass
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_run_lock_is_private(tmp_path: Path) -> None:
    lock_path = tmp_path / "state" / "run.lock"
    with RunLock(lock_path):
        assert _mode(lock_path) == 0o600
        assert _mode(lock_path.parent) == 0o700
