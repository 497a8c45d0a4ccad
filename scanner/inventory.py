"""The scan inventory: every scan stored in SQLite, devices tracked across scans.

A device keeps its identity across IP changes: it is known by its MAC, else (a routed host whose
MAC no probe revealed) by its serial number, else by its IP.
Each scan is written in one transaction at its end, so a scan killed half-way leaves the database
exactly as it was. Default location: ``$XDG_STATE_HOME/camsweep/inventory.sqlite``
(``~/.local/state/camsweep/inventory.sqlite``); ``--db PATH`` overrides it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import jsonio
from .config import default_state_dir
from .errors import InputFileError, InventoryError
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
    -shm files the database file's permissions. An existing file is left as it is; a symbolic link
    to a missing file is refused, because sqlite would create the file it points to with its own
    (0644) permissions, wherever that is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        if os.path.islink(path) and not os.path.exists(path):
            raise InventoryError(
                f"{path}: is a symbolic link to a missing file; refusing to create a database through it "
                "(remove the link, or give --db the real path)"
            ) from None
        return
    except OSError as exc:
        raise InventoryError(f"{path}: cannot create the database: {exc.strerror}") from None
    os.close(fd)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> Any:
    """A value SQLite can bind: a lone surrogate (device text) cannot be encoded as UTF-8 and is
    replaced by U+FFFD here; the scan's full JSON keeps it, escaped (``jsonio.dumps``)."""
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _typed(row: Sequence[Any], *kinds: Any) -> Sequence[Any]:
    """``row`` when each value has its column's type; a damaged database gives other types."""
    for value, kind in zip(row, kinds, strict=True):
        if not isinstance(value, kind):
            expected = "text" if kind in (str, _TEXT_OR_NULL) else _SQL_TYPES.get(kind, "another type")
            raise ValueError(f"{_SQL_TYPES.get(type(value), 'a value')} where {expected} belongs")
    return row


_SQL_TYPES = {bytes: "a blob", str: "text", int: "an integer", float: "a real", type(None): "null"}


_TEXT_OR_NULL = (str, type(None))

def _reason(error: object, limit: int = 200) -> str:
    """An error's message as part of one line: sqlite quotes the damaged schema text itself,
    newlines and all."""
    text = " ".join(str(error).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)
"""What a damaged file raises from the sqlite3 module (its error message itself may be bytes of
the damaged schema, which then fail to decode)."""


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
        except _DB_ERRORS as exc:
            raise InventoryError(f"{self.path}: not a usable camsweep database ({_reason(exc)})") from None
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self._check_schema()
        except _DB_ERRORS as exc:
            self.db.close()
            raise InventoryError(f"{self.path}: not a usable camsweep database ({_reason(exc)})") from None
        except InventoryError:
            self.db.close()
            raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every read goes through here: a damaged file (a flipped byte, a truncated page) is
        one InventoryError, whichever query meets it first."""
        try:
            return self.db.execute(sql, params).fetchall()
        except _DB_ERRORS as exc:
            raise self.damaged(exc) from None

    def damaged(self, why: object) -> InventoryError:
        return InventoryError(f"{self.path}: the database is damaged ({_reason(why)}); restore it from a backup or move it away")

    def _check_schema(self) -> None:
        has_meta = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if has_meta:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            text = str(row[0]) if row else ""
            if not (text.isdecimal() and len(text) < 10):
                raise InventoryError(f"{self.path}: not a camsweep inventory (schema version {jsonio.quote(text)})")
            version = int(text)
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
        def write(sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
            return self.db.execute(sql, [_text(p) for p in params])

        try:
            with self.db:
                cur = write(
                    "INSERT INTO scans (started, finished, mode, partial, targets, device_count, restricted_count, result)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result.started.isoformat(), result.finished.isoformat(), result.mode,
                        int(result.partial), jsonio.dumps(list(result.targets)), len(items),
                        sum(flags.values()), jsonio.dumps(result.to_dict()),
                    ),
                )
                scan_id = int(cur.lastrowid or 0)
                for item in items:
                    identity = identity_of(item)
                    write(
                        "INSERT INTO devices (identity, first_scan, last_scan) VALUES (?, ?, ?)"
                        " ON CONFLICT(identity) DO UPDATE SET last_scan = excluded.last_scan",
                        (identity, scan_id, scan_id),
                    )
                    device_id = write("SELECT id FROM devices WHERE identity = ?", (identity,)).fetchone()[0]
                    v, d = item.verdict, item.device
                    write(
                        "INSERT OR REPLACE INTO sightings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            scan_id, device_id, d.ip, d.mac, d.hostnames[0] if d.hostnames else None,
                            v.manufacturer.value, v.brand, v.device_type.value, v.model, v.firmware,
                            v.serial, v.confidence, int(flags[identity]),
                        ),
                    )
        except _DB_ERRORS as exc:
            raise InventoryError(f"{self.path}: could not store the scan ({_reason(exc)}); earlier scans are intact") from None
        return scan_id

    def scans(self) -> list[ScanSummary]:
        rows = self._rows(
            "SELECT id, started, finished, mode, partial, targets, device_count, restricted_count"
            " FROM scans ORDER BY id"
        )
        out = []
        for row in rows:
            try:
                r = _typed(row, int, str, str, str, int, str, int, int)
                targets = jsonio.loads(r[5])
                if not (isinstance(targets, list) and all(isinstance(t, str) for t in targets)):
                    raise ValueError("targets is not a list of strings")
            except ValueError as exc:
                raise self.damaged(f"scan {row[0]!r}: {exc}") from None
            out.append(ScanSummary(r[0], r[1], r[2], r[3], bool(r[4]), tuple(targets), r[6], r[7]))
        return out

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
        rows = self._rows("SELECT result FROM scans WHERE id = ?", (scan_id,))
        if not rows:
            raise InventoryError(f"no scan {scan_id} in {self.path}")
        try:
            return ScanResult.from_dict(jsonio.loads(_typed(rows[0], str)[0]))
        except (ValueError, InputFileError) as exc:
            raise self.damaged(f"scan {scan_id}: {exc}") from None

    def sightings(self, scan_id: int) -> dict[str, Sighting]:
        rows = self._rows(
            "SELECT d.identity, s.ip, s.mac, s.manufacturer, s.brand, s.device_type, s.model, s.firmware, s.restricted"
            " FROM sightings s JOIN devices d ON d.id = s.device_id WHERE s.scan_id = ?",
            (scan_id,),
        )
        out = {}
        for row in rows:
            try:
                r = _typed(row, str, *[_TEXT_OR_NULL] * 2, str, _TEXT_OR_NULL, str, *[_TEXT_OR_NULL] * 2, int)
            except ValueError as exc:
                raise self.damaged(f"a sighting in scan {scan_id}: {exc}") from None
            out[r[0]] = Sighting(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))
        return out

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

    def seen(self, result: ScanResult) -> dict[str, tuple[datetime, datetime]]:
        """When each of ``result``'s devices (by device key) was first and last seen: the start
        of the earliest and the latest stored scan with a sighting of its identity, and of
        ``result`` itself, stored or not yet (a scan's report is written before it is stored)."""
        keys: dict[str, list[str]] = {}
        for item in result.devices:
            keys.setdefault(identity_of(item), []).append(item.device.key)
        spans = {identity: [result.started, result.started] for identity in keys}
        # Grouped in SQL (one row per known device, not per sighting); start times are stored as
        # UTC ISO strings, which sort as the times do.
        rows = self._rows(
            "SELECT d.identity, MIN(sc.started), MAX(sc.started) FROM sightings s"
            " JOIN devices d ON d.id = s.device_id JOIN scans sc ON sc.id = s.scan_id GROUP BY d.identity"
        )
        for row in rows:
            span = spans.get(row[0]) if isinstance(row[0], str) else None
            if span is None:
                continue
            try:
                first, last = (datetime.fromisoformat(t) for t in _typed(row, str, str, str)[1:])
            except (ValueError, TypeError) as exc:  # not a time; a time without its UTC offset
                raise self.damaged(f"a scan's start time: {exc}") from None
            span[0], span[1] = min(span[0], first), max(span[1], last)
        return {key: (span[0], span[1]) for identity, span in spans.items() for key in keys[identity]}

    def new_restricted(self, scan_id: int) -> list[Sighting]:
        """Restricted devices in ``scan_id`` that no earlier scan had seen."""
        rows = self._rows(
            "SELECT d.identity FROM sightings s JOIN devices d ON d.id = s.device_id"
            " WHERE s.scan_id = ? AND s.restricted = 1 AND d.first_scan = ?",
            (scan_id, scan_id),
        )
        current = self.sightings(scan_id)
        if any(r[0] not in current for r in rows):  # the two queries disagree: a damaged index
            raise self.damaged(f"scan {scan_id}: sightings do not match")
        return [current[r[0]] for r in rows]

    def prune(self, keep: int) -> int:
        """Keep the newest ``keep`` scans; returns how many were removed."""
        ids = [s.id for s in self.scans()]
        doomed = ids[:-keep] if keep > 0 else []
        try:
            with self.db:
                for scan_id in doomed:
                    self.db.execute("DELETE FROM sightings WHERE scan_id = ?", (scan_id,))
                    self.db.execute("DELETE FROM scans WHERE id = ?", (scan_id,))
                self.db.execute(
                    "DELETE FROM devices WHERE id NOT IN (SELECT DISTINCT device_id FROM sightings)"
                )
        except _DB_ERRORS as exc:
            raise self.damaged(exc) from None
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
