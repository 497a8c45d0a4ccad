"""``camsweep report SCAN``: the remediation list for a saved scan, under a policy, in any format."""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click
from camsweep.reports import render_report

from .. import restrictions, runconfig
from ..config import Outputs
from ..errors import CamsweepError
from ..findings import Assessment, evaluate
from ..inventory import Inventory
from ..models import ScanResult
from ..policy import describe
from ..savedscan import read_scan, write_atomic
from . import echo
from ._finish import exit_code as finishing_code
from ._settings import options


def _policy_help() -> str:
    try:
        names = ", ".join(name for name, _, _ in describe(restrictions.load()))
    except CamsweepError:  # help text must never fail; the real load reports its own error
        names = "see README"
    return f"Comma-separated policies (default: all). Valid: {names}."


def exit_code(assessment: Assessment) -> int:
    return finishing_code(assessment, "restricted", 0)


def load_scan_seen(ref: str | None, db_path: str | None) -> tuple[ScanResult, dict[str, tuple[datetime, datetime]]]:
    """SCAN is a saved JSON file (or ``-``), else a stored scan: an id, ``last`` or ``last~N``; with
    when each device was first and last seen: from the inventory for a stored scan, nothing for a
    file (its devices were seen only in it, as far as the report can tell)."""
    if ref == "-" or (ref is not None and Path(ref).exists()):
        return read_scan(ref), {}
    if ref is not None and (ref.endswith(".json") or "/" in ref):
        return read_scan(ref), {}  # a path that does not exist: read_scan names the problem
    with Inventory(db_path) as inv:
        result = inv.load(inv.resolve(ref or "last"))
        return result, inv.seen(result)


@click.command("report")
@click.argument("scan", metavar="[SCAN]", required=False)
@options(Outputs, ["db_path", "policy"],
         db_path={"help": "Inventory database to read stored scans from (default: see README)."},
         policy={"help": _policy_help()})
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Take the policy from a config file's [policy] names (--policy wins).")
@options(Outputs, ["fmt", "output"],
         fmt={"help": "table (terminal), json (scan + findings + data versions), csv (every device), "
                     "jsonl (one JSON object per device), cyclonedx (CycloneDX 1.6 hardware BOM), html (one file)."},
         output={"help": "Write to this file (atomically) instead of stdout."})
@click.option("--operator", default=None, help="Name recorded in the report manifest (default: the login name).")
def command(scan: str | None, db_path: str | None, policy: str | None, config_path: str | None, fmt: str,
            output: str | None, operator: str | None) -> None:
    """Render the remediation list for a scan: SCAN is a stored scan's id from `camsweep history`
    (default: the last one; `last~1` is the one before), or a scan saved as JSON (``-`` = stdin).

    Exit code 3 when a device falls under the chosen policy, 6 when the scan was partial, else 0.
    """
    if policy is None and config_path:
        policy = runconfig.load(config_path).outputs.get("policy")
    result, seen = load_scan_seen(scan, db_path)
    who = operator
    if who is None:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no login name (e.g. a container with an unknown uid)
            who = None
    assessment = replace(evaluate(result, policy, operator=who), seen=seen)
    text = render_report(assessment, fmt)
    if output:
        write_atomic(output, text)
    else:
        echo(text, nl=False)
    sys.exit(exit_code(assessment))
