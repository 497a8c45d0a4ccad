"""``camsweep report SCAN``: the remediation list for a saved scan, under a policy, in any format."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from camsweep.reports.terminal import View

from .. import audit, restrictions, runconfig
from ..config import Outputs
from ..errors import CamsweepError, ExitCode, UsageError
from ..findings import Assessment, evaluate
from ..policy import describe
from ..savedscan import write_atomic
from ..store import open_store
from . import echo, echo_notes, terminal_view
from ._finish import exit_code as finishing_code
from ._finish import render_for
from ._scope import load_scan_seen, scope, scope_options
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
@click.option("--sign", "key", default=None, metavar="KEY",
              help="Also write OUTPUT.sig, a detached SSH signature (ssh-keygen -Y sign, namespace camsweep-report) "
                   "made with this private key; needs -o. README \"Audit trail\" shows how to verify it.")
@click.option("--stale", default=STALE, show_default=True, metavar="AGE",
              help="With --all-sites: flag sites whose last scan is older than this (e.g. 36h, 7d, 2w).")
@click.pass_context
def command(ctx: click.Context, scan: str | None, policy: str | None, config_path: str | None, fmt: str,
            output: str | None, as_of: str | None, max_data_age: int, key: str | None, stale: str,
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
    if key is not None and not output:
        raise UsageError("--sign needs -o/--output: the signature is of the report file")
    db_path, site, all_sites = scope(ctx, params)
    if all_sites:
        _rollup(db_path, site, scan, policy, fmt, output, parse_age(stale), key)
    file = runconfig.load(config_path).outputs if config_path else {}
    if policy is None:
        policy = file.get("policy")
    settings = given(Outputs, ctx, {"as_of": as_of, "max_data_age": max_data_age},
                     {k: v for k, v in file.items() if k == "max_data_age"})
    result, seen = load_scan_seen(scan, db_path, site)
    # Who ran the scan was recorded when it ran; whoever renders the report is not that person.
    assessment = evaluate(result, policy, operator=result.operator or None, as_of=settings.get("as_of"),
                          max_data_age=settings.get("max_data_age", Outputs.max_data_age))
    assessment = replace(assessment, seen=seen)
    if output:
        _write(render_for(assessment, fmt, View()), output, key)
    else:
        echo(render_for(assessment, fmt, terminal_view()), nl=False)
        if fmt == "table":  # the other formats carry the notes inside
            echo_notes(result.notes)
    sys.exit(exit_code(assessment))


def _write(text: str, output: str | None, key: str | None = None) -> None:
    if output:
        # Signed before anything is written: a key that cannot be used leaves no report behind.
        signature = audit.sign(text.encode("utf-8"), key) if key else None
        write_atomic(output, text)
        if signature is not None:
            write_atomic(output + ".sig", signature.decode("ascii"))
    else:
        echo(text, nl=False)


def _rollup(db_path: str | None, site: str | None, scan: str | None, policy: str | None, fmt: str,
            output: str | None, stale: timedelta, key: str | None) -> None:
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
    _write(sites.render(rows, fmt, now, stale), output, key)
    sys.exit(ExitCode.RESTRICTED if any(r.restricted for r in rows) else ExitCode.OK)
