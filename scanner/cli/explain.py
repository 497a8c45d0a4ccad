"""``camsweep explain IP|MAC``: every observation and rule hit behind one device's verdict."""

from __future__ import annotations

from pathlib import Path

import click
from camsweep.reports.explain import RENDERERS

from ..config import Outputs
from ..errors import UsageError
from ..models import IdentifiedDevice, ScanResult, normalize_ip, normalize_mac
from ..savedscan import last_scan_path, load_result
from . import Choice, echo
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
@click.option("--scan", "scan_file", type=click.Path(dir_okay=False),
              help="Saved scan (a `scan --format json` report or last-scan.json; default: the last scan).")
@options(Outputs, ["state_dir"], state_dir={"help": "Where the last scan was saved (default: $XDG_STATE_HOME/camsweep)."})
@click.option("--format", "fmt", type=Choice(list(RENDERERS)), default="text", show_default=True)
def command(address: str, scan_file: str | None, state_dir: str | None, fmt: str) -> None:
    """Show why ADDRESS (an IP or MAC) got its verdict: every observation, rule hit and conflict."""
    check_address(address)
    item = find_device(load_result(Path(scan_file) if scan_file else last_scan_path(state_dir)), address)
    echo(RENDERERS[fmt](item), nl=False)
