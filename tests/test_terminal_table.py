"""The terminal report: fits the width, keeps values whole, colours on a terminal only, explains
its abbreviations once, prints notes once on stderr and ends with the nmap-style closing line."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rich.cells import cell_len

from camsweep.findings import Status, evaluate
from camsweep.models import DeviceType, IdentifiedDevice, Manufacturer, Verdict
from camsweep.reports import remediation, table
from camsweep.reports.terminal import View
from camsweep.reports.text import Styled
from tests.pty_run import PtyRun
from tests.test_findings import device, sample_devices, sample_result

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (50, 60, 80, 100, 119, 120, 140, 160, 200, 250)
SGR = re.compile("\x1b\\[[0-9;]*m")


def _router(n: int) -> IdentifiedDevice:
    """A host that answered but names no maker (a router, a NAS): counted, not listed."""
    return IdentifiedDevice(device(f"198.18.2.{n}", f"198.18.2.{n}", None), Verdict())


def _site() -> list[IdentifiedDevice]:
    """The sample devices plus a long real model, a firmware with spaces and three routers."""
    long_one = sample_devices()[0]
    long_one = replace(long_one, device=replace(long_one.device, key="c0:56:e3:00:00:31", ips=("198.18.0.31",),
                                                macs=("c0:56:e3:00:00:31",)),
                       verdict=replace(long_one.verdict, model="DS-7608NXI-I2/8P/S", firmware="V4.62.210 build 230619",
                                       device_type=DeviceType.NVR))
    return [*sample_devices(), long_one, *(_router(n) for n in (1, 2, 3))]


POLICY = "uk-sensitive-sites"
"""A policy with duties and past deadlines: restricted rows, overdue deadlines, manual checks."""


def _scan():
    return replace(sample_result(_site()), notes=("onvif: no --credentials given",), addresses=508)


@pytest.fixture(scope="module")
def assessment():
    return evaluate(_scan(), POLICY)


def _whole_values(assessment) -> list[str]:
    """Values that must appear whole on one line: models, firmware words, few instrument ids."""
    values = []
    for f in assessment.remediation + assessment.manual_checks:
        if f.model and len(f.model) <= 30 and f.model.isprintable():
            values.append(f.model)
        values += [word for word in (f.firmware or "").split() if len(word) <= 30 and word.isprintable()]
        if len(f.instruments) <= 3:
            values += [m.id for m in f.instruments]
    return values


@pytest.mark.parametrize("width", WIDTHS)
def test_every_line_fits_and_no_value_that_matters_is_cut(assessment, width: int) -> None:
    text = remediation.render(assessment, View(width=width, devices=True))
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines if "evidence SHA-256" not in line and not re.fullmatch("[0-9a-f]+", line)) <= width
    # The digest is one 64-character token: on a terminal narrower than that it alone may fold.
    assert all(cell_len(line) <= max(width, 64) for line in lines)
    for value in _whole_values(assessment):
        assert any(value in line for line in lines), (width, value)
    assert text.count("198.18.0.21") == 2  # in the device table and in the remediation list, once each


def test_piped_output_has_one_line_per_device_and_every_value_whole(assessment) -> None:
    lines = remediation.render(assessment, View(devices=True)).splitlines()
    for f in assessment.remediation:
        row = [line for line in lines if f" {f.location.ip} " in f" {line} " and (f.model or "")[:20] in line]
        assert len(row) == 2, f.location.ip  # its device-table row and its remediation row
        assert remediation._action(f) in row[1] and "…" not in row[1]  # every required action in full


def test_hosts_without_maker_evidence_are_counted_and_all_lists_them(assessment) -> None:
    default = remediation.render(assessment, View(devices=True))
    assert "198.18.2.1" not in default
    assert "13 device(s); 3 other host(s) answered with no maker evidence (--all lists them)" in default.splitlines()
    every = remediation.render(assessment, View(devices=True, all_hosts=True))
    assert all(f"198.18.2.{n}" in every for n in (1, 2, 3))
    assert "Annke" in table.render(sample_result(_site()))  # a brand label alone is maker evidence


def test_colour_marks_restricted_overdue_and_manual_checks_only(assessment) -> None:
    plain = remediation.render(assessment, View(width=200, devices=True))
    assert "\x1b" not in plain and not isinstance(plain, Styled)
    coloured = remediation.render(assessment, View(width=200, devices=True, colour=True))
    assert isinstance(coloured, Styled)
    # the same text, colours around it (the two renders may straddle a second of the generation time)
    generated = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    assert generated.sub("generated", SGR.sub("", coloured)) == generated.sub("generated", plain)
    assert set(SGR.findall(coloured)) == {"\x1b[31m", "\x1b[33m", "\x1b[1;31m", "\x1b[0m"}
    lines = coloured.splitlines()
    restricted = next(f for f in assessment.findings if f.status is Status.RESTRICTED)
    manual = next(f for f in assessment.findings if f.status is Status.MANUAL_CHECK)
    clear = next(f for f in assessment.findings if f.status is Status.CLEAR)
    assert any(restricted.location.ip in line and "\x1b[31m" in line for line in lines)
    assert any(manual.location.ip in line and "\x1b[33m" in line for line in lines)
    assert not any(clear.location.ip in line and "\x1b[" in line for line in lines)


def test_abbreviations_are_explained_once_and_the_report_ends_with_its_manifest_and_closing_line(assessment) -> None:
    text = remediation.render(assessment, View(devices=True))
    keys = [line for line in text.splitlines() if line.startswith("key: ")]
    assert len(keys) == len(set(keys)) >= 4
    assert any("CVE-...?" in line for line in keys) and any("OVERDUE" in line for line in keys)
    # Without a policy every instrument naming the maker is shown: counted per jurisdiction, and said so.
    unchosen = remediation.render(evaluate(_scan()), View(devices=True))
    assert "US 18, UK" in unchosen
    assert sum(line.startswith("key: US 18, UK 3: how many instruments of each jurisdiction") for line in
               unchosen.splitlines()) == 1
    assert text.count("note: onvif: no --credentials given") == 1
    lines = text.splitlines()
    assert lines[-2].startswith("report: generated ") and "evidence SHA-256 " in lines[-2]
    assert lines[-1] == ("camsweep done: 508 address(es) scanned, 13 host(s) answered, 8 Hikvision/Dahua-made, "
                         f"6 restricted under policy {POLICY}, in 240.0 s")


def test_without_findings_there_is_no_key_but_still_the_closing_line() -> None:
    axis = [d for d in sample_devices() if d.verdict.manufacturer is Manufacturer.OTHER]
    text = remediation.render(evaluate(sample_result(axis), POLICY), View(width=120))
    assert "No Hikvision or Dahua device found." in text
    assert "key: " not in text and text.splitlines()[-1].startswith("camsweep done: 1 host(s), 0 Hikvision/Dahua-made")


@pytest.mark.parametrize(("mode", "targets", "said"), [
    ("check", ("/srv/audit/register.csv",), "camsweep done: checked register.csv: 1 record(s), 0 Hikvision/Dahua-made"),
    ("import-nmap", ("scans/site.xml",), "camsweep done: imported nmap report site.xml: 1 host(s), 0 Hikvision/Dahua-made"),
    ("import-dhcp", ("/var/lib/misc/dnsmasq.leases",), "camsweep done: imported leases dnsmasq.leases: 1 host(s), 0"),
])
def test_the_closing_line_names_the_file_an_offline_result_came_from(mode: str, targets: tuple[str, ...], said: str) -> None:
    axis = [d for d in sample_devices() if d.verdict.manufacturer is Manufacturer.OTHER]
    result = replace(sample_result(axis), mode=mode, targets=targets)
    assert remediation.closing_line(evaluate(result, POLICY)).startswith(said)


def _report_on_pty(scan_file: Path, columns: int, **env: str) -> tuple[int, str]:
    base = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "NO_COLOR")}
    run = PtyRun([sys.executable, str(ROOT / "scan.py"), "report", str(scan_file), "--policy", POLICY], columns=columns,
                 env={**base, "TERM": "xterm", **env})
    return run.finish(timeout=120), run.output


@pytest.mark.parametrize("columns", (72, 100, 132))
def test_report_on_a_terminal_fits_it_in_colour_with_notes_once_on_stderr(tmp_path: Path, assessment, columns: int) -> None:
    scan_file = tmp_path / "scan.json"
    scan_file.write_text(json.dumps(assessment.result.to_dict()), encoding="utf-8")
    code, output = _report_on_pty(scan_file, columns)
    assert code == 3
    assert "\x1b[31m" in output
    lines = SGR.sub("", output).replace("\r\n", "\n").splitlines()
    assert max(cell_len(line) for line in lines if not re.fullmatch("[0-9a-f]{64}", line)) <= columns
    assert lines.count("note: onvif: no --credentials given") == 1
    # COLUMNS wins over the terminal's own width; NO_COLOR turns colour off.
    code, output = _report_on_pty(scan_file, columns, COLUMNS="60", NO_COLOR="1")
    assert code == 3 and "\x1b[" not in output
    assert max(cell_len(line) for line in output.replace("\r\n", "\n").splitlines()
               if not re.fullmatch("[0-9a-f]{64}", line)) <= 60
