"""``camsweep report SCAN``: the remediation list for a saved scan, under a policy, in any format."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

import click
from camsweep.reports import render_report, write_atomic

from .. import jsonio, restrictions, runconfig
from ..config import Outputs
from ..errors import CamsweepError, InputFileError, SchemaVersionError
from ..findings import Assessment, evaluate
from ..inventory import Inventory
from ..models import ScanResult
from ..policy import describe
from . import echo
from ._settings import given, options


def read_scan(path: str) -> ScanResult:
    """A scan saved as JSON: ``camsweep scan/identify --format json`` output, or a report JSON.

    Any malformed content raises InputFileError (one line naming the file and the place), never
    another exception.
    """
    try:
        stdin_text = sys.stdin.read(jsonio.MAX_INPUT_BYTES + 1) if path == "-" else None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text (expected a scan saved as JSON)") from None
    text = jsonio.read_text(path, stdin_text)
    try:
        data: Any = jsonio.loads(text)
    except ValueError as error:
        raise InputFileError(f"{path}: not valid JSON: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("scan"), dict):
        data = data["scan"]  # a report JSON carries the scan it was made from
    if not isinstance(data, dict) or "devices" not in data:
        raise InputFileError(f"{path}: not a saved scan (no 'devices'; save one with --format json)")
    try:
        return ScanResult.from_dict(data)
    except SchemaVersionError as error:
        raise SchemaVersionError(f"{path}: {error}") from None
    except InputFileError as error:
        raise InputFileError(f"{path}: not a valid saved scan: {error}") from None


def _policy_help() -> str:
    try:
        names = ", ".join(name for name, _, _ in describe(restrictions.load()))
    except CamsweepError:  # help text must never fail; the real load reports its own error
        names = "see README"
    return (f"Who you are: comma-separated policies (default: none: the instruments naming each device's "
            f"maker, without duties or deadlines). Valid: {names}. `camsweep restrictions` shows what each selects.")


def exit_code(assessment: Assessment) -> int:
    from ._finish import exit_code as finishing_code

    return finishing_code(assessment, "restricted", 0)


def load_scan(ref: str | None, db_path: str | None) -> ScanResult:
    """SCAN is a saved JSON file (or ``-``), else a stored scan: an id, ``last`` or ``last~N``."""
    if ref == "-" or (ref is not None and Path(ref).exists()):
        return read_scan(ref)
    if ref is not None and (ref.endswith(".json") or "/" in ref):
        return read_scan(ref)  # a path that does not exist: read_scan names the problem
    with Inventory(db_path) as inv:
        return inv.load(inv.resolve(ref or "last"))


@click.command("report")
@click.argument("scan", metavar="[SCAN]", required=False)
@options(Outputs, ["db_path", "policy"],
         db_path={"help": "Inventory database to read stored scans from (default: see README)."},
         policy={"help": _policy_help()})
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Take the policy (and max_data_age) from a config file's [policy] table (options win).")
@options(Outputs, ["fmt", "output", "as_of", "max_data_age"],
         fmt={"help": "table (terminal), json (scan + findings + data versions), csv (remediation list), html (one file)."},
         output={"help": "Write to this file (atomically) instead of stdout."})
@click.option("--operator", default=None, help="Name recorded in the report manifest (default: the login name).")
def command(scan: str | None, db_path: str | None, policy: str | None, config_path: str | None, fmt: str,
            output: str | None, as_of: str | None, max_data_age: int, operator: str | None) -> None:
    """Render the remediation list for a scan: SCAN is a stored scan's id from `camsweep history`
    (default: the last one; `last~1` is the one before), or a scan saved as JSON (``-`` = stdin).

    Exit code 3 when a device is restricted under the chosen policy (without a policy: when a
    Hikvision/Dahua-made device is found), 6 when the scan was partial, else 0.
    """
    ctx = click.get_current_context()
    file = runconfig.load(config_path).outputs if config_path else {}
    if policy is None:
        policy = file.get("policy")
    settings = given(Outputs, ctx, {"as_of": as_of, "max_data_age": max_data_age},
                     {k: v for k, v in file.items() if k == "max_data_age"})
    result = load_scan(scan, db_path)
    who = operator
    if who is None:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no login name (e.g. a container with an unknown uid)
            who = None
    assessment = evaluate(result, policy, operator=who, as_of=settings.get("as_of"),
                          max_data_age=settings.get("max_data_age", Outputs.max_data_age))
    text = render_report(assessment, fmt)
    if output:
        write_atomic(output, text)
    else:
        echo(text, nl=False)
    sys.exit(exit_code(assessment))
