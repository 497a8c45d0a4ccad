"""Report renderers (table, JSON, CSV), write_atomic and the ``camsweep report`` command."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import replace
from datetime import date

import pytest
from camsweep import restrictions
from camsweep.cli import main
from camsweep.errors import OutputError
from camsweep.findings import evaluate
from camsweep.models import ScanResult
from camsweep.reports import REPORT_FORMATS, render, render_report
from camsweep.reports.csv_doc import COLUMNS, safe_cell
from camsweep.savedscan import write_atomic

from tests.schema_check import jsonl_records, report_json, scan_json
from tests.test_findings import (
    HOSTILE_FIRMWARE,
    HOSTILE_MODEL,
    sample_devices,
    sample_result,
)

DATA = restrictions.load()


@pytest.fixture(scope="module")
def assessment():
    return evaluate(sample_result(), "uk-sensitive-sites", data=DATA, operator="alice")


@pytest.fixture(scope="module")
def unchosen():
    """The same scan with no policy chosen."""
    return evaluate(sample_result(), data=DATA, operator="alice")


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture()
def scan_file(tmp_path):
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(sample_result().to_dict()), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- identify renderers stay


def test_scan_renderers_used_by_identify_still_work():
    result = sample_result()
    table = render(result, "table")
    assert "198.18.0.21" in table and "9 device(s)" in table
    assert ScanResult.from_dict(scan_json(render(result, "json"))).devices == result.devices


# --------------------------------------------------------------------------- terminal table


def test_remediation_table(assessment):
    text = render_report(assessment, "table")
    lines = text.splitlines()
    assert lines[0].startswith(f"camsweep remediation list -- policy uk-sensitive-sites; judged at 2026-11-20; "
                               f"restrictions data {DATA.version} (as of {DATA.as_of})")
    assert "KEV as of 2026-08-22" in lines[0]
    body = text.split("Needs a manual check")[0]
    # Most urgent first: the two devices with known-exploited firmware.
    assert body.index("198.18.0.21") < body.index("198.18.1.41") < body.index("198.18.0.30")
    assert "CVE-2021-36260" in body and "Lorex (made by Dahua, OEM)" in body
    # Each action names its instrument, the deadline keeps its month precision and its instrument.
    assert "removal (UK-TIMELINE)" in body and "2025-04 (UK-TIMELINE) OVERDUE" in body
    assert "update-firmware; isolate" in body  # recommendations, in their own column
    assert "198.18.0.70" not in text  # the Axis camera is clear
    manual = text.split("Needs a manual check (2):")[1]
    assert "198.18.1.50" in manual and "network-tier evidence" in manual
    assert "198.18.0.80" not in text  # an Annke label alone (a "mix" brand) is no reason to check
    assert ("9 device(s): 5 restricted, 0 listed (no duty under the policy), 2 need a manual check, 2 clear; "
            "2 with known-exploited firmware; 5 with an overdue deadline") in text


def test_remediation_table_without_a_policy_has_no_deadline(unchosen):
    text = render_report(unchosen, "table")
    assert "policy none;" in text.splitlines()[0]
    assert "No policy chosen" in text and "--policy NAME" in text
    assert "OVERDUE" not in text and "2025-04" not in text and "removal (" not in text
    # Every instrument naming the maker, counted per jurisdiction (the ids are in csv, json and html).
    assert "US 18, US-VT 1, US-LA 1, UK 3, AU 1, CA 1, LT 1, TW 1, IN 1, UA 1, DK 1, NZ 1, corporate 3" in text
    assert "5 listed (Hikvision/Dahua-made; no policy chosen)" in text


def test_remediation_table_strips_terminal_escapes():
    devices = sample_devices()
    first = devices[0]
    hostile = replace(first, verdict=replace(first.verdict, model="DS-2CD2143G2-I\x1b[2J\x1b]0;pwned\x07\u202e"))
    text = render_report(evaluate(sample_result([hostile]), data=DATA), "table")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


def test_remediation_table_without_findings():
    text = render_report(evaluate(sample_result(devices=sample_devices()[6:7]), data=DATA), "table")
    assert "No Hikvision or Dahua device found." in text
    assert "1 device(s): 0 restricted" in text


# --------------------------------------------------------------------------- JSON


def test_report_json(assessment):
    doc = report_json(render_report(assessment, "json"))
    assert doc["report_version"] == 1 and doc["policies"] == ["uk-sensitive-sites"] and doc["operator"] == "alice"
    assert doc["policy_chosen"] and doc["evaluated_on"] == "2026-11-20" and doc["warnings"] == []
    assert doc["data_versions"]["restrictions_version"] == DATA.version
    assert doc["data_versions"]["kev_as_of"] == "2026-08-22"
    assert doc["data_versions"]["fingerprints"] == "2026.11.25"  # the scan's own versions are kept
    assert doc["counts"]["restricted"] == 5 and len(doc["findings"]) == 9
    assert doc["findings"][0]["kev"][0]["cve"] == "CVE-2021-36260"
    assert {i["id"] for i in doc["instruments"]} == {"UK-WMS22", "UK-TIMELINE"}
    action = next(a for a in doc["findings"][0]["actions"] if a["instruments"] == ["UK-TIMELINE"])
    assert action["deadline"] == {"value": "2025-04", "precision": "month",
                                  "what": "all such equipment on sensitive sites replaced \"by April 2025\""}
    assert action["overdue"] is True and action["kind"] == "removal"
    assert [r["id"] for r in doc["findings"][0]["recommendations"]] == ["update-firmware", "isolate"]
    # The full scan rides along and reads back.
    assert ScanResult.from_dict(doc["scan"]).devices == sample_result().devices


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'?x"),  # prefixed, and the CR itself (a control character) replaced
        ("DS\x1b]0;t\x07-2CD", "DS?]0;t?-2CD"),  # no escape sequence reaches a terminal
        ("a\nb", "a\nb"),  # line breaks stay: the writer quotes them
        ("DS-2CD2143G2-I", "DS-2CD2143G2-I"),
        ("", ""),
        (None, ""),
        (3, "3"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_csv_report_lists_every_device(assessment):
    text = render_report(assessment, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == COLUMNS
    body = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    # Every device, clear ones too, most urgent first.
    assert [r["status"] for r in body] == ["restricted"] * 5 + ["manual-check"] * 2 + ["clear"] * 2
    assert {r["ip"] for r in body} == {ip for f in assessment.findings for ip in f.location.ips}
    result = assessment.result
    for r in body:
        assert (r["scan_id"], r["scan_time"], r["operator"]) == (result.scan_id, "2026-11-20T09:00:00+00:00", "alice")
        assert r["restrictions_version"] == DATA.version and r["kev_as_of"] == "2026-08-22"
        assert r["policy"] == "uk-sensitive-sites" and r["evaluated_on"] == "2026-11-20"
        # Not in an inventory: seen only in this scan.
        assert r["first_seen"] == r["last_seen"] == "2026-11-20T09:00:00+00:00"
    first = body[0]
    assert first["ip"] == "198.18.0.21" and first["priority"] == "1" and "CVE-2021-36260 affected" in first["kev"]
    assert first["deadlines"] == "2025-04 (UK-TIMELINE) OVERDUE" and first["overdue"] == "yes"
    assert "Remove and replace it on sensitive sites (UK-TIMELINE) by 2025-04" in first["action"]
    assert "CISA Known Exploited Vulnerabilities catalog" in first["recommendations"]
    assert (first["confidence_level"], first["confidence"]) == ("high", "0.97")
    finding = assessment.findings[0]
    assert first["evidence_rule_ids"].split() == list(dict.fromkeys(e.rule_id for e in finding.evidence))
    clear = body[-1]
    assert clear["status"] == "clear" and clear["action"] == "" and clear["deadlines"] == ""
    hostile = next(r for r in body if r["ip"] == "198.18.0.90")
    assert hostile["firmware"] == "'" + HOSTILE_FIRMWARE
    assert hostile["model"] == "<script>alert(1)</script>"  # plain text in a CSV; the HTML report escapes it
    # No cell anywhere can start a formula.
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_csv_gives_every_evidence_rule_id_however_many():
    first = sample_devices()[0]
    hits = tuple(replace(first.verdict.hits[0], rule_id=f"rule-{n:02d}") for n in range(30))
    item = replace(first, verdict=replace(first.verdict, hits=first.verdict.hits + hits))
    text = render_report(evaluate(sample_result([item]), data=DATA), "csv")
    row = dict(zip(COLUMNS, list(csv.reader(io.StringIO(text)))[1], strict=True))
    assert [f"rule-{n:02d}" for n in range(30)] == [r for r in row["evidence_rule_ids"].split() if r.startswith("rule-")]
    assert "more" not in row["evidence_rule_ids"]


def test_every_export_names_the_site_the_scan_was_made_at():
    at_site = evaluate(replace(sample_result(), site="north-depot"), data=DATA)
    rows = list(csv.DictReader(io.StringIO(render_report(at_site, "csv"))))
    assert {r["site"] for r in rows} == {"north-depot"} and len(rows) == 9
    assert {r["site"] for r in jsonl_records(render_report(at_site, "jsonl"))} == {"north-depot"}
    bom = json.loads(render_report(at_site, "cyclonedx"))
    assert {"name": "camsweep:site", "value": "north-depot"} in bom["metadata"]["properties"]


def test_jsonl_one_valid_record_per_device(assessment):
    text = render_report(assessment, "jsonl")
    records = jsonl_records(text)  # each line alone follows the device-record schema
    assert len(records) == len(text.splitlines()) == 9
    assert [r["key"] for r in records] == [f.key for f in assessment.findings]
    first = records[0]
    assert first["scan_id"] == assessment.result.scan_id and first["operator"] == "alice"
    assert first["status"] == "restricted" and first["model"] == "DS-2CD2143G2-I"
    assert first["first_seen"] == first["last_seen"] == "2026-11-20T09:00:00+00:00"
    assert first["data_versions"]["restrictions_version"] == DATA.version
    # Evidence: each distinct hit once, with the ports it came from.
    keys = [(h["rule_id"], h["field"], h["value"]) for h in first["evidence"]]
    assert len(keys) == len(set(keys)) and all(isinstance(h["ports"], list) for h in first["evidence"])
    assert render_report(evaluate(sample_result([]), data=DATA), "jsonl") == ""  # no device, no line


def test_distinct_evidence_merges_repeats_and_keeps_ports():
    from camsweep.reports.records import distinct_evidence

    first = sample_devices()[0]
    hit = first.verdict.hits[0]
    repeats = (replace(hit, port=80), replace(hit, port=8000), replace(hit, port=80), replace(hit, port=None))
    item = replace(first, verdict=replace(first.verdict, hits=(*repeats, replace(hit, value="other"))))
    finding = evaluate(sample_result([item]), data=DATA).findings[0]
    merged = [(h.evidence.rule_id, h.evidence.value, h.ports) for h in distinct_evidence(finding)]
    assert merged.count((hit.rule_id, hit.value, (80, 8000))) == 1
    assert (hit.rule_id, "other", ()) in merged and len(merged) == len({m[:2] for m in merged})


def test_cyclonedx_bom_is_valid_and_lists_every_device(assessment):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_report(assessment, "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    assert bom["serialNumber"] == f"urn:uuid:{assessment.result.scan_id}"
    components = {c["bom-ref"]: c for c in bom["components"]}
    assert len(components) == 9 and all(c["type"] == "device" for c in components.values())
    first = assessment.findings[0]
    props: dict[str, list[str]] = {}
    for p in components[f"device:{first.key}"]["properties"]:
        props.setdefault(p["name"], []).append(p["value"])
    assert components[f"device:{first.key}"]["manufacturer"] == {"name": "Hikvision"}
    assert props["camsweep:manufacturer"] == ["Hikvision"] and props["camsweep:brand"] == ["Hikvision"]
    assert props["camsweep:model"] == ["DS-2CD2143G2-I"] and props["camsweep:firmware"] == ["V5.5.0 build 200619"]
    assert props["camsweep:serial"] == [first.serial] and props["camsweep:mac"] == list(first.location.macs)
    assert props["camsweep:ip"] == ["198.18.0.21"] and props["camsweep:status"] == ["restricted"]
    scan_props = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
    assert scan_props["camsweep:operator"] == "alice" and scan_props["camsweep:restrictions_version"] == DATA.version
    # Device text is data in the BOM, never anything else (it is JSON: escaped, not interpreted).
    hostile = next(c for c in bom["components"] if any(p["value"] == "198.18.0.90" for p in c["properties"]))
    assert hostile["name"] == HOSTILE_MODEL


def test_csv_defuses_formulas_in_every_device_field():
    first = sample_devices()[0]
    device = replace(first.device, hostnames=("=cmd|' /C calc'!A0",), ips=("198.18.0.21",))
    verdict = replace(first.verdict, brand="+Hikvision", model="@SUM(1)", serial="-1")
    text = render_report(evaluate(sample_result([replace(first, device=device, verdict=verdict)]), data=DATA), "csv")
    row = dict(zip(COLUMNS, list(csv.reader(io.StringIO(text)))[1]))
    assert row["hostname"] == "'=cmd|' /C calc'!A0"
    assert (row["brand"], row["model"], row["serial"]) == ("'+Hikvision", "'@SUM(1)", "'-1")


# --------------------------------------------------------------------------- write_atomic


def test_write_atomic_writes_and_replaces(tmp_path):
    target = tmp_path / "report.html"
    write_atomic(target, "first")
    write_atomic(target, "second ✓")
    assert target.read_text(encoding="utf-8") == "second ✓"
    assert os.listdir(tmp_path) == ["report.html"]  # no temporary file left behind


def test_write_atomic_keeps_permissions(tmp_path):
    target = tmp_path / "private.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    write_atomic(target, "new")
    assert target.stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.html"
    shared.write_text("old", encoding="utf-8")
    shared.chmod(0o644)
    write_atomic(shared, "new")
    assert shared.stat().st_mode & 0o777 == 0o644  # chmod once, kept on every later write


def test_write_atomic_new_file_is_private(tmp_path):
    # Reports and saved scans list vulnerable devices: a new one is 0600 whatever the umask.
    for umask in (0o022, 0o002, 0o000):
        fresh = tmp_path / f"fresh-{umask:o}.csv"
        old_umask = os.umask(umask)
        try:
            write_atomic(fresh, "x")
        finally:
            os.umask(old_umask)
        assert fresh.stat().st_mode & 0o777 == 0o600


def test_write_atomic_never_copies_setid_bits_or_a_link_target_mode(tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o4755)
    write_atomic(target, "new")
    assert target.stat().st_mode & 0o7777 == 0o755
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("keep", encoding="utf-8")
    elsewhere.chmod(0o666)
    link = tmp_path / "link.csv"
    link.symlink_to(elsewhere)
    write_atomic(link, "new")
    assert not link.is_symlink() and link.stat().st_mode & 0o777 == 0o600
    assert elsewhere.read_text(encoding="utf-8") == "keep"


def test_write_atomic_unwritable_path(tmp_path):
    with pytest.raises(OutputError) as info:
        write_atomic(tmp_path / "no" / "such" / "dir" / "r.csv", "x")
    assert str(info.value).startswith(f"cannot write report to {tmp_path}/no/such/dir/r.csv: ")
    assert "\n" not in str(info.value) and info.value.exit_code == 2
    with pytest.raises(OutputError, match="it is a directory"):
        write_atomic(tmp_path, "x")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- camsweep report


def test_cli_report_table_exit_3(scan_file, capsys):
    # Without a policy, 3 still means "Hikvision/Dahua-made devices found" (README "Exit codes").
    code, out, err = run_cli(["report", str(scan_file)], capsys)
    assert code == 3 and "camsweep remediation list -- policy none" in out and err == ""
    code, out, err = run_cli(["report", str(scan_file), "--policy", "uk-sensitive-sites"], capsys)
    assert code == 3 and "5 restricted" in out and err == ""


def test_cli_report_as_of_judges_deadlines_at_that_date(scan_file, capsys):
    # UK-TIMELINE's deadline is April 2025 (month precision): not past on its last day, past the next.
    code, out, _ = run_cli(["report", str(scan_file), "--policy", "uk-sensitive-sites", "--as-of", "2025-04-30"], capsys)
    assert code == 3 and "judged at 2025-04-30" in out and "2025-04 (UK-TIMELINE)" in out and "OVERDUE" not in out
    code, out, _ = run_cli(["report", str(scan_file), "--policy", "uk-sensitive-sites", "--as-of", "2025-05-01"], capsys)
    assert code == 3 and "2025-04 (UK-TIMELINE) OVERDUE" in out
    code, _, err = run_cli(["report", str(scan_file), "--as-of", "30/04/2025"], capsys)
    assert code == 2 and "--as-of must be a date YYYY-MM-DD, not '30/04/2025'" in err and err.count("\n") == 1


def test_cli_report_warns_when_the_data_is_old(scan_file, capsys):
    # At a date more than --max-data-age days after the data's as-of, every report says so.
    _, out, _ = run_cli(["report", str(scan_file), "--as-of", "2027-12-01", "--max-data-age", "30"], capsys)
    assert f"WARNING: the restrictions data is {(date(2027, 12, 1) - DATA.as_of).days} days old at 2027-12-01" in out
    _, out, _ = run_cli(["report", str(scan_file), "--as-of", "2026-12-10"], capsys)
    assert "WARNING" not in out.split("KEV as of")[1].split("\n")[1]  # the default (180 days) is not yet reached


def test_every_report_format_has_one_renderer():
    from camsweep.reports import REPORT_RENDERERS

    assert tuple(REPORT_RENDERERS) == REPORT_FORMATS == ("table", "json", "csv", "jsonl", "cyclonedx", "html")


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_cli_report_formats_to_file(scan_file, tmp_path, capsys, fmt):
    target = tmp_path / f"out.{fmt}"
    code, out, _ = run_cli(["report", str(scan_file), "--format", fmt, "-o", str(target)], capsys)
    assert code == 3 and out == ""
    text = target.read_text(encoding="utf-8")
    assert DATA.version in text and DATA.as_of.isoformat() in text  # the data version and as-of are in every format
    if fmt == "json":
        report_json(text)
    elif fmt == "jsonl":
        assert len(jsonl_records(text)) == 9


def test_cli_report_policy_without_a_duty_exits_0(scan_file, capsys):
    # No instrument binds an Australian Commonwealth entity outside Defence: listed, no duty, exit 0.
    code, out, _ = run_cli(["report", str(scan_file), "--policy", "au-commonwealth"], capsys)
    assert code == 0 and "0 restricted, 5 listed (no duty under the policy)" in out and "(no instrument)" in out


def test_cli_report_retired_and_deprecated_policy_names(scan_file, capsys):
    code, _, err = run_cli(["report", str(scan_file), "--policy", "uk-gov"], capsys)
    assert code == 2 and "uk-central-government" in err and "uk-sensitive-sites" in err and err.count("\n") == 1
    # "all" (the old default) now means no policy, with a warning.
    code, out, err = run_cli(["report", str(scan_file), "--policy", "all"], capsys)
    assert code == 3 and "policy none;" in out and "deprecated" in err


def test_cli_report_partial_scan_exits_6(tmp_path, capsys):
    path = tmp_path / "partial.json"
    result = replace(sample_result(sample_devices()[6:7]), partial=True, notes=("interrupted",))
    path.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    code, out, err = run_cli(["report", str(path)], capsys)
    assert code == 6 and "PARTIAL" in out
    assert "note:" not in out and err.splitlines() == ["note: interrupted"]  # once, on stderr


def test_cli_report_reads_its_own_json_and_config_policy(scan_file, tmp_path, capsys):
    report_json = tmp_path / "report.json"
    run_cli(["report", str(scan_file), "--format", "json", "-o", str(report_json)], capsys)
    config = tmp_path / "camsweep.toml"
    config.write_text('[policy]\nnames = ["uk-central-government"]\nmax_data_age = 1\n', encoding="utf-8")
    code, out, _ = run_cli(["report", str(report_json), "--config", str(config), "--as-of", "2026-12-06"], capsys)
    assert code == 3 and "policy uk-central-government;" in out and "no-network-connection (UK-WMS22)" in out
    assert "WARNING: the restrictions data is 2 days old" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ('{"hello": 1}', "not a saved scan"),
        ('{"schema_version": 99, "devices": []}', "schema_version 99"),
        ('{"schema_version": 1, "devices": [{"device": {}}]}', "not a valid saved scan"),
    ],
)
def test_cli_report_bad_input(tmp_path, capsys, content, message):
    path = tmp_path / "scan.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = run_cli(["report", str(path)], capsys)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_cli_report_reads_stdin(scan_file, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(scan_file.read_bytes())))
    code, out, _ = run_cli(["report", "-", "--format", "json"], capsys)
    assert code == 3 and report_json(out)["counts"]["devices"] == 9


def test_cli_report_unknown_policy(scan_file, capsys):
    code, _, err = run_cli(["report", str(scan_file), "--policy", "us-federl"], capsys)
    assert code == 2 and "unknown policy 'us-federl' (did you mean 'us-federal'?)" in err


def test_cli_report_unwritable_output(scan_file, tmp_path, capsys):
    code, _, err = run_cli(["report", str(scan_file), "-o", str(tmp_path / "missing" / "r.txt")], capsys)
    assert code == 2 and "cannot write report to" in err


def test_a_stray_is_marked_in_every_output():
    """A device that answered discovery from outside the targets (issue 15): every format says so."""
    from camsweep.models import OUTSIDE_TARGETS
    from camsweep.reports.terminal import View

    first, *rest = sample_devices()
    stray = replace(first, device=replace(first.device, outside_targets=True))
    judged = evaluate(sample_result([stray, *rest]), data=DATA)
    finding = next(f for f in judged.findings if f.key == stray.device.key)
    assert finding.location.outside_targets and finding.notes[0].startswith(OUTSIDE_TARGETS)
    others = [f for f in judged.findings if f.key != stray.device.key]
    assert not any(f.location.outside_targets for f in others)

    rows = {r["ip"]: r for r in csv.DictReader(io.StringIO(render_report(judged, "csv")))}
    assert rows[" ".join(stray.device.ips)]["scope"] == OUTSIDE_TARGETS
    assert {r["scope"] for ip, r in rows.items() if ip != " ".join(stray.device.ips)} == {""}
    marked = [r for r in jsonl_records(render_report(judged, "jsonl")) if r["location"]["outside_targets"]]
    assert [r["key"] for r in marked] == [stray.device.key]
    report = report_json(render_report(judged, "json"))
    assert [d["device"]["key"] for d in report["scan"]["devices"] if d["device"]["outside_targets"]] == [stray.device.key]
    bom = json.loads(render_report(judged, "cyclonedx"))
    scoped = [c["bom-ref"] for c in bom["components"]
              if {"name": "camsweep:scope", "value": OUTSIDE_TARGETS} in c.get("properties", [])]
    assert scoped == [f"device:{stray.device.key}"]
    assert OUTSIDE_TARGETS in render_report(judged, "html")
    from camsweep.reports import remediation

    table = remediation.render(judged, View(devices=True, all_hosts=True))
    assert f"{stray.device.ip} [outside targets]" in table and OUTSIDE_TARGETS in table


def test_a_device_seen_in_a_switch_forwarding_table_shows_its_port_and_vlan_in_every_output():
    """Issue 15: a MAC from a switch's forwarding table (--snmp) is a device known by MAC, switch,
    port and VLAN; the port is where a technician finds it, so every format carries it."""
    from camsweep.models import ArtefactKind, Observation
    from camsweep.reports.text import place

    first, *rest = sample_devices()
    # As the lab's recorded D-Link DGS-3612G walk reports one MAC learnt in two VLANs on one port.
    entries = tuple(Observation.make("snmp", ArtefactKind.FORWARDING_ENTRY, mac=first.device.mac,
                                     fields={"snmp.agent": "198.18.0.4", "snmp.table": "dot1qTpFdbTable",
                                             "snmp.port": "ifIndex 7", "snmp.vlan": vlan, "snmp.fdb_status": "learned"})
                    for vlan in ("1", "66", "66"))
    seen = replace(first, device=replace(first.device, observations=first.device.observations + entries))
    judged = evaluate(sample_result([seen, *rest]), data=DATA)
    ports = ("198.18.0.4 port ifIndex 7 VLAN 1", "198.18.0.4 port ifIndex 7 VLAN 66")
    finding = next(f for f in judged.findings if f.key == seen.device.key)
    assert finding.location.switch_ports == ports
    assert all(f.location.switch_ports == () for f in judged.findings if f.key != seen.device.key)
    rows = {r["mac"]: r for r in csv.DictReader(io.StringIO(render_report(judged, "csv")))}
    assert rows[" ".join(seen.device.macs)]["switch_ports"] == "; ".join(ports)
    (record,) = [r for r in jsonl_records(render_report(judged, "jsonl")) if r["location"]["switch_ports"]]
    assert record["location"]["switch_ports"] == list(ports)
    assert report_json(render_report(judged, "json"))  # the report schema knows the key
    bom = json.loads(render_report(judged, "cyclonedx"))
    assert [p["value"] for c in bom["components"] for p in c.get("properties", [])
            if p["name"] == "camsweep:switch_port"] == list(ports)
    assert "198.18.0.4 port ifIndex 7 VLAN 66" in render_report(judged, "html")
    # Known by MAC alone, the terminal's address column says where it is plugged in.
    assert place(None, "00:0d:ed:6e:0e:59", (), False, ports) == f"via {ports[0]}"
    assert f"via {ports[0]}" not in remediation_text(judged)  # this one has an IP, shown instead


def remediation_text(judged):
    from camsweep.reports import remediation
    from camsweep.reports.terminal import View

    return remediation.render(judged, View(devices=True, all_hosts=True))
