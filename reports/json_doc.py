"""JSON report: the full scan result with every observation and rule hit (schema in README)."""

from __future__ import annotations

import json

from scanner.models import ScanResult


def render(result: ScanResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
