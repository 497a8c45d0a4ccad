"""The audit trail: fields recorded at scan time, the evidence digest and the reports' manifest."""

from __future__ import annotations

import getpass
import json
import re
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from camsweep import __version__, audit
from camsweep.cli import main
from camsweep.findings import evaluate
from camsweep.models import ScanResult
from camsweep.reports import render_report
from tests.hostile_files import empty_pcap
from tests.schema_check import jsonl_records, report_json
from tests.test_findings import sample_result

ROOT = Path(__file__).resolve().parents[1]

AUDITED = dict(site="Leeds depot", operator="alice", scanner_host="scanner-01", interface="eth1",
               interface_addresses=("198.18.0.2/24",), tool_version="0.1.0", capture="",
               scope=("198.18.0.0/24", "198.18.1.0/24"), addresses=508)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_audit_fields_round_trip_and_old_scans_still_load() -> None:
    result = replace(sample_result(), **AUDITED)
    back = ScanResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    old = result.to_dict()
    for key in AUDITED:
        del old[key]  # a scan saved before the audit trail existed
    loaded = ScanResult.from_dict(old)
    assert (loaded.site, loaded.operator, loaded.scope, loaded.addresses) == ("", "", (), 0)
    assert loaded.devices == result.devices


def test_operator_is_the_login_name_behind_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("USER", "root")
    assert audit.login_name() == "alice"
    assert audit.at_scan_time()["operator"] == "alice"
    monkeypatch.delenv("SUDO_USER")
    monkeypatch.setenv("LOGNAME", "carol")
    assert audit.login_name() == "carol"


def test_no_login_name_at_all_is_an_empty_operator_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_name() -> str:
        raise KeyError("getpwuid(): uid not found: 54321")  # what a container with an unknown uid raises

    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", no_name)
    assert audit.login_name() == ""


def test_the_readme_recipe_recomputes_the_reports_evidence_digest(tmp_path: Path) -> None:
    # Device text of every kind: non-ASCII, an emoji, a lone surrogate's replacement, quotes.
    first = sample_result().devices[0]
    odd = replace(first, verdict=replace(first.verdict, model='DS-2CD "Überwachung" 📷 \ufffd'))
    result = replace(sample_result([odd, *sample_result().devices[1:]]), **AUDITED)
    report = tmp_path / "report.json"
    report.write_text(render_report(evaluate(result, "all"), "json"), encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    recipe = re.search(r"^(python3 -c .*hashlib.*) < report\.json$", readme, re.MULTILINE)
    assert recipe, "README shows how to recompute evidence_sha256"
    script = re.fullmatch(r"python3 -c '(.*)'", recipe.group(1))
    assert script
    done = subprocess.run([sys.executable, "-c", script.group(1)], stdin=report.open("rb"),
                          capture_output=True, text=True, check=True)
    manifest = json.loads(report.read_text(encoding="utf-8"))["manifest"]
    assert done.stdout.strip() == manifest["evidence_sha256"] == audit.evidence_digest(result)
    assert len(manifest["evidence_sha256"]) == 64


def test_the_digest_changes_when_the_evidence_does() -> None:
    result = sample_result()
    first = result.devices[0]
    edited = replace(first, verdict=replace(first.verdict, firmware="V5.7.0 build 230101"))
    assert audit.evidence_digest(result) != audit.evidence_digest(replace(result, devices=(edited, *result.devices[1:])))
    assert audit.evidence_digest(result) != audit.evidence_digest(replace(result, operator="mallory"))


def test_json_report_manifest_shows_the_scan_time_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(replace(sample_result(), **AUDITED).to_dict()), encoding="utf-8")
    monkeypatch.setenv("SUDO_USER", "bob")  # whoever renders the report is not who ran the scan
    code, out, _ = run_cli(["report", str(path), "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 3
    manifest = doc["manifest"]
    assert manifest["operator"] == doc["operator"] == "alice"
    assert (manifest["site"], manifest["scanner_host"], manifest["interface"]) == ("Leeds depot", "scanner-01", "eth1")
    assert manifest["interface_addresses"] == ["198.18.0.2/24"]
    assert manifest["tool_version"] == "0.1.0" and manifest["report_tool_version"] == __version__
    assert manifest["data_versions"]["fingerprints"] == "2026.11.25"
    assert manifest["data_versions"]["restrictions_version"]
    assert manifest["scan_started"] == sample_result().started.isoformat()
    assert manifest["generated"] > manifest["scan_finished"]
    assert manifest["evidence_sha256"] == audit.evidence_digest(ScanResult.from_dict(doc["scan"]))


def test_a_capture_records_site_operator_host_version_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    capture = tmp_path / "site.pcap"
    capture.write_bytes(empty_pcap())
    state = tmp_path / "state"
    monkeypatch.setenv("SUDO_USER", "dave")
    code, _, _ = run_cli(["scan", "--pcap", str(capture), "--site", "Leeds depot", "--no-store",
                          "--state-dir", str(state), "--format", "json"], capsys)
    saved = json.loads((state / "last-scan.json").read_text(encoding="utf-8"))
    assert code == 0
    assert (saved["site"], saved["operator"], saved["capture"]) == ("Leeds depot", "dave", str(capture))
    assert saved["scanner_host"] == socket.gethostname() and saved["tool_version"] == __version__
    assert saved["interface"] == "" and saved["addresses"] == 0
    code, _, _ = run_cli(["scan", "--pcap", str(capture), "--operator", "erin", "--no-store",
                          "--state-dir", str(state), "--format", "json"], capsys)
    assert json.loads((state / "last-scan.json").read_text(encoding="utf-8"))["operator"] == "erin"



@pytest.mark.parametrize("fmt", ["html", "csv", "jsonl", "cyclonedx", "json", "table"])
def test_every_report_format_carries_the_audit_manifest(fmt: str) -> None:
    """Who ran the scan and from where, with which camsweep, when the report was made and the
    digest of the evidence: in every format an auditor may be handed, not only the JSON report."""
    import csv
    import html as html_module
    import io

    result = replace(sample_result(), **AUDITED)
    assessment = evaluate(result, "all")
    text = render_report(assessment, fmt)
    digest = audit.evidence_digest(result)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and all(row["evidence_sha256"] == digest for row in rows)
        row = rows[0]
        assert (row["site"], row["operator"], row["scanner_host"]) == ("Leeds depot", "alice", "scanner-01")
        assert (row["interface"], row["interface_addresses"], row["tool_version"]) == ("eth1", "198.18.0.2/24", "0.1.0")
        assert row["report_tool_version"] == __version__ and row["report_generated"] > row["scan_time"]
    elif fmt == "jsonl":
        records = jsonl_records(text)  # each validated against the device-record schema
        assert records and all(r["evidence_sha256"] == digest for r in records)
        first = records[0]
        assert (first["scanner_host"], first["interface"], first["interface_addresses"]) == ("scanner-01", "eth1", ["198.18.0.2/24"])
        assert first["tool_version"] == "0.1.0" and first["report_tool_version"] == __version__
        assert first["report_generated"] > first["scan_finished"]
    elif fmt == "cyclonedx":
        properties = [(p["name"], p["value"]) for p in json.loads(text)["metadata"]["properties"]]
        for expected in [("camsweep:scanner_host", "scanner-01"), ("camsweep:interface", "eth1"),
                         ("camsweep:interface_address", "198.18.0.2/24"), ("camsweep:tool_version", "0.1.0"),
                         ("camsweep:evidence_sha256", digest), ("camsweep:site", "Leeds depot"),
                         ("camsweep:operator", "alice")]:
            assert expected in properties, expected
        assert any(name == "camsweep:report_generated" for name, _ in properties)
    elif fmt == "html":
        manifest = html_module.unescape(re.search(r'<section id="manifest">(.*?)</section>', text, re.S).group(1))
        for expected in ("<dt>Site</dt><dd>Leeds depot</dd>", "<dt>Scanner host</dt><dd>scanner-01</dd>",
                         "<dt>Interface</dt><dd>eth1 (198.18.0.2/24)</dd>", "<dt>Scanned with</dt><dd>camsweep 0.1.0</dd>",
                         f"<dt>Evidence SHA-256</dt><dd>{digest}</dd>", f"by camsweep {__version__}</dd>",
                         "<dt>Report generated</dt>"):
            assert expected in manifest, expected
    elif fmt == "json":
        assert report_json(text)["manifest"]["evidence_sha256"] == digest  # validated against the report schema
        assert "scanner-01" in text and "eth1" in text
    else:  # the table's footer
        assert digest in text and "scanner-01" in text and "eth1" in text
