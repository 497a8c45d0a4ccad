"""``camsweep import scan|nmap|dhcp FILE...``: what was seen elsewhere, into the inventory.

``import scan`` stores saved scans, e.g. one whose store failed (a dropped connection to a shared
inventory keeps the result in a file and says so). ``import nmap`` and ``import dhcp`` read what
another tool saw (``scanner/imports.py``), identify it and judge, report and store it like a scan
(mode ``import-nmap``/``import-dhcp``, the file as its target: ``history`` and ``diff`` show both).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from .. import imports
from ..config import Outputs
from ..errors import InventoryError, ScanError, UsageError
from ..findings import evaluate
from ..savedscan import read_scan
from ..store import display, open_store
from ..verdicts import identify_result
from . import Choice, echo
from ._finish import check_outputs, finish_and_exit, output_options
from ._settings import given, options


@click.group("import")
def command() -> None:
    """Store saved scans, nmap reports and DHCP leases in the inventory."""


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


@command.command("nmap")
@click.argument("file", type=click.Path(dir_okay=False))
@output_options
@click.pass_context
def nmap(ctx: click.Context, file: str, **params: Any) -> None:
    """Identify the hosts of an nmap XML report (``nmap -oX FILE``, with or without -sV and
    scripts) and store them like a scan (mode ``import-nmap``).

    Each host's MAC (and nmap's vendor for it), open ports, -sV service banners and the outputs of
    http-title, http-server-header, rtsp-methods, ssl-cert, upnp-info and wsdd-discover /
    broadcast-wsdd-discover become observations the fingerprint rules judge. Exit codes as for
    ``scan``; 2 for a file that is not an nmap report or declares XML entities.
    """
    outputs = Outputs(**given(Outputs, ctx, params))
    check_outputs(outputs)
    read = imports.read_nmap(file)
    _finish(read, file, "import-nmap", outputs)


@command.command("dhcp")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--lease-format", "lease_format", type=Choice(list(imports.LEASE_FORMATS)), default=None,
              help="The lease file's format (default: recognised from its first line).")
@output_options
@click.pass_context
def dhcp(ctx: click.Context, file: str, lease_format: str | None, **params: Any) -> None:
    """Identify the clients of a DHCP server's lease file (ISC dhcpd.leases, dnsmasq.leases, Kea
    memfile CSV) and store them like a scan (mode ``import-dhcp``).

    Each active lease's MAC, IP, host name and, where the server records them, vendor class and
    parameter request list become observations the fingerprint rules judge (the same as a DHCP
    packet heard by ``listen``). A lease that cannot be read is a note naming its line.
    """
    outputs = Outputs(**given(Outputs, ctx, params))
    check_outputs(outputs)
    read = imports.read_leases(file, lease_format)
    _finish(read, file, "import-dhcp", outputs)


def _finish(read: imports.Imported, file: str, mode: str, outputs: Outputs) -> None:
    result = identify_result(read.observations, targets=(file,), mode=mode, started=read.started,
                             partial=read.partial, notes=read.notes)
    if read.started and read.finished and read.finished >= read.started:
        result = replace(result, finished=read.finished)  # when the source saw it, not when it was read
    finish_and_exit(result, outputs)
