"""Renderers: each turns a ScanResult into text, nothing else (no I/O, no printing)."""

from __future__ import annotations

from typing import Callable

from scanner.models import ScanResult

from . import json_doc, table

RENDERERS: dict[str, Callable[[ScanResult], str]] = {
    "table": table.render,
    "json": json_doc.render,
}


def render(result: ScanResult, fmt: str) -> str:
    return RENDERERS[fmt](result)
