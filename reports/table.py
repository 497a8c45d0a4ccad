"""The device table: one row per host with maker evidence (every host with ``--all``).

Used alone by ``identify`` (``render``) and above the remediation list by ``scan``, ``listen``
and ``demo`` (``section``, with each device's status under the policy). Hosts without any maker
evidence (a router, a NAS: ``unknown``, confidence 0) are counted in one line instead of a row
each; ``--all`` lists them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from camsweep.models import OUTSIDE_TARGETS, IdentifiedDevice, Manufacturer, ScanResult
from rich.text import Text

from .terminal import MANUAL_STYLE, RESTRICTED_STYLE, Cell, Col, View, arrange, device_value, to_text
from .text import OUTSIDE_MARK, clean, place

if TYPE_CHECKING:
    from camsweep.findings import Finding

HEADERS = ["IP", "MAC", "maker", "brand", "type", "model", "firmware", "confidence", "score", "status"]
COLUMNS = [Col("IP"), Col("MAC"), Col("maker"), Col("brand", wrap=True), Col("type", wrap=True), Col("model", wrap=True),
           Col("firmware", wrap=True), Col("confidence"), Col("score"), Col("status")]
STYLES = {"restricted": RESTRICTED_STYLE, "manual-check": MANUAL_STYLE}


def status_cell(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def has_maker_evidence(item: IdentifiedDevice) -> bool:
    """A verdict naming a maker or a brand, or any rule hit that points at one."""
    verdict = item.verdict
    return (verdict.manufacturer is not Manufacturer.UNKNOWN or bool(verdict.brand)
            or any(hit.maker or hit.brand for hit in verdict.hits))


def section(result: ScanResult, view: View, findings: Mapping[str, Finding] | None = None) -> list[object]:
    """The device table (with a status column when ``findings`` are given, by device key) and
    the line counting the hosts it leaves out."""
    def status(item: IdentifiedDevice) -> str:
        found = findings.get(item.device.key) if findings else None
        return found.status.value if found else ""

    shown = [item for item in result.devices
             if view.all_hosts or has_maker_evidence(item) or status(item) not in ("", "clear")]
    statuses = [status(item) for item in shown]
    rows: list[list[Cell]] = []
    for item, status in zip(shown, statuses):
        v, d = item.verdict, item.device
        rows.append([
            clean(place(d.ip, d.mac, d.hostnames, d.outside_targets, d.switch_ports), 60),  # a register row (`camsweep check`): its name
            clean(d.mac or "", 17),
            v.manufacturer.value + (" (conflict)" if v.conflicts else ""),
            device_value(v.brand, view),
            v.device_type.value,
            device_value(v.model, view),
            device_value(v.firmware, view),
            clean(v.confidence_level, 20),
            f"{v.confidence:.2f}",
            Text(status, style=STYLES.get(status)),
        ])
    status_column = [9] if findings is not None else []
    wide = [0, 1, 2, 3, 4, 5, 6, 7, 8, *status_column]
    narrow = [0, 2, 3, 5, 6, 7, *status_column]
    parts: list[object] = []
    if rows:
        blocks = [(Text(f"{row[0]}  {row[1]}  ").append_text(status_cell(row[9])),
                   [("maker", f"{row[2]}  {row[3]}  {row[4]}"), ("model", row[5]), ("firmware", row[6]),
                    ("confidence", f"{row[7]} {row[8]}")]) for row in rows]
        parts += arrange(COLUMNS, rows, view, (wide, narrow), blocks)
    outside = sum(1 for item in shown if item.device.outside_targets)
    if outside:
        parts.append(f"{outside} device(s) marked{OUTSIDE_MARK}: {OUTSIDE_TARGETS} -- they answered discovery "
                     "from outside the targets; identified from what they sent")
    hidden = len(result.devices) - len(shown)
    parts.append(f"{len(result.devices)} device(s)" + (" -- PARTIAL result" if result.partial else "")
                 + (f"; {hidden} other host(s) answered with no maker evidence (--all lists them)" if hidden else ""))
    return parts


def render(result: ScanResult, view: View | None = None) -> str:
    """The device table alone, with the result's notes (``identify``)."""
    view = view or View()
    parts = section(result, view)
    if view.notes:
        parts += [f"note: {clean(n, 400)}" for n in result.notes]
    return to_text(parts, view)  # type: ignore[arg-type]
