"""`camsweep history` and `camsweep diff` over a real inventory file."""

import csv
import io
import json

from camsweep.cli import cli
from camsweep.errors import InventoryError
from camsweep.inventory import Inventory
from click.testing import CliRunner

from tests.schema_check import jsonl_records, report_json
from tests.test_inventory import item, result


def _db(tmp_path):
    path = tmp_path / "inv.sqlite"
    with Inventory(path) as inv:
        inv.store(result(item("198.18.0.20", "58:50:ed:00:00:01")))
        inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01", firmware="V5.7.18"), minutes=60))
    return str(path)


def test_history_lists_scans(tmp_path):
    out = CliRunner().invoke(cli, ["history", "--db", _db(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output
    scans = json.loads(out.output)
    assert [s["id"] for s in scans] == [1, 2] and scans[0]["restricted"] == 1


def test_diff_of_last_two_scans(tmp_path):
    out = CliRunner().invoke(cli, ["diff", "--db", _db(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "scan 1 -> scan 2: 1 change(s)" in out.output
    assert "moved IP: 198.18.0.20 -> 198.18.0.21" in out.output


def test_diff_of_unknown_scan_is_an_inventory_error(tmp_path):
    out = CliRunner().invoke(cli, ["diff", "--db", _db(tmp_path), "7", "2"])
    assert isinstance(out.exception, InventoryError) and "no scan '7'" in str(out.exception)


def test_report_renders_a_stored_scan(tmp_path):
    db = _db(tmp_path)
    def ips(*args):
        out = CliRunner().invoke(cli, ["report", *args, "--db", db, "--format", "json"])
        assert out.exception is None or isinstance(out.exception, SystemExit), out.output
        return [ip for f in report_json(out.output)["findings"] for ip in f["location"]["ips"]]

    assert ips() == ["198.18.0.21"]  # the last scan
    assert ips("last~1") == ips("1") == ["198.18.0.20"]


def test_report_of_unknown_stored_scan(tmp_path):
    out = CliRunner().invoke(cli, ["report", "42", "--db", _db(tmp_path)])
    assert isinstance(out.exception, InventoryError)


def test_exports_of_a_stored_scan_say_when_each_device_was_first_and_last_seen(tmp_path):
    db = _db(tmp_path)
    with Inventory(db) as inv:  # a third scan with a device never seen before
        inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01"), item("198.18.0.40", "58:50:ed:00:00:09"), minutes=120))
    out = CliRunner().invoke(cli, ["report", "2", "--db", db, "--format", "jsonl"])
    (record,) = jsonl_records(out.output)
    # Scan 2's camera was first seen in scan 1 (at another IP), and last seen in scan 3.
    assert (record["first_seen"], record["last_seen"]) == ("2026-11-25T12:00:00+00:00", "2026-11-25T14:00:00+00:00")
    out = CliRunner().invoke(cli, ["report", "last", "--db", db, "--format", "csv"])
    rows = {r["ip"]: r for r in csv.DictReader(io.StringIO(out.output))}
    assert rows["198.18.0.40"]["first_seen"] == rows["198.18.0.40"]["last_seen"] == "2026-11-25T14:00:00+00:00"
    assert rows["198.18.0.21"]["first_seen"] == "2026-11-25T12:00:00+00:00"
    with Inventory(db) as inv:
        stored = inv.load(3)
    assert {r["scan_id"] for r in rows.values()} == {stored.scan_id}


def test_a_scan_report_written_before_storing_counts_the_inventory_and_itself(tmp_path):
    from camsweep.cli._finish import finish
    from camsweep.config import Outputs

    db = _db(tmp_path)
    out = tmp_path / "records.jsonl"
    new = result(item("198.18.0.22", "58:50:ed:00:00:01"), item("198.18.0.50", "58:50:ed:00:00:07"), minutes=180)
    finish(new, Outputs(fmt="jsonl", output=str(out), db_path=db))
    seen = {r["location"]["ips"][0]: (r["first_seen"], r["last_seen"]) for r in jsonl_records(out.read_text())}
    assert seen == {"198.18.0.22": ("2026-11-25T12:00:00+00:00", "2026-11-25T15:00:00+00:00"),
                    "198.18.0.50": ("2026-11-25T15:00:00+00:00", "2026-11-25T15:00:00+00:00")}
