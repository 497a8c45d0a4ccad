"""``camsweep history``: the scans stored in the inventory."""

from __future__ import annotations

from typing import Any

import click
from camsweep.reports.text import clean
from tabulate import tabulate

from .. import jsonio
from ..store import open_store
from . import echo
from ._scope import scope, scope_options


@click.command("history")
@scope_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def command(ctx: click.Context, fmt: str, **params: Any) -> None:
    """List the scans stored in the inventory, oldest first: every site's, or --site NAME's."""
    db_path, site, all_sites = scope(ctx, params)
    with open_store(db_path) as inv:
        chosen = inv.choose_site(site, all_sites) if site is not None else None
        scans = inv.scans(chosen)
    if fmt == "json":
        echo(jsonio.dumps([{
            "id": s.id, "site": s.site, "started": s.started, "finished": s.finished, "mode": s.mode,
            "partial": s.partial, "targets": list(s.targets), "devices": s.device_count,
            "restricted": s.restricted_count,
        } for s in scans], indent=2))
        return
    sites = len({s.site for s in scans}) > 1
    rows = [[s.id, *([clean(s.site, 40)] if sites else []), clean(s.started[:19]),
             clean(s.mode) + (" (partial)" if s.partial else ""), clean(" ".join(s.targets), 120),
             s.device_count, s.restricted_count] for s in scans]
    headers = ["scan", *(["site"] if sites else []), "started (UTC)", "mode", "targets", "devices", "restricted"]
    echo(tabulate(rows, headers=headers))
