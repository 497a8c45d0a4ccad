"""Terminal table of devices (tabulate)."""

from __future__ import annotations

from camsweep.models import ScanResult
from tabulate import tabulate

from .text import clean, place

HEADERS = ["IP", "MAC", "maker", "brand", "type", "model", "firmware", "confidence"]


def render(result: ScanResult) -> str:
    rows = []
    for item in result.devices:
        v, d = item.verdict, item.device
        rows.append(
            [
                place(d.ip, d.mac, d.hostnames),
                d.mac or "",
                v.manufacturer.value + (" (conflict)" if v.conflicts else ""),
                v.brand or "",
                v.device_type.value,
                v.model or "",
                v.firmware or "",
                f"{v.confidence_level} {v.confidence:.2f}",
            ]
        )
    body: str = tabulate([[clean(c) for c in r] for r in rows], headers=HEADERS, tablefmt="simple")
    footer = f"\n{len(rows)} device(s)" + (" -- PARTIAL result" if result.partial else "")
    notes = "".join(f"\nnote: {clean(n)}" for n in result.notes)
    return body + footer + notes + "\n"
