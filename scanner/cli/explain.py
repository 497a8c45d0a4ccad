"""``camsweep explain IP|MAC``: every observation and rule hit behind one device's verdict."""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from camsweep.reports.text import clean

from .. import jsonio
from ..errors import InputFileError, UsageError
from ..models import IdentifiedDevice, ScanResult, normalize_ip, normalize_mac
from . import echo


def load_result(path: str | Path) -> ScanResult:
    """The scan to explain: a saved scan result or report JSON (read as ``camsweep report`` does)."""
    from .report import read_scan

    if not Path(path).exists():
        raise InputFileError(f"{path}: no such scan file (run `camsweep scan` first or pass --scan FILE)")
    return read_scan(str(path))


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


def render(item: IdentifiedDevice) -> str:
    d, v = item.device, item.verdict
    lines = [
        f"device {clean(d.key)}: IP {clean(', '.join(d.ips) or '-', 200)}  MAC {clean(', '.join(d.macs) or '-', 200)}  "
        f"open ports {', '.join(map(str, d.open_ports)) or '-'}",
        # Brand, model, firmware and serial are device text: cleaned like every other value here.
        f"verdict: maker {v.manufacturer.value}, brand {clean(v.brand or '-')}, type {v.device_type.value}, "
        f"model {clean(v.model or '-')}, firmware {clean(v.firmware or '-')}, serial {clean(v.serial or '-')}",
        f"confidence: {clean(v.confidence_level)} ({v.confidence:.2f})",
    ]
    if v.summary:
        lines.append(f"summary: {clean(v.summary, 300)}")
    lines.append("")
    lines.append(f"rule hits ({len(v.hits)}):")
    if v.hits:
        # A saved scan is a file anyone may hand over: every text in it is cleaned, not only device text.
        rows = [[clean(h.rule_id), h.tier.value, f"{h.certainty:.2f}", h.maker.value if h.maker else "",
                 clean(h.brand or ""), clean(h.probe), h.seen_at.strftime("%H:%M:%S"), clean(h.field),
                 clean(h.value, 60)] for h in v.hits]
        lines.append(tabulate(rows, headers=["rule", "tier", "certainty", "maker", "brand", "probe", "time",
                                             "field", "value"], tablefmt="simple"))
    lines.append("")
    lines.append("conflicts: " + ("; ".join(clean(c, 200) for c in v.conflicts) if v.conflicts else "none"))
    lines.append("")
    lines.append(f"observations ({len(d.observations)}):")
    for o in d.observations:
        where = f"{o.ip or '-'}" + (f":{o.port}" if o.port else "") + (f" {o.mac}" if o.mac else "")
        head = f"- {o.time:%H:%M:%S} {clean(o.probe)} {o.kind.value} {clean(where)}"
        if o.problem:  # may quote the device (a URL it sent, a parser message)
            head += f"  PROBLEM {clean(o.problem, 200)}"
        if o.truncated:
            head += "  (raw truncated)"
        lines.append(head)
        for key in sorted(o.fields):
            lines.append(f"    {clean(key)} = {clean(o.fields[key], 100)}")
        if o.problem and o.raw:
            lines.append(f"    raw: {clean(o.raw, 100)}")
    return "\n".join(lines) + "\n"


@click.command("explain")
@click.argument("address")
@click.option("--scan", "scan_file", type=click.Path(dir_okay=False),
              help="Saved scan (a `scan --format json` report or last-scan.json; default: the last scan).")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="Where the last scan was saved (default: $XDG_STATE_HOME/camsweep).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(address: str, scan_file: str | None, state_dir: str | None, fmt: str) -> None:
    """Show why ADDRESS (an IP or MAC) got its verdict: every observation, rule hit and conflict."""
    from .scan import STATE_FILE, default_state_dir

    check_address(address)
    path = Path(scan_file) if scan_file else (Path(state_dir) if state_dir else default_state_dir()) / STATE_FILE
    item = find_device(load_result(path), address)
    if fmt == "json":
        echo(jsonio.dumps(item.to_dict(), indent=2))
    else:
        echo(render(item), nl=False)
