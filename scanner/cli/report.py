"""``camsweep report SCAN``: the remediation list for a saved scan, under a policy, in any format."""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from camsweep.reports import render_report

from .. import restrictions, runconfig
from ..config import Outputs
from ..errors import CamsweepError, ExitCode, UsageError
from ..findings import Assessment, evaluate
from ..models import ScanResult
from ..policy import describe
from ..savedscan import read_scan, write_atomic
from ..store import open_store
from . import echo
from ._finish import exit_code as finishing_code
from ._scope import scope, scope_options
from ._settings import given, options


def _policy_help() -> str:
    try:
        names = ", ".join(name for name, _, _ in describe(restrictions.load()))
    except CamsweepError:  # help text must never fail; the real load reports its own error
        names = "see README"
    return (f"Who you are: comma-separated policies (default: none: the instruments naming each device's "
            f"maker, without duties or deadlines). Valid: {names}. `camsweep restrictions` shows what each selects.")


def exit_code(assessment: Assessment) -> int:
    return finishing_code(assessment, "restricted", 0)


def load_scan(ref: str | None, db_path: str | None, site: str | None = None) -> tuple[ScanResult, dict[str, tuple[datetime, datetime]]]:
    """SCAN is a saved JSON file (or ``-``), else a stored scan: an id, ``last`` or ``last~N``
    (of ``site``, or of the inventory's only site); with when each device was first and last seen:
    from the inventory for a stored scan, nothing for a file (its devices were seen only in it, as
    far as the report can tell)."""
    if ref == "-" or (ref is not None and Path(ref).exists()):
        return read_scan(ref), {}
    if ref is not None and (ref.endswith(".json") or "/" in ref):
        return read_scan(ref), {}  # a path that does not exist: read_scan names the problem
    with open_store(db_path, read_only=True) as inv:
        # A scan id names one scan whatever its site; "last" needs to know whose.
        by_id = ref is not None and ref.isdigit() and site is None
        result = inv.load(inv.resolve(ref or "last", site=None if by_id else inv.choose_site(site, False)))
        return result, inv.seen(result)


STALE = "7d"


def parse_age(text: str) -> timedelta:
    """``36h``, ``7d``, ``2w``, ``90m`` -> a timedelta; raises UsageError."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) < 1 or len(number) > 6:
        raise UsageError(f"--stale must be an age like 36h, 7d or 2w, not {text!r}")
    return timedelta(**{units[unit]: int(number)})


@click.command("report")
@click.argument("scan", metavar="[SCAN]", required=False)
@scope_options
@options(Outputs, ["policy"], policy={"help": _policy_help()})
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Take the policy (and max_data_age) from a config file's [policy] table (options win).")
@options(Outputs, ["fmt", "output", "as_of", "max_data_age"],
         fmt={"help": "table (terminal), json (scan + findings + data versions), csv (every device), "
                     "jsonl (one JSON object per device), cyclonedx (CycloneDX 1.6 hardware BOM), html (one file)."},
         output={"help": "Write to this file (atomically) instead of stdout."})
@click.option("--operator", default=None, help="Name recorded in the report manifest (default: the login name).")
@click.option("--stale", default=STALE, show_default=True, metavar="AGE",
              help="With --all-sites: flag sites whose last scan is older than this (e.g. 36h, 7d, 2w).")
@click.pass_context
def command(ctx: click.Context, scan: str | None, policy: str | None, config_path: str | None, fmt: str,
            output: str | None, as_of: str | None, max_data_age: int, operator: str | None, stale: str,
            **params: Any) -> None:
    """Render the remediation list for a scan: SCAN is a stored scan's id from `camsweep history`
    (default: the last one; `last~1` is the one before), or a scan saved as JSON (``-`` = stdin).

    With --all-sites, the roll-up of a shared inventory instead: one row per site from its last
    scan (devices, Hikvision/Dahua-made, restricted, overdue, new since the previous scan), sites
    not scanned within --stale flagged.

    Exit code 3 when a device is restricted under the chosen policy (without a policy: when a
    Hikvision/Dahua-made device is found; any site's, with --all-sites), 6 when the scan was
    partial, else 0.
    """
    db_path, site, all_sites = scope(ctx, params)
    if all_sites:
        _rollup(db_path, site, scan, policy, fmt, output, parse_age(stale))
    file = runconfig.load(config_path).outputs if config_path else {}
    if policy is None:
        policy = file.get("policy")
    settings = given(Outputs, ctx, {"as_of": as_of, "max_data_age": max_data_age},
                     {k: v for k, v in file.items() if k == "max_data_age"})
    result, seen = load_scan(scan, db_path, site)
    who = operator
    if who is None:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no login name (e.g. a container with an unknown uid)
            who = None
    assessment = evaluate(result, policy, operator=who, as_of=settings.get("as_of"),
                          max_data_age=settings.get("max_data_age", Outputs.max_data_age))
    assessment = replace(assessment, seen=seen)
    _write(render_report(assessment, fmt), output)
    sys.exit(exit_code(assessment))


def _write(text: str, output: str | None) -> None:
    if output:
        write_atomic(output, text)
    else:
        echo(text, nl=False)


def _rollup(db_path: str | None, site: str | None, scan: str | None, policy: str | None, fmt: str,
            output: str | None, stale: timedelta) -> None:
    from camsweep.reports import sites

    if site is not None or scan:
        raise UsageError("--all-sites reports every site's last scan: give no SCAN and no --site")
    if policy:
        raise UsageError("--all-sites counts restricted devices under the policy each scan was stored "
                         "with; --policy applies to one scan's report")
    if fmt not in sites.ROLLUP_FORMATS:
        raise UsageError(f"--all-sites reports as {', '.join(sites.ROLLUP_FORMATS)}, not {fmt}")
    now = datetime.now(UTC)
    with open_store(db_path, read_only=True) as inv:
        rows = inv.rollup(stale, now)
    _write(sites.render(rows, fmt, now, stale), output)
    sys.exit(ExitCode.RESTRICTED if any(r.restricted for r in rows) else ExitCode.OK)
