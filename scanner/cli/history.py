"""``camsweep history``: the scans stored in the inventory."""

from __future__ import annotations

import click
from camsweep.reports.history import HISTORY_RENDERERS

from ..config import Outputs
from ..inventory import Inventory
from . import echo
from ._settings import options


@click.command("history")
@options(Outputs, ["db_path"], db_path={"help": "Inventory database (default: see README)."})
@click.option("--format", "fmt", type=click.Choice(list(HISTORY_RENDERERS)), default="table", show_default=True)
def command(db_path: str | None, fmt: str) -> None:
    """List the scans stored in the inventory, oldest first."""
    with Inventory(db_path) as inv:
        scans = inv.scans()
    echo(HISTORY_RENDERERS[fmt](scans), nl=False)
