"""The shared check for every JSON document a test makes camsweep write: decode it and validate it
against the schema camsweep ships for it (``camsweep.schemas``), then hand it to the test.

    doc = report_json(proc.stdout)            # --format json of scan/listen/report
    scan = scan_json(path.read_text())        # identify --format json, last-scan.json
    rows = jsonl_records(out)                 # --format jsonl
"""

from __future__ import annotations

import json
from typing import Any

from camsweep import schemas


def checked(document: Any, name: str) -> Any:
    schemas.validate(document, name)
    return document


def report_json(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = checked(json.loads(text), "report")
    return doc


def scan_json(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = checked(json.loads(text), "scan-result")
    return doc


def jsonl_records(text: str) -> list[dict[str, Any]]:
    assert text == "" or text.endswith("\n"), "JSON Lines end every record with a newline"
    return [checked(json.loads(line), "device-record") for line in text.splitlines()]
