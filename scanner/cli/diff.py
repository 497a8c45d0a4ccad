"""``camsweep diff [A] [B]``: new, gone, not rescanned and changed devices between two stored scans of a site."""

from __future__ import annotations

from typing import Any

import click
from camsweep.reports.history import DIFF_RENDERERS

from ..errors import UsageError
from ..store import Change, ScanSummary, Store, open_store
from . import Choice, echo
from ._scope import scope, scope_options


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@scope_options
@click.option("--format", "fmt", type=Choice(list(DIFF_RENDERERS)), default="table", show_default=True)
@click.pass_context
def command(ctx: click.Context, old: str | None, new: str | None, fmt: str, **params: Any) -> None:
    """Compare scan OLD with scan NEW (ids from `camsweep history`; `last`, `last~1` work too).

    Without arguments, compares the site's last two scans; with one, compares it with the last
    scan. With --all-sites, every site's last scan with the one before it. A device is "gone"
    only when NEW scanned its address and it did not answer; one outside NEW's targets (or
    missing from a passive NEW) is "not rescanned".

    Between a register (a stored `camsweep check`) and a scan or import, register rows are matched
    with devices by MAC, else serial, else model and IP: a device no row matches is "not in
    register" (restricted ones listed first), a row no device matches is "not seen".
    """
    db_path, site, all_sites = scope(ctx, params)
    with open_store(db_path, read_only=True) as inv:
        chosen = inv.choose_site(site, all_sites)
        if chosen is None:
            if old or new:
                raise UsageError("--all-sites compares each site's last two scans: give no scan ids")
            pairs = [_pair(inv, None, None, name) for name in inv.sites() if len(inv.scans(name)) > 1]
        else:
            pairs = [_pair(inv, old, new, chosen)]
    echo(DIFF_RENDERERS[fmt](pairs, chosen is None), nl=False)


def _pair(inv: Store, old: str | None, new: str | None,
          site: str) -> tuple[str, ScanSummary, ScanSummary, list[Change]]:
    new_id = inv.resolve(new or "last", site=site)
    old_id = inv.resolve(old, site=site) if old else inv.resolve("last", offset=1, site=site)
    return site, inv.summary(old_id), inv.summary(new_id), inv.diff(old_id, new_id)
