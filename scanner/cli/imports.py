"""``camsweep import scan FILE...``: store saved scans in the inventory, e.g. a scan whose store
failed (a dropped connection to a shared inventory keeps the result in a file and says so)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from ..config import Outputs
from ..errors import InventoryError, ScanError, UsageError
from ..findings import evaluate
from ..savedscan import read_scan
from ..store import display, open_store
from . import echo
from ._settings import given, options


@click.group("import")
def command() -> None:
    """Store saved results in the inventory."""


@command.command("scan")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@options(Outputs, ["db_path", "site", "policy"],
         site={"help": "Site to store under when the file names none (a file naming another site is refused)."},
         policy={"help": "Policies to judge the scan under, as the scan itself would (default: all)."})
@click.pass_context
def scan(ctx: click.Context, files: tuple[str, ...], **params: Any) -> None:
    """Store each FILE (a scan saved as JSON: last-scan.json, `--format json` output, or the file a
    failed store kept) in the inventory. A file already stored is not stored twice.

    Exit code 5 when a file could not be stored (the ones before it are), 2 for a bad file.
    """
    outputs = Outputs(**given(Outputs, ctx, params))
    results = [(path, read_scan(path)) for path in files]  # every file is checked before any is stored
    for path, result in results:
        if outputs.site and result.site and result.site != outputs.site:
            raise UsageError(f"{path}: is a scan of site {result.site!r}, not {outputs.site!r}")
    with open_store(outputs.db_path) as inventory:
        for path, result in results:
            result = replace(result, site=result.site or outputs.site)
            assessment = evaluate(result, outputs.policy, operator=result.operator or None)
            known = {s.id for s in inventory.scans(result.site)}
            try:
                scan_id = inventory.store(result, assessment)
            except InventoryError as error:
                raise ScanError(f"{path} was not stored ({error})") from None
            site = f" of site {result.site!r}" if result.site else ""
            said = "was already stored as" if scan_id in known else "stored as"
            echo(f"{path}: {said} scan {scan_id}{site} in {display(outputs.db_path)}")
