"""``camsweep demo``: the lab up, a scan of it, the remediation list and an HTML report, lab down.

What it leaves: the report and the demo inventory (with the scan saved beside it for ``explain``),
owned by the user who ran ``sudo camsweep demo``, so that the commands it suggests work without
root. Everything else it made -- namespaces, the lab's state, its TLS certificates -- goes.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

import click

from .._child import python_command
from ..config import Outputs
from ..errors import ExitCode, OutputError, ScanError
from ..models import ScanResult
from ..savedscan import read_scan, write_atomic
from ..store import is_url
from ._finish import finish
from ._settings import options

SCAN_BOUND = 300.0
"""Seconds the demo scan may take at most (it takes ~10 s on the shipped 40-odd devices)."""
DEMO_DB = "camsweep-demo.sqlite"
CLOSING = {
    ExitCode.OK: "exit 0: no restricted device found.",
    ExitCode.RESTRICTED: "exit 3: restricted devices found, as designed -- the lab holds Hikvision and Dahua "
                         "devices; a real scan exits 0 when it finds none (README \"Exit codes\").",
    ExitCode.PARTIAL: "exit 6: the scan was cut short; the result above is partial.",
}


@click.command("demo")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default="camsweep-demo-report.html",
              show_default=True, help="Where to write the HTML report.")
@click.option("--count", type=int, default=None, help="Clone the shipped profiles up to N devices.")
@options(Outputs, ["db_path"], db_path={
    "default": DEMO_DB, "show_default": True,
    "help": "Demo inventory the scan is stored in (the commands printed at the end read it)."})
def command(report_path: str, count: int | None, db_path: str) -> None:
    """Try camsweep safely (Linux, root): build the emulated lab, scan it, print the remediation
    list and the path of the HTML report, and tear the lab down.

    The lab is a set of network namespaces (segment A 198.18.0.0/24, a routed camera VLAN
    198.18.1.0/24) with emulated Hikvision, Dahua, OEM-relabelled and other devices. The scan runs
    inside the lab's scanner namespace, so no packet reaches any real network. Exit 3 (restricted
    devices found) is the expected outcome.
    """
    from ..lab import Lab
    from ..lab.certs import CERTS_ENV

    kept_scan = _saved_scan_path(db_path)
    with tempfile.TemporaryDirectory(prefix="camsweep-demo-") as tmp:
        saved = Path(tmp) / "scan.json"
        prefix = f"cs-d{os.getpid()}-"
        os.environ[CERTS_ENV] = str(Path(tmp) / "lab-certs")  # the emulators' certificates go with tmp
        with Lab(count=count, prefix=prefix) as lab:
            assert lab.plan is not None
            segments = [lab.plan.segment_a, lab.plan.segment_b]
            click.echo(f"lab up: {len(lab.devices)} emulated devices on {segments[0]} and "
                       f"{segments[1]} (routed), namespaces {prefix}*; scanning from {lab.plan.scanner_ip} ...", err=True)
            done = lab.exec(
                python_command("camsweep", "-q", "scan", *segments, "--format", "json", "--no-store",
                               "-o", str(saved), "--state-dir", str(Path(tmp) / "state")),
                timeout=SCAN_BOUND,
            )
            if done.returncode not in (0, 3, 6) or not saved.exists():
                raise ScanError(f"the demo scan failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        click.echo("lab torn down.", err=True)
        result = read_scan(str(saved))
        code = finish(result, Outputs(fmt="table", db_path=db_path, reports=(("html", report_path),)))
        made = [report_path]
        if kept_scan is not None:
            write_atomic(kept_scan, saved.read_text(encoding="utf-8"))  # private, like every saved scan
            made += [db_path, kept_scan]
    for path in made:
        _give_to_invoking_user(path)
    click.echo(f"\nHTML report: {os.path.abspath(report_path)}")
    _suggest(result, db_path, kept_scan)
    click.echo(CLOSING.get(code, f"exit {code}: see README \"Exit codes\"."))
    sys.exit(code)


def _saved_scan_path(db_path: str) -> str | None:
    """Where the scan is kept for ``explain``: beside an SQLite demo inventory (none for a URL)."""
    if is_url(db_path):
        return None
    path = Path(db_path)
    return str(path.with_name(path.stem + "-scan.json"))


def _suggest(result: ScanResult, db_path: str, kept_scan: str | None) -> None:
    db = shlex.quote(db_path)
    lines = [f"camsweep history --db {db}", f"camsweep report last --db {db} --format csv"]
    restricted = next((i.device.ip for i in result.devices if i.verdict.is_restricted_maker and i.device.ip), None)
    if kept_scan is not None and restricted:
        lines.append(f"camsweep explain {restricted} --scan {shlex.quote(kept_scan)}")
    click.echo("Next, on the demo's scan (stored in the demo inventory):")
    for line in lines:
        click.echo(f"  {line}")


def _give_to_invoking_user(path: str) -> None:
    """``sudo camsweep demo`` runs as root; what it leaves belongs to the user who ran sudo, who
    can then open the report and run the suggested commands without root. The files keep their
    private mode (0600: they list devices and their weaknesses), now that user's."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() != 0 or not (uid.isdigit() and gid.isdigit()):
        return
    try:
        os.chown(path, int(uid), int(gid), follow_symlinks=False)
    except OSError as exc:
        raise OutputError(f"cannot give {path} to the user who ran sudo: {exc.strerror}") from None
