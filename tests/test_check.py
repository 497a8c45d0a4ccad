"""``camsweep check``: asset registers and purchase lists (issue 16 items 1, 2 and 6)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from camsweep import assets
from camsweep.cli import cli
from camsweep.verdicts import identify_result
from click.testing import CliRunner

from tests.schema_check import report_json, scan_json

ROOT = Path(__file__).resolve().parent.parent

REGISTER = (
    "Manufacturer,Part Number,Serial No,MAC Address,Location\n"
    "Hikvision,DS-2CD2385G1-I,,,Lobby\n"
    ",IPC-HDW4233C-A,,,Gate\n"
    "Lorex,N845A62,,,Yard\n"
    "Axis,P1214-E,,,Office\n"
    "Acme,Gizmo,,zz:zz,Broken MAC\n"
    ",,DS-2CD2T43G2-4I20210105AAWRF30001259,,Roof\n"
)


def check(tmp_path, name: str, content: str | bytes, *args: str):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return CliRunner().invoke(cli, ["check", str(path), "--no-store", *args])


def by_model(path: str) -> dict[str, object]:
    result = identify_result(assets.load([path]).observations, mode="check")
    return {(d.verdict.model or d.device.key): d.verdict for d in result.devices}


def test_header_synonyms_any_case_give_maker_brand_type_and_evidence(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(REGISTER)
    verdicts = by_model(str(path))
    hik = verdicts["DS-2CD2385G1-I"]
    assert (hik.manufacturer.value, hik.device_type.value) == ("hikvision", "camera")
    assert {(h.rule_id, h.field) for h in hik.hits} >= {("asset-model-hikvision", "asset.model"),
                                                        ("asset-make-hikvision", "asset.make")}
    assert verdicts["IPC-HDW4233C-A"].manufacturer.value == "dahua"
    lorex = verdicts["N845A62"]
    assert lorex.brand == "Lorex" and lorex.manufacturer.value == "unknown"  # mixed sourcing: no verdict
    serial_only = next(v for v in verdicts.values() if any(h.rule_id == "asset-serial-hikvision" for h in v.hits))
    assert serial_only.manufacturer.value == "hikvision"


def test_an_oem_model_with_a_cited_relation_names_brand_and_maker(tmp_path):
    register = "Brand,Model\nIntelbras,VIP 3230 D\nAmcrest,IP8M-2496E\nAmcrest,IP8M-2597E\n"
    result = check(tmp_path, "quote.csv", register, "--format", "json", "--policy", "us-federal")
    findings = {f["model"]: f for f in report_json(result.output)["findings"]}
    for model, brand in (("VIP 3230 D", "Intelbras"), ("IP8M-2496E", "Amcrest")):
        relabelled = findings[model]
        assert (relabelled["status"], relabelled["brand"], relabelled["maker"], relabelled["oem_unit"]) == (
            "restricted", brand, "dahua", True)
        assert any(h["rule_id"] == "asset-model-oem-dahua-made" for h in relabelled["evidence"])
    # Same brand, a model no source ties to Dahua: Amcrest sells others' units too -> manual check.
    other = findings["IP8M-2597E"]
    assert (other["status"], other["brand"], other["maker"]) == ("manual-check", "Amcrest", "unknown")


def test_every_row_is_listed_and_a_bad_row_names_its_line(tmp_path):
    result = check(tmp_path, "reg.csv", REGISTER, "--format", "json")
    assert result.exit_code == 3, result.output  # restricted devices found
    doc = report_json(result.output)
    text = json.dumps(doc)
    assert "reg.csv:6: MAC 'zz:zz' is not a MAC address" in text
    for model in ("DS-2CD2385G1-I", "IPC-HDW4233C-A", "N845A62", "P1214-E", "Gizmo"):
        assert model in text
    assert "Lorex" in text and "manual" in text  # the OEM brand with mixed sourcing: a manual check


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_every_report_format_carries_the_rows(tmp_path, fmt):
    result = check(tmp_path, "reg.csv", REGISTER, "--format", fmt)
    assert result.exit_code == 3, result.output
    assert "DS-2CD2385G1-I" in result.output and "N845A62" in result.output


def test_xlsx_register(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["VENDOR", "sku", "Site"])
    sheet.append(["Dahua", "DH-SD42212S-HN", "HQ"])
    sheet.append([None, None, None])
    sheet.append(["Amcrest", "IP8M-2496E", "HQ"])
    path = tmp_path / "reg.xlsx"
    book.save(path)
    verdicts = by_model(str(path))
    assert verdicts["DH-SD42212S-HN"].manufacturer.value == "dahua"
    assert verdicts["IP8M-2496E"].brand == "Amcrest"


def test_json_lines_with_a_malformed_line(tmp_path):
    path = tmp_path / "reg.jsonl"
    path.write_text('{"Brand": "LTS", "Model": "CMIP8242WB"}\n[1]\n{"model": "DS-7608NXI-I2/8P/S"}\n')
    register = assets.load([str(path)])
    assert register.notes == ["reg.jsonl:2: row skipped: expected a JSON object, got a list"]
    verdicts = by_model(str(path))
    assert verdicts["CMIP8242WB"].brand == "LTS"
    assert verdicts["DS-7608NXI-I2/8P/S"].device_type.value == "nvr"


def test_plain_text_one_model_per_line(tmp_path):
    path = tmp_path / "quote.txt"
    path.write_text("DS-2CD2043G0-I\n\nIPC-B469HAD-LUF\n")
    verdicts = by_model(str(path))
    assert verdicts["DS-2CD2043G0-I"].manufacturer.value == "hikvision"
    uniview = verdicts["IPC-B469HAD-LUF"]  # Uniview's look-alike IPC- number is not Dahua
    assert uniview.manufacturer.value == "unknown"


def test_csv_with_more_cells_than_header_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("model;serial\nDS-2CD2043G0-I;x;extra\nIPC-HDBW4231F-AS;\n")
    register = assets.load([str(path)])
    assert register.notes == ["reg.csv:2: row skipped: 3 cells, the header has 2"]
    assert [o.fields["asset.model"] for o in register.observations] == ["IPC-HDBW4231F-AS"]


def test_csv_remediation_list_names_each_row_by_its_line(tmp_path):
    result = check(tmp_path, "reg.csv", REGISTER, "--format", "csv", "--policy", "us-federal")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    status = {r["hostname"]: r["status"] for r in rows}
    # The CSV lists every row (issue 13): the Axis row (line 5) is decided and clear; the row no
    # rule recognises (line 6, "Acme Gizmo") is listed as a manual check, not dropped.
    assert status == {"reg.csv:2": "restricted", "reg.csv:3": "restricted", "reg.csv:4": "manual-check",
                      "reg.csv:5": "clear", "reg.csv:6": "manual-check", "reg.csv:7": "restricted"}
    gizmo = next(r for r in rows if r["hostname"] == "reg.csv:6")
    assert "no rule recognised" in gizmo["manual_check_reasons"]


def as_a_user(*args):
    """The real entry point in a subprocess: exit code and stderr exactly as a user sees them."""
    return subprocess.run([sys.executable, "scan.py", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_identify_object_without_address_is_an_error_naming_it(tmp_path):
    path = tmp_path / "obs.json"
    path.write_text('[{"ip": "192.0.2.1", "ports": [80]}, {"comment": "lobby", "ports": [554]}]')
    result = as_a_user("identify", path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"camsweep: error: {path}: object 2 ('lobby') has neither ip nor mac (nor a model): it cannot be placed"
    ]


def test_identify_model_only_record_and_oui_prefix(tmp_path):
    path = tmp_path / "obs.json"
    path.write_text('[{"model": "DS-2CD2385G1-I"}, {"mac": "A0:FF:0C", "comment": "oui only"}]')
    result = CliRunner().invoke(cli, ["identify", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    model_only, oui_only = scan_json(result.output)["devices"]
    assert model_only["verdict"]["manufacturer"] == "hikvision"
    assert model_only["verdict"]["model"] == "DS-2CD2385G1-I"
    verdict = oui_only["verdict"]
    assert (verdict["manufacturer"], verdict["confidence_level"]) == ("hikvision", "low")  # OUI only
    assert [(h["rule_file"], h["tier"]) for h in verdict["hits"]] == [("oui.toml", "network")]


def test_identify_a_bare_model_with_an_ip_names_the_maker(tmp_path):
    path = tmp_path / "obs.jsonl"
    path.write_text('{"ip": "192.0.2.5", "model": "DS-2CD2385G1-I"}\n')
    result = CliRunner().invoke(cli, ["identify", str(path), "--format", "json"])
    (device,) = scan_json(result.output)["devices"]
    assert device["device"]["ips"] == ["192.0.2.5"] and device["device"]["hostnames"] == []
    assert (device["verdict"]["manufacturer"], device["verdict"]["device_type"]) == ("hikvision", "camera")


def test_identify_artefacts_without_an_address_are_refused_not_dropped(tmp_path):
    path = tmp_path / "obs.json"
    path.write_text('{"model": "DS-2CD2385G1-I", "rtsp": "RTSP/1.0 200 OK"}')
    result = as_a_user("identify", path)
    assert result.returncode == 2
    assert "rtsp need an ip or a full mac to place them" in result.stderr


def test_table_names_rows_without_address_by_file_and_line(tmp_path):
    result = check(tmp_path, "reg.csv", REGISTER)
    lines = result.output.splitlines()
    assert any(line.startswith("reg.csv:5 ") and " other " in line and "P1214-E" in line for line in lines)
    assert any(line.startswith("reg.csv:6 ") and "Gizmo" in line for line in lines)


def test_checks_are_stored_one_device_per_row(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(REGISTER)
    db = tmp_path / "inv.sqlite"
    result = CliRunner().invoke(cli, ["check", str(path), "--db", str(db), "--format", "json"])
    assert result.exit_code == 3, result.output
    report_json(result.output)
    from camsweep.store import open_store

    with open_store(str(db)) as inventory:
        (scan,) = inventory.scans(None)
        assert (scan.mode, scan.device_count) == ("check", 6)


def test_an_unreadable_csv_field_is_one_note_and_the_rows_after_it_are_read(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text('model,serial\nDS-2CD2043G0-I,1\n"' + "x" * 200_000 + '",2\nIPC-HDBW4231F-AS,3\n')
    register = assets.load([str(path)])
    assert register.notes == ["reg.csv:3: row skipped: not CSV: field larger than field limit (131072)"]
    assert [o.fields["asset.model"] for o in register.observations] == ["DS-2CD2043G0-I", "IPC-HDBW4231F-AS"]


def test_an_xlsx_declaring_entities_is_refused_in_one_line(tmp_path):
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Model"])
    book.active.append(["DS-2CD2043G0-I"])
    book.save(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as src, zipfile.ZipFile(tmp_path / "bomb.xlsx", "w") as dst:
        for member in src.infolist():
            data = src.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY a "aaaa">]><worksheet', 1)
            dst.writestr(member, data)
    result = as_a_user("check", tmp_path / "bomb.xlsx", "--no-store")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"camsweep: error: {tmp_path / 'bomb.xlsx'}: not a readable XLSX workbook (ValueError)"
    ]


@pytest.mark.parametrize("content, problem", [
    (b"", "empty input"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text"),
])
def test_a_file_that_is_no_register_is_one_line(tmp_path, content, problem):
    path = tmp_path / "reg.csv"
    path.write_bytes(content)
    result = as_a_user("check", path, "--no-store")
    assert result.returncode == 2
    assert result.stderr.startswith(f"camsweep: error: {path}: {problem}") and result.stderr.count("\n") == 1
