"""The roll-up: one row per site of a shared inventory (``camsweep report --all-sites``).

Each row is a site as its last stored scan left it (``camsweep.store.SiteSummary``): when that scan
finished, how many devices it saw, how many of them Hikvision or Dahua made, how many are
restricted under the policy the scan was stored with and how many of those are past their
removal deadline, how many are new since the site's previous scan; a site whose last scan is older
than the report's ``stale`` age is flagged. Formats: table, csv (spreadsheet-safe), json, html
(one self-contained file). Site names are user text: cleaned and escaped like device text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tabulate import tabulate

from camsweep import __version__
from camsweep.jsonio import dumps
from camsweep.types import RESTRICTED_MAKER_NAMES

from .csv_doc import safe_cell
from .html_doc import e
from .text import clean

if TYPE_CHECKING:  # the inventory's record; reports never open the database
    from camsweep.store import SiteSummary

ROLLUP_FORMATS = ("table", "csv", "json", "html")
NO_SITE = "(no site)"
"""How a scan stored without --site is named (the one site of a one-machine inventory)."""

MADE_BY = "/".join(RESTRICTED_MAKER_NAMES.values()) + "-made"
"""The column of devices made by a restricted maker: "Hikvision/Dahua-made"."""

COLUMNS = ["site", "last_scan", "last_scan_finished", "stale", "scans", "devices", "made_by_restricted_makers",
           "restricted", "overdue", "new_since_previous", "policy"]


def age(span: timedelta) -> str:
    """``3d 4h``, ``5h 10m``, ``12m``: how long ago, to the unit that matters."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def _name(site: str) -> str:
    return site or NO_SITE


def _totals(sites: Sequence[SiteSummary]) -> dict[str, int]:
    return {
        "sites": len(sites),
        "stale": sum(s.stale for s in sites),
        "devices": sum(s.devices for s in sites),
        "made_by_restricted_makers": sum(s.made_by_restricted_makers for s in sites),
        "restricted": sum(s.restricted for s in sites),
        "overdue": sum(s.overdue for s in sites),
        "sites_with_restricted": sum(1 for s in sites if s.restricted),
    }


def _summary_line(sites: Sequence[SiteSummary], stale: timedelta) -> str:
    t = _totals(sites)
    return (f"{t['sites']} site(s), {t['devices']} device(s), {t['made_by_restricted_makers']} {MADE_BY}, "
            f"{t['restricted']} restricted at {t['sites_with_restricted']} site(s), {t['overdue']} overdue; "
            f"{t['stale']} site(s) not scanned for over {age(stale)}")


def render(sites: Sequence[SiteSummary], fmt: str, now: datetime, stale: timedelta) -> str:
    return {"table": _table, "csv": _csv, "json": _json, "html": _html}[fmt](sites, now, stale)


def _table(sites: Sequence[SiteSummary], now: datetime, stale: timedelta) -> str:
    rows = [[clean(_name(s.site), 40), s.last_scan, clean(s.last_finished[:16].replace("T", " ")),
             age(s.age) + (" STALE" if s.stale else ""),
             s.devices, s.made_by_restricted_makers, s.restricted, s.overdue, "-" if s.new is None else s.new,
             clean(s.policy or "-", 40)] for s in sites]
    headers = ["site", "scan", "last scan (UTC)", "age", "devices", MADE_BY, "restricted", "overdue",
               "new", "policy"]
    return (tabulate(rows, headers=headers) + "\n\n" + _summary_line(sites, stale) + "\n"
            "Restricted and overdue: under the policy each site's scan was stored with; overdue as of "
            f"{now.date().isoformat()}; new: not in the site's previous scan (- for a first scan).\n")


def _csv(sites: Sequence[SiteSummary], now: datetime, stale: timedelta) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for s in sites:
        d = s.to_dict()
        d["last_scan_finished"] = d.pop("last_finished")
        d["last_scan"] = s.last_scan
        d["new_since_previous"] = "" if s.new is None else s.new
        d["stale"] = "yes" if s.stale else "no"
        writer.writerow([safe_cell(d[c]) for c in COLUMNS])
    return out.getvalue()


def _json(sites: Sequence[SiteSummary], now: datetime, stale: timedelta) -> str:
    return dumps({
        "report": "sites", "camsweep": __version__, "generated": now.isoformat(timespec="seconds"),
        "stale_after_seconds": int(stale.total_seconds()), "totals": _totals(sites),
        "sites": [s.to_dict() for s in sites],
    }, indent=2) + "\n"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}
table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child,td.text{text-align:left}tr.stale td{background:#fff3e0}
td.bad{color:#b71c1c;font-weight:600}.flag{color:#e65100;font-weight:600}p.note{color:#555}
"""


def _html(sites: Sequence[SiteSummary], now: datetime, stale: timedelta) -> str:
    def number(value: int | None, bad: bool = False) -> str:
        if value is None:
            return "<td>-</td>"
        return f'<td class="bad">{value}</td>' if bad and value else f"<td>{value}</td>"

    rows = []
    for s in sites:
        flag = ' <span class="flag">stale</span>' if s.stale else ""
        rows.append(
            f'<tr{" class=stale" if s.stale else ""}><td>{e(_name(s.site), 100)}</td><td>{s.last_scan}</td>'
            f'<td class="text">{e(s.last_finished[:19].replace("T", " "))} UTC ({e(age(s.age))} ago){flag}</td>'
            f"<td>{s.devices}</td><td>{s.made_by_restricted_makers}</td>{number(s.restricted, True)}"
            f"{number(s.overdue, True)}{number(s.new)}<td class=\"text\">{e(s.policy or '-')}</td></tr>"
        )
    head = "".join(f"<th>{e(h)}</th>" for h in ("site", "scan", "last scan", "devices", MADE_BY,
                                             "restricted", "overdue", "new", "policy"))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>camsweep: sites</title><style>{_STYLE}</style></head><body>"
        f"<h1>Sites</h1><p>{e(_summary_line(sites, stale), 500)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p class=\"note\">Restricted and overdue: under the policy each site's scan was stored with; overdue "
        f"as of {now.date().isoformat()}; new: not in the site's previous scan (- for a first scan). "
        f"Generated {e(now.isoformat(timespec='seconds'))} by camsweep {e(__version__)}.</p></body></html>\n"
    )
