"""``camsweep explain IP|MAC``: every observation and rule hit behind one device's verdict."""

from __future__ import annotations

from typing import Any

import click
from camsweep.reports.explain import RENDERERS

from ..config import Outputs
from ..errors import UsageError
from ..models import IdentifiedDevice, ScanResult, normalize_ip, normalize_mac
from ..savedscan import last_scan_path, load_result
from . import Choice, echo
from ._scope import load_scan, scope, scope_options
from ._settings import options


def check_address(key: str) -> tuple[str | None, str | None]:
    ip, mac = normalize_ip(key), normalize_mac(key)
    if ip is None and mac is None:
        raise UsageError(f"{key!r} is neither an IP address nor a MAC address")
    return ip, mac


def find_device(result: ScanResult, key: str) -> IdentifiedDevice:
    ip, mac = check_address(key)
    for item in result.devices:
        if (ip and ip in item.device.ips) or (mac and mac in item.device.macs):
            return item
    raise UsageError(f"no device {key} in the scan of {result.started:%Y-%m-%d %H:%M} UTC")


@click.command("explain")
@click.argument("address")
@click.option("--scan", "scan_ref", metavar="SCAN",
              help="A stored scan (an id from `camsweep history`, `last`, `last~1`) or a saved scan file "
                   "(a `--format json` report or last-scan.json); default: the last scan.")
@options(Outputs, ["state_dir"], state_dir={"help": "Where the last scan was saved (default: $XDG_STATE_HOME/camsweep)."})
@scope_options
@click.option("--format", "fmt", type=Choice(list(RENDERERS)), default="text", show_default=True)
@click.pass_context
def command(ctx: click.Context, address: str, scan_ref: str | None, state_dir: str | None, fmt: str,
            **params: Any) -> None:
    """Show why ADDRESS (an IP or MAC) got its verdict: every observation, rule hit and conflict."""
    check_address(address)
    db_path, site, _ = scope(ctx, params)
    # SCAN as `report` takes it; without it the last scan this machine made (last-scan.json).
    result = load_scan(scan_ref, db_path, site) if scan_ref else load_result(last_scan_path(state_dir))
    echo(RENDERERS[fmt](find_device(result, address)), nl=False)
