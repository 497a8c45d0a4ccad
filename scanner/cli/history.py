"""``camsweep history``: the scans stored in the inventory."""

from __future__ import annotations

import click
from tabulate import tabulate

from .. import jsonio
from ..inventory import Inventory
from . import echo
from camsweep.reports.text import clean


@click.command("history")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Inventory database (default: see README).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def command(db_path: str | None, fmt: str) -> None:
    """List the scans stored in the inventory, oldest first."""
    with Inventory(db_path) as inv:
        scans = inv.scans()
    if fmt == "json":
        echo(jsonio.dumps([{
            "id": s.id, "started": s.started, "finished": s.finished, "mode": s.mode, "partial": s.partial,
            "targets": list(s.targets), "devices": s.device_count, "restricted": s.restricted_count,
        } for s in scans], indent=2))
        return
    rows = [[s.id, clean(s.started[:19]), clean(s.mode) + (" (partial)" if s.partial else ""),
             clean(" ".join(s.targets), 120), s.device_count, s.restricted_count] for s in scans]
    echo(tabulate(rows, headers=["scan", "started (UTC)", "mode", "targets", "devices", "restricted"]))
