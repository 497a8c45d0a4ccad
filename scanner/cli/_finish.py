"""What every command that produces a scan result does at the end: judge, render, store, exit.

Shared by ``scan``, ``scan --pcap``, ``listen`` and ``demo`` so that all of them judge devices
against the same policy, write reports the same (atomic) way, store into the same inventory and
exit with the same documented codes. The report comes first: a store that fails (a full disk, a
database damaged since the run began) is said in one line and exit 5, and hides nothing.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any
from datetime import datetime

import click

from ..config import Outputs
from ..errors import CamsweepError, ExitCode, InventoryError, OutputError
from ..findings import Assessment, evaluate
from ..models import ScanResult
from ..savedscan import check_state_dir, check_writable, keep_unstored, save_state, write_atomic
from ..store import display, open_store
from . import echo, echo_notes, terminal_view
from ._settings import options

output_options = options(Outputs, ["fmt", "output", "all_hosts", "db_path", "site", "operator", "no_store", "policy",
                                   "fail_on", "as_of", "max_data_age"])
"""The output, inventory and policy options every command that produces a scan result takes."""


def render_for(assessment: Assessment, fmt: str, view: Any = None) -> str:
    """The report in ``fmt``; a table is laid out for ``view`` (default: a file, device table first)."""
    from camsweep.reports import remediation, render_report
    from camsweep.reports.terminal import View

    if fmt == "table":
        return remediation.render(assessment, view or View(devices=True))
    return render_report(assessment, fmt)


def check_outputs(outputs: Outputs) -> None:
    """Check everything a run will write, before it sends anything or reads a capture, so that a
    problem is one line and exit 2 with nothing sent: every report file (its folder exists and
    takes a file), the state directory (made if need be), the inventory (opened or created: a
    dangling link, a damaged or newer database is refused) and the policy's names."""
    if outputs.policy:
        from ..policy import select
        from ..restrictions import load

        select(load(), outputs.policy)
    for _, path in _files(outputs):
        check_writable(path)
    if outputs.keep_last_scan:
        check_state_dir(outputs.state_dir)
    if not outputs.no_store:
        open_store(outputs.db_path).close()


def finish(result: ScanResult, outputs: Outputs) -> int:
    """Judge, write and print, then store; returns the exit code (the caller exits with it).

    Every report file is attempted: one that cannot be written is said on stderr and the others
    are still written. Storing runs whatever happened to the reports, and a failed store prints
    one line and gives exit 5 (README "Exit codes"): the inventory, which ``--fail-on new`` and
    ``history`` rely on, is behind, whatever the scan found. A report that was not written gives
    exit 5 too, unless restricted devices were found (4 and 3 are never masked).
    """
    # The run's own settings join what the scan recorded, before anything is judged, saved or stored.
    result = replace(result, site=outputs.site or result.site, operator=outputs.operator or result.operator)
    assessment = evaluate(result, outputs.policy, operator=result.operator, as_of=outputs.as_of,
                          max_data_age=outputs.max_data_age)
    assessment = replace(assessment, seen=_seen(result, outputs))
    unwritten = 0
    try:
        unwritten = _deliver(assessment, outputs)
    finally:
        new_restricted = _store(result, assessment, outputs)
    if new_restricted is None:
        return ExitCode.SCAN_FAILED
    code = exit_code(assessment, outputs.fail_on, new_restricted)
    if unwritten and code not in (ExitCode.NEW_RESTRICTED, ExitCode.RESTRICTED):
        return ExitCode.SCAN_FAILED
    return code


def _seen(result: ScanResult, outputs: Outputs) -> dict[str, tuple[datetime, datetime]]:
    """When each device was first and last seen, from the inventory this result is about to join
    (nothing with --no-store; a damaged inventory is said once, by the store that follows)."""
    if outputs.no_store:
        return {}
    try:
        with open_store(outputs.db_path) as inv:
            return inv.seen(result)
    except CamsweepError:
        return {}


def _files(outputs: Outputs) -> list[tuple[str, str]]:
    """The report files a run writes: the config's reports, then ``-o``: (format, path)."""
    return [*outputs.reports, *([(outputs.fmt, outputs.output)] if outputs.output else [])]


def _deliver(assessment: Assessment, outputs: Outputs) -> int:
    """Write every report file and print the report unless it went to a file or the run is
    unattended; how many files could not be written (each said on stderr)."""
    from camsweep.reports.terminal import View

    unwritten = 0
    for fmt, path in _files(outputs):
        try:
            write_atomic(path, render_for(assessment, fmt, View(devices=True, all_hosts=outputs.all_hosts)))
        except OutputError as error:
            _say(f"{error} (the {fmt} report; the other reports and the inventory are written regardless)")
            unwritten += 1
    if not outputs.output and not outputs.quiet:  # unattended runs print errors only
        echo(render_for(assessment, outputs.fmt, terminal_view(devices=True, all_hosts=outputs.all_hosts)), nl=False)
        if outputs.fmt == "table":  # the other formats carry the notes inside
            echo_notes(assessment.result.notes)
    return unwritten


def _say(error: str) -> None:
    """One error line on stderr for a problem the run goes on after (``fail`` ends the run)."""
    from camsweep.reports.text import escape_controls

    click.echo(f"camsweep: error: {escape_controls(error)}", err=True)


def _store(result: ScanResult, assessment: Assessment, outputs: Outputs) -> int | None:
    """Keep last-scan.json and store in the inventory; the number of new restricted devices, or
    None when either failed (said on stderr: this never raises, see ``finish``)."""
    try:
        if outputs.keep_last_scan:
            save_state(result, outputs.state_dir)
        if outputs.no_store:
            return 0
        return store(result, assessment, outputs)
    except InventoryError as error:
        said = f"this scan was not stored ({error}); its report is complete"
        try:
            kept = keep_unstored(result, outputs.state_dir)
        except CamsweepError as keeping:
            said += f"; its result could not be kept either ({keeping})"
        else:
            where = f" --db {display(outputs.db_path)}" if outputs.db_path else ""
            said += f"; store it later with: camsweep import scan {kept}{where}"
    except CamsweepError as error:
        said = f"this scan was not stored ({error}); its report is complete"
    _say(said)
    return None


def store(result: ScanResult, assessment: Assessment, outputs: Outputs) -> int:
    """Store ``result`` judged as ``assessment`` and prune its site's old scans (retention); the
    number of restricted devices no earlier scan of the site had seen."""
    with open_store(outputs.db_path) as inventory:
        return inventory.store_and_prune(result, assessment, outputs.keep_scans)


def exit_code(assessment: Assessment, fail_on: str, new_restricted: int) -> int:
    """4 (new restricted, with --fail-on new) > 3 (restricted) > 6 (partial) > 0 (``finish`` puts
    5, a report not written, between 3 and 6).

    "Restricted" is ``Assessment.flagged``: under a policy the devices it restricts; without one,
    every Hikvision/Dahua-made device, so that a run without a policy still signals them.
    (A result that could not be stored exits 5 before this is asked: see ``finish``.)"""
    if fail_on == "new" and new_restricted:
        return ExitCode.NEW_RESTRICTED
    if fail_on == "restricted" and assessment.flagged:
        return ExitCode.RESTRICTED
    if assessment.result.partial:
        return ExitCode.PARTIAL
    return ExitCode.OK


def finish_and_exit(result: ScanResult, outputs: Outputs) -> None:
    sys.exit(finish(result, outputs))
