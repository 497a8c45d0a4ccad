"""``camsweep listen``: identify devices from traffic alone; sends no packet at all."""

from __future__ import annotations

from typing import Any

import click

from ..config import Outputs, ScanConfig
from ..passive import listen
from ._finish import check_store, finish_and_exit, output_options
from ._progress import ScanProgress
from ._settings import given, options


@click.command("listen")
@options(ScanConfig, ["interface"], interface={"required": True, "help": "Interface to listen on (needs root)."})
@click.option("-d", "--duration", type=float, default=60.0, show_default=True, help="Seconds to listen.")
@click.option("--only", "targets", multiple=True, metavar="CIDR",
              help="Keep only hosts in these networks (repeatable).")
@output_options
@click.pass_context
def command(ctx: click.Context, interface: str, duration: float, targets: tuple[str, ...], **params: Any) -> None:
    """Listen on INTERFACE and identify devices from what they announce and answer to others.

    Nothing is sent: the packet socket is receive-only. Devices are identified from ARP, DHCP,
    mDNS, SSDP, WS-Discovery, SADP and DHIP announcements, clear-text HTTP and RTSP replies, TLS 1.2
    certificates and the ports they serve on. Results go to the same inventory as active scans.
    """
    outputs = Outputs(**given(Outputs, ctx, params))
    check_store(outputs)
    with ScanProgress.for_terminal() as progress:
        result = listen(interface, duration, targets=targets, on_event=progress)
    finish_and_exit(result, outputs)
