"""``camsweep diff [A] [B]``: new, gone and changed devices between two stored scans of a site."""

from __future__ import annotations

from typing import Any

import click
from camsweep.reports.text import clean
from tabulate import tabulate

from .. import jsonio
from ..errors import UsageError
from ..store import Change, Sighting, Store, open_store
from . import echo
from ._scope import scope, scope_options


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@scope_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def command(ctx: click.Context, old: str | None, new: str | None, fmt: str, **params: Any) -> None:
    """Compare scan OLD with scan NEW (ids from `camsweep history`; `last`, `last~1` work too).

    Without arguments, compares the site's last two scans; with one, compares it with the last
    scan. With --all-sites, every site's last scan with the one before it.
    """
    db_path, site, all_sites = scope(ctx, params)
    with open_store(db_path) as inv:
        chosen = inv.choose_site(site, all_sites)
        if chosen is None:
            if old or new:
                raise UsageError("--all-sites compares each site's last two scans: give no scan ids")
            pairs = [_pair(inv, None, None, name) for name in inv.sites()
                     if len(inv.scans(name)) > 1]
        else:
            pairs = [_pair(inv, old, new, chosen)]
    if fmt == "json":
        docs = [{"site": name, "old": a, "new": b, "changes": [_change(c) for c in changes]}
                for name, a, b, changes in pairs]
        echo(jsonio.dumps(docs if chosen is None else docs[0], indent=2))
        return
    for name, old_id, new_id, changes in pairs:
        of = f"site {clean(name, 40)}: " if chosen is None else ""
        echo(f"{of}scan {old_id} -> scan {new_id}: {len(changes)} change(s)")
        rows = []
        for c in changes:
            s = c.after or c.before
            assert s is not None
            rows.append([c.what, clean(s.ip or ""), clean(s.mac or ""), s.manufacturer, clean(s.brand or ""),
                         clean(s.model or ""), "yes" if s.restricted else "", clean("; ".join(c.details), 120)])
        if rows:
            echo(tabulate(rows, headers=["change", "IP", "MAC", "maker", "brand", "model", "restricted", "details"]))


def _pair(inv: Store, old: str | None, new: str | None, site: str) -> tuple[str, int, int, list[Change]]:
    new_id = inv.resolve(new or "last", site=site)
    old_id = inv.resolve(old, site=site) if old else inv.resolve("last", offset=1, site=site)
    return site, old_id, new_id, inv.diff(old_id, new_id)


def _change(c: Change) -> dict[str, Any]:
    return {"identity": c.identity, "what": c.what, "details": list(c.details),
            "before": c.before and _row(c.before), "after": c.after and _row(c.after)}


def _row(s: Sighting) -> dict[str, Any]:
    return {"ip": s.ip, "mac": s.mac, "manufacturer": s.manufacturer, "brand": s.brand,
            "device_type": s.device_type, "model": s.model, "firmware": s.firmware, "restricted": s.restricted}
