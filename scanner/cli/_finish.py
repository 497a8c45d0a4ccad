"""What every command that produces a scan result does at the end: judge, store, render, exit.

Shared by ``scan``, ``scan --pcap``, ``listen`` and ``demo`` so that all of them judge devices
against the same policy, store into the same inventory, write reports the same (atomic) way and
exit with the same documented codes.
"""

from __future__ import annotations

import getpass
import sys

import click

from ..config import Outputs
from ..errors import ExitCode
from ..findings import Assessment, Status, evaluate
from ..inventory import Inventory, identity_of
from ..models import ScanResult
from ._settings import options

output_options = options(Outputs, ["fmt", "output", "db_path", "no_store", "policy", "fail_on"])
"""The output, inventory and policy options every command that produces a scan result takes."""


def render_for(assessment: Assessment, fmt: str) -> str:
    from camsweep.reports import render, render_report

    if fmt == "table":
        return render(assessment.result, "table") + "\n" + render_report(assessment, "table")
    return render_report(assessment, fmt)


def finish(result: ScanResult, outputs: Outputs) -> int:
    """Judge, store, write; returns the exit code (the caller exits with it)."""
    from camsweep.reports import write_atomic

    assessment = evaluate(result, outputs.policy, operator=result.operator or getpass.getuser())
    new_restricted = 0
    if not outputs.no_store:
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
    for fmt, path in outputs.reports:
        write_atomic(path, render_for(assessment, fmt))
    if outputs.output:
        write_atomic(outputs.output, render_for(assessment, outputs.fmt))
    elif not outputs.quiet:
        click.echo(render_for(assessment, outputs.fmt), nl=False)
    return exit_code(assessment, outputs.fail_on, new_restricted)


def exit_code(assessment: Assessment, fail_on: str, new_restricted: int) -> int:
    """4 (new restricted, with --fail-on new) > 3 (restricted) > 6 (partial) > 0."""
    if fail_on == "new" and new_restricted:
        return ExitCode.NEW_RESTRICTED
    if fail_on == "restricted" and assessment.restricted_count:
        return ExitCode.RESTRICTED
    if assessment.result.partial:
        return ExitCode.PARTIAL
    return ExitCode.OK


def finish_and_exit(result: ScanResult, outputs: Outputs) -> None:
    sys.exit(finish(result, outputs))
