"""The terminal report of a judged scan: remediation list, manual checks, key, counts, manifest.

``render(assessment, view)`` lays it out for a ``terminal.View``: tables that fit the width, fewer
columns or one block per device when they do not, every value whole when there is no width
(piped). ``scan``, ``listen`` and ``demo`` put the device table first (``view.devices``). The
abbreviations used are explained once, in a key; the report ends with its manifest (who ran
the scan, where, with what data, when the report was made and the SHA-256 of its evidence) and
one closing line: addresses scanned, hosts that answered, Hikvision/Dahua-made devices,
restricted under the policy, time taken.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from camsweep.audit import Manifest, manifest
from camsweep.findings import Assessment, Finding, Status
from camsweep.models import ScanResult
from camsweep.types import RESTRICTED_MAKER_NAMES
from rich.text import Text

from . import table as device_table
from .sites import MADE_BY
from .terminal import (
    MANUAL_STYLE,
    OVERDUE_STYLE,
    RESTRICTED_STYLE,
    Cell,
    Col,
    View,
    arrange,
    to_text,
    device_value,
)
from .text import clean

HEADERS = ["#", "prio", "IP", "MAC", "brand (maker)", "type", "model", "firmware", "falls under", "KEV", "action", "deadline"]
COLUMNS = [Col("#"), Col("prio"), Col("IP"), Col("MAC"), Col("brand (maker)", wrap=True), Col("type", wrap=True),
           Col("model", wrap=True), Col("firmware", wrap=True), Col("falls under", wrap=True), Col("KEV", wrap=True),
           Col("action", wrap=True), Col("deadline", wrap=True)]
WIDE = tuple(range(len(COLUMNS)))
NARROW = (0, 1, 2, 4, 6, 7, 8, 9, 10, 11)
"""Below the full table's width: without MAC and type (the device table shows them)."""

MANUAL_COLUMNS = [Col("IP"), Col("MAC"), Col("verdict"), Col("brand", wrap=True), Col("model", wrap=True),
                  Col("why a manual check", wrap=True)]

def _deadline(finding: Finding) -> Text:
    if not finding.deadline:
        return Text("")
    source = (finding.deadline_source or "").split(" ")[0]
    text = Text(finding.deadline.isoformat() + (f" {source}" if source else ""))
    if finding.overdue:
        text.append(" OVERDUE", style=OVERDUE_STYLE)
    return text


def _instruments(finding: Finding) -> str:
    """A few ids as they are; many (policy "all") summarised per jurisdiction: "US×9, UK×2, AU"."""
    if not finding.instruments:
        return "(informational only)"
    if len(finding.instruments) <= 3:
        return " ".join(m.label for m in finding.instruments)
    per: dict[str, int] = {}
    for m in finding.instruments:
        per[m.jurisdiction] = per.get(m.jurisdiction, 0) + 1
    return ", ".join(f"{j}×{n}" if n > 1 else j for j, n in per.items())


def _action(finding: Finding) -> str:
    return "; ".join(a.value for a in finding.actions)


def _kev(finding: Finding) -> str:
    return " ".join(f"{m.cve.id}{'' if m.state.value == 'affected' else '?'}" for m in finding.kev)


def _style(finding: Finding) -> str | None:
    if finding.status is Status.RESTRICTED:
        return RESTRICTED_STYLE
    return MANUAL_STYLE if finding.status is Status.MANUAL_CHECK else None


def _remediation_rows(assessment: Assessment, view: View) -> list[list[Cell]]:
    return [
        [
            str(number),
            str(f.priority),
            clean(f.location.ip, 40),
            clean(f.location.mac, 17),
            device_value(f.brand_vs_maker, view, 120),  # it holds the brand, device text
            clean(f.device_type, 24),
            device_value(f.model, view),
            device_value(f.firmware, view),
            clean(_instruments(f), 200),
            clean(_kev(f), 200),
            clean(_action(f), 200),
            _deadline(f),
        ]
        for number, f in enumerate(assessment.remediation, 1)
    ]


def _remediation(assessment: Assessment, view: View) -> list[object]:
    findings = assessment.remediation
    rows = _remediation_rows(assessment, view)
    if not rows:
        return ["No Hikvision or Dahua device falls under the chosen policy."]
    blocks = [(Text(f"{row[0]}. prio {row[1]}  {row[2]}  {row[3]}  {f.status.value}"),
               [("device", f"{row[4]} {row[5]}"), ("model", row[6]), ("firmware", row[7]), ("falls under", row[8]),
                ("KEV", row[9]), ("action", row[10]), ("deadline", row[11])])
              for f, row in zip(findings, rows)]
    return list(arrange(COLUMNS, rows, view, (WIDE, NARROW), blocks, [_style(f) for f in findings]))


def _manual(assessment: Assessment, view: View) -> list[object]:
    manual = assessment.manual_checks
    if not manual:
        return []
    rows: list[list[Cell]] = [
        [
            clean(f.location.ip, 40),
            clean(f.location.mac, 17),
            clean(f"{f.maker} {f.confidence_level} {f.confidence:.2f}", 40),
            device_value(f.brand, view),
            device_value(f.model, view),
            clean("; ".join(f.manual_reasons), 400),
        ]
        for f in manual
    ]
    blocks = [(Text(f"{row[0]}  {row[1]}  {row[2]}"), [("brand", row[3]), ("model", row[4]), ("why", row[5])])
              for row in rows]
    return ["", f"Needs a manual check ({len(manual)}):",
            *arrange(MANUAL_COLUMNS, rows, view, ((0, 1, 2, 3, 4, 5), (0, 2, 3, 4, 5)), blocks, [MANUAL_STYLE] * len(rows))]


def key(findings: Sequence[Finding]) -> list[str]:
    """What the abbreviations in the tables mean: only those that appear, each once."""
    lines = []
    if findings:
        lines.append("prio: 1 known-exploited firmware, 2 covered camera/recorder at high confidence or firmware "
                     "possibly exploited, 3 other covered devices, 4 listed only (informational instruments)")
    summaries = [_instruments(f) for f in findings]
    if any("×" in s for s in summaries):
        lines.append("US×7: 7 instruments of that jurisdiction apply (every id: --format csv, json or html)")
    labels = " ".join(m.label for f in findings for m in f.instruments)
    if "(S)" in labels or "(U)" in labels:
        lines.append("(S), (U): the restrictions data has the instrument from secondary sources only, or unverified")
    kev = " ".join(_kev(f) for f in findings)
    if kev:
        lines.append("KEV: CISA's Known Exploited Vulnerabilities; CVE-...? the firmware is possibly in the exploited "
                     "range, without ? it is in it")
    if any(f.deadline for f in findings):
        lines.append("deadline: the earliest an instrument (named after the date) sets"
                     + ("; OVERDUE: passed when the scan ran" if any(f.overdue for f in findings) else ""))
    return [f"key: {line}" for line in lines]


def manifest_lines(made: Manifest) -> list[str]:
    """Who ran the scan, where and with what; when this report was made; the evidence's digest."""
    where = made.scanner_host or "(host not recorded)"
    if made.interface:
        where += f", interface {made.interface}" + (f" {' '.join(made.interface_addresses)}" if made.interface_addresses else "")
    if made.capture:
        where += f", capture {made.capture}"
    versions = made.data_versions
    data = ", ".join(
        f"{label} {versions[name]}" for label, name in (
            ("fingerprints", "fingerprints"), ("OUI", "oui"), ("restrictions", "restrictions_version"), ("KEV as of", "kev_as_of"))
        if versions.get(name))
    return [
        f"scan: site {clean(made.site or '(not recorded)', 200)}; operator {clean(made.operator or '(not recorded)', 200)}; "
        f"from {clean(where, 300)}; camsweep {clean(made.tool_version or '?', 40)}; "
        f"{made.scan_started:%Y-%m-%d %H:%M:%S} to {made.scan_finished:%H:%M:%S} UTC",
        f"data: {clean(data, 400)}",
        f"report: generated {made.generated:%Y-%m-%d %H:%M:%S} UTC by camsweep {made.report_tool_version}; "
        f"evidence SHA-256 {made.evidence_sha256}",
    ]


def closing_line(assessment: Assessment) -> str:
    """Like nmap's last line: how much was looked at, what answered, what was found, how long it took."""
    result = assessment.result
    answered = len(result.devices)
    if result.mode == "pcap":
        looked = f"capture {clean(os.path.basename(result.capture or ' '.join(result.targets)), 120)}: {answered} host(s) seen"
    elif result.mode == "listen":
        looked = f"listened on {clean(result.interface or ' '.join(result.targets), 60)}: {answered} host(s) heard"
    elif result.addresses:
        looked = f"{result.addresses} address(es) scanned, {answered} host(s) answered"
    else:
        looked = f"{answered} host(s)"
    made = sum(1 for f in assessment.findings if f.maker in RESTRICTED_MAKER_NAMES)
    seconds = (result.finished - result.started).total_seconds()
    return (f"camsweep done: {looked}, {made} {MADE_BY}, {assessment.restricted_count} restricted under "
            f"policy {','.join(assessment.policies)}, in {seconds:.1f} s" + (" -- PARTIAL result" if result.partial else ""))


def render(assessment: Assessment, view: View | None = None) -> str:
    view = view or View()
    result = assessment.result
    counts = assessment.counts()
    versions = assessment.data_versions
    parts: list[object] = [
        f"camsweep remediation list -- policy {','.join(assessment.policies)}; "
        f"restrictions data {versions.get('restrictions_version', '?')} (as of {versions.get('restrictions_as_of', '?')}), "
        f"KEV as of {versions.get('kev_as_of', '?')}",
    ]
    if view.devices:
        parts += ["", *device_table.section(result, view, {f.key: f for f in assessment.findings})]
    parts.append("")
    parts += _remediation(assessment, view)
    parts += _manual(assessment, view)
    parts.append("")
    parts += key(assessment.remediation)
    parts.append(
        f"{counts['devices']} device(s): {counts['restricted']} restricted, {counts['listed']} listed (informational only), "
        f"{counts['manual_check']} need a manual check, {counts['clear']} clear; "
        f"{counts['kev_affected']} with known-exploited firmware"
        + (" -- PARTIAL result" if result.partial else "")
    )
    parts.append("Actions and deadlines in full: --format csv, json or html. Choose the policy that binds you "
                 "(--policy) for the deadlines that matter.")
    if view.notes:
        parts += notes(result)
    parts.append("")
    parts += manifest_lines(manifest(assessment))
    parts.append(closing_line(assessment))
    return to_text(parts, view)  # type: ignore[arg-type]


def notes(result: ScanResult) -> list[str]:
    return [f"note: {clean(note, 400)}" for note in result.notes]
