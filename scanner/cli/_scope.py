"""Which inventory and which site a reading command (``history``, ``diff``, ``report``) reads.

``--db`` and ``--site`` are the settings of the same names (``scanner/config.py``: a URL with a
password is refused here as everywhere); ``--all-sites`` reads every site. Given neither site
option, a command reads the inventory's only site, and asks which when there are several
(``Store.choose_site``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..config import Outputs
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
