"""JSON reports.

``render(result)``: the full scan result with every observation and rule hit (schema in README).
``render_report(assessment)``: that scan plus the findings, the policy and the data versions.
"""

from __future__ import annotations

from camsweep.audit import manifest
from camsweep.findings import Assessment
from camsweep.jsonio import dumps
from camsweep.models import ScanResult

REPORT_VERSION = 1
"""Version of the report JSON (findings part); the scan part carries its own ``schema_version``."""


def render(result: ScanResult) -> str:
    return dumps(result.to_dict(), indent=2, end="\n")


def report_dict(assessment: Assessment) -> dict[str, object]:
    body: dict[str, object] = {"report_version": REPORT_VERSION}
    body.update(assessment.to_dict())
    # Who, where, with what, when rendered, and the SHA-256 of the "scan" member below (README "Audit trail").
    body["manifest"] = manifest(assessment).to_dict()
    body["scan"] = assessment.result.to_dict()
    return body


def render_report(assessment: Assessment) -> str:
    return dumps(report_dict(assessment), indent=2, end="\n")
