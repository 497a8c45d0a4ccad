"""The inventory, one suite for both backends (``db_location``: an SQLite file and a database on a
real throwaway PostgreSQL server): scans stored whole, devices tracked per site across IP changes,
history, diff, the roll-up, retention, migrations, and databases that must be refused untouched."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from camsweep.errors import InventoryError, UsageError
from camsweep.findings import evaluate
from camsweep.models import (
    Device,
    DeviceType,
    IdentifiedDevice,
    Manufacturer,
    ScanResult,
    Verdict,
)
from camsweep.store import SCHEMA_VERSION, is_url, open_store
from camsweep.store._base import migrations, statements
from camsweep.store.sqlite import SqliteStore

from tests.hostile_files import result_with_model

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def item(ip, mac=None, maker=Manufacturer.HIKVISION, firmware="V5.7.3", serial=None, model="DS-2CD2043G2-I"):
    device = Device(key=mac or ip, macs=(mac,) if mac else (), ips=(ip,))
    verdict = Verdict(manufacturer=maker, brand="Hikvision" if maker is Manufacturer.HIKVISION else None,
                      device_type=DeviceType.CAMERA, model=model, firmware=firmware,
                      serial=serial, confidence=0.9, confidence_level="high")
    return IdentifiedDevice(device, verdict)


def result(*items, minutes=0, site=""):
    t = T0 + timedelta(minutes=minutes)
    return ScanResult(started=t, finished=t, devices=tuple(items), targets=("198.18.0.0/24",), site=site)


def dahua(n: int) -> IdentifiedDevice:
    """A Dahua camera with real evidence (restricted under every policy), the n-th of its kind."""
    real = result_with_model("IPC-HDW1431T1-S4").devices[0]
    mac, ip = f"3c:ef:8c:00:01:{n:02x}", f"198.18.0.{100 + n}"
    device = dataclasses.replace(real.device, key=mac, macs=(mac,), ips=(ip,))
    return IdentifiedDevice(device, real.verdict)


def raw(location: str, *sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """SQL run on the database directly, in camsweep's namespace (as a DBA, or damage, would)."""
    rows: list[tuple[Any, ...]] = []
    if is_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as con:
            con.execute("SET search_path TO camsweep")
            for statement in sql:
                cursor = con.execute(statement.replace("?", "%s"), params or None)
                rows = cursor.fetchall() if cursor.description else []
        return rows
    con = sqlite3.connect(location)
    try:
        for statement in sql:
            rows = con.execute(statement, params).fetchall()
        con.commit()
    finally:
        con.close()
    return rows


def dialect(location: str) -> str:
    return "postgres" if is_url(location) else "sqlite"


# ----------------------------------------------------------------------------------- behaviour


def test_store_history_and_diff(db_location):
    with open_store(db_location) as inv:
        first = inv.store(result(item("198.18.0.20", "58:50:ed:00:00:01"),
                                 item("198.18.0.30", "00:40:8c:00:00:02", maker=Manufacturer.OTHER)))
        second = inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01", firmware="V5.7.18"),
                                  item("198.18.1.40", serial="6C01E93PAG69A7D", maker=Manufacturer.DAHUA),
                                  minutes=60))
        assert [s.id for s in inv.scans()] == [first, second]
        assert inv.scans()[0].restricted_count == 1
        assert inv.scans()[0].started == T0.isoformat()
        changes = {c.identity: c for c in inv.diff(first, second)}
        moved = changes["mac:58:50:ed:00:00:01"]
        assert moved.what == "changed"
        assert "moved IP: 198.18.0.20 -> 198.18.0.21" in moved.details
        assert "firmware changed: V5.7.3 -> V5.7.18" in moved.details
        assert changes["mac:00:40:8c:00:00:02"].what == "gone"
        assert changes["serial:dahua:6C01E93PAG69A7D"].what == "new"
        assert [s.identity for s in inv.new_restricted(second)] == ["serial:dahua:6C01E93PAG69A7D"]
        assert inv.resolve("last") == second and inv.resolve("last~1") == first
        assert inv.load(first).devices[0].device.ip == "198.18.0.20"


def test_a_device_outside_the_newer_scans_targets_is_not_rescanned_not_gone(db_location):
    both = ("198.18.0.0/24", "198.18.1.0/24")
    cameras = (item("198.18.0.30", "58:50:ed:00:00:30"), item("198.18.1.40", "58:50:ed:00:00:40"))
    with open_store(db_location) as inv:
        first = inv.store(dataclasses.replace(result(*cameras), targets=both, scope=both))
        # Only segment A scanned again, nothing answered there: the segment-A camera is gone; the
        # segment-B one was not looked for.
        second = inv.store(dataclasses.replace(result(minutes=60), targets=("198.18.0.1-254",),
                                               scope=("198.18.0.0/24",)))
        assert {c.identity: c.what for c in inv.diff(first, second)} == {
            "mac:58:50:ed:00:00:30": "gone", "mac:58:50:ed:00:00:40": "not rescanned"}
        # A passive result cannot tell gone from silent.
        heard = inv.store(dataclasses.replace(result(minutes=120), mode="listen", targets=("eth1",), interface="eth1"))
        assert {c.what for c in inv.diff(first, heard)} == {"not rescanned"}
        # A scan stored without its scope is judged by its targets (host names unresolved).
        old = inv.store(dataclasses.replace(result(minutes=180), targets=("198.18.1.0/24", "nvr.example.lan")))
        assert {c.identity: c.what for c in inv.diff(first, old)} == {
            "mac:58:50:ed:00:00:30": "not rescanned", "mac:58:50:ed:00:00:40": "gone"}
        assert [s.scope for s in inv.scans()] == [both, ("198.18.0.0/24",), (), ()]


def row(line, model, mac=None, serial=None, ip=None, maker=Manufacturer.HIKVISION):
    """A register row as ``camsweep check`` stores it: a record of its own, placed by its MAC if any."""
    key = f"record:register.csv:{line}"
    device = Device(key=mac or key, macs=(mac,) if mac else (), ips=(ip,) if ip else (), hostnames=(key[7:],))
    verdict = Verdict(manufacturer=maker, device_type=DeviceType.CAMERA, model=model, serial=serial,
                      confidence=0.6, confidence_level="medium")
    return IdentifiedDevice(device, verdict)


def test_a_register_diffed_with_a_scan_matches_rows_by_mac_serial_or_model_and_ip(db_location):
    register = dataclasses.replace(result(
        row(2, "DS-2CD2043G2-I", mac="58:50:ed:00:00:01"),                       # by MAC (its identity)
        row(3, "IPC-HDW1431T1-S4", serial="6C01E93PAG69A7D", maker=Manufacturer.DAHUA),  # by serial
        row(4, "DS-2CD2043G2-I", ip="198.18.0.30"),                              # by model and IP
        row(5, "DS-7608NI-K2"),                                                  # on no wire
    ), mode="check", targets=("register.csv",))
    wire = result(item("198.18.0.20", "58:50:ed:00:00:01"),
                  item("198.18.1.40", "3c:ef:8c:00:00:02", serial="6c01e93pag69a7d", maker=Manufacturer.DAHUA,
                       model="IPC-HDW1431T1-S4"),
                  item("198.18.0.30", "58:50:ed:00:00:03", firmware="V5.5.0"),
                  item("198.18.0.31", "58:50:ed:00:00:04"),  # restricted, not in the register
                  item("198.18.0.40", "00:40:8c:00:00:05", maker=Manufacturer.OTHER),  # not in it either
                  minutes=60)
    with open_store(db_location) as inv:
        checked, scanned = inv.store(register), inv.store(wire)
        changes = inv.diff(checked, scanned)
        assert [(c.what, c.after.ip if c.after else c.before.model) for c in changes] == [
            ("not in register", "198.18.0.31"), ("not in register", "198.18.0.40"), ("not seen", "DS-7608NI-K2")]
        assert changes[0].after.restricted and not changes[1].after.restricted
        # The other way round (a scan, then the register checked against it), the same pairs.
        back = inv.diff(scanned, checked)
        assert [(c.what, (c.before or c.after).ip) for c in back][:2] == [
            ("not in register", "198.18.0.31"), ("not in register", "198.18.0.40")]
        # Two scans are still compared by identity alone.
        assert {c.what for c in inv.diff(scanned, inv.store(result(minutes=120)))} == {"gone", "not rescanned"}


def test_prune_keeps_the_newest_scans_of_its_site(db_location):
    with open_store(db_location) as inv:
        ids = [inv.store(result(item(f"198.18.0.{n}", f"58:50:ed:00:00:{n:02x}"), minutes=n, site="a"))
               for n in range(1, 5)]
        other = inv.store(result(item("198.18.0.9", "58:50:ed:00:00:09"), site="b"))
        assert inv.prune(2, "a") == 2
        assert [s.id for s in inv.scans("a")] == ids[2:]
        assert [s.id for s in inv.scans("b")] == [other]  # another site's scans are not this site's to prune
        assert inv.load(ids[3]).devices
    devices = raw(db_location, "SELECT site, identity FROM devices ORDER BY site, identity")
    assert devices == [("a", "mac:58:50:ed:00:00:03"), ("a", "mac:58:50:ed:00:00:04"), ("b", "mac:58:50:ed:00:00:09")]


SABOTAGE = {
    "sqlite": ["CREATE TRIGGER boom BEFORE INSERT ON sightings BEGIN SELECT RAISE(ABORT, 'disk full'); END"],
    "postgres": ["CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'disk full'; END$$",
                 "CREATE TRIGGER boom BEFORE INSERT ON sightings FOR EACH ROW EXECUTE FUNCTION boom()"],
}


def test_a_failed_store_leaves_nothing_of_itself(db_location):
    with open_store(db_location) as inv:
        inv.store(result(item("198.18.0.20", "58:50:ed:00:00:01")))
    raw(db_location, *SABOTAGE[dialect(db_location)])  # fails after the scan and its devices are written
    with open_store(db_location) as inv:
        with pytest.raises(InventoryError, match="disk full.*earlier scans are intact"):
            inv.store(result(item("198.18.0.21", "58:50:ed:00:00:02"), minutes=5))
        assert len(inv.scans()) == 1
    assert raw(db_location, "SELECT identity FROM devices") == [("mac:58:50:ed:00:00:01",)]


def test_the_same_result_is_stored_once(db_location):
    scan = result(dahua(1), item("198.18.0.30", "00:40:8c:00:00:02", maker=Manufacturer.OTHER), site="north")
    with open_store(db_location) as inv:
        first = inv.store(scan, evaluate(scan))
        again = inv.store(ScanResult.from_dict(scan.to_dict()), evaluate(scan))  # a re-submitted file
        assert again == first and len(inv.scans()) == 1
        assert len(inv.sightings(first)) == 2


def test_device_identity_is_per_site(db_location):
    with open_store(db_location) as inv:
        a = inv.store(result(item("10.0.0.5", "58:50:ed:00:00:01"), item("10.0.0.7"), site="north"))
        b = inv.store(result(item("10.0.0.5", "58:50:ed:00:00:01"), item("10.0.0.7"), site="south"))
        # The same IP (and even a MAC) at another site is another device: new there, restricted there.
        assert len(inv.new_restricted(a)) == 2 and len(inv.new_restricted(b)) == 2
        assert inv.sites() == ["north", "south"]
        assert [s.id for s in inv.scans("south")] == [b]
        assert inv.resolve("last", site="north") == a
        with pytest.raises(InventoryError, match="a diff compares two scans of one site"):
            inv.diff(a, b)
        # A scan of that network (the device is gone only where the newer scan looked for it).
        c = inv.store(dataclasses.replace(result(item("10.0.0.6", "58:50:ed:00:00:01"), site="north", minutes=5),
                                          targets=("10.0.0.0/24",)))
        changes = {change.identity: change for change in inv.diff(a, c)}
        assert inv.new_restricted(c) == [] and changes["ip:10.0.0.7"].what == "gone"
        assert changes["mac:58:50:ed:00:00:01"].details == ("moved IP: 10.0.0.5 -> 10.0.0.6",)
    assert raw(db_location, "SELECT COUNT(*) FROM devices")[0][0] == 4


def test_which_site_a_command_reads(db_location):
    with open_store(db_location) as inv:
        assert inv.choose_site(None, False) == ""  # empty: nothing to choose
        inv.store(result(item("10.0.0.5"), site="north"))
        assert inv.choose_site(None, False) == "north"  # the only site
        inv.store(result(item("10.0.0.5"), site="south"))
        with pytest.raises(UsageError, match="holds scans of 2 sites: name one with --site NAME, or use --all-sites"):
            inv.choose_site(None, False)
        assert inv.choose_site("south", False) == "south" and inv.choose_site(None, True) is None
        with pytest.raises(InventoryError, match="no scans of site 'west'"):
            inv.choose_site("west", False)
        with pytest.raises(UsageError, match="exclude each other"):
            inv.choose_site("south", True)


def test_rollup_per_site(db_location):
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    north_1 = result(dahua(1), item("10.0.0.9", "00:40:8c:00:00:09", maker=Manufacturer.OTHER), site="north")
    north_2 = result(dahua(1), dahua(2), dahua(3), item("10.0.0.8", "00:40:8c:00:00:08", maker=Manufacturer.OTHER),
                     site="north", minutes=60)
    south = dataclasses.replace(result(dahua(1), site="south"), finished=now - timedelta(days=9))
    with open_store(db_location) as inv:
        for scan, policy in ((north_1, "uk-sensitive-sites"), (north_2, "uk-sensitive-sites"), (south, "us-federal")):
            inv.store(scan, evaluate(scan, policy))
        rows = {r.site: r for r in inv.rollup(timedelta(days=7), now)}
    deadlines = [a.deadline for f in evaluate(north_2, "uk-sensitive-sites").findings for a in f.deadlines]
    assert deadlines and all(d.past(now.date()) for d in deadlines)  # UK-TIMELINE: "by April 2025"
    north, south_row = rows["north"], rows["south"]
    assert (north.scans, north.devices, north.made_by_restricted_makers, north.restricted) == (2, 4, 3, 3)
    assert north.overdue == 3 and north.new == 3  # dahua 2 and 3, and the other-maker device at .8
    assert north.policy == "uk-sensitive-sites" and not north.stale and north.last_finished == north_2.finished.isoformat()
    # us-federal names no removal deadline: restricted, not overdue; one scan: no "new" to tell.
    assert (south_row.restricted, south_row.overdue, south_row.new, south_row.stale) == (1, 0, None, True)
    assert south_row.age == timedelta(days=9)


def test_device_text_either_database_can_hold(db_location):
    # A lone surrogate is not UTF-8 and PostgreSQL text cannot hold NUL: the columns get U+FFFD,
    # the stored scan keeps the text exactly.
    odd = item("198.18.0.20", "58:50:ed:00:00:01", model="IPC-\ud800\x00x", serial="S\x00N")
    with open_store(db_location) as inv:
        scan_id = inv.store(result(odd))
        assert inv.sightings(scan_id)["mac:58:50:ed:00:00:01"].model == "IPC-\ufffd\ufffdx"
        assert inv.load(scan_id).devices[0].verdict.model == "IPC-\ud800\x00x"


# ----------------------------------------------------------------------------------- migrations


def _version_one(location: str) -> None:
    """A database as the first schema left it: 0001 applied, version 1, one scan of one camera."""
    first = list(statements(migrations(dialect(location))[0][2]))
    if is_url(location):
        first.insert(0, "CREATE SCHEMA camsweep")
    raw(location, *first, "INSERT INTO meta VALUES ('schema_version', '1')")
    old = result(item("198.18.0.20", "58:50:ed:00:00:01")).to_dict()
    del old["site"]  # written before sites existed
    from camsweep import jsonio

    raw(location, "INSERT INTO scans (started, finished, mode, partial, targets, device_count, restricted_count, result)"
                  " VALUES (?, ?, 'scan', ?, '[\"198.18.0.0/24\"]', 1, 1, ?)", params=(T0, T0, False, jsonio.dumps(old)))
    raw(location, "INSERT INTO devices (identity, first_scan, last_scan) VALUES ('mac:58:50:ed:00:00:01', 1, 1)")
    raw(location, "INSERT INTO sightings VALUES (1, 1, '198.18.0.20', '58:50:ed:00:00:01', NULL, 'hikvision', 'Hikvision',"
                  " 'camera', 'DS-2CD2043G2-I', 'V5.7.3', NULL, 0.9, ?)", params=(True,))


def test_every_dialect_has_the_same_migrations():
    assert [v for v, _, _ in migrations("sqlite")] == [v for v, _, _ in migrations("postgres")]
    assert SCHEMA_VERSION == len(migrations("postgres")) >= 2


def test_an_older_schema_is_migrated_and_keeps_its_scans(db_location):
    _version_one(db_location)
    with open_store(db_location) as inv:
        assert inv.version() == SCHEMA_VERSION
        second = inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01", firmware="V5.7.18"), minutes=60))
        assert [s.site for s in inv.scans()] == ["", ""]
        assert inv.diff(1, second)[0].details == ("moved IP: 198.18.0.20 -> 198.18.0.21",
                                                  "firmware changed: V5.7.3 -> V5.7.18")
        assert inv.load(1).site == ""
    assert raw(db_location, "SELECT value FROM meta")[0][0] == str(SCHEMA_VERSION)


def test_a_failed_migration_changes_nothing(db_location):
    _version_one(db_location)
    # An object in the way of the last statements of 0002: the migration fails after altering tables.
    raw(db_location, "CREATE INDEX sightings_device ON scans (id)")
    with pytest.raises(InventoryError, match="not a usable camsweep database.*sightings_device.*already exists"):
        open_store(db_location)
    assert raw(db_location, "SELECT value FROM meta")[0][0] == "1"
    columns = (raw(db_location, "SELECT name FROM pragma_table_info('scans')") if dialect(db_location) == "sqlite"
               else raw(db_location, "SELECT column_name FROM information_schema.columns WHERE table_name = 'scans'"))
    assert "site" not in {c[0] for c in columns}
    assert raw(db_location, "SELECT identity FROM devices") == [("mac:58:50:ed:00:00:01",)]


def test_a_newer_schema_is_refused_untouched(db_location):
    open_store(db_location).close()
    raw(db_location, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = raw(db_location, "SELECT COUNT(*) FROM scans")
    with pytest.raises(InventoryError, match="database schema 99 is newer than this camsweep"):
        open_store(db_location)
    assert raw(db_location, "SELECT value FROM meta") == [("99",)] and raw(db_location, "SELECT COUNT(*) FROM scans") == before


def test_a_foreign_database_is_refused(db_location):
    if is_url(db_location):
        raw(db_location, "CREATE SCHEMA camsweep", "CREATE TABLE camsweep.customers (id integer)")
    else:
        raw(db_location, "CREATE TABLE customers (id INTEGER)")
    with pytest.raises(InventoryError, match="not a camsweep inventory"):
        open_store(db_location)


# ------------------------------------------------------------------------------ SQLite's own


def test_corrupt_database_is_one_clear_error(tmp_path):
    path = tmp_path / "inv.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InventoryError, match="not a usable camsweep database"):
        SqliteStore(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # nothing overwritten
