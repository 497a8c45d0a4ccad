"""What every command that produces a scan result does at the end: judge, render, store, exit.

Shared by ``scan``, ``scan --pcap``, ``listen`` and ``demo`` so that all of them judge devices
against the same policy, write reports the same (atomic) way, store into the same inventory and
exit with the same documented codes. The report comes first: a store that fails (a full disk, a
database damaged since the run began) is said in one line and exit 5, and hides nothing.
"""

from __future__ import annotations

import functools
import getpass
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import click

from ..errors import CamsweepError, ExitCode
from ..findings import Assessment, Status, evaluate
from ..inventory import Inventory, identity_of
from ..models import ScanResult
from ..savedscan import make_state_dir, save_state, write_atomic
from . import echo

FORMATS = ("table", "json", "csv", "html")


@dataclass(frozen=True)
class Outputs:
    """Where results go and what makes the exit code non-zero."""

    fmt: str = "table"
    output: str | None = None
    db_path: str | None = None
    no_store: bool = False
    policy: str | None = None
    fail_on: str = "restricted"
    quiet: bool = False
    """Unattended (cron): nothing on stdout; report files only."""
    reports: tuple[tuple[str, str], ...] = field(default=())
    """Extra (format, path) reports written atomically (config file [output] reports)."""
    keep_scans: int | None = None
    last_scan: str | None = None
    """State directory to keep the result in as last-scan.json (for ``explain``); None: not kept."""


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                  help="table (devices + remediation list), json (full evidence + findings), csv "
                       "(remediation list), html (single-file report).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to this file (atomically).")
    @click.option("--db", "db_path", type=click.Path(dir_okay=False),
                  help="Inventory database (default: $XDG_STATE_HOME/camsweep/inventory.sqlite).")
    @click.option("--no-store", is_flag=True, help="Do not store this result in the inventory.")
    @click.option("--policy", default=None, help="Policies to apply, comma-separated (default: all). "
                                                 "`camsweep report --help` lists them.")
    @click.option("--fail-on", type=click.Choice(["restricted", "new", "never"]), default="restricted",
                  show_default=True, help="Exit 3 when restricted devices are found; with `new`, exit 4 only "
                                          "for restricted devices no earlier scan had seen.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def outputs_from(options: dict[str, Any]) -> Outputs:
    """Pop the output options (added by ``output_options``) out of a command's kwargs."""
    return Outputs(
        fmt=options.pop("fmt"), output=options.pop("output"), db_path=options.pop("db_path"),
        no_store=options.pop("no_store"), policy=options.pop("policy"), fail_on=options.pop("fail_on"),
    )


def render_for(assessment: Assessment, fmt: str) -> str:
    from camsweep.reports import render, render_report

    if fmt == "table":
        return render(assessment.result, "table") + "\n" + render_report(assessment, "table")
    return render_report(assessment, fmt)


def check_store(outputs: Outputs) -> None:
    """Open (or create) the inventory and the state directory before any work, so that a bad
    ``--db`` (a dangling link, a damaged or newer database) is one line and exit 2, nothing sent."""
    if outputs.last_scan is not None:
        make_state_dir(outputs.last_scan)
    if not outputs.no_store:
        Inventory(outputs.db_path).close()


def finish(result: ScanResult, outputs: Outputs) -> int:
    """Judge, write and print, then store; returns the exit code (the caller exits with it).

    Storing runs even when writing a report file failed (that error is raised after it), and a
    failed store prints one line and gives exit 5 (README "Exit codes"): the inventory, which
    ``--fail-on new`` and ``history`` rely on, is behind, whatever the scan found.
    """
    assessment = evaluate(result, outputs.policy, operator=result.operator or getpass.getuser())
    try:
        _deliver(assessment, outputs)
    finally:
        new_restricted = _store(result, assessment, outputs)
    if new_restricted is None:
        return ExitCode.SCAN_FAILED
    return exit_code(assessment, outputs.fail_on, new_restricted)


def _deliver(assessment: Assessment, outputs: Outputs) -> None:
    for fmt, path in outputs.reports:
        write_atomic(path, render_for(assessment, fmt))
    if outputs.output:
        write_atomic(outputs.output, render_for(assessment, outputs.fmt))
    elif not outputs.quiet:
        echo(render_for(assessment, outputs.fmt), nl=False)


def _store(result: ScanResult, assessment: Assessment, outputs: Outputs) -> int | None:
    """Keep last-scan.json and store in the inventory; the number of new restricted devices, or
    None when either failed (said on stderr: this never raises, see ``finish``)."""
    try:
        if outputs.last_scan is not None:
            save_state(result, outputs.last_scan)
        if outputs.no_store:
            return 0
        by_key = {item.device.key: item for item in result.devices}
        restricted = {
            identity_of(by_key[f.key]) for f in assessment.findings
            if f.status is Status.RESTRICTED and f.key in by_key
        }
        with Inventory(outputs.db_path) as inv:
            scan_id = inv.store(result, restricted=restricted)
            new_restricted = len(inv.new_restricted(scan_id))
            if outputs.keep_scans:
                inv.prune(outputs.keep_scans)
        return new_restricted
    except CamsweepError as error:
        from camsweep.reports.text import escape_controls

        click.echo(f"camsweep: error: this scan was not stored ({escape_controls(str(error))}); "
                   "its report is complete", err=True)
        return None


def exit_code(assessment: Assessment, fail_on: str, new_restricted: int) -> int:
    """4 (new restricted, with --fail-on new) > 3 (restricted) > 6 (partial) > 0.

    (A result that could not be stored exits 5 before this is asked: see ``finish``.)"""
    if fail_on == "new" and new_restricted:
        return ExitCode.NEW_RESTRICTED
    if fail_on == "restricted" and assessment.restricted_count:
        return ExitCode.RESTRICTED
    if assessment.result.partial:
        return ExitCode.PARTIAL
    return ExitCode.OK


def finish_and_exit(result: ScanResult, outputs: Outputs) -> None:
    sys.exit(finish(result, outputs))
