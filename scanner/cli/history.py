"""``camsweep history``: the scans stored in the inventory."""

from __future__ import annotations

from typing import Any

import click
from camsweep.reports.history import HISTORY_RENDERERS

from ..store import open_store
from . import Choice, echo
from ._scope import scope, scope_options


@click.command("history")
@scope_options
@click.option("--format", "fmt", type=Choice(list(HISTORY_RENDERERS)), default="table", show_default=True)
@click.pass_context
def command(ctx: click.Context, fmt: str, **params: Any) -> None:
    """List the scans stored in the inventory, oldest first: every site's, or --site NAME's."""
    db_path, site, all_sites = scope(ctx, params)
    with open_store(db_path, read_only=True) as inv:
        chosen = inv.choose_site(site, all_sites) if site is not None else None
        scans = inv.scans(chosen)
    echo(HISTORY_RENDERERS[fmt](scans), nl=False)
