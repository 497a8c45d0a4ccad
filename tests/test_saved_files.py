"""Issue 19, saved files and writers: a regression test per case (inputs from tests/hostile_files.py).

1. every JSON/SQLite writer encodes what reaches it (a lone surrogate from a device included);
2. malformed saved scans, short-form input and damaged inventories are one line and exit 2;
3. no raw control or bidi character reaches a terminal (run under a real pty);
4. ``--db`` through a dangling symlink is refused, and new databases are 0600;
5. a failed store prints the report first, then one line, exit 5.
"""

from __future__ import annotations

import json
import os
import pty
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from camsweep.reports import render, render_report
from camsweep.reports.text import for_terminal
from camsweep import jsonio
from camsweep.cli import main
from camsweep.cli._finish import Outputs, finish
from camsweep.errors import ExitCode, InputFileError, InventoryError
from camsweep.findings import evaluate
from camsweep.store.sqlite import SqliteStore
from camsweep.models import ScanResult
from camsweep.savedscan import read_scan, save_state
from camsweep.shortform import load
from tests.hostile_files import (
    DAMAGE, IP, RAW_CONTROLS, SURROGATE_MODEL, TERMINAL_HOSTILE, dhip_pcap, empty_pcap, planted, result_with_model,
    saved_scan, short_form_host, to_json, write_inventory,
)
from tests.schema_check import report_json, scan_json


def run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    """``camsweep ARGS`` in-process with real UTF-8 streams (an unencodable character raises, as
    on a real terminal); any exception other than SystemExit escapes and fails the test."""
    with CliRunner().isolation(input=stdin) as (out, err, _):
        try:
            main(args)
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


def assert_one_line_error(code: int, err: str) -> None:
    assert code == ExitCode.USAGE, err
    assert err.startswith("camsweep: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- 1. writers


def test_dumps_writes_unencodable_and_unprintable_text_as_escapes() -> None:
    value = SURROGATE_MODEL + "\x9b\u202e\x7f 😀 é"
    text = jsonio.dumps({"model": value})
    text.encode("utf-8")
    assert "😀 é" in text  # UTF-8, not \u escapes: stored JSON is not six times bigger
    assert "\\ud800" in text and "\\u009b" in text and "\\u202e" in text and "\\u007f" in text
    assert json.loads(text) == {"model": value}  # lossless


@pytest.mark.parametrize("sort_keys", [False, True])
def test_dumps_streams_the_top_levels_yet_writes_what_json_dumps_writes(sort_keys: bool) -> None:
    """dumps walks a report's top container levels itself (so a 1,000-device report is not held
    twice while encoded); the text must still be json.dumps's, escapes aside, at every depth,
    for empty containers, tuples, non-string keys (json converts them) and the odd floats."""
    deep: object = {"leaf": ["x", 1.5]}
    for level in range(8):
        deep = {f"k{level}": deep, "list": [deep, (), {}], "tuple": (level, None, True)}
    cases = [deep, {}, [], (), {1: "one", "two": 2}, [{2.5: "x", None: [1]}], {"nan": float("nan"), "big": 1e300},
             {"b": 1, "a": {"d": [], "c": {"é📷": "\u0085"}}}, "top-level string", 42]
    for value in cases:
        try:
            want = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys)
        except TypeError:  # sorting keys of mixed types: json refuses, and so does dumps
            with pytest.raises(TypeError):
                jsonio.dumps(value, sort_keys=sort_keys)
            continue
        assert jsonio.dumps(value, sort_keys=sort_keys) == jsonio._ESCAPED.sub(jsonio._escape, want)


def test_last_scan_and_inventory_keep_a_lone_surrogate(tmp_path: Path) -> None:
    result = result_with_model(SURROGATE_MODEL)
    saved = save_state(result, tmp_path / "state")
    assert read_scan(str(saved)) == result
    with SqliteStore(tmp_path / "inv.sqlite") as inv:
        scan_id = inv.store(result)
        assert inv.load(scan_id) == result
        [sighting] = inv.sightings(scan_id).values()
        assert sighting.model == "IPC-\ufffd"  # a column can only hold text; the scan JSON keeps it exact


def test_inventory_stores_utf8_not_ascii_escapes(tmp_path: Path) -> None:
    path = tmp_path / "inv.sqlite"
    with SqliteStore(path) as inv:
        inv.store(result_with_model("IPC-😀"))
    stored = sqlite3.connect(path).execute("SELECT result FROM scans").fetchone()[0]
    assert "IPC-😀" in stored and "\\ud83d" not in stored


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_every_report_format_encodes_a_lone_surrogate(fmt: str) -> None:
    result = result_with_model(SURROGATE_MODEL)
    render_report(evaluate(result), fmt).encode("utf-8")
    if fmt in ("table", "json"):
        render(result, fmt).encode("utf-8")


@pytest.mark.parametrize("args", [
    ["identify", "--format", "json"], ["identify"], ["report", "--format", "json"], ["report", "--format", "html"],
    ["report", "--format", "csv"], ["report"], ["explain", IP, "--format", "json", "--scan"], ["explain", IP, "--scan"],
])
def test_identify_report_explain_read_saved_json_holding_a_lone_surrogate(tmp_path: Path, args: list[str]) -> None:
    scan = planted(("devices", 0, "verdict", "model"), SURROGATE_MODEL)
    scan = planted(("devices", 0, "device", "observations", -1, "fields", "dhip.model"), SURROGATE_MODEL, scan)
    path = tmp_path / "scan.json"
    path.write_text(to_json(scan), encoding="utf-8")  # the \ud800 escape, as a device sent it
    code, out, err = run([*args, str(path)])
    assert code in (ExitCode.OK, ExitCode.RESTRICTED) and err == "", err
    if "json" in args:
        # identify re-reads the observations, which replace the surrogate (and say so); report and
        # explain print the saved verdict, which keeps it, escaped: both encode, neither is lost.
        shown = json.dumps(report_json(out) if "report" in args else scan_json(out) if "identify" in args else json.loads(out),
                           ensure_ascii=False)
        assert SURROGATE_MODEL in shown or "IPC-\ufffd" in shown


def test_finish_prints_and_stores_a_result_holding_a_lone_surrogate(tmp_path: Path, capsys) -> None:
    result = result_with_model(SURROGATE_MODEL)
    code = finish(result, Outputs(fmt="json", db_path=str(tmp_path / "inv.sqlite"), state_dir=str(tmp_path / "state"),
                                  keep_last_scan=True))
    out = capsys.readouterr().out
    assert code == ExitCode.RESTRICTED
    assert report_json(out)["scan"]["devices"][0]["verdict"]["model"] == SURROGATE_MODEL
    scan_json((tmp_path / "state" / "last-scan.json").read_text(encoding="utf-8"))
    assert read_scan(str(tmp_path / "state" / "last-scan.json")) == result
    with SqliteStore(tmp_path / "inv.sqlite") as inv:
        assert inv.load(inv.resolve("last")) == result


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_scan_pcap_of_one_dhip_answer_with_a_lone_surrogate_prints_and_stores(tmp_path: Path, fmt: str) -> None:
    # The reproducer: one packet, once exit 1 with nothing printed and nothing stored.
    pcap = tmp_path / "one.pcap"
    pcap.write_bytes(dhip_pcap(SURROGATE_MODEL))
    db, state = tmp_path / "inv.sqlite", tmp_path / "state"
    code, out, err = run(["scan", "--pcap", str(pcap), "--db", str(db), "--state-dir", str(state), "--format", fmt])
    assert code in (ExitCode.OK, ExitCode.RESTRICTED) and "Traceback" not in err, err
    assert "1 device(s)" in out or report_json(out)["counts"]["devices"] == 1
    assert read_scan(str(state / "last-scan.json")).devices
    with SqliteStore(db) as inv:
        assert inv.load(inv.resolve("last")).devices


# --------------------------------------------------------------------------- 2. malformed input: one line, exit 2

OBS = ("devices", 0, "device", "observations", 0)
MALFORMED_SCANS = [
    (("devices", 0, "device", "ips", 0), "not-an-ip", "is not an IP address"),
    ((*OBS, "ip"), "not-an-ip", "is not an IP address"),
    (("devices", 0, "device", "macs", 0), "zz:zz", "is not a MAC address"),
    (("devices", 0, "device", "open_ports", 0), float("inf"), "inf is not a whole number"),
    ((*OBS, "port"), float("inf"), "inf is not a whole number"),
    ((*OBS, "port"), 99999, "is not from 0 to 65535"),
    (("devices", 0, "device", "ips", 0), None, "expected a string, got null"),
    (("devices", 0), None, "expected an object, got null"),
    (("devices", 0, "verdict"), None, "devices[0].verdict: must not be null"),
    (("devices", 0, "verdict", "confidence"), float("nan"), "nan is not a number from 0.0 to 1.0"),
    (("devices", 0, "verdict", "confidence"), float("inf"), "inf is not a number"),
    (("devices", 0, "verdict", "hits", 0, "tier"), 5, "is not one of firmware"),
    (("devices", 0, "verdict", "manufacturer"), ["hikvision"], "is not one of"),
    ((*OBS, "time"), "yesterday", "is not an ISO 8601 time"),
    ((*OBS, "fields"), {"x": ["nested"]}, "expected a string, got a list"),
    ((*OBS, "fields"), {"x": None}, "expected a string, got null"),
    ((*OBS, "kind"), "camera", "is not one of http_response"),
    (("partial",), "yes", "expected true or false"),
    (("notes",), "a note", "expected a list, got a string"),
    (("targets",), [[[[[[["deep"]]]]]]], "expected a string, got a list"),
    (("started",), 1e999, "expected a string, got a number"),
    (("schema_version",), True, "schema_version True"),
]


@pytest.mark.parametrize("path,value,message", MALFORMED_SCANS)
def test_malformed_saved_scan_is_one_line_and_exit_2(tmp_path: Path, path, value, message) -> None:
    file = tmp_path / "scan.json"
    file.write_text(to_json(planted(path, value)), encoding="utf-8")
    with pytest.raises(InputFileError, match="^" + str(file)) as raised:
        read_scan(str(file))
    assert message in str(raised.value) and "\n" not in str(raised.value)
    for args in (["identify"], ["report"], ["explain", IP, "--scan"]):
        code, out, err = run([*args, str(file)])
        assert_one_line_error(code, err)
        assert message in err and out == ""


MALFORMED_HOSTS = [
    ({"ip": "not-an-ip"}, "'not-an-ip' is not an IP address"),
    ({"ip": IP, "mac": 5}, "mac: expected a string, got a number"),
    ({"ip": IP, "ports": [1e999]}, "ports[0]: inf is not a whole number"),
    ({"ip": IP, "ports": [None]}, "ports[0]: expected a whole number, got null"),
    ({"ip": IP, "ports": "80"}, "ports: expected a list"),
    ({"ip": IP, "http": [{"status": 1e999}]}, "http[0].status: inf is not a whole number"),
    ({"ip": IP, "http": [None]}, "http[0]: expected an object, got null"),
    ({"ip": IP, "http": [{"headers": [["Server"]]}]}, "http[0].headers[0]: expected a [name, value] pair"),
    ({"ip": IP, "http": [{"body": {"a": 1}}]}, "http[0].body: expected a string"),
    ({"ip": IP, "rtsp": 5}, "rtsp: expected a string"),
    ({"ip": IP, "dhip": [1, 2]}, "dhip: expected an object or a string"),
    ({"ip": IP, "onvif_device_info": {"Model": None}}, "expected a string, got null"),
    ({"ip": IP, "mdns": [{"port": "80"}]}, "mdns[0].port: expected a whole number, got a string"),
    ({"ip": IP, "mdns": [{"txt": 5}]}, "mdns[0].txt: expected an object, a list or a string"),
    ({"ip": IP, "dhcp": {"param_list": [1e999]}}, "dhcp.param_list[0]: inf is not a whole number"),
    ({"ip": IP, "dhcp": "host"}, "dhcp: expected an object, got a string"),
]


@pytest.mark.parametrize("host,message", MALFORMED_HOSTS)
def test_malformed_short_form_is_one_line_and_exit_2(tmp_path: Path, host, message) -> None:
    file = tmp_path / "hosts.json"
    file.write_text(to_json([short_form_host(), host]), encoding="utf-8")
    with pytest.raises(InputFileError) as raised:
        load([str(file)])
    assert message in str(raised.value) and "\n" not in str(raised.value)
    code, _, err = run(["identify", str(file)])
    assert_one_line_error(code, err)
    assert message in err


@pytest.mark.parametrize("text,message", [
    ('{"ip": "198.18.0.5", "ports": [' + "8" * 5000 + "]}", "a whole number of 5000 digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("5", "expected a JSON object per host, got a number"),
    ('{"ip": "198.18.0.5"}\n{"ip": 1e999}', "expected a string, got a number"),
])
def test_malformed_json_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "in.json"
    file.write_text(text, encoding="utf-8")
    for args in (["identify"], ["report"]):
        code, _, err = run([*args, str(file)])
        assert_one_line_error(code, err)
    assert message in run(["identify", str(file)])[2]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_inventory_is_one_line_and_exit_2(tmp_path: Path, damage: str) -> None:
    path = write_inventory(tmp_path / "inv.sqlite")
    DAMAGE[damage](path)
    codes = []
    for args in (["history"], ["history", "--format", "json"], ["diff"], ["report"], ["report", "1"]):
        code, _, err = run([*args, "--db", str(path)])
        codes.append(code)
        if code == ExitCode.USAGE:
            assert_one_line_error(code, err)
        else:  # the damage is in a part this command does not read
            assert code in (ExitCode.OK, ExitCode.RESTRICTED) and err == "", err
    assert ExitCode.USAGE in codes


def test_an_undamaged_inventory_reads_back(tmp_path: Path) -> None:
    path = str(write_inventory(tmp_path / "inv.sqlite"))
    assert run(["history", "--db", path])[0] == 0
    code, out, _ = run(["diff", "--db", path])
    assert code == 0 and "firmware changed" in out
    assert run(["report", "--db", path])[0] == ExitCode.RESTRICTED


# --------------------------------------------------------------------------- 3. terminal output, under a real pty


def run_in_pty(args: list[str]) -> tuple[int, str]:
    """``camsweep ARGS`` as a child whose stdout and stderr are a real terminal (a pty)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "camsweep", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8")


def _hostile_scan() -> dict:
    """A saved scan with terminal-hostile text in every text field a renderer shows."""
    scan = saved_scan()
    verdict = scan["devices"][0]["verdict"]
    for key in ("brand", "model", "firmware", "serial", "summary", "confidence_level"):
        verdict[key] = TERMINAL_HOSTILE
    verdict["conflicts"] = [TERMINAL_HOSTILE]
    for hit in verdict["hits"]:
        hit.update(rule_id=TERMINAL_HOSTILE, probe=TERMINAL_HOSTILE, field=TERMINAL_HOSTILE, value=TERMINAL_HOSTILE)
    for obs in scan["devices"][0]["device"]["observations"]:
        obs.update(probe=TERMINAL_HOSTILE, problem=TERMINAL_HOSTILE, raw=TERMINAL_HOSTILE)
        obs["fields"] = {TERMINAL_HOSTILE: TERMINAL_HOSTILE}
    scan["devices"][0]["device"]["hostnames"] = [TERMINAL_HOSTILE]
    scan["notes"] = [TERMINAL_HOSTILE]
    scan["operator"] = scan["mode"] = TERMINAL_HOSTILE
    scan["targets"] = [TERMINAL_HOSTILE]
    return scan


@pytest.mark.parametrize("args", [
    ["explain", IP, "--scan"], ["explain", IP, "--format", "json", "--scan"], ["identify", "--format", "json"],
    ["report"], ["report", "--format", "json"], ["report", "--format", "csv"],
])
def test_no_raw_control_or_bidi_character_reaches_a_terminal(tmp_path: Path, args: list[str]) -> None:
    file = tmp_path / "scan.json"
    file.write_text(to_json(_hostile_scan()), encoding="utf-8")
    code, text = run_in_pty([*args, str(file)])
    assert code in (ExitCode.OK, ExitCode.RESTRICTED), text
    assert "Traceback" not in text
    visible = re.sub("\x1b\\[[0-9;]*m", "", text)  # the table's own colours (a terminal report), nothing else
    for char in RAW_CONTROLS:
        assert char not in visible, (char, text[:2000])
    if "json" in args:  # escaped, not lost: the JSON read back holds the exact text
        assert TERMINAL_HOSTILE in _strings(json.loads(text))


def _strings(doc: object) -> set[str]:
    """Every key and string value in a decoded JSON document."""
    if isinstance(doc, dict):
        return set(doc).union(*(_strings(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(_strings(v) for v in doc))
    return {doc} if isinstance(doc, str) else set()


def test_history_and_diff_under_a_pty_escape_stored_text(tmp_path: Path) -> None:
    scan = planted(("targets",), [TERMINAL_HOSTILE])
    scan = planted(("devices", 0, "verdict", "model"), TERMINAL_HOSTILE, scan)
    with SqliteStore(tmp_path / "inv.sqlite") as inv:
        inv.store(ScanResult.from_dict(saved_scan()))
        inv.store(ScanResult.from_dict(scan))
    for args in (["history"], ["history", "--format", "json"], ["diff"], ["diff", "--format", "json"]):
        code, text = run_in_pty([*args, "--db", str(tmp_path / "inv.sqlite")])
        assert code == 0 and "Traceback" not in text
        assert not any(char in text for char in RAW_CONTROLS), text


def test_for_terminal_keeps_layout_and_drops_the_rest() -> None:
    assert for_terminal("a\tb\nc\r\nd\re\x1b[2J\x9b\u202e\ud800") == "a\tb\nc\r\nd?e?[2J???"


# --------------------------------------------------------------------------- 4. --db: no dangling symlink, new files 0600


@pytest.fixture()
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_db_through_a_dangling_symlink_is_refused(tmp_path: Path, usual_umask) -> None:
    link, target = tmp_path / "inv.sqlite", tmp_path / "elsewhere" / "inv.sqlite"
    target.parent.mkdir()
    link.symlink_to(target)
    with pytest.raises(InventoryError, match="symbolic link to a missing file"):
        SqliteStore(link)
    pcap = tmp_path / "empty.pcap"
    pcap.write_bytes(empty_pcap())
    for args in (["history"], ["scan", "--pcap", str(pcap), "--state-dir", str(tmp_path / "state")]):
        code, out, err = run([*args, "--db", str(link)])
        assert_one_line_error(code, err)
        assert out == ""  # refused before anything ran
    assert not target.exists()


def test_db_through_a_symlink_to_an_existing_database_is_used(tmp_path: Path) -> None:
    real = write_inventory(tmp_path / "real.sqlite")
    link = tmp_path / "link.sqlite"
    link.symlink_to(real)
    code, out, _ = run(["history", "--db", str(link), "--format", "json"])
    assert code == 0 and len(json.loads(out)) == 2


def test_a_new_database_is_created_0600(tmp_path: Path, usual_umask) -> None:
    pcap = tmp_path / "empty.pcap"
    pcap.write_bytes(empty_pcap())
    db = tmp_path / "new" / "inv.sqlite"
    code, _, err = run(["scan", "--pcap", str(pcap), "--db", str(db), "--state-dir", str(tmp_path / "state")])
    assert code == 0, err
    assert db.stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- 5. a failed store hides nothing


def _failing_inventory(path: Path) -> Path:
    """A real inventory whose next store fails, as on a full disk or a database gone read-only."""
    write_inventory(path)
    con = sqlite3.connect(path)
    con.execute("CREATE TRIGGER no_room BEFORE INSERT ON scans BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    con.commit()
    con.close()
    return path


def test_a_failed_store_prints_the_report_then_one_line_and_exit_5(tmp_path: Path) -> None:
    pcap = tmp_path / "empty.pcap"
    pcap.write_bytes(empty_pcap())
    db = _failing_inventory(tmp_path / "inv.sqlite")
    report = tmp_path / "report.html"
    code, out, err = run(["scan", "--pcap", str(pcap), "--db", str(db), "--state-dir", str(tmp_path / "state")])
    assert code == ExitCode.SCAN_FAILED
    assert "0 device(s)" in out and "remediation list" in out  # the whole report, first
    errors = [line for line in err.splitlines() if not line.startswith("note: ")]  # notes go to stderr too
    assert len(errors) == 1 and "this scan was not stored" in errors[0] and "disk is full" in errors[0]
    assert (tmp_path / "state" / "last-scan.json").exists()
    code, _, err = run(["scan", "--pcap", str(pcap), "--db", str(db), "--state-dir", str(tmp_path / "state"),
                        "--format", "html", "-o", str(report)])
    assert code == ExitCode.SCAN_FAILED and report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fail_on", ["restricted", "new"])
def test_a_failed_store_exits_5_even_with_restricted_devices(tmp_path: Path, capsys, fail_on: str) -> None:
    # README "Exit codes": 4 needs the inventory, so a result that could not be stored exits 5.
    db = _failing_inventory(tmp_path / "inv.sqlite")
    code = finish(result_with_model("IPC-HDW1431T1-S4"), Outputs(db_path=str(db), fail_on=fail_on, policy="us-federal"))
    out, err = capsys.readouterr()
    assert code == ExitCode.SCAN_FAILED and "1 restricted" in out and err.count("\n") == 1
    with SqliteStore(db) as inv:
        assert len(inv.scans()) == 2  # the earlier scans are intact
