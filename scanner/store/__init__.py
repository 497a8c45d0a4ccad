"""The inventory: every scan stored, devices tracked across scans, per site.

``open_store(location)`` opens it: an SQLite file (a path, or None for the default file) or a
PostgreSQL database (a ``postgresql://`` URL) that many site scanners share. Both are a ``Store``
with the same behaviour: one transaction per scan (a scan killed half-way leaves nothing),
device identity per site (MAC, else serial, else IP), ``history``/``diff``/``report``, the
per-site roll-up and retention. The schema is made and upgraded by the versioned SQL files in
``migrations/<dialect>/``, applied in one transaction with the version recorded; a database of a
newer schema is refused untouched.
"""

from __future__ import annotations

import os

from ._base import (
    SCHEMA_VERSION,
    Change,
    ScanSummary,
    Sighting,
    SiteSummary,
    Store,
    identity_of,
)


def is_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than an SQLite file."""
    from .postgres import is_url as postgres_url

    return postgres_url(location)


def display(location: str | os.PathLike[str] | None) -> str:
    """How messages may name ``location``: a path as it is; a URL without any secret."""
    from . import postgres, sqlite

    if location is None:
        return str(sqlite.default_path())
    return postgres.display(location) if is_url(location) else str(location)


def open_store(location: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Store:
    """The inventory at ``location``: a ``postgresql://`` URL, else an SQLite file (None: the
    default one). Raises InventoryError (one line) for one that cannot be used.

    ``read_only`` (commands that only read): nothing is created -- no folder, file, schema or
    migration -- and a database that is missing, empty or of an older schema is an error naming it.
    """
    if is_url(location):
        from .postgres import PostgresStore

        assert isinstance(location, str)
        return PostgresStore(location, read_only=read_only)
    from .sqlite import SqliteStore

    return SqliteStore(location, read_only=read_only)


__all__ = [
    "SCHEMA_VERSION", "Change", "ScanSummary", "Sighting", "SiteSummary", "Store", "display", "identity_of",
    "is_url", "open_store",
]
