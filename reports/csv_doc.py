"""CSV: one row per device, every device (clear ones too), with the scan it came from.

Each row stands alone in a spreadsheet or a GRC import: status, the device, its verdict
(confidence level and score in separate columns), what applies and what to do, every distinct
evidence rule id, when the device was first and last seen, and the scan (id, time, site,
operator, policy, data versions) with the report's audit manifest (scanner host, interface and
its addresses, capture file, camsweep versions, when the report was generated, evidence SHA-256).

Safe to open in a spreadsheet: any cell that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR (which
Excel/LibreOffice would run as a formula) gets a leading apostrophe. Device-supplied text (model,
hostname, firmware, evidence) is the reason this matters.
"""

from __future__ import annotations

import csv
import io

from camsweep.findings import Assessment, Finding

from .records import distinct_evidence, scan_facts
from .remediation import deadlines_text
from .text import _CONTROL

COLUMNS = [
    "status", "priority", "ip", "mac", "hostname", "subnet", "scope", "switch_ports", "brand", "maker", "oem_unit", "device_type",
    "model", "firmware", "serial", "confidence_level", "confidence", "instruments", "kev", "action", "deadlines",
    "overdue", "recommendations", "why", "manual_check_reasons", "evidence_rule_ids", "first_seen", "last_seen",
    "scan_id", "scan_time", "site", "operator", "policy", "evaluated_on", "restrictions_version",
    "restrictions_as_of", "kev_as_of", "scanner_host", "interface", "interface_addresses", "capture", "tool_version",
    "report_generated", "report_tool_version", "evidence_sha256",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell text, defused against spreadsheet formula injection and terminal escapes.

    Control characters (ESC, CSI, CR, bidi overrides) become ``?``: the CSV is also printed to a
    terminal (``--format csv`` without ``-o``) and device text may carry escape sequences. Line
    breaks and tabs stay (they are quoted by the CSV writer).
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return _CONTROL.sub("?", text)


def _row(finding: Finding, assessment: Assessment, scan: list[str]) -> list[str]:
    kev = "; ".join(f"{m.cve.id} {m.state.value}: {m.reason}" for m in finding.kev)
    first, last = assessment.seen_span(finding)
    return [
        finding.status.value,
        str(finding.priority),
        " ".join(finding.location.ips),
        " ".join(finding.location.macs),
        " ".join(finding.location.hostnames),
        finding.location.subnet or "",
        finding.location.scope_text,
        "; ".join(finding.location.switch_ports),
        finding.brand or "",
        finding.maker,
        "yes" if finding.oem_unit else "no",
        finding.device_type,
        finding.model or "",
        finding.firmware or "",
        finding.serial or "",
        finding.confidence_level,
        f"{finding.confidence:.2f}",
        "; ".join(f"{j}: {' '.join(m.label for m in ms)}" for j, ms in finding.by_jurisdiction().items()),
        kev,
        finding.action_text,
        deadlines_text(finding),
        "yes" if finding.overdue else "no",
        "; ".join(f"{r.text} [{r.source}]" for r in finding.recommendations),
        finding.why,
        "; ".join(finding.manual_reasons),
        " ".join(dict.fromkeys(hit.evidence.rule_id for hit in distinct_evidence(finding))),
        first.isoformat(),
        last.isoformat(),
        *scan,
    ]


def render(assessment: Assessment) -> str:
    versions = assessment.data_versions
    facts = scan_facts(assessment)
    scan = [
        facts["scan_id"], facts["scan_started"], facts["site"], facts["operator"],
        assessment.policy_label, facts["evaluated_on"] or "",
        versions.get("restrictions_version", ""), versions.get("restrictions_as_of", ""), versions.get("kev_as_of", ""),
        facts["scanner_host"], facts["interface"], " ".join(facts["interface_addresses"]), facts["capture"],
        facts["tool_version"], facts["report_generated"], facts["report_tool_version"], facts["evidence_sha256"],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in assessment.findings:
        writer.writerow([safe_cell(c) for c in _row(finding, assessment, scan)])
    return buffer.getvalue()
