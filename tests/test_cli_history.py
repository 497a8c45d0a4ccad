"""`camsweep history` and `camsweep diff` over a real inventory file."""

import json

from click.testing import CliRunner

from camsweep.cli import cli
from camsweep.errors import InventoryError
from camsweep.store.sqlite import SqliteStore
from tests.test_store import item, result


def _db(tmp_path):
    path = tmp_path / "inv.sqlite"
    with SqliteStore(path) as inv:
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
        return [ip for f in json.loads(out.output)["findings"] for ip in f["location"]["ips"]]

    assert ips() == ["198.18.0.21"]  # the last scan
    assert ips("last~1") == ips("1") == ["198.18.0.20"]


def test_report_of_unknown_stored_scan(tmp_path):
    out = CliRunner().invoke(cli, ["report", "42", "--db", _db(tmp_path)])
    assert isinstance(out.exception, InventoryError)
