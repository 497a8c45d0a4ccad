"""``camsweep identify FILE...``: verdicts from saved observations, no network."""

from __future__ import annotations

import click
from camsweep.reports import render, table

from .. import shortform
from ..config import Outputs
from ..jsonio import read_stdin
from ..verdicts import identify_result
from . import Choice, echo, echo_notes, terminal_view
from ._settings import options


@click.command("identify")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json for the full evidence (schema in README).")
@options(Outputs, ["all_hosts"])
def command(files: tuple[str, ...], fmt: str, all_hosts: bool) -> None:
    """Identify devices from saved observations in FILES (``-`` reads stdin).

    FILES hold a saved scan (--format json), observations in the full schema, or the hand-written
    short form: one JSON object per host, a JSON array of them, or JSON lines (README: "Offline
    identification").
    """
    stdin_text = read_stdin() if "-" in files else None
    observations = shortform.load(files, stdin_text=stdin_text)
    result = identify_result(observations, targets=files)
    if fmt == "table":
        echo(table.render(result, terminal_view(all_hosts=all_hosts)), nl=False)
        echo_notes(result.notes)
    else:
        echo(render(result, fmt), nl=False)
