"""``camsweep diff [A] [B]``: new, gone and changed devices between two stored scans."""

from __future__ import annotations

import click
from camsweep.reports.history import DIFF_RENDERERS

from ..config import Outputs
from ..inventory import Inventory
from . import echo
from ._settings import options


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@options(Outputs, ["db_path"], db_path={"help": "Inventory database (default: see README)."})
@click.option("--format", "fmt", type=click.Choice(list(DIFF_RENDERERS)), default="table", show_default=True)
def command(old: str | None, new: str | None, db_path: str | None, fmt: str) -> None:
    """Compare scan OLD with scan NEW (ids from `camsweep history`; `last`, `last~1` work too).

    Without arguments, compares the last two scans; with one, compares it with the last scan.
    """
    with Inventory(db_path) as inv:
        new_id = inv.resolve(new or "last")
        old_id = inv.resolve(old) if old else inv.resolve("last", offset=1)
        changes = inv.diff(old_id, new_id)
    echo(DIFF_RENDERERS[fmt](old_id, new_id, changes), nl=False)
