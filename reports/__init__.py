"""Renderers: each turns a result into text, nothing else (no I/O, no printing).

Two families:

* ``render(result, fmt)`` -- a ScanResult alone (``camsweep identify``): ``table``, ``json``.
* ``render_report(assessment, fmt)`` -- a scan judged against the restrictions data and a policy
  (``camsweep report``): ``table`` (remediation list), ``json`` (scan + findings + data versions),
  ``csv`` (every device, spreadsheet-safe), ``jsonl`` (one JSON object per device),
  ``cyclonedx`` (CycloneDX 1.6 hardware BOM), ``html`` (single self-contained file).

The JSON documents follow the schemas shipped in ``camsweep/schemas/`` (``camsweep.schemas``).

The commands that look into stored results have renderers of the same kind (records in, text out):
``explain.RENDERERS`` (one device's evidence), ``history.HISTORY_RENDERERS`` and
``history.DIFF_RENDERERS`` (the inventory's scans and the changes between two). Writing a rendered
report to a file is the library's job (``camsweep.savedscan.write_atomic``).
"""

from __future__ import annotations

from collections.abc import Callable

from camsweep.findings import Assessment
from camsweep.models import ScanResult
from camsweep.types import REPORT_FORMATS

from . import csv_doc, cyclonedx_doc, html_doc, json_doc, jsonl_doc, remediation, table

RENDERERS: dict[str, Callable[[ScanResult], str]] = {
    "table": table.render,
    "json": json_doc.render,
}

# One renderer per format of camsweep.types.REPORT_FORMATS (the settings offer those; a test
# checks both lists are the same).
REPORT_RENDERERS: dict[str, Callable[[Assessment], str]] = {
    "table": remediation.render,
    "json": json_doc.render_report,
    "csv": csv_doc.render,
    "jsonl": jsonl_doc.render,
    "cyclonedx": cyclonedx_doc.render,
    "html": html_doc.render,
}


def render(result: ScanResult, fmt: str) -> str:
    return RENDERERS[fmt](result)


def render_report(assessment: Assessment, fmt: str) -> str:
    return REPORT_RENDERERS[fmt](assessment)


__all__ = ["RENDERERS", "REPORT_FORMATS", "REPORT_RENDERERS", "render", "render_report"]
