"""``camsweep history`` and ``camsweep diff``: the scans stored in the inventory, and what changed
between two of them (of one site, or of each site with ``diff --all-sites``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from camsweep.jsonio import dumps

from .text import clean

if TYPE_CHECKING:  # the inventory's records; reports never open the database
    from camsweep.store import Change, ScanSummary, Sighting

    Pair = tuple[str, int, int, Sequence[Change]]
    """(site, older scan id, newer scan id, the changes between them)."""


def render_history_text(scans: Sequence[ScanSummary]) -> str:
    sites = len({s.site for s in scans}) > 1  # a column only when it tells scans apart
    rows = [[s.id, *([clean(s.site, 40)] if sites else []), clean(s.started[:19]),
             clean(s.mode) + (" (partial)" if s.partial else ""), clean(" ".join(s.targets), 120),
             s.device_count, s.restricted_count] for s in scans]
    headers = ["scan", *(["site"] if sites else []), "started (UTC)", "mode", "targets", "devices", "restricted"]
    return tabulate(rows, headers=headers) + "\n"


def render_history_json(scans: Sequence[ScanSummary]) -> str:
    return dumps([{
        "id": s.id, "site": s.site, "started": s.started, "finished": s.finished, "mode": s.mode,
        "partial": s.partial, "targets": list(s.targets), "devices": s.device_count,
        "restricted": s.restricted_count,
    } for s in scans], indent=2) + "\n"


def render_diff_text(pairs: Sequence[Pair], every_site: bool) -> str:
    text = ""
    for site, old_id, new_id, changes in pairs:
        rows = []
        for c in changes:
            s = c.after or c.before
            assert s is not None
            rows.append([c.what, clean(s.ip or ""), clean(s.mac or ""), s.manufacturer, clean(s.brand or ""),
                         clean(s.model or ""), "yes" if s.restricted else "", clean("; ".join(c.details), 120)])
        of = f"site {clean(site, 40)}: " if every_site else ""
        text += f"{of}scan {old_id} -> scan {new_id}: {len(changes)} change(s)\n"
        if rows:
            text += tabulate(rows, headers=["change", "IP", "MAC", "maker", "brand", "model", "restricted", "details"]) + "\n"
    return text


def render_diff_json(pairs: Sequence[Pair], every_site: bool) -> str:
    docs = [{"site": site, "old": old_id, "new": new_id, "changes": [
        {"identity": c.identity, "what": c.what, "details": list(c.details),
         "before": c.before and _sighting(c.before),
         "after": c.after and _sighting(c.after)} for c in changes]} for site, old_id, new_id, changes in pairs]
    return dumps(docs if every_site else docs[0], indent=2) + "\n"


def _sighting(s: Sighting) -> dict[str, Any]:
    return {"ip": s.ip, "mac": s.mac, "manufacturer": s.manufacturer, "brand": s.brand,
            "device_type": s.device_type, "model": s.model, "firmware": s.firmware, "restricted": s.restricted}


HISTORY_RENDERERS = {"table": render_history_text, "json": render_history_json}
"""``camsweep history --format`` choices."""

DIFF_RENDERERS = {"table": render_diff_text, "json": render_diff_json}
"""``camsweep diff --format`` choices: each takes the (site, old, new, changes) pairs, and whether
they are every site's (``--all-sites``: a list, each named) or one site's."""
