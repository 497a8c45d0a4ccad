"""``camsweep watch``: listen until stopped, alert on new Hikvision/Dahua-made or restricted devices."""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

import click

from ..alerts import Sinks, sinks_for
from ..config import Outputs, WatchConfig
from ..errors import CamsweepError, UsageError
from ..passive import packet_socket
from ..store import open_store
from ..watch import Snapshot, Watch, run
from ._finish import check_outputs
from ._settings import file_values, given, load_config, options

log = logging.getLogger("camsweep")


@click.command("watch")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="TOML config: [watch] (interface, snapshot_interval, syslog, webhook_url, webhook_token_file, "
                   "jsonl), [policy], [output] db/site, [retention]; options given here win. Without it, "
                   "~/.config/camsweep/camsweep.toml, then /etc/camsweep/camsweep.toml, is used if there. "
                   "Re-read on SIGHUP. Takes no run lock: a watch runs beside its config's scheduled scans.")
@options(WatchConfig)
@options(Outputs, ["db_path", "site", "operator", "policy"])
@click.pass_context
def command(ctx: click.Context, config_path: str | None, **params: Any) -> None:
    """Listen on an interface until stopped (SIGTERM, Ctrl-C) and alert, once per device, on
    every new device made by Hikvision or Dahua (OEM units included) or restricted under --policy.

    Nothing is sent: the packet socket is receive-only, as `camsweep listen`'s. Alerts go as JSON
    lines to stdout (unless [watch] jsonl = false), to syslog (--syslog, RFC 5424) and to a webhook
    ([watch] webhook_url). A snapshot of what was heard is stored in the inventory every
    --snapshot-interval seconds and soon after each alert; devices the inventory already knows
    are not alerted again, across restarts. SIGHUP re-reads the config; a capture interface that
    goes down is waited for. Runs as a systemd service: README "Continuous monitoring".

    Exit codes: 0 stopped (after a last snapshot), 2 bad config, interface, privileges or
    inventory at start (nothing was heard).
    """

    def load() -> tuple[WatchConfig, Outputs, str | None]:
        run_config = load_config(config_path)
        settings = WatchConfig(**given(WatchConfig, ctx, dict(params), file_values(run_config, WatchConfig)))
        outputs = Outputs(**given(Outputs, ctx, dict(params), file_values(run_config, Outputs)), quiet=True)
        if not settings.interface:
            raise UsageError("watch needs an interface: --interface, or 'interface' in the config's [watch]")
        check_outputs(outputs)  # a bad --db or policy: one line, exit 2, before anything is heard
        return settings, outputs, run_config.path if run_config else None


    settings, outputs, _ = load()
    packet_socket(settings.interface or "")[0].close()  # no such interface, no CAP_NET_RAW: exit 2 now
    sinks = sinks_for(settings, sys.stdout)
    with open_store(outputs.db_path) as inventory:
        known = inventory.flagged_identities(outputs.site)

    flags = {"stop": False, "reload": False}

    def on_signal(signum: int, frame: object) -> None:
        flags["reload" if signum == signal.SIGHUP else "stop"] = True

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    state: dict[str, Any] = {"outputs": outputs, "sinks": sinks}

    def store(snapshot: Snapshot) -> None:
        try:
            with open_store(state["outputs"].db_path) as inventory:
                inventory.store_and_prune(snapshot.result, snapshot.assessment, state["outputs"].keep_scans)
        except CamsweepError as error:  # a full disk or a locked database: said, tried again at the next one
            log.error("snapshot not stored (%s); the watch goes on", error)

    watch = Watch(settings, outputs, alert=sinks.send, snapshot=store, known=known)

    def between() -> None:
        if not flags["reload"]:
            return
        flags["reload"] = False
        try:
            new_settings, new_outputs, path = load()
            new_sinks = sinks_for(new_settings, sys.stdout)
            with open_store(new_outputs.db_path) as inventory:
                watch.alerted |= inventory.flagged_identities(new_outputs.site)
        except CamsweepError as error:
            log.error("reload failed (%s); the running settings stay", error)
            return
        old: Sinks = state["sinks"]
        state.update(outputs=new_outputs, sinks=new_sinks)
        watch.reconfigure(new_settings, new_outputs, alert=new_sinks.send)
        old.close()
        log.warning("configuration reloaded%s", f" from {path}" if path else "")

    try:
        run(watch, stop=lambda: flags["stop"], between=between)
    finally:
        watch.store_snapshot(time.time())  # what was heard since the last snapshot is kept
        state["sinks"].close()
