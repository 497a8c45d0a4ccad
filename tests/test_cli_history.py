"""`camsweep history` and `camsweep diff` over a real inventory file."""

import json
from dataclasses import replace

from click.testing import CliRunner

from camsweep.cli import cli
from camsweep.errors import InventoryError
from camsweep.inventory import Inventory
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


def test_history_shows_what_each_scan_looked_at_and_who_ran_it(tmp_path):
    path = tmp_path / "inv.sqlite"
    with Inventory(path) as inv:
        inv.store(replace(result(item("198.18.0.20", "58:50:ed:00:00:01")), site="Leeds depot", operator="alice"))
        inv.store(replace(result(minutes=10), mode="pcap", capture="/data/site.pcapng", targets=("198.18.0.0/24",)))
        inv.store(replace(result(minutes=20), mode="listen", interface="eth1", targets=("eth1",), operator="bob"))
    out = CliRunner().invoke(cli, ["history", "--db", str(path)])
    assert out.exit_code == 0, out.output
    rows = out.output.splitlines()[2:]
    assert rows[0].split()[3:7] == ["198.18.0.0/24", "Leeds", "depot", "alice"]
    assert "capture /data/site.pcapng (only 198.18.0.0/24)" in rows[1]
    assert "listen on eth1 " in rows[2] and "bob" in rows[2]
    scans = json.loads(CliRunner().invoke(cli, ["history", "--db", str(path), "--format", "json"]).output)
    assert [(s["capture"], s["interface"], s["site"]) for s in scans] == [
        ("", "", "Leeds depot"), ("/data/site.pcapng", "", ""), ("", "eth1", "")]


def test_explain_takes_a_stored_scan_like_report(tmp_path):
    db = _db(tmp_path)
    out = CliRunner().invoke(cli, ["explain", "198.18.0.20", "--scan", "last~1", "--db", db])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("device 58:50:ed:00:00:01: IP 198.18.0.20")
    out = CliRunner().invoke(cli, ["explain", "198.18.0.21", "--scan", "2", "--db", db, "--format", "json"])
    assert json.loads(out.output)["verdict"]["firmware"] == "V5.7.18"
    out = CliRunner().invoke(cli, ["explain", "198.18.0.20", "--scan", "last", "--db", db])
    assert out.exit_code != 0 and "no device 198.18.0.20" in str(out.exception)


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
