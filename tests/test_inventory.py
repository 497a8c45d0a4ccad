"""The SQLite inventory: scans stored whole, devices tracked across IP changes, diffs, bad files."""

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from camsweep.errors import InventoryError
from camsweep.inventory import Inventory
from camsweep.models import Device, DeviceType, IdentifiedDevice, Manufacturer, ScanResult, Verdict

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def item(ip, mac=None, maker=Manufacturer.HIKVISION, firmware="V5.7.3", serial=None):
    device = Device(key=mac or ip, macs=(mac,) if mac else (), ips=(ip,))
    verdict = Verdict(manufacturer=maker, brand="Hikvision" if maker is Manufacturer.HIKVISION else None,
                      device_type=DeviceType.CAMERA, model="DS-2CD2043G2-I", firmware=firmware,
                      serial=serial, confidence=0.9, confidence_level="high")
    return IdentifiedDevice(device, verdict)


def result(*items, minutes=0):
    t = T0 + timedelta(minutes=minutes)
    return ScanResult(started=t, finished=t, devices=tuple(items), targets=("198.18.0.0/24",))


def test_store_history_and_diff(tmp_path):
    with Inventory(tmp_path / "inv.sqlite") as inv:
        first = inv.store(result(item("198.18.0.20", "58:50:ed:00:00:01"),
                                 item("198.18.0.30", "00:40:8c:00:00:02", maker=Manufacturer.OTHER)))
        second = inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01", firmware="V5.7.18"),
                                  item("198.18.1.40", serial="6C01E93PAG69A7D", maker=Manufacturer.DAHUA),
                                  minutes=60))
        assert [s.id for s in inv.scans()] == [first, second]
        assert inv.scans()[0].restricted_count == 1
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


def test_prune_keeps_newest(tmp_path):
    with Inventory(tmp_path / "inv.sqlite") as inv:
        ids = [inv.store(result(item(f"198.18.0.{n}", f"58:50:ed:00:00:{n:02x}"), minutes=n)) for n in range(1, 5)]
        assert inv.prune(2) == 2
        assert [s.id for s in inv.scans()] == ids[2:]
        assert inv.load(ids[3]).devices


def test_failed_store_leaves_earlier_scans(tmp_path):
    path = tmp_path / "inv.sqlite"
    with Inventory(path) as inv:
        inv.store(result(item("198.18.0.20", "58:50:ed:00:00:01")))
        inv.db.execute("CREATE TRIGGER boom BEFORE INSERT ON sightings BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        with pytest.raises(InventoryError, match="earlier scans are intact"):
            inv.store(result(item("198.18.0.21", "58:50:ed:00:00:02"), minutes=5))
        assert len(inv.scans()) == 1


def test_corrupt_database_is_one_clear_error(tmp_path):
    path = tmp_path / "inv.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InventoryError, match="not a usable camsweep database"):
        Inventory(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # nothing overwritten


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "inv.sqlite"
    Inventory(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(InventoryError, match="newer than this camsweep"):
        Inventory(path)


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(InventoryError, match="not a camsweep inventory"):
        Inventory(path)
