"""One record per device for the exports (CSV, JSON Lines, CycloneDX): its finding, and the scan
and inventory facts a spreadsheet, a SIEM or a GRC tool needs beside it on every row.

``record(assessment, finding)`` is the JSON Lines object (schema ``device-record`` in
``camsweep/schemas/``); CSV flattens the same values and CycloneDX maps them onto a component.
Evidence is listed once per distinct hit (``distinct_evidence``): a rule that matched the same
value several times (several HTTP pages on one port, a value seen by two probes) is one hit,
with the ports it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from camsweep.audit import Manifest, manifest
from camsweep.findings import Assessment, Evidence, Finding

RECORD_VERSION = 1
"""Version of the JSON Lines record (``device-record`` schema)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One distinct piece of evidence: a rule, the value it matched, and every port it came from."""

    evidence: Evidence
    ports: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        body = self.evidence.to_dict()
        del body["port"]
        body["ports"] = list(self.ports)
        return body


def distinct_evidence(finding: Finding) -> tuple[Hit, ...]:
    """``finding.evidence`` with each (rule, field, value) once, in the finding's order."""
    ports: dict[tuple[str, str, str], list[int]] = {}
    first: dict[tuple[str, str, str], Evidence] = {}
    for item in finding.evidence:
        key = (item.rule_id, item.field, item.value)
        first.setdefault(key, item)
        seen = ports.setdefault(key, [])
        if item.port is not None and item.port not in seen:
            seen.append(item.port)
    return tuple(Hit(first[key], tuple(sorted(ports[key]))) for key in first)


def scan_facts(assessment: Assessment, made: Manifest | None = None) -> dict[str, Any]:
    """The scan a record belongs to and the report's audit manifest (who ran the scan, where, with
    which camsweep; when the report was generated; the SHA-256 of the scan's evidence): the same on
    every record of one report, so each record stands alone in a spreadsheet, a SIEM or a GRC tool."""
    result = assessment.result
    made = made or manifest(assessment)
    return {
        "scan_id": result.scan_id,
        "scan_started": result.started.isoformat(),
        "scan_finished": result.finished.isoformat(),
        "site": result.site,
        "operator": made.operator,
        "mode": result.mode,
        "partial": result.partial,
        "scanner_host": made.scanner_host,
        "interface": made.interface,
        "interface_addresses": list(made.interface_addresses),
        "capture": made.capture,
        "tool_version": made.tool_version,
        "policies": list(assessment.policies),
        "evaluated_on": assessment.evaluated_on.isoformat() if assessment.evaluated_on else None,
        "data_versions": dict(assessment.data_versions),
        "report_generated": made.generated.isoformat(),
        "report_tool_version": made.report_tool_version,
        "evidence_sha256": made.evidence_sha256,
    }


def record(assessment: Assessment, finding: Finding, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Lines object for one device: record version, scan facts, first/last seen, finding."""
    first, last = assessment.seen_span(finding)
    body: dict[str, Any] = {"record_version": RECORD_VERSION}
    body.update(facts if facts is not None else scan_facts(assessment))
    body["first_seen"] = first.isoformat()
    body["last_seen"] = last.isoformat()
    body.update(finding.to_dict())
    body["evidence"] = [hit.to_dict() for hit in distinct_evidence(finding)]
    return body
