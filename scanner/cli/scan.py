"""``camsweep scan [TARGETS...]``: find and identify cameras, NVRs and DVRs on a network."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..config import DEFAULT_PORTS, ScanConfig, default_state_dir
from ..errors import OutputError, UsageError
from ._finish import check_store, finish_and_exit, output_options, outputs_from

CREDENTIALS_HELP = """\b
Credentials file (TOML; chmod 600 -- a file others can read is used with a warning):
  [[credential]]
  network = "198.18.0.0/24"     # or one host; the most specific entry wins
  username = "onvif-audit"
  password = "..."
Used for ONVIF GetDeviceInformation/GetNetworkInterfaces and one read-only
maker page over HTTP (Digest; Basic only over HTTPS) on the hosts it covers,
one login attempt each. Passwords are never logged or written anywhere."""


def parse_ports(text: str) -> tuple[int, ...]:
    """``80,443,8000-8010`` -> ports. Raises UsageError."""
    ports: list[int] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            if "-" in item:
                low, high = (int(x) for x in item.split("-", 1))
                if high < low or high - low > 1024:
                    raise ValueError
                ports.extend(range(low, high + 1))
            else:
                ports.append(int(item))
        except ValueError:
            raise UsageError(f"--ports: {item!r} is not a port or a range like 8000-8010") from None
    bad = [p for p in ports if not 0 < p < 65536]
    if bad or not ports:
        raise UsageError(f"--ports: {bad[0] if bad else text!r} is not a valid port")
    return tuple(dict.fromkeys(ports))


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


# [scan] keys of a --config file -> ScanConfig fields (a command-line option given wins).
_CONFIG_KEYS = {
    "interface": "interface", "listen": "listen_window", "connect_timeout": "connect_timeout",
    "read_timeout": "read_timeout", "host_timeout": "host_timeout", "concurrency": "concurrency",
    "per_host": "per_host", "rate": "rate", "allow_public": "allow_public",
}
_CLI_PARAMS = {"listen_window": "listen_window", "interface": "interface", "connect_timeout": "connect_timeout",
               "read_timeout": "read_timeout", "host_timeout": "host_timeout", "concurrency": "concurrency",
               "rate": "rate", "allow_public": "allow_public"}


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


@click.command("scan", epilog=CREDENTIALS_HELP)
@click.argument("targets", nargs=-1)
@click.option("-i", "--interface", help="Interface to scan from (default: the default route's).")
@click.option("--methods", "methods", multiple=True, metavar="LIST",
              help="Methods to use, e.g. 'wsd,sadp', or to leave out, e.g. '-arp' "
                   "(arp, wsd, sadp, dhip, ssdp, mdns, ports, http, rtsp, tls, onvif).")
@click.option("--credentials", "credentials_file", type=click.Path(dir_okay=False),
              help="TOML file of ONVIF credentials per host/subnet (see below).")
@click.option("--ports", "ports_text", default=",".join(map(str, DEFAULT_PORTS)), show_default=True,
              help="TCP ports to check, e.g. '80,443,8000-8010'.")
@click.option("--connect-timeout", type=float, default=1.0, show_default=True, help="Seconds per TCP connect.")
@click.option("--read-timeout", type=float, default=2.0, show_default=True, help="Seconds per read of a reply.")
@click.option("--request-timeout", type=float, default=3.0, show_default=True,
              help="Seconds for one whole request/reply (a slow-dripping device is cut off).")
@click.option("--host-timeout", type=float, default=8.0, show_default=True, help="Seconds at most per host.")
@click.option("--listen", "listen_window", type=float, default=2.5, show_default=True,
              help="Seconds to listen for multicast/broadcast discovery answers.")
@click.option("--concurrency", type=int, default=256, show_default=True, help="Probe tasks at once.")
@click.option("--rate", type=int, default=1000, show_default=True, help="Packets per second at most for sweeps.")
@click.option("--allow-public", is_flag=True, help="Allow public (non-private) target ranges.")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="Where last-scan.json goes (default: $XDG_STATE_HOME/camsweep).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="TOML config for unattended runs ([scan], [policy], [output], [retention]; README "
                   "\"Scheduled scans\"); options given here win. Takes a run lock: overlapping runs exit 5.")
@click.option("--pcap", "pcap_path", type=click.Path(dir_okay=False),
              help="Analyse this capture (pcap/pcapng) offline instead of scanning: nothing is sent; "
                   "TARGETS, if given, keep only hosts in those networks.")
@output_options
@click.pass_context
def command(ctx: click.Context, targets: tuple[str, ...], interface: str | None, methods: tuple[str, ...],
            credentials_file: str | None, ports_text: str, connect_timeout: float, read_timeout: float,
            request_timeout: float, host_timeout: float, listen_window: float, concurrency: int, rate: int,
            allow_public: bool, state_dir: str | None, config_path: str | None, pcap_path: str | None,
            **output: Any) -> None:
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
    from .. import credentials as credentials_mod
    from .. import runconfig
    from ..engine import plan, run

    if pcap_path:
        from ..passive import analyse_capture

        outputs = replace(outputs_from(output), last_scan=str(Path(state_dir) if state_dir else default_state_dir()))
        if outputs.output:
            _check_writable(outputs.output)
        check_store(outputs)
        result = analyse_capture(pcap_path, targets=targets)
        finish_and_exit(result, outputs)

    settings: dict[str, Any] = dict(
        targets=targets, interface=interface, methods=methods, ports=parse_ports(ports_text),
        connect_timeout=connect_timeout, read_timeout=read_timeout, request_timeout=request_timeout,
        host_timeout=host_timeout, listen_window=listen_window, concurrency=concurrency, rate=rate,
        allow_public=allow_public,
    )
    outputs = replace(outputs_from(output), last_scan=str(Path(state_dir) if state_dir else default_state_dir()))
    lock: runconfig.RunLock | None = None
    if config_path:
        run_config = runconfig.load(config_path)
        section = run_config.scan
        for key, field_name in _CONFIG_KEYS.items():
            if key in section and not (field_name in _CLI_PARAMS and _given(ctx, _CLI_PARAMS[field_name])):
                settings[field_name] = section[key]
        if "targets" in section and not targets:
            settings["targets"] = tuple(str(t) for t in section["targets"])
        if "methods" in section and not methods:
            settings["methods"] = tuple(str(m) for m in section["methods"])
        if "ports" in section and not _given(ctx, "ports_text"):
            settings["ports"] = parse_ports(",".join(str(p) for p in section["ports"]))
        if "credentials" in section and not credentials_file:
            credentials_file = section["credentials"]
        outputs = replace(
            outputs,
            db_path=outputs.db_path or run_config.db,
            policy=outputs.policy if outputs.policy is not None else (",".join(run_config.policy_names) or None),
            fail_on=outputs.fail_on if _given(ctx, "fail_on") else run_config.fail_on,
            reports=tuple((r.format, r.path) for r in run_config.reports),
            keep_scans=run_config.keep_scans,
            quiet=True,  # unattended: report files and the inventory only; errors still go to stderr
        )
        lock = runconfig.RunLock((Path(state_dir) if state_dir else default_state_dir()) / "run.lock")
    settings["credentials"] = credentials_mod.load(credentials_file) if credentials_file else ()
    config = ScanConfig(**settings)
    checked = plan(config)  # every usage error is raised here, before anything is sent
    if outputs.output:
        _check_writable(outputs.output)
    check_store(outputs)
    with lock if lock is not None else contextlib.nullcontext():
        progress = Progress(sys.stderr.isatty())
        try:
            result = run(checked, progress)
        finally:
            progress.clear()
        finish_and_exit(result, outputs)


def _check_writable(path: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {parent} is missing or not writable")
