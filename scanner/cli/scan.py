"""``camsweep scan [TARGETS...]``: find and identify cameras, NVRs and DVRs on a network."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from .. import runconfig
from ..config import Outputs, ScanConfig, default_state_dir
from ..errors import OutputError
from ._finish import check_store, finish_and_exit, output_options
from ._settings import given, options

CREDENTIALS_HELP = """\b
Credentials file (TOML; chmod 600 -- a file others can read is used with a warning):
  [[credential]]
  network = "198.18.0.0/24"     # or one host; the most specific entry wins
  username = "onvif-audit"
  password = "..."
Used for ONVIF GetDeviceInformation/GetNetworkInterfaces and one read-only
maker page over HTTP (Digest; Basic only over HTTPS) on the hosts it covers,
one login attempt each. Passwords are never logged or written anywhere."""


class Progress:
    """Counts on one stderr line, only when stderr is a terminal; nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.shown = False

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if kind == "phase" and data.get("name") == "discover":
            self._show("discovering hosts ...")
        elif kind == "phase" and data.get("name") == "hosts":
            self._show(f"{data.get('total', 0)} host(s) answered; probing ...")
        elif kind == "progress":
            self._show(f"probed {data['probed']}/{data['total']} host(s), {data['devices']} device(s) found")
        elif kind == "phase" and data.get("name") == "identify":
            self.clear()

    def _show(self, text: str) -> None:
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


@click.command("scan", epilog=CREDENTIALS_HELP)
@options(ScanConfig)
@options(Outputs, ["state_dir"])
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="TOML config for unattended runs ([scan], [policy], [output], [retention]; README "
                   "\"Scheduled scans\"); options given here win. Takes a run lock: overlapping runs exit 5.")
@click.option("--pcap", "pcap_path", type=click.Path(dir_okay=False),
              help="Analyse this capture (pcap/pcapng) offline instead of scanning: nothing is sent; "
                   "TARGETS, if given, keep only hosts in those networks.")
@output_options
@click.pass_context
def command(ctx: click.Context, config_path: str | None, pcap_path: str | None, **params: Any) -> None:
    """Scan TARGETS (CIDRs, ranges like 10.0.0.5-40, hosts, host names) and identify devices.

    Without TARGETS the subnets of the --interface are scanned. Sent: an ARP sweep (root only),
    multicast/broadcast discovery probes (WS-Discovery, SADP, DHIP, SSDP, mDNS), TCP connects to
    --ports, HTTP GETs of the start page and a few read-only maker pages, RTSP OPTIONS/DESCRIBE,
    a TLS handshake, and ONVIF queries only with --credentials. Never sent: password guesses,
    exploit paths, configuration changes. Public ranges are refused without --allow-public.

    Exit codes: 0 no restricted device, 2 bad input (nothing sent), 3 restricted device(s)
    found, 4 new ones (--fail-on new), 5 scan failed or not stored, 6 interrupted (partial result
    printed).
    """
    from ..engine import plan, run

    if pcap_path:
        from ..passive import analyse_capture

        outputs = replace(Outputs(**given(Outputs, ctx, params)), keep_last_scan=True)
        if outputs.output:
            _check_writable(outputs.output)
        check_store(outputs)
        result = analyse_capture(pcap_path, targets=params["targets"])
        finish_and_exit(result, outputs)

    run_config = runconfig.load(config_path) if config_path else None
    config, outputs = settings(ctx, params, run_config)
    outputs = replace(outputs, keep_last_scan=True)
    checked = plan(config)  # values were checked above; what needs the system is checked here, before anything is sent
    if outputs.output:
        _check_writable(outputs.output)
    check_store(outputs)
    lock = runconfig.RunLock(Path(outputs.state_dir or default_state_dir()) / "run.lock") if run_config else None
    with lock if lock is not None else contextlib.nullcontext():
        progress = Progress(sys.stderr.isatty())
        try:
            result = run(checked, progress)
        finally:
            progress.clear()
        finish_and_exit(result, outputs)


def settings(ctx: click.Context, params: dict[str, Any],
             run_config: runconfig.RunConfig | None) -> tuple[ScanConfig, Outputs]:
    """The scan's settings: each from the command line, else the config file, else its default."""
    # Unattended (a config file): report files and the inventory only; errors still go to stderr.
    outputs = Outputs(**given(Outputs, ctx, params, run_config.outputs if run_config else None),
                      quiet=run_config is not None)
    return ScanConfig(**given(ScanConfig, ctx, params, run_config.scan if run_config else None)), outputs


def _check_writable(path: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {parent} is missing or not writable")
