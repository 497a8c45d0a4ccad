"""``camsweep listen``: identify devices from traffic alone; sends no packet at all."""

from __future__ import annotations

from typing import Any

import click

from ..config import ListenConfig, Outputs
from ..errors import UsageError
from ..passive import check_listen, listen
from ..targets import scope
from ._finish import check_outputs, finish_and_exit, output_options
from ._progress import ScanProgress
from ._settings import config_option, file_values, given, load_config, options, run_lock


@click.command("listen")
@options(ListenConfig)
@config_option
@output_options
@click.pass_context
def command(ctx: click.Context, config_path: str | None, **params: Any) -> None:
    """Listen on INTERFACE and identify devices from what they announce and answer to others.

    Nothing is sent: the packet socket is receive-only. Devices are identified from ARP, DHCP,
    mDNS, SSDP, WS-Discovery, SADP and DHIP announcements, clear-text HTTP and RTSP replies, TLS 1.2
    certificates and the ports they serve on. Results go to the same inventory as active scans.
    With --config, the [listen] table gives the interface, duration and hosts kept.
    """
    run_config = load_config(config_path)
    how = ListenConfig(**given(ListenConfig, ctx, params, file_values(run_config, ListenConfig)))
    outputs = Outputs(**given(Outputs, ctx, params, file_values(run_config, Outputs)), quiet=run_config is not None)
    if not how.interface:
        raise UsageError("listen needs an interface: -i INTERFACE, or interface in the config's [listen]")
    keep = how.only + how.target_file
    scope(keep, exclude=how.exclude)  # a bad address is one line before anything else
    check_listen(how.interface, how.duration)
    with run_lock(run_config, outputs):
        check_outputs(outputs)
        with ScanProgress.for_terminal(attended=run_config is None) as progress:
            result = listen(how.interface, how.duration, targets=keep, exclude=how.exclude, on_event=progress)
        finish_and_exit(result, outputs)
