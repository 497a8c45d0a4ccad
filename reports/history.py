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

    Pair = tuple[str, ScanSummary, ScanSummary, Sequence[Change]]
    """(site, older scan, newer scan, the changes between them)."""


def source(scan: ScanSummary) -> str:
    """What a scan looked at: its targets (the files of ``check`` and ``import nmap|dhcp``); the
    capture file of ``scan --pcap``; the interface ``listen`` heard (with the networks ``--only``
    kept, if any)."""
    targets = scan.targets
    if scan.mode == "pcap" and scan.capture:
        return f"capture {scan.capture}" + (f" (only {' '.join(targets)})" if targets != (scan.capture,) else "")
    if scan.mode == "listen" and scan.interface:
        return f"listen on {scan.interface}" + (f" (only {' '.join(targets)})" if targets != (scan.interface,) else "")
    return " ".join(targets)


def render_history_text(scans: Sequence[ScanSummary]) -> str:
    sites = len({s.site for s in scans}) > 1  # a column only when it tells scans apart
    rows = [[s.id, *([clean(s.site, 40)] if sites else []), clean(s.started[:19]),
             clean(s.mode) + (" (partial)" if s.partial else ""), clean(source(s), 120), clean(s.operator, 40),
             s.device_count, s.restricted_count] for s in scans]
    headers = ["scan", *(["site"] if sites else []), "started (UTC)", "mode", "source", "operator", "devices",
               "restricted"]
    return tabulate(rows, headers=headers) + "\n"


def render_history_json(scans: Sequence[ScanSummary]) -> str:
    return dumps([{
        "id": s.id, "site": s.site, "started": s.started, "finished": s.finished, "mode": s.mode,
        "partial": s.partial, "targets": list(s.targets), "capture": s.capture, "interface": s.interface,
        "operator": s.operator, "devices": s.device_count, "restricted": s.restricted_count, "source": source(s),
    } for s in scans], indent=2) + "\n"


def render_diff_text(pairs: Sequence[Pair], every_site: bool) -> str:
    text = ""
    for site, old, new, changes in pairs:
        rows = []
        for c in changes:
            s = c.after or c.before
            assert s is not None
            rows.append([c.what, clean(s.ip or ""), clean(s.mac or ""), s.manufacturer, clean(s.brand or ""),
                         clean(s.model or ""), "yes" if s.restricted else "", clean("; ".join(c.details), 120)])
        of = f"site {clean(site, 40)}: " if every_site else ""
        text += f"{of}scan {old.id} ({_kind(old)}) -> scan {new.id} ({_kind(new)}): {len(changes)} change(s)\n"
        if rows:
            text += tabulate(rows, headers=["change", "IP", "MAC", "maker", "brand", "model", "restricted", "details"]) + "\n"
    return text


def render_diff_json(pairs: Sequence[Pair], every_site: bool) -> str:
    docs = [{"site": site, "old": old.id, "new": new.id, "old_mode": old.mode, "old_source": source(old),
             "new_mode": new.mode, "new_source": source(new), "changes": [
        {"identity": c.identity, "what": c.what, "details": list(c.details),
         "before": c.before and _sighting(c.before),
         "after": c.after and _sighting(c.after)} for c in changes]} for site, old, new, changes in pairs]
    return dumps(docs if every_site else docs[0], indent=2) + "\n"


def _kind(scan: ScanSummary) -> str:
    """``check of register.csv``, ``import-nmap of lab.xml``, ``scan of 198.18.0.0/24``."""
    return f"{clean(scan.mode)} of {clean(source(scan), 80)}"


def _sighting(s: Sighting) -> dict[str, Any]:
    return {"ip": s.ip, "mac": s.mac, "manufacturer": s.manufacturer, "brand": s.brand,
            "device_type": s.device_type, "model": s.model, "firmware": s.firmware, "restricted": s.restricted}


HISTORY_RENDERERS = {"table": render_history_text, "json": render_history_json}
"""``camsweep history --format`` choices."""

DIFF_RENDERERS = {"table": render_diff_text, "json": render_diff_json}
"""``camsweep diff --format`` choices: each takes the (site, old, new, changes) pairs, and whether
they are every site's (``--all-sites``: a list, each named) or one site's."""
