"""The terminal report of a judged scan: remediation list, manual checks, key, counts, manifest.

``render(assessment, view)`` lays it out for a ``terminal.View``: tables that fit the width, fewer
columns or one block per device when they do not, every value whole when there is no width
(piped). ``scan``, ``listen`` and ``demo`` put the device table first (``view.devices``). Each
device shows its instruments, the actions they require (each naming its instruments), its
deadlines (each with its own instrument and precision) and recommendations apart. The
abbreviations used are explained once, in a key; the report ends with its manifest (who ran the
scan, where, with what data, when the report was made and the SHA-256 of its evidence) and one
closing line: addresses scanned, hosts that answered, Hikvision/Dahua-made devices, restricted
under the policy, time taken.
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
from .terminal import (
    MANUAL_STYLE,
    OVERDUE_STYLE,
    RESTRICTED_STYLE,
    Cell,
    Col,
    View,
    arrange,
    device_value,
    to_text,
)
from .text import MADE_BY, clean, place

HEADERS = ["#", "prio", "IP", "MAC", "brand (maker)", "type", "model", "firmware", "instruments", "KEV",
           "required action", "deadline", "recommended"]
COLUMNS = [Col("#"), Col("prio"), Col("IP"), Col("MAC"), Col("brand (maker)", wrap=True), Col("type", wrap=True),
           Col("model", wrap=True), Col("firmware", wrap=True), Col("instruments", wrap=True), Col("KEV", wrap=True),
           Col("required action", wrap=True), Col("deadline", wrap=True), Col("recommended", wrap=True)]
WIDE = tuple(range(len(COLUMNS)))
NARROW = (0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 12)
"""Below the full table's width: without MAC and type (the device table shows them)."""

MANUAL_COLUMNS = [Col("IP"), Col("MAC"), Col("verdict"), Col("brand", wrap=True), Col("model", wrap=True),
                  Col("why a manual check", wrap=True)]


def deadlines_text(finding: Finding) -> str:
    """Each deadline with its own instrument and precision (``2025-04 (UK-TIMELINE) OVERDUE``), never merged."""
    return "; ".join(a.deadline_text for a in finding.deadlines)


def instruments_text(finding: Finding, limit: int = 4) -> str:
    """The instruments that bind under the policy (else all that name the maker), grouped by
    jurisdiction: their ids when few (``UK: UK-WMS22, UK-TIMELINE``), else counts per jurisdiction
    (``US 18, UK 3, AU 1``; every id is in the csv, json and html reports)."""
    shown = finding.binding or finding.instruments
    if not shown:
        return "(no instrument)"
    groups: dict[str, list[str]] = {}
    for m in shown:
        groups.setdefault(m.jurisdiction, []).append(m.label)
    if len(shown) <= limit:
        return "; ".join(f"{j}: {', '.join(ids)}" for j, ids in groups.items())
    return ", ".join(f"{j} {len(ids)}" for j, ids in groups.items())


def _action(finding: Finding) -> str:
    return "; ".join(f"{a.kind} ({', '.join(a.instruments)})" + (" if applicable" if a.applies_if else "")
                     for a in finding.actions)


def _kev(finding: Finding) -> str:
    return " ".join(f"{m.cve.id}{'' if m.state.value == 'affected' else '?'}" for m in finding.kev)


def _deadline(finding: Finding) -> Text:
    text = Text(clean(deadlines_text(finding), 400))
    text.highlight_words(["OVERDUE"], style=OVERDUE_STYLE)
    return text


def _style(finding: Finding) -> str | None:
    if finding.status is Status.RESTRICTED:
        return RESTRICTED_STYLE
    return MANUAL_STYLE if finding.status is Status.MANUAL_CHECK else None


def _remediation_rows(assessment: Assessment, view: View) -> list[list[Cell]]:
    return [
        [
            str(number),
            str(f.priority),
            clean(place(f.location.ip, f.location.mac, f.location.hostnames, f.location.outside_targets,
                        f.location.switch_ports), 60),
            clean(f.location.mac, 17),
            device_value(f.brand_vs_maker, view, 120),  # it holds the brand, device text
            clean(f.device_type, 24),
            device_value(f.model, view),
            device_value(f.firmware, view),
            clean(instruments_text(f), 400),
            clean(_kev(f), 200),
            clean(_action(f), 400),
            _deadline(f),
            clean("; ".join(r.id for r in f.recommendations), 200),
        ]
        for number, f in enumerate(assessment.remediation, 1)
    ]


def _remediation(assessment: Assessment, view: View) -> list[object]:
    findings = assessment.remediation
    rows = _remediation_rows(assessment, view)
    if not rows:
        return ["No Hikvision or Dahua device found."]
    blocks = [(Text(f"{row[0]}. prio {row[1]}  {row[2]}  {row[3]}  {f.status.value}"),
               [("device", f"{row[4]} {row[5]}"), ("model", row[6]), ("firmware", row[7]), ("instruments", row[8]),
                ("KEV", row[9]), ("required", row[10]), ("deadline", row[11]), ("recommended", row[12])])
              for f, row in zip(findings, rows)]
    return list(arrange(COLUMNS, rows, view, (WIDE, NARROW), blocks, [_style(f) for f in findings]))


def _manual(assessment: Assessment, view: View) -> list[object]:
    manual = assessment.manual_checks
    if not manual:
        return []
    rows: list[list[Cell]] = [
        [
            clean(place(f.location.ip, f.location.mac, f.location.hostnames, f.location.outside_targets,
                        f.location.switch_ports), 60),
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
                     "possibly exploited, 3 other covered devices, 4 listed only")
    if any(len(f.binding or f.instruments) > 4 for f in findings):
        lines.append("US 18, UK 3: how many instruments of each jurisdiction apply (every id: --format csv, json or html)")
    labels = " ".join(m.label for f in findings for m in f.instruments)
    if "(S)" in labels or "(U)" in labels:
        lines.append("(S), (U): the restrictions data has the instrument from secondary sources only, or unverified")
    if any(f.kev for f in findings):
        lines.append("KEV: CISA's Known Exploited Vulnerabilities; CVE-...? the firmware is possibly in the exploited "
                     "range, without ? it is in it")
    if any(a.applies_if for f in findings for a in f.actions):
        lines.append("if applicable: camsweep cannot tell whether the instrument reaches this unit (see --format html)")
    if any(f.deadlines for f in findings):
        lines.append("deadline: each with the instrument that sets it, as precise as its source"
                     + ("; OVERDUE: its whole period has passed at the date judged at" if any(f.overdue for f in findings)
                        else ""))
    if any(f.recommendations for f in findings):
        lines.append("recommended: advice (e.g. firmware with a CISA KEV vulnerability), not a duty")
    return [f"key: {line}" for line in lines]


def header_lines(assessment: Assessment) -> list[str]:
    """What every report says above the list: policy, data versions and date, the no-policy meaning,
    and a warning when the data is older than the configured age."""
    versions = assessment.data_versions
    when = assessment.evaluated_on.isoformat() if assessment.evaluated_on else "?"
    lines = [
        (f"camsweep remediation list -- policy {assessment.policy_label}; judged at {when}; "
         f"restrictions data {versions.get('restrictions_version', '?')} (as of {versions.get('restrictions_as_of', '?')}), "
         f"KEV as of {versions.get('kev_as_of', '?')}")
    ]
    if assessment.policy_hint:
        lines.append(assessment.policy_hint)
    lines += [f"WARNING: {w}" for w in assessment.warnings]
    return lines


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


OFFLINE_SOURCES = {"check": "checked", "import-nmap": "imported nmap report", "import-dhcp": "imported leases",
                   "identify": "identified from"}
"""How the closing line names a result read from files rather than the network, by its mode."""


def closing_line(assessment: Assessment) -> str:
    """Like nmap's last line: how much was looked at, what answered, what was found, how long it took."""
    result = assessment.result
    answered = len(result.devices)
    if result.mode == "pcap":
        looked = f"capture {clean(os.path.basename(result.capture or ' '.join(result.targets)), 120)}: {answered} host(s) seen"
    elif result.mode == "listen":
        looked = f"listened on {clean(result.interface or ' '.join(result.targets), 60)}: {answered} host(s) heard"
    elif result.mode in OFFLINE_SOURCES:
        files = clean(", ".join(os.path.basename(t) for t in result.targets) or "(stdin)", 120)
        looked = f"{OFFLINE_SOURCES[result.mode]} {files}: {answered} {'record(s)' if result.mode == 'check' else 'host(s)'}"
    elif result.addresses:
        looked = f"{result.addresses} address(es) scanned, {answered} host(s) answered"
    else:
        looked = f"{answered} host(s)"
    made = sum(1 for f in assessment.findings if f.maker in RESTRICTED_MAKER_NAMES)
    seconds = (result.finished - result.started).total_seconds()
    return (f"camsweep done: {looked}, {made} {MADE_BY}, {assessment.restricted_count} restricted under "
            f"policy {assessment.policy_label}, in {seconds:.1f} s" + (" -- PARTIAL result" if result.partial else ""))


def render(assessment: Assessment, view: View | None = None) -> str:
    view = view or View()
    result = assessment.result
    counts = assessment.counts()
    parts: list[object] = list(header_lines(assessment))
    if view.devices:
        parts += ["", *device_table.section(result, view, {f.key: f for f in assessment.findings})]
    parts.append("")
    parts += _remediation(assessment, view)
    parts += _manual(assessment, view)
    parts.append("")
    parts += key(assessment.remediation)
    listed = ("listed (no duty under the policy)" if assessment.policy_chosen
              else f"listed ({MADE_BY}; no policy chosen)")
    parts.append(
        f"{counts['devices']} device(s): {counts['restricted']} restricted, {counts['listed']} {listed}, "
        f"{counts['manual_check']} need a manual check, {counts['clear']} clear; "
        f"{counts['kev_affected']} with known-exploited firmware; {counts['overdue']} with an overdue deadline"
        + (" -- PARTIAL result" if result.partial else "")
    )
    parts.append("Actions come only from the instruments the policy selects, each named; 'recommended' measures "
                 "are advice, not duties. In full: --format csv, json or html.")
    if view.notes:
        parts += notes(result)
    parts.append("")
    parts += manifest_lines(manifest(assessment))
    parts.append(closing_line(assessment))
    return to_text(parts, view)  # type: ignore[arg-type]


def notes(result: ScanResult) -> list[str]:
    return [f"note: {clean(note, 400)}" for note in result.notes]
