"""``camsweep history``: the scans stored in the inventory."""

from __future__ import annotations

import click
from camsweep.reports.text import clean
from tabulate import tabulate

from .. import jsonio
from ..config import Outputs
from ..inventory import Inventory, Provenance
from . import echo
from ._settings import options


@click.command("history")
@options(Outputs, ["db_path"], db_path={"help": "Inventory database (default: see README)."})
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def command(db_path: str | None, fmt: str) -> None:
    """List the scans stored in the inventory, oldest first: what each looked at (targets, the
    capture file of `scan --pcap`, the interface `listen` heard), its site and operator."""
    with Inventory(db_path) as inv:
        scans = inv.scans()
        made = inv.provenance()
    if fmt == "json":
        echo(jsonio.dumps([{
            "id": s.id, "started": s.started, "finished": s.finished, "mode": s.mode, "partial": s.partial,
            "targets": list(s.targets), "capture": made[s.id].capture, "interface": made[s.id].interface,
            "site": made[s.id].site, "operator": made[s.id].operator,
            "devices": s.device_count, "restricted": s.restricted_count,
        } for s in scans], indent=2))
        return
    rows = [[s.id, clean(s.started[:19]), clean(s.mode) + (" (partial)" if s.partial else ""),
             clean(source(s.mode, s.targets, made[s.id]), 120), clean(made[s.id].site, 40),
             clean(made[s.id].operator, 40), s.device_count, s.restricted_count] for s in scans]
    echo(tabulate(rows, headers=["scan", "started (UTC)", "mode", "source", "site", "operator", "devices",
                                 "restricted"]))


def source(mode: str, targets: tuple[str, ...], made: Provenance) -> str:
    """What a scan looked at: its targets; a capture's file; the interface ``listen`` heard."""
    only = f" (only {' '.join(targets)})" if targets and mode != "scan" else ""
    if mode == "pcap" and made.capture:
        return f"capture {made.capture}" + (only if targets != (made.capture,) else "")
    if mode == "listen" and made.interface:
        return f"listen on {made.interface}" + (only if targets != (made.interface,) else "")
    return " ".join(targets)
