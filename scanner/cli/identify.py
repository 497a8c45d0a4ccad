"""``camsweep identify FILE...``: verdicts from saved observations, no network."""

from __future__ import annotations

import sys

import click
from camsweep.reports import render

from .. import shortform
from ..verdicts import identify_result
from . import Choice, echo


@click.command("identify")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json for the full evidence (schema in README).")
def command(files: tuple[str, ...], fmt: str) -> None:
    """Identify devices from saved observations in FILES (``-`` reads stdin).

    FILES hold a saved scan (--format json), observations in the full schema, or the hand-written
    short form: one JSON object per host, a JSON array of them, or JSON lines (README: "Offline
    identification").
    """
    stdin_text = sys.stdin.read() if "-" in files else None
    observations = shortform.load(files, stdin_text=stdin_text)
    result = identify_result(observations, targets=files)
    echo(render(result, fmt), nl=False)
