"""The scan inventory: every scan stored in SQLite, devices tracked across scans.

A device keeps its identity across IP changes: it is known by its MAC, else (a routed host whose
MAC no probe revealed) by its serial number, else by its IP.
Each scan is written in one transaction at its end, so a scan killed half-way leaves the database
exactly as it was. Default location: ``$XDG_STATE_HOME/camsweep/inventory.sqlite``
(``~/.local/state/camsweep/inventory.sqlite``); ``--db PATH`` overrides it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .config import default_state_dir
from .errors import InventoryError
from .models import IdentifiedDevice, ScanResult

DB_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    mode TEXT NOT NULL,
    partial INTEGER NOT NULL,
    targets TEXT NOT NULL,
    device_count INTEGER NOT NULL,
    restricted_count INTEGER NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL UNIQUE,
    first_scan INTEGER NOT NULL,
    last_scan INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sightings (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    ip TEXT, mac TEXT, hostname TEXT,
    manufacturer TEXT NOT NULL, brand TEXT, device_type TEXT NOT NULL,
    model TEXT, firmware TEXT, serial TEXT,
    confidence REAL NOT NULL, restricted INTEGER NOT NULL,
    PRIMARY KEY (scan_id, device_id)
);
"""


def default_path() -> Path:
    return default_state_dir() / "inventory.sqlite"


def identity_of(item: IdentifiedDevice) -> str:
    """Stable identity across IP changes: MAC, else serial (routed hosts), else IP."""
    if item.device.mac:
        return f"mac:{item.device.mac}"
    if item.verdict.serial:
        return f"serial:{item.verdict.manufacturer.value}:{item.verdict.serial}"
    return f"ip:{item.device.ip}"


@dataclass(frozen=True, slots=True)
class ScanSummary:
    id: int
    started: str
    finished: str
    mode: str
    partial: bool
    targets: tuple[str, ...]
    device_count: int
    restricted_count: int


@dataclass(frozen=True, slots=True)
class Sighting:
    identity: str
    ip: str | None
    mac: str | None
    manufacturer: str
    brand: str | None
    device_type: str
    model: str | None
    firmware: str | None
    restricted: bool


@dataclass(frozen=True, slots=True)
class Change:
    identity: str
    what: str  # "new", "gone" or "changed"
    before: Sighting | None
    after: Sighting | None
    details: tuple[str, ...] = ()


def _create_private(path: Path) -> None:
    """Create a new database file as 0600 (sqlite would make it 0644 less the umask).

    The inventory lists every device, its weaknesses and where it is. SQLite gives its -wal and
    -shm files the database file's permissions. An existing file is left as it is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise InventoryError(f"{path}: cannot create the database: {exc.strerror}") from None
    os.close(fd)


class Inventory:
    """An open inventory database. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_path()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise InventoryError(f"{self.path}: cannot create its directory: {exc.strerror}") from None
        _create_private(self.path)
        try:
            self.db = sqlite3.connect(self.path, timeout=10)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            raise InventoryError(f"{self.path}: not a usable camsweep database ({exc})") from None

    def _check_schema(self) -> None:
        has_meta = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if has_meta:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > DB_SCHEMA_VERSION:
                raise InventoryError(
                    f"{self.path}: database schema {version} is newer than this camsweep ({DB_SCHEMA_VERSION}); upgrade camsweep"
                )
            if version < DB_SCHEMA_VERSION:
                raise InventoryError(f"{self.path}: database schema {version} is not a camsweep inventory")
            return
        tables = self.db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        if tables:
            raise InventoryError(f"{self.path}: not a camsweep inventory (has other tables)")
        with self.db:
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(DB_SCHEMA_VERSION),))

    def __enter__(self) -> "Inventory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def store(self, result: ScanResult, restricted: set[str] | None = None) -> int:
        """Store a finished (or partial) scan in one transaction; returns its id.

        ``restricted`` holds the identities (``identity_of``) of devices the policy restricts;
        by default a device is restricted when its verdict names Hikvision or Dahua.
        """
        items = list(result.devices)
        flags = {
            identity_of(i): (identity_of(i) in restricted) if restricted is not None else i.verdict.is_restricted_maker
            for i in items
        }
        try:
            with self.db:
                cur = self.db.execute(
                    "INSERT INTO scans (started, finished, mode, partial, targets, device_count, restricted_count, result)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result.started.isoformat(), result.finished.isoformat(), result.mode,
                        int(result.partial), json.dumps(list(result.targets)), len(items),
                        sum(flags.values()), json.dumps(result.to_dict()),
                    ),
                )
                scan_id = int(cur.lastrowid or 0)
                for item in items:
                    identity = identity_of(item)
                    self.db.execute(
                        "INSERT INTO devices (identity, first_scan, last_scan) VALUES (?, ?, ?)"
                        " ON CONFLICT(identity) DO UPDATE SET last_scan = excluded.last_scan",
                        (identity, scan_id, scan_id),
                    )
                    device_id = self.db.execute(
                        "SELECT id FROM devices WHERE identity = ?", (identity,)
                    ).fetchone()[0]
                    v, d = item.verdict, item.device
                    self.db.execute(
                        "INSERT OR REPLACE INTO sightings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            scan_id, device_id, d.ip, d.mac, d.hostnames[0] if d.hostnames else None,
                            v.manufacturer.value, v.brand, v.device_type.value, v.model, v.firmware,
                            v.serial, v.confidence, int(flags[identity]),
                        ),
                    )
        except sqlite3.DatabaseError as exc:
            raise InventoryError(f"{self.path}: could not store the scan ({exc}); earlier scans are intact") from None
        return scan_id

    def scans(self) -> list[ScanSummary]:
        rows = self.db.execute(
            "SELECT id, started, finished, mode, partial, targets, device_count, restricted_count"
            " FROM scans ORDER BY id"
        ).fetchall()
        return [
            ScanSummary(r[0], r[1], r[2], r[3], bool(r[4]), tuple(json.loads(r[5])), r[6], r[7])
            for r in rows
        ]

    def resolve(self, ref: str | int | None, offset: int = 0) -> int:
        """A scan id from a user reference: a number, ``last``/None (newest), ``last~N``."""
        ids = [s.id for s in self.scans()]
        if not ids:
            raise InventoryError(f"{self.path}: no scans stored yet")
        if ref is None or str(ref) == "last":
            index = len(ids) - 1 - offset
        elif str(ref).startswith("last~") and str(ref)[5:].isdigit():
            index = len(ids) - 1 - int(str(ref)[5:])
        elif str(ref).isdigit() and int(ref) in ids:
            return int(ref)
        else:
            raise InventoryError(f"no scan {ref!r} in {self.path} (see `camsweep history`)")
        if index < 0:
            raise InventoryError(f"{self.path}: not enough scans stored for {ref or 'last'}~{offset}")
        return ids[index]

    def load(self, scan_id: int) -> ScanResult:
        row = self.db.execute("SELECT result FROM scans WHERE id = ?", (scan_id,)).fetchone()
        if not row:
            raise InventoryError(f"no scan {scan_id} in {self.path}")
        try:
            return ScanResult.from_dict(json.loads(row[0]))
        except (ValueError, KeyError) as exc:
            raise InventoryError(f"{self.path}: scan {scan_id} is unreadable ({exc})") from None

    def sightings(self, scan_id: int) -> dict[str, Sighting]:
        rows = self.db.execute(
            "SELECT d.identity, s.ip, s.mac, s.manufacturer, s.brand, s.device_type, s.model, s.firmware, s.restricted"
            " FROM sightings s JOIN devices d ON d.id = s.device_id WHERE s.scan_id = ?",
            (scan_id,),
        ).fetchall()
        return {r[0]: Sighting(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in rows}

    def diff(self, old: int, new: int) -> list[Change]:
        """New, gone and changed devices between two scans."""
        before, after = self.sightings(old), self.sightings(new)
        changes: list[Change] = []
        for identity in sorted(after.keys() - before.keys()):
            changes.append(Change(identity, "new", None, after[identity]))
        for identity in sorted(before.keys() - after.keys()):
            changes.append(Change(identity, "gone", before[identity], None))
        for identity in sorted(before.keys() & after.keys()):
            details = tuple(_differences(before[identity], after[identity]))
            if details:
                changes.append(Change(identity, "changed", before[identity], after[identity], details))
        return changes

    def new_restricted(self, scan_id: int) -> list[Sighting]:
        """Restricted devices in ``scan_id`` that no earlier scan had seen."""
        rows = self.db.execute(
            "SELECT d.identity FROM sightings s JOIN devices d ON d.id = s.device_id"
            " WHERE s.scan_id = ? AND s.restricted = 1 AND d.first_scan = ?",
            (scan_id, scan_id),
        ).fetchall()
        current = self.sightings(scan_id)
        return [current[r[0]] for r in rows]

    def prune(self, keep: int) -> int:
        """Keep the newest ``keep`` scans; returns how many were removed."""
        ids = [s.id for s in self.scans()]
        doomed = ids[:-keep] if keep > 0 else []
        with self.db:
            for scan_id in doomed:
                self.db.execute("DELETE FROM sightings WHERE scan_id = ?", (scan_id,))
                self.db.execute("DELETE FROM scans WHERE id = ?", (scan_id,))
            self.db.execute(
                "DELETE FROM devices WHERE id NOT IN (SELECT DISTINCT device_id FROM sightings)"
            )
        return len(doomed)

    def iter_results(self) -> Iterator[tuple[int, ScanResult]]:
        for s in self.scans():
            yield s.id, self.load(s.id)


def _differences(a: Sighting, b: Sighting) -> Iterator[str]:
    for name in ("ip", "mac", "firmware", "model", "manufacturer", "brand", "device_type", "restricted"):
        old, new = getattr(a, name), getattr(b, name)
        if old != new:
            label = {"ip": "moved IP", "firmware": "firmware changed"}.get(name, f"{name} changed")
            yield f"{label}: {old} -> {new}"
