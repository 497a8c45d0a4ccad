"""What every command that produces a scan result does at the end: store, render, exit code.

Shared by ``scan``, ``scan --pcap``, ``listen`` and ``demo`` so that all of them store into the
same inventory, write reports the same (atomic) way and exit with the same documented codes.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click

from ..errors import ExitCode
from ..inventory import Inventory
from ..models import ScanResult


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                  show_default=True, help="Output format on stdout or in --output.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to this file (atomically).")
    @click.option("--db", "db_path", type=click.Path(dir_okay=False),
                  help="Inventory database (default: $XDG_STATE_HOME/camsweep/inventory.sqlite).")
    @click.option("--no-store", is_flag=True, help="Do not store this result in the inventory.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def finish(result: ScanResult, *, fmt: str, output: str | None, db_path: str | None, no_store: bool) -> None:
    from reports import render
    from reports.output import write_atomic

    if not no_store:
        with Inventory(db_path) as inv:
            inv.store(result)
    text = render(result, fmt)
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    if result.partial:
        sys.exit(ExitCode.PARTIAL)
    if any(item.verdict.is_restricted_maker for item in result.devices):
        sys.exit(ExitCode.RESTRICTED)
