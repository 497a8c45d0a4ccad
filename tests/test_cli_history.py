"""`camsweep history`, `diff`, `report` (one site, a chosen site, every site: the roll-up) and
`import scan`, over a real inventory of each backend."""

import csv
import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from camsweep.cli import cli
from camsweep.errors import ExitCode, InventoryError, UsageError
from camsweep.findings import evaluate
from camsweep.models import Manufacturer
from camsweep.store import is_url, open_store
from click.testing import CliRunner

from tests.schema_check import jsonl_records, report_json
from tests.test_cli import run
from tests.test_store import dahua, item, result


def _db(location):
    with open_store(location) as inv:
        inv.store(result(item("198.18.0.20", "58:50:ed:00:00:01")))
        inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01", firmware="V5.7.18"), minutes=60))
    return location


def _sites(location):
    """Three sites: north scanned twice (a new Dahua camera the second time), south and west once."""
    scans = [
        result(dahua(1), item("10.0.0.9", "00:40:8c:00:00:09", maker=Manufacturer.OTHER), site="north"),
        result(dahua(1), dahua(2), item("10.0.0.9", "00:40:8c:00:00:09", maker=Manufacturer.OTHER),
               site="north", minutes=60),
        result(item("10.0.0.9", "00:40:8c:00:00:09", maker=Manufacturer.OTHER), site="south"),
        result(dahua(1), site="west", minutes=30),
    ]
    with open_store(location) as inv:
        for scan in scans:
            # Judged for a department's sensitive sites: UK-TIMELINE's "by April 2025" has passed.
            inv.store(scan, evaluate(scan, "uk-sensitive-sites"))
    return location


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_history_lists_scans(db_location):
    out = invoke("history", "--db", _db(db_location), "--format", "json")
    assert out.exit_code == 0, out.output
    scans = json.loads(out.output)
    assert [s["id"] for s in scans] == [1, 2] and scans[0]["restricted"] == 1 and scans[0]["site"] == ""


def test_history_shows_what_each_scan_looked_at_and_who_ran_it(db_location):
    with open_store(db_location) as inv:
        inv.store(replace(result(item("198.18.0.20", "58:50:ed:00:00:01")), operator="alice"))
        inv.store(replace(result(minutes=10), mode="pcap", capture="/data/site.pcapng", targets=("198.18.0.0/24",)))
        inv.store(replace(result(minutes=20), mode="listen", interface="eth1", targets=("eth1",), operator="bob"))
    out = invoke("history", "--db", db_location)
    assert out.exit_code == 0, out.output
    rows = out.output.splitlines()[2:]
    assert rows[0].split()[2:5] == ["scan", "198.18.0.0/24", "alice"]
    assert "capture /data/site.pcapng (only 198.18.0.0/24)" in rows[1]
    assert "listen on eth1 " in rows[2] and "bob" in rows[2]
    scans = json.loads(invoke("history", "--db", db_location, "--format", "json").output)
    assert [(s["capture"], s["interface"], s["operator"]) for s in scans] == [
        ("", "", "alice"), ("/data/site.pcapng", "", ""), ("", "eth1", "bob")]


def test_explain_takes_a_stored_scan_like_report(db_location):
    db = _db(db_location)
    out = invoke("explain", "198.18.0.20", "--scan", "last~1", "--db", db)
    assert out.exit_code == 0, out.output
    assert out.output.startswith("device 58:50:ed:00:00:01: IP 198.18.0.20")
    out = invoke("explain", "198.18.0.21", "--scan", "2", "--db", db, "--format", "json")
    assert json.loads(out.output)["verdict"]["firmware"] == "V5.7.18"
    out = invoke("explain", "198.18.0.20", "--scan", "last", "--db", db)
    assert out.exit_code != 0 and "no device 198.18.0.20" in str(out.exception)


def test_diff_of_last_two_scans(db_location):
    out = invoke("diff", "--db", _db(db_location))
    assert out.exit_code == 0, out.output
    assert "scan 1 (scan of 198.18.0.0/24) -> scan 2 (scan of 198.18.0.0/24): 1 change(s)" in out.output
    assert "moved IP: 198.18.0.20 -> 198.18.0.21" in out.output


def test_diff_of_unknown_scan_is_an_inventory_error(db_location):
    out = invoke("diff", "--db", _db(db_location), "7", "2")
    assert isinstance(out.exception, InventoryError) and "no scan '7'" in str(out.exception)


def test_report_renders_a_stored_scan(db_location):
    db = _db(db_location)

    def ips(*args):
        out = invoke("report", *args, "--db", db, "--format", "json")
        assert out.exception is None or isinstance(out.exception, SystemExit), out.output
        return [ip for f in report_json(out.output)["findings"] for ip in f["location"]["ips"]]

    assert ips() == ["198.18.0.21"]  # the last scan
    assert ips("last~1") == ips("1") == ["198.18.0.20"]


def test_report_of_unknown_stored_scan(db_location):
    out = invoke("report", "42", "--db", _db(db_location))
    assert isinstance(out.exception, InventoryError)


def test_exports_of_a_stored_scan_say_when_each_device_was_first_and_last_seen(db_location):
    db = _db(db_location)
    with open_store(db) as inv:  # a third scan with a device never seen before
        inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01"), item("198.18.0.40", "58:50:ed:00:00:09"), minutes=120))
        # The same camera at another site is another device: it changes nothing here.
        inv.store(result(item("198.18.0.21", "58:50:ed:00:00:01"), site="elsewhere", minutes=600))
    out = invoke("report", "2", "--db", db, "--format", "jsonl")
    (record,) = jsonl_records(out.output)
    # Scan 2's camera was first seen in scan 1 (at another IP), and last seen in scan 3.
    assert (record["first_seen"], record["last_seen"]) == ("2026-11-25T12:00:00+00:00", "2026-11-25T14:00:00+00:00")
    out = invoke("report", "3", "--db", db, "--format", "csv")
    rows = {r["ip"]: r for r in csv.DictReader(io.StringIO(out.output))}
    assert rows["198.18.0.40"]["first_seen"] == rows["198.18.0.40"]["last_seen"] == "2026-11-25T14:00:00+00:00"
    assert rows["198.18.0.21"]["first_seen"] == "2026-11-25T12:00:00+00:00"
    with open_store(db) as inv:
        stored = inv.load(3)
    assert {r["scan_id"] for r in rows.values()} == {stored.scan_id}


def test_a_scan_report_written_before_storing_counts_the_inventory_and_itself(db_location, tmp_path):
    from camsweep.cli._finish import finish
    from camsweep.config import Outputs

    db = _db(db_location)
    out = tmp_path / "records.jsonl"
    new = result(item("198.18.0.22", "58:50:ed:00:00:01"), item("198.18.0.50", "58:50:ed:00:00:07"), minutes=180)
    finish(new, Outputs(fmt="jsonl", output=str(out), db_path=db))
    seen = {r["location"]["ips"][0]: (r["first_seen"], r["last_seen"]) for r in jsonl_records(out.read_text())}
    assert seen == {"198.18.0.22": ("2026-11-25T12:00:00+00:00", "2026-11-25T15:00:00+00:00"),
                    "198.18.0.50": ("2026-11-25T15:00:00+00:00", "2026-11-25T15:00:00+00:00")}


# ------------------------------------------------------------------------------------- sites


def test_commands_read_the_site_they_are_given(db_location):
    db = _sites(db_location)
    history = json.loads(invoke("history", "--db", db, "--format", "json").output)
    assert [(s["id"], s["site"]) for s in history] == [(1, "north"), (2, "north"), (3, "south"), (4, "west")]
    assert [s["id"] for s in json.loads(invoke("history", "--db", db, "--site", "north", "--format", "json").output)] == [1, 2]
    for command in (["diff"], ["report"]):  # "last" of which site? The user's to say.
        out = invoke(*command, "--db", db)
        assert isinstance(out.exception, UsageError) and "holds scans of 3 sites" in str(out.exception)
    out = invoke("diff", "--db", db, "--site", "north", "--format", "json")
    assert out.exit_code == 0, out.output
    diff = json.loads(out.output)
    assert (diff["site"], diff["old"], diff["new"]) == ("north", 1, 2)
    assert [c["what"] for c in diff["changes"]] == ["new"] and diff["changes"][0]["after"]["ip"] == "198.18.0.102"
    out = invoke("report", "--db", db, "--site", "west", "--policy", "uk-sensitive-sites", "--format", "json")
    assert out.exit_code == ExitCode.RESTRICTED
    assert json.loads(out.output)["counts"]["restricted"] == 1
    assert invoke("report", "3", "--db", db, "--format", "json").exit_code == ExitCode.OK  # an id is one scan, any site
    out = invoke("diff", "--db", db, "--all-sites", "--format", "json")
    assert [(d["site"], len(d["changes"])) for d in json.loads(out.output)] == [("north", 1)]  # sites with two scans
    out = invoke("diff", "1", "3", "--db", db, "--site", "north")
    assert isinstance(out.exception, InventoryError) and "no scan '3' of site 'north'" in str(out.exception)


def test_the_rollup_in_every_format(db_location, tmp_path):
    db = _sites(db_location)
    out = invoke("report", "--all-sites", "--db", db, "--format", "json")
    assert out.exit_code == ExitCode.RESTRICTED, out.output  # a site has restricted devices
    doc = json.loads(out.output)
    rows = {s["site"]: s for s in doc["sites"]}
    assert (rows["north"]["devices"], rows["north"]["made_by_restricted_makers"], rows["north"]["restricted"],
            rows["north"]["new_since_previous"], rows["north"]["scans"]) == (3, 2, 2, 1, 2)
    assert rows["north"]["overdue"] == 2 and rows["south"]["restricted"] == 0 and rows["west"]["new_since_previous"] is None
    assert all(s["stale"] for s in doc["sites"])  # the test scans are from 2026-11-25, the report is now
    assert doc["totals"]["restricted"] == 3 and doc["totals"]["sites_with_restricted"] == 2
    table = invoke("report", "--all-sites", "--db", db).output
    assert "north" in table and "STALE" in table and "3 site(s), 5 device(s)" in table
    sheet = list(csv.DictReader(io.StringIO(invoke("report", "--all-sites", "--db", db, "--format", "csv").output)))
    assert [r["site"] for r in sheet] == ["north", "south", "west"] and sheet[0]["overdue"] == "2"
    page = tmp_path / "sites.html"
    invoke("report", "--all-sites", "--db", db, "--format", "html", "-o", str(page))
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") and ">north</td>" in page.read_text(encoding="utf-8")
    out = invoke("report", "--all-sites", "--db", db, "--stale", "3650d", "--format", "json")
    assert not any(s["stale"] for s in json.loads(out.output)["sites"])


@pytest.mark.parametrize("args, message", [
    (["--stale", "soon"], "--stale must be an age like 36h, 7d or 2w"),
    (["--policy", "uk-sensitive-sites"], "--policy applies to one scan's report"),
    (["--site", "north"], "give no SCAN and no --site"),
])
def test_rollup_refuses_what_does_not_apply(db_location, args, message):
    out = invoke("report", "--all-sites", "--db", _sites(db_location), *args)
    assert isinstance(out.exception, UsageError) and message in str(out.exception)


def test_a_hostile_site_name_is_refused_and_stored_ones_are_cleaned(db_location):
    out = invoke("history", "--db", db_location, "--site", "evil\x1b[2J")
    assert isinstance(out.exception, UsageError) and "--site must be printable text" in str(out.exception)
    with open_store(db_location) as inv:  # a library caller is not checked: what is stored is shown safely
        inv.store(result(item("10.0.0.5"), site="evil\x1b]0;x\x07"))
        inv.store(result(item("10.0.0.5"), site="plain"))
    for fmt in ("table", "csv", "html", "json"):
        out = invoke("report", "--all-sites", "--db", db_location, "--format", fmt)
        assert "\x1b" not in out.output and "\x07" not in out.output, fmt


def test_import_stores_a_saved_scan_once(db_location, tmp_path):
    from camsweep import jsonio

    saved = tmp_path / "north.json"
    saved.write_text(jsonio.dumps(result(dahua(1), site="north").to_dict()), encoding="utf-8")
    first = invoke("import", "scan", str(saved), "--db", db_location)
    assert first.exit_code == 0 and "stored as scan 1 of site 'north'" in first.output, first.output
    again = invoke("import", "scan", str(saved), "--db", db_location)
    assert again.exit_code == 0 and "was already stored as scan 1" in again.output
    other = invoke("import", "scan", str(saved), "--db", db_location, "--site", "south")
    assert isinstance(other.exception, UsageError) and "is a scan of site 'north', not 'south'" in str(other.exception)
    with open_store(db_location) as inv:
        assert len(inv.scans()) == 1 and inv.rollup(timedelta(days=1), result().finished)[0].restricted == 1


READERS = [["history"], ["diff"], ["report"], ["report", "--all-sites"]]


@pytest.mark.parametrize("args", READERS)
def test_readers_create_nothing_where_no_database_is(tmp_path, args):
    """A mistyped --db is an error naming it (exit 2); no folder or file appears."""
    missing = tmp_path / "typo" / "inv.sqlite"
    proc = run(*args, "--db", str(missing))
    assert proc.returncode == ExitCode.USAGE and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"camsweep: error: {missing}: no inventory database there (give --db the path a scan stored to)"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", READERS)
def test_readers_create_no_default_state(tmp_path, monkeypatch, args):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = CliRunner().invoke(cli, args)
    assert isinstance(out.exception, InventoryError) and "inventory.sqlite: no inventory database there" in str(out.exception)
    assert list(tmp_path.iterdir()) == []


def test_explain_creates_no_state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = CliRunner().invoke(cli, ["explain", "10.0.0.1"])
    assert out.exit_code == 1 and "last-scan.json: no such scan file" in str(out.exception)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_open_writes_nothing(db_location):
    """An empty database (or PostgreSQL without the camsweep schema) is refused and left empty;
    a stored one reads the same as before, and not a byte of it changes."""
    if not is_url(db_location):
        Path(db_location).touch()  # an empty file: what `sqlite3 FILE .quit` leaves
    for _ in range(2):  # the second time: the first refused open made no schema
        with pytest.raises(InventoryError, match="holds no camsweep inventory yet"):
            open_store(db_location, read_only=True)
    _db(db_location)
    with open_store(db_location, read_only=True) as inv:
        assert [s.id for s in inv.scans(None)] == [1, 2]
        with pytest.raises(InventoryError):
            inv.store(result(item("198.18.0.22", "58:50:ed:00:00:02")))
    with open_store(db_location) as inv:
        assert [s.id for s in inv.scans(None)] == [1, 2]


def test_an_older_schema_is_not_upgraded_by_a_reader(tmp_path):
    path = tmp_path / "inv.sqlite"
    with open_store(path) as inv:
        inv.db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    before = path.read_bytes()
    out = CliRunner().invoke(cli, ["history", "--db", str(path)])
    assert "database schema 1 is older than this camsweep" in str(out.exception)
    assert path.read_bytes() == before


def test_the_restrictions_listing_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = CliRunner().invoke(cli, ["restrictions", "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.output)
    assert list(tmp_path.iterdir()) == []
