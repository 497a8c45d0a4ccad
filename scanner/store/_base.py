"""What every inventory backend does, written once in SQL both SQLite and PostgreSQL run.

A backend (``sqlite.py``, ``postgres.py``) connects, names itself in messages (``where``), runs
one statement (``_run``/``_run_many``, ``?`` placeholders), opens a transaction that may take a
per-site writer lock (``_transaction``) and lists the tables of its namespace (``_tables``).
Everything else -- migrations, storing a scan, identity tracking, history, diff, the roll-up,
retention -- is here, so the two cannot drift apart; ``tests/test_store.py`` runs the same tests
against both.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar

from .. import jsonio
from ..errors import InputFileError, InventoryError, UsageError
from ..models import IdentifiedDevice, ScanResult
from ..targets import parse_target
from ..types import RESTRICTED_MAKERS

if TYPE_CHECKING:
    from ..findings import Assessment


# ------------------------------------------------------------------------------------ migrations


@functools.cache
def migrations(dialect: str) -> tuple[tuple[int, str, str], ...]:
    """(version, file name, SQL) of every migration shipped for ``dialect``, in order.

    ``migrations/<dialect>/NNNN_name.sql``, numbered from 1 without a gap; the newest number is
    the schema version this camsweep writes (``SCHEMA_VERSION``, the same for every dialect).
    """
    folder = resources.files(__package__).joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_[a-z0-9_]+\.sql", entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    if [version for version, _, _ in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"camsweep is installed without all of its {dialect} migrations")  # a packaging bug
    return tuple(found)


SCHEMA_VERSION = len(migrations("sqlite"))
"""The inventory schema this camsweep reads and writes (tests check every dialect has as many)."""


def statements(sql: str) -> Iterator[str]:
    """The statements of a migration file: each ends with ``;`` at the end of a line; lines
    starting with ``--`` are comments."""
    for part in re.split(r";[ \t]*$", sql, flags=re.MULTILINE):
        body = "\n".join(line for line in part.splitlines() if not line.lstrip().startswith("--")).strip()
        if body:
            yield body


# --------------------------------------------------------------------------------------- records


def identity_of(item: IdentifiedDevice) -> str:
    """Stable identity across IP changes, within a site: MAC, else serial (routed hosts), else IP,
    else (a register row of ``camsweep check``) the device's key, ``record:file:line``."""
    if item.device.mac:
        return f"mac:{item.device.mac}"
    if item.verdict.serial:
        return f"serial:{item.verdict.manufacturer.value}:{item.verdict.serial}"
    if item.device.ip:
        return f"ip:{item.device.ip}"
    return item.device.key


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
    site: str = ""
    operator: str = ""
    interface: str = ""
    """The interface the scan ran from or ``listen`` heard ("" for a capture file)."""
    capture: str = ""
    """The capture file of a ``scan --pcap`` result."""
    scope: tuple[str, ...] = ()
    """The networks an active scan covered ("" in scans stored before it was recorded)."""

    def reached(self, ip: str | None) -> bool:
        """Whether this scan looked for ``ip`` for sure: an active scan whose networks (else,
        stored before they were recorded, its targets; host names unresolved) hold it. A passive
        result reaches nothing for sure: a device it did not hear may have been silent."""
        if self.mode != "scan":
            return False
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            return False
        for spec in self.scope or self.targets:
            try:
                if any(address in net for net in parse_target(spec, resolve=lambda name: [])):
                    return True
            except UsageError:
                continue
        return False


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
    serial: str | None = None


REGISTER = "check"
"""The mode of a stored ``camsweep check``: what a register says, not what a wire showed."""


@dataclass(frozen=True, slots=True)
class Change:
    identity: str
    what: str
    """"new", "gone", "not rescanned" or "changed"; between a register (``check``) and another
    source: "not in register" (a device the register misses), "not seen" (a register row the
    other source did not show) or "changed"."""
    before: Sighting | None
    after: Sighting | None
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """One row of the roll-up: a site as its last stored scan left it."""

    site: str
    scans: int
    last_scan: int
    last_finished: str
    devices: int
    made_by_restricted_makers: int
    """Devices whose verdict names a restricted maker (Hikvision, Dahua: ``types.RESTRICTED_MAKERS``)
    as the maker, whatever the label says."""
    restricted: int
    """Devices restricted under the policy the scan was stored with (``policy``)."""
    overdue: int
    """Restricted devices whose earliest removal deadline is before the roll-up's day."""
    new: int | None
    """Devices in the last scan that the scan before it did not see; None for a site's first scan."""
    policy: str
    age: timedelta
    """How long before the roll-up's moment the last scan finished."""
    stale: bool
    """The last scan finished longer ago than the roll-up's ``stale`` age."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site, "scans": self.scans, "last_scan": self.last_scan,
            "last_finished": self.last_finished, "devices": self.devices,
            "made_by_restricted_makers": self.made_by_restricted_makers, "restricted": self.restricted,
            "overdue": self.overdue, "new_since_previous": self.new, "policy": self.policy,
            "age_seconds": int(self.age.total_seconds()), "stale": self.stale,
        }


# ------------------------------------------------------------------------------------ value checks


_UNBINDABLE = re.compile("[\ud800-\udfff\x00]")


def _text(value: Any) -> Any:
    """A value both databases can bind: a lone surrogate (device text) is not UTF-8 and
    PostgreSQL text cannot hold NUL, so both become U+FFFD here; the scan's full JSON keeps them,
    escaped (``jsonio.dumps``)."""
    return _UNBINDABLE.sub("\ufffd", value) if isinstance(value, str) else value


_TEXT_OR_NULL = (str, type(None))
_SQL_TYPES = {bytes: "a blob", str: "text", int: "an integer", float: "a real", type(None): "null"}


def _texts(text: str, name: str) -> tuple[str, ...]:
    """A column holding a JSON list of strings; ValueError when it is not one."""
    value = jsonio.loads(text)
    if not (isinstance(value, list) and all(isinstance(t, str) for t in value)):
        raise ValueError(f"{name} is not a list of strings")
    return tuple(value)


def _typed(row: Sequence[Any], *kinds: Any) -> Sequence[Any]:
    """``row`` when each value has its column's type; a damaged database gives other types."""
    for value, kind in zip(row, kinds, strict=True):
        if not isinstance(value, kind):
            expected = "text" if kind in (str, _TEXT_OR_NULL) else _SQL_TYPES.get(kind, "another type")
            raise ValueError(f"{_SQL_TYPES.get(type(value), 'a value')} where {expected} belongs")
    return row


def reason(error: object, limit: int = 200) -> str:
    """An error's message as part of one line: sqlite quotes the damaged schema text itself, and
    libpq's messages span lines."""
    text = " ".join(str(error).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judgement(result: ScanResult, assessment: Assessment | None) -> dict[str, tuple[bool, date | None]]:
    """identity -> (restricted, earliest deadline) for every device of ``result``: under
    ``assessment``'s policy (``Assessment.flagged``: without a policy, the Hikvision/Dahua-made
    devices), or, without an assessment, restricted when the verdict names Hikvision or Dahua.

    The deadline is the last day of the earliest deadline any required action carries (a month
    deadline stands for its last day), so that the roll-up counts it overdue only once it has passed."""
    if assessment is None:
        return {identity_of(i): (i.verdict.is_restricted_maker, None) for i in result.devices}
    findings = {f.key: f for f in assessment.flagged}
    out: dict[str, tuple[bool, date | None]] = {}
    for item in result.devices:
        finding = findings.get(item.device.key)
        deadline = min((a.deadline.last_day for a in finding.deadlines if a.deadline), default=None) if finding else None
        out[identity_of(item)] = (finding is not None, deadline)
    return out




# ----------------------------------------------------------------------------------------- store


class Store:
    """An open inventory (SQLite file or PostgreSQL database). Use as a context manager.

    Sites: every scan carries its site (``ScanResult.site``, ``""`` for a one-site inventory) and
    a device's identity is per site. Methods that read take ``site``: a site's name, or None for
    every site.
    """

    dialect: ClassVar[str]
    _errors: ClassVar[tuple[type[BaseException], ...]]
    where: str
    """How messages name the database: a path, or a URL without any secret in it."""
    read_only: bool = False
    """Opened for reading only (history, diff, report): nothing is created, migrated or written."""

    # -- what a backend provides

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) and return its rows (none for most writes)."""
        raise NotImplementedError

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _transaction(self, lock: str | None = None) -> AbstractContextManager[None]:
        """One transaction; with ``lock`` (a site), writers of that site wait for one another."""
        raise NotImplementedError

    def _migrating(self) -> AbstractContextManager[None]:
        """The one transaction migrations run in, exclusive of any other camsweep migrating."""
        raise NotImplementedError

    def _tables(self) -> list[str]:
        """The tables in camsweep's namespace (the file; PostgreSQL's schema ``camsweep``)."""
        raise NotImplementedError

    def _read_error(self, why: object) -> InventoryError:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ready(self, *setup: str) -> None:
        """Run a new connection's ``setup`` statements and bring the schema up to date; on any
        failure, close the connection and raise one InventoryError line."""
        try:
            for statement in setup:
                self._run(statement)
            if self.read_only:
                self._check_current()
            else:
                self.migrate()
        except self._errors as exc:
            self.close()
            raise InventoryError(f"{self.where}: not a usable camsweep database ({reason(exc)})") from None
        except InventoryError:
            self.close()
            raise

    # -- reading and writing, every error one line

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every read goes through here: a damaged file or a lost connection is one
        InventoryError, whichever query meets it first."""
        try:
            return self._run(sql, params)
        except self._errors as exc:
            raise self._read_error(exc) from None

    @contextmanager
    def _writing(self, what: str, lock: str | None) -> Iterator[None]:
        """A write transaction whose failure (a full disk, a dropped connection, a read-only
        role) is one InventoryError; nothing of it is kept."""
        try:
            with self._transaction(lock):
                yield
        except self._errors as exc:
            raise InventoryError(f"{self.where}: could not {what} ({reason(exc)}); earlier scans are intact") from None

    # -- schema

    def version(self) -> int:
        """The stored schema's version; 0 for an empty database. Refuses what is not a camsweep
        inventory, and one written by a newer camsweep, without changing anything."""
        tables = self._tables()
        if "meta" not in tables:
            if tables:
                raise InventoryError(f"{self.where}: not a camsweep inventory (has other tables)")
            return 0
        row = self._run("SELECT value FROM meta WHERE key = 'schema_version'")
        text = str(row[0][0]) if row else ""
        if not (text.isdecimal() and len(text) < 10):
            raise InventoryError(f"{self.where}: not a camsweep inventory (schema version {jsonio.quote(text)})")
        version = int(text)
        if version > SCHEMA_VERSION:
            raise InventoryError(
                f"{self.where}: database schema {version} is newer than this camsweep ({SCHEMA_VERSION}); upgrade camsweep"
            )
        if version < 1:
            raise InventoryError(f"{self.where}: database schema {version} is not a camsweep inventory")
        return version

    def _check_current(self) -> None:
        """A read-only open: the schema must be this camsweep's already (an upgrade is a write)."""
        version = self.version()
        if version == 0:
            raise InventoryError(f"{self.where}: holds no camsweep inventory yet (nothing stored there)")
        if version < SCHEMA_VERSION:
            raise InventoryError(
                f"{self.where}: database schema {version} is older than this camsweep ({SCHEMA_VERSION}); "
                "the next `camsweep scan` or `camsweep import` storing there upgrades it")

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        """Bring the schema to ``target`` (default: this camsweep's): the missing migrations and
        the new version number in one transaction, so a failure leaves the old schema whole.
        A schema already there is not written to (a read-only role can open it)."""
        if self.version() >= target:
            return
        with self._migrating():
            current = self.version()  # again, exclusively: another process may have migrated meanwhile
            for _, _, sql in migrations(self.dialect)[current:target]:
                for statement in statements(sql):
                    self._run(statement)
            if current < target:
                self._run(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(target),),
                )

    # -- writing

    def store(self, result: ScanResult, assessment: Assessment | None = None) -> int:
        """Store a finished (or partial) scan of ``result.site`` in one transaction; its id.

        ``assessment`` (the findings under the user's policy) says which devices are restricted
        and by when they must go; without it a device is restricted when its verdict names
        Hikvision or Dahua. The same result stored twice (a re-submitted file) is stored once:
        the id of the first is returned.
        """
        judged = judgement(result, assessment)
        site = _text(result.site)
        text = jsonio.dumps(result.to_dict())
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        items = list(result.devices)
        latest: dict[str, IdentifiedDevice] = {_text(identity_of(i)): i for i in items}  # one row per device
        restricted_count = sum(judged[identity_of(i)][0] for i in items)
        policy = ",".join(assessment.policies) if assessment is not None else ""
        with self._writing("store the scan", lock=site):
            known = self._run("SELECT id FROM scans WHERE site = ? AND digest = ?", (site, digest))
            if known:
                return int(known[0][0])
            scan_id = int(self._run(
                "INSERT INTO scans (site, started, finished, mode, partial, targets, device_count,"
                " restricted_count, policy, digest, operator, interface, capture, scope, result)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (site, result.started, result.finished, result.mode, result.partial,
                 jsonio.dumps(list(result.targets)), len(items), restricted_count, policy, digest,
                 _text(result.operator), _text(result.interface), _text(result.capture),
                 jsonio.dumps(list(result.scope)), text),
            )[0][0])
            self._run_many(
                "INSERT INTO devices (site, identity, first_scan, last_scan) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (site, identity) DO UPDATE SET last_scan = excluded.last_scan",
                [(site, identity, scan_id, scan_id) for identity in latest],
            )
            ids = {identity: device_id for device_id, identity in self._run(
                "SELECT id, identity FROM devices WHERE site = ? AND last_scan = ?", (site, scan_id))}
            rows = []
            for identity, item in latest.items():
                v, d = item.verdict, item.device
                restricted, deadline = judged[identity_of(item)]
                rows.append((scan_id, ids[identity], d.ip, d.mac, d.hostnames[0] if d.hostnames else None,
                             v.manufacturer.value, v.brand, v.device_type.value, v.model, v.firmware, v.serial,
                             v.confidence, restricted, deadline if restricted else None))
            self._run_many(
                "INSERT INTO sightings (scan_id, device_id, ip, mac, hostname, manufacturer, brand, device_type,"
                " model, firmware, serial, confidence, restricted, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return scan_id

    def store_and_prune(self, result: ScanResult, assessment: Assessment | None, keep: int | None) -> int:
        """Store ``result`` and keep the newest ``keep`` scans of its site (None: all); the number
        of its restricted devices no earlier scan of the site had seen."""
        scan_id = self.store(result, assessment)
        new_restricted = len(self.new_restricted(scan_id))
        if keep:
            self.prune(keep, result.site)
        return new_restricted

    def prune(self, keep: int, site: str = "") -> int:
        """Keep the newest ``keep`` scans of ``site``; returns how many were removed."""
        ids = [s.id for s in self.scans(site)]
        doomed = ids[:-keep] if keep > 0 else []
        with self._writing("prune old scans", lock=site):
            self._run_many("DELETE FROM sightings WHERE scan_id = ?", [(i,) for i in doomed])
            self._run_many("DELETE FROM scans WHERE id = ?", [(i,) for i in doomed])
            self._run(
                "DELETE FROM devices WHERE site = ? AND NOT EXISTS"
                " (SELECT 1 FROM sightings s WHERE s.device_id = devices.id)", (site,))
        return len(doomed)

    # -- reading

    def sites(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT site FROM scans ORDER BY site")
        try:
            return [_typed(row, str)[0] for row in rows]
        except ValueError as exc:
            raise self._read_error(f"a scan's site: {exc}") from None

    def choose_site(self, site: str | None, all_sites: bool) -> str | None:
        """The site a command reads (``--site``), None for every site (``--all-sites``); given
        neither, the only site stored. With scans of several sites, which one is the user's to say."""
        if site is not None and all_sites:
            raise UsageError("--site and --all-sites exclude each other")
        if all_sites:
            return None
        sites = self.sites()
        if site is not None:
            if site not in sites:
                raise InventoryError(f"{self.where}: no scans of site {jsonio.quote(site)} (see `camsweep history`)")
            return site
        if len(sites) <= 1:
            return sites[0] if sites else ""
        raise UsageError(f"{self.where} holds scans of {len(sites)} sites: name one with --site NAME, "
                         "or use --all-sites (`camsweep report --all-sites` lists them)")

    def flagged_identities(self, site: str) -> set[str]:
        """The devices of ``site`` some stored scan saw as made by a restricted maker or as
        restricted -- those ``camsweep watch`` does not alert again -- each under every name it
        may be heard by first: its identity (``identity_of``) and, from its last sighting, its
        ``mac:``, ``serial:<maker>:`` and (without a MAC) ``ip:`` names and its address as ``at:``
        (``camsweep.watch.Watch._known_as`` says how they are used)."""
        makers = ", ".join("?" * len(RESTRICTED_MAKERS))
        rows = self._rows(
            "SELECT d.identity, s.ip, s.mac, s.manufacturer, s.serial FROM devices d"
            " JOIN sightings s ON s.device_id = d.id AND s.scan_id = d.last_scan WHERE d.site = ? AND EXISTS"
            f" (SELECT 1 FROM sightings f WHERE f.device_id = d.id AND (f.restricted OR f.manufacturer IN ({makers})))",
            (site, *RESTRICTED_MAKERS))
        names: set[str] = set()
        for identity, ip, mac, maker, serial in rows:
            names.add(str(identity))
            if mac:
                names.add(f"mac:{mac}")
            elif ip:
                names.add(f"ip:{ip}")
            if ip:
                names.add(f"at:{ip}")
            if serial:
                names.add(f"serial:{maker}:{serial}")
        return names

    def scans(self, site: str | None = None) -> list[ScanSummary]:
        """Stored scans, oldest first: of ``site``, or of every site (None)."""
        where, params = ("WHERE site = ?", (site,)) if site is not None else ("", ())
        rows = self._rows(
            "SELECT id, started, finished, mode, partial, targets, device_count, restricted_count, site,"
            f" operator, interface, capture, scope FROM scans {where} ORDER BY id", params
        )
        out = []
        for row in rows:
            try:
                r = _typed(row, int, str, str, str, int, str, int, int, str, str, str, str, str)
                targets, scope = _texts(r[5], "targets"), _texts(r[12], "scope")
            except ValueError as exc:
                raise self._read_error(f"scan {row[0]!r}: {exc}") from None
            out.append(ScanSummary(r[0], r[1], r[2], r[3], bool(r[4]), targets, r[6], r[7], r[8], r[9], r[10],
                                   r[11], scope))
        return out

    def summary(self, scan_id: int) -> ScanSummary:
        found = [s for s in self.scans(self.site_of(scan_id)) if s.id == scan_id]
        if not found:
            raise InventoryError(f"no scan {scan_id} in {self.where}")
        return found[0]

    def resolve(self, ref: str | int | None, offset: int = 0, site: str | None = None) -> int:
        """A scan id from a user reference: a number, ``last``/None (newest), ``last~N``; ``last``
        is the newest scan of ``site`` (None: of any site)."""
        ids = [s.id for s in self.scans(site)]
        of = f" of site {jsonio.quote(site)}" if site else ""
        if not ids:
            raise InventoryError(f"{self.where}: no scans{of} stored yet")
        if ref is None or str(ref) == "last":
            index = len(ids) - 1 - offset
        elif str(ref).startswith("last~") and str(ref)[5:].isdigit():
            index = len(ids) - 1 - int(str(ref)[5:])
        elif str(ref).isdigit() and int(ref) in ids:
            return int(ref)
        else:
            raise InventoryError(f"no scan {ref!r}{of} in {self.where} (see `camsweep history`)")
        if index < 0:
            raise InventoryError(f"{self.where}: not enough scans{of} stored for {ref or 'last'}~{offset}")
        return ids[index]

    def site_of(self, scan_id: int) -> str:
        rows = self._rows("SELECT site FROM scans WHERE id = ?", (scan_id,))
        if not rows:
            raise InventoryError(f"no scan {scan_id} in {self.where}")
        try:
            return str(_typed(rows[0], str)[0])
        except ValueError as exc:
            raise self._read_error(f"scan {scan_id}: {exc}") from None

    def load(self, scan_id: int) -> ScanResult:
        rows = self._rows("SELECT result FROM scans WHERE id = ?", (scan_id,))
        if not rows:
            raise InventoryError(f"no scan {scan_id} in {self.where}")
        try:
            return ScanResult.from_dict(jsonio.loads(_typed(rows[0], str)[0]))
        except (ValueError, InputFileError) as exc:
            raise self._read_error(f"scan {scan_id}: {exc}") from None

    def seen(self, result: ScanResult) -> dict[str, tuple[datetime, datetime]]:
        """When each of ``result``'s devices (by device key) was first and last seen at its site:
        the start of the earliest and of the latest stored scan with a sighting of its identity,
        and of ``result`` itself, stored or not yet (a scan's report is written before it is stored)."""
        keys: dict[str, list[str]] = {}
        for item in result.devices:
            keys.setdefault(_text(identity_of(item)), []).append(item.device.key)
        spans = {identity: [result.started, result.started] for identity in keys}
        # Grouped in the database: one row per known device of the site, not one per sighting.
        rows = self._rows(
            "SELECT d.identity, MIN(sc.started), MAX(sc.started) FROM sightings s"
            " JOIN devices d ON d.id = s.device_id JOIN scans sc ON sc.id = s.scan_id"
            " WHERE d.site = ? GROUP BY d.identity",
            (_text(result.site),),
        )
        for row in rows:
            span = spans.get(row[0]) if isinstance(row[0], str) else None
            if span is None:
                continue
            try:
                first, last = (_utc(datetime.fromisoformat(t)) for t in _typed(row, str, str, str)[1:])
            except ValueError as exc:
                raise self._read_error(f"a scan's start time: {exc}") from None
            span[0], span[1] = min(span[0], first), max(span[1], last)
        return {key: (span[0], span[1]) for identity, span in spans.items() for key in keys[identity]}

    def sightings(self, scan_id: int) -> dict[str, Sighting]:
        rows = self._rows(
            "SELECT d.identity, s.ip, s.mac, s.manufacturer, s.brand, s.device_type, s.model, s.firmware, s.restricted,"
            " s.serial FROM sightings s JOIN devices d ON d.id = s.device_id WHERE s.scan_id = ?",
            (scan_id,),
        )
        out = {}
        for row in rows:
            try:
                r = _typed(row, str, *[_TEXT_OR_NULL] * 2, str, _TEXT_OR_NULL, str, *[_TEXT_OR_NULL] * 2, int,
                           _TEXT_OR_NULL)
            except ValueError as exc:
                raise self._read_error(f"a sighting in scan {scan_id}: {exc}") from None
            out[r[0]] = Sighting(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9])
        return out

    def diff(self, old: int, new: int) -> list[Change]:
        """New, gone and changed devices between two scans of one site. A device the newer scan
        did not look for (its address outside that scan's networks, or the newer scan passive) is
        "not rescanned", not "gone": only an active scan of its address can say it is not there."""
        if self.site_of(old) != self.site_of(new):
            raise InventoryError(
                f"scan {old} is of site {jsonio.quote(self.site_of(old))} and scan {new} of site "
                f"{jsonio.quote(self.site_of(new))}: a diff compares two scans of one site"
            )
        before, after = self.sightings(old), self.sightings(new)
        older, newer = self.summary(old), self.summary(new)
        if (older.mode == REGISTER) != (newer.mode == REGISTER):
            return _register_diff(before, after, register_is_old=older.mode == REGISTER)
        changes: list[Change] = []
        for identity in sorted(after.keys() - before.keys()):
            changes.append(Change(identity, "new", None, after[identity]))
        for identity in sorted(before.keys() - after.keys()):
            what = "gone" if newer.reached(before[identity].ip) else "not rescanned"
            changes.append(Change(identity, what, before[identity], None))
        for identity in sorted(before.keys() & after.keys()):
            details = tuple(_differences(before[identity], after[identity]))
            if details:
                changes.append(Change(identity, "changed", before[identity], after[identity], details))
        return changes

    def new_restricted(self, scan_id: int) -> list[Sighting]:
        """Restricted devices in ``scan_id`` that no earlier scan of its site had seen."""
        rows = self._rows(
            "SELECT d.identity FROM sightings s JOIN devices d ON d.id = s.device_id"
            " WHERE s.scan_id = ? AND s.restricted AND d.first_scan = ?",
            (scan_id, scan_id),
        )
        current = self.sightings(scan_id)
        if any(r[0] not in current for r in rows):  # the two queries disagree: a damaged index
            raise self._read_error(f"scan {scan_id}: sightings do not match")
        return [current[r[0]] for r in rows]

    def rollup(self, stale: timedelta, now: datetime) -> list[SiteSummary]:
        """One row per site, from its last stored scan (see ``SiteSummary``); ``now`` is the
        moment the report is for: deadlines before its day are overdue, and a site whose last
        scan finished more than ``stale`` before it is flagged."""
        makers = ", ".join("?" * len(RESTRICTED_MAKERS))
        rows = self._rows(
            "WITH ranked AS (SELECT id, site, finished, device_count, policy,"
            "  ROW_NUMBER() OVER (PARTITION BY site ORDER BY id DESC) AS n,"
            "  COUNT(*) OVER (PARTITION BY site) AS scans FROM scans),"
            " previous AS (SELECT site, id FROM ranked WHERE n = 2)"
            " SELECT l.site, l.scans, l.id, l.finished, l.device_count, l.policy,"
            f"  (SELECT COUNT(*) FROM sightings s WHERE s.scan_id = l.id AND s.manufacturer IN ({makers})),"
            "  (SELECT COUNT(*) FROM sightings s WHERE s.scan_id = l.id AND s.restricted),"
            "  (SELECT COUNT(*) FROM sightings s WHERE s.scan_id = l.id AND s.restricted AND s.deadline < ?),"
            "  (SELECT COUNT(*) FROM sightings s JOIN previous p ON p.site = l.site WHERE s.scan_id = l.id"
            "   AND NOT EXISTS (SELECT 1 FROM sightings o WHERE o.scan_id = p.id AND o.device_id = s.device_id)),"
            "  (SELECT COUNT(*) FROM previous p WHERE p.site = l.site)"
            " FROM ranked l WHERE l.n = 1 ORDER BY l.site",
            (*RESTRICTED_MAKERS, now.date()),
        )
        out = []
        for row in rows:
            try:
                r = _typed(row, str, int, int, str, int, str, int, int, int, int, int)
                finished = _utc(datetime.fromisoformat(r[3]))
            except ValueError as exc:
                raise self._read_error(f"site {row[0]!r}: {exc}") from None
            out.append(SiteSummary(
                site=r[0], scans=r[1], last_scan=r[2], last_finished=r[3], devices=r[4], policy=r[5],
                made_by_restricted_makers=r[6], restricted=r[7], overdue=r[8], new=r[9] if r[10] else None,
                age=now - finished, stale=now - finished > stale,
            ))
        return out


def _utc(moment: datetime) -> datetime:
    """A stored time; one written without an offset is UTC (camsweep's times are)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _register_diff(before: dict[str, Sighting], after: dict[str, Sighting], register_is_old: bool) -> list[Change]:
    """A register (``check``) against what another source saw: each register row is matched with
    a device by identity, else by MAC, else by serial, else by model and IP together (what a row
    carries decides which); a device no row matches is "not in register" (restricted ones first),
    a row no device matches is "not seen". Between a matched pair only values both sides know
    are compared: a register rarely records firmware or a MAC."""
    register, wire = (before, after) if register_is_old else (after, before)
    unmatched = dict(wire)
    pairs: list[tuple[Sighting, Sighting]] = []
    missing: list[Sighting] = []
    for row in (register[k] for k in sorted(register)):
        found = row.identity if row.identity in unmatched else _match(row, unmatched.values())
        if found is None:
            missing.append(row)
        else:
            pairs.append((row, unmatched.pop(found)))
    changes = [Change(s.identity, "not in register", *((None, s) if register_is_old else (s, None)))
               for s in sorted(unmatched.values(), key=lambda s: (not s.restricted, s.identity))]
    changes += [Change(s.identity, "not seen", *((s, None) if register_is_old else (None, s))) for s in missing]
    for row, seen in pairs:
        old, new = (row, seen) if register_is_old else (seen, row)
        details = tuple(_differences(old, new, known_only=True))
        if details:
            changes.append(Change(seen.identity, "changed", old, new, details))
    return changes


def _match(row: Sighting, candidates: Iterable[Sighting]) -> str | None:
    """The identity of the first device that is ``row`` by MAC, serial, or model and IP."""
    def same(a: str | None, b: str | None) -> bool:
        return bool(a and b and a.strip().upper() == b.strip().upper())

    candidates = list(candidates)
    for test in (lambda s: same(row.mac, s.mac), lambda s: same(row.serial, s.serial),
                 lambda s: same(row.model, s.model) and same(row.ip, s.ip)):
        for seen in candidates:
            if test(seen):
                return seen.identity
    return None


def _differences(a: Sighting, b: Sighting, known_only: bool = False) -> Iterator[str]:
    for name in ("ip", "mac", "firmware", "model", "manufacturer", "brand", "device_type", "restricted"):
        old, new = getattr(a, name), getattr(b, name)
        if known_only and (old in (None, "", "unknown") or new in (None, "", "unknown")):
            continue
        if old != new:
            label = {"ip": "moved IP", "firmware": "firmware changed"}.get(name, f"{name} changed")
            yield f"{label}: {old} -> {new}"

