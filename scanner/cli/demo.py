"""``camsweep demo``: the lab up, a scan of it, the remediation list and an HTML report, lab down."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from .._child import python_command
from ..config import Outputs
from ..errors import ScanError
from ..savedscan import read_scan
from ._finish import finish
from ._settings import options

SCAN_BOUND = 300.0
"""Seconds the demo scan may take at most (it takes ~10 s on the shipped 40-odd devices)."""


@click.command("demo")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default="camsweep-demo-report.html",
              show_default=True, help="Where to write the HTML report.")
@click.option("--count", type=int, default=None, help="Clone the shipped profiles up to N devices.")
@options(Outputs, ["db_path"], db_path={"help": "Inventory to store the demo scan in (default: a throw-away one)."})
def command(report_path: str, count: int | None, db_path: str | None) -> None:
    """Try camsweep safely (Linux, root): build the emulated lab, scan it, print the remediation
    list and the path of the HTML report, and tear the lab down.

    The lab is a set of network namespaces (segment A 198.18.0.0/24, a routed camera VLAN
    198.18.1.0/24) with emulated Hikvision, Dahua, OEM-relabelled and other devices. The scan runs
    inside the lab's scanner namespace, so no packet reaches any real network.
    """
    from ..lab import Lab

    with tempfile.TemporaryDirectory(prefix="camsweep-demo-") as tmp:
        saved = Path(tmp) / "scan.json"
        prefix = f"cs-d{os.getpid()}-"
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
        demo_db = db_path or str(Path(tmp) / "demo.sqlite")
        code = finish(result, Outputs(fmt="table", db_path=demo_db, reports=(("html", report_path),)))
    click.echo(f"\nHTML report: {os.path.abspath(report_path)}")
    sys.exit(code)
