"""Which inventory and which site a reading command (``history``, ``diff``, ``report``) reads,
and the scan ``report`` and ``explain`` read (``load_scan``).

``--db`` and ``--site`` are the settings of the same names (``scanner/config.py``: a URL with a
password is refused here as everywhere); ``--all-sites`` reads every site. Given neither site
option, a command reads the inventory's only site, and asks which when there are several
(``Store.choose_site``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..config import Outputs
from ..models import ScanResult
from ..savedscan import read_scan
from ..store import open_store
from ._settings import given, options

F = TypeVar("F", bound=Callable[..., Any])


def scope_options(func: F) -> F:
    func = click.option("--all-sites", is_flag=True, help="Read every site of the inventory.")(func)
    decorate = options(Outputs, ["db_path", "site"],
                       db_path={"help": "Inventory: an SQLite file (default: see README) or a postgresql:// URL."},
                       site={"help": "Read this site's scans (needed when the inventory holds several)."})
    return decorate(func)


def scope(ctx: click.Context, params: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """(database, site or None, all sites) from the command line; takes them out of ``params``."""
    values = given(Outputs, ctx, {name: params.pop(name) for name in ("db_path", "site")})
    return values.get("db_path"), values.get("site"), bool(params.pop("all_sites"))


def load_scan(ref: str | None, db_path: str | None, site: str | None = None) -> ScanResult:
    """SCAN is a saved JSON file (or ``-``), else a stored scan: an id, ``last`` or ``last~N``
    (of ``site``, or of the inventory's only site)."""
    return load_scan_seen(ref, db_path, site)[0]


def load_scan_seen(ref: str | None, db_path: str | None,
                   site: str | None = None) -> tuple[ScanResult, dict[str, tuple[datetime, datetime]]]:
    """``load_scan`` with when each device was first and last seen: from the inventory for a stored
    scan, nothing for a file (its devices were seen only in it, as far as a report can tell)."""
    if ref == "-" or (ref is not None and Path(ref).exists()):
        return read_scan(ref), {}
    if ref is not None and (ref.endswith(".json") or "/" in ref):
        return read_scan(ref), {}  # a path that does not exist: read_scan names the problem
    with open_store(db_path, read_only=True) as inv:
        # A scan id names one scan whatever its site; "last" needs to know whose.
        by_id = ref is not None and ref.isdigit() and site is None
        result = inv.load(inv.resolve(ref or "last", site=None if by_id else inv.choose_site(site, False)))
        return result, inv.seen(result)