"""``camsweep scan [TARGETS...]``: find and identify cameras, NVRs and DVRs on a network."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from .. import runconfig
from ..config import CaptureConfig, Outputs, ScanConfig
from ..targets import scope
from ._finish import check_outputs, finish_and_exit, output_options
from ._progress import ScanProgress
from ._settings import config_option, file_values, given, load_config, options, run_lock

CREDENTIALS_HELP = """\b
Credentials file (TOML; chmod 600 -- a file others can read is used with a warning):
  [[credential]]
  network = "198.18.0.0/24"     # or one host; the most specific entry wins
  username = "onvif-audit"
  password = "..."
Used for ONVIF GetDeviceInformation/GetNetworkInterfaces and one read-only
maker page over HTTP (Digest; Basic only over HTTPS) on the hosts it covers,
one login attempt each. Passwords are never logged or written anywhere."""




@click.command("scan", epilog=CREDENTIALS_HELP)
@options(ScanConfig)
@options(Outputs, ["state_dir"])
@config_option
@options(CaptureConfig)
@output_options
@click.pass_context
def command(ctx: click.Context, config_path: str | None, **params: Any) -> None:
    """Scan TARGETS (CIDRs, ranges like 10.0.0.5-40, hosts, host names) and identify devices.

    Without TARGETS the subnets of the --interface are scanned. Sent: an ARP sweep (root only),
    multicast/broadcast discovery probes (WS-Discovery, SADP, DHIP, SSDP, mDNS), TCP connects to
    --ports, HTTP GETs of the start page and a few read-only maker pages, RTSP OPTIONS/DESCRIBE,
    a TLS handshake, and ONVIF queries only with --credentials. Never sent: password guesses,
    exploit paths, configuration changes. Public ranges are refused without --allow-public.

    Exit codes: 0 no restricted device, 2 bad input (nothing sent), 3 restricted device(s)
    found, 4 new ones (--fail-on new), 5 scan failed, not stored or a report not written,
    6 interrupted (partial result printed).
    """
    run_config = load_config(config_path)
    capture = CaptureConfig(**given(CaptureConfig, ctx, params, file_values(run_config, CaptureConfig)))
    config, outputs = settings(ctx, params, run_config)
    outputs = replace(outputs, keep_last_scan=True)
    if capture.pcap:
        _analyse(capture.pcap, config, outputs, run_config)

    from ..engine import plan, run

    checked = plan(config)  # values were checked above; what needs the system is checked here, before anything is sent
    with run_lock(run_config, outputs):
        check_outputs(outputs)
        # The display ends when run() returns: at the end, or within a second of Ctrl-C.
        with ScanProgress.for_terminal(attended=run_config is None) as progress:
            result = run(checked, progress)
        finish_and_exit(result, outputs)


def _analyse(pcap: str, config: ScanConfig, outputs: Outputs, run_config: runconfig.RunConfig | None) -> None:
    """``scan --pcap``: the capture's hosts within the targets (all without), judged, reported and
    stored like a scan; exits. Everything is checked before the capture is opened."""
    from ..passive import analyse_capture

    keep = config.targets + config.target_file
    scope(keep, exclude=config.exclude)  # a bad target is one line before anything else
    with run_lock(run_config, outputs):
        check_outputs(outputs)
        with ScanProgress.for_terminal(attended=run_config is None) as progress:
            result = analyse_capture(pcap, targets=keep, exclude=config.exclude, on_event=progress)
        finish_and_exit(result, outputs)


def settings(ctx: click.Context, params: dict[str, Any],
             run_config: runconfig.RunConfig | None) -> tuple[ScanConfig, Outputs]:
    """The scan's settings: each from the command line, else the config file, else its default."""
    # Unattended (a config file): report files and the inventory only; errors still go to stderr.
    outputs = Outputs(**given(Outputs, ctx, params, file_values(run_config, Outputs)), quiet=run_config is not None)
    return ScanConfig(**given(ScanConfig, ctx, params, file_values(run_config, ScanConfig))), outputs
