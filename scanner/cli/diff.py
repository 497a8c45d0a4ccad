"""``camsweep diff [A] [B]``: new, gone and changed devices between two stored scans."""

from __future__ import annotations

import click
from tabulate import tabulate

from .. import jsonio
from ..inventory import Inventory
from . import echo
from camsweep.reports.text import clean


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Inventory database (default: see README).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def command(old: str | None, new: str | None, db_path: str | None, fmt: str) -> None:
    """Compare scan OLD with scan NEW (ids from `camsweep history`; `last`, `last~1` work too).

    Without arguments, compares the last two scans; with one, compares it with the last scan.
    """
    with Inventory(db_path) as inv:
        new_id = inv.resolve(new or "last")
        old_id = inv.resolve(old) if old else inv.resolve("last", offset=1)
        changes = inv.diff(old_id, new_id)
    if fmt == "json":
        echo(jsonio.dumps({"old": old_id, "new": new_id, "changes": [
            {"identity": c.identity, "what": c.what, "details": list(c.details),
             "before": c.before and _row(c.before),
             "after": c.after and _row(c.after)} for c in changes]}, indent=2))
        return
    rows = []
    for c in changes:
        s = c.after or c.before
        assert s is not None
        rows.append([c.what, clean(s.ip or ""), clean(s.mac or ""), s.manufacturer, clean(s.brand or ""),
                     clean(s.model or ""), "yes" if s.restricted else "", clean("; ".join(c.details), 120)])
    echo(f"scan {old_id} -> scan {new_id}: {len(changes)} change(s)")
    if rows:
        echo(tabulate(rows, headers=["change", "IP", "MAC", "maker", "brand", "model", "restricted", "details"]))


def _row(s) -> dict:
    return {"ip": s.ip, "mac": s.mac, "manufacturer": s.manufacturer, "brand": s.brand,
            "device_type": s.device_type, "model": s.model, "firmware": s.firmware, "restricted": s.restricted}
