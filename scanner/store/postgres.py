"""The shared inventory: a PostgreSQL database that many site scanners write to at once.

``--db postgresql://[user@]host[:port]/dbname[?sslmode=verify-full&...]`` (or ``postgres://``),
given to libpq as it is: every connection parameter and environment variable libpq knows works,
``sslmode`` included. The password comes from where libpq looks for one -- ``~/.pgpass``
(``PGPASSFILE``), a service file (``service=`` with ``~/.pg_service.conf`` or ``PGSERVICEFILE``)
or ``PGPASSWORD`` -- never from the URL: ``config.py`` refuses a URL that holds one, and
``display`` shows a URL in messages without any secret.

Tables live in the schema ``camsweep`` (created by the first writer if the role may create it, or
by the DBA: README "A central inventory"). Writers of one site wait for one another (a
transaction-scoped advisory lock on the site's name); writers of different sites run side by side.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InventoryError
from ._base import Store, _text, reason

SCHEMA = "camsweep"
CONNECT_TIMEOUT = 10
"""Seconds to wait for the server when the URL does not say (libpq would wait for ever)."""
MIGRATION_LOCK = 0x63616D73_00000001
"""The advisory lock (64-bit key space) migrations take; site locks use the two-key space, which
PostgreSQL keeps apart from this one."""
SITE_LOCK_CLASS = 0x63616D73
"""The first key of a site writer's advisory lock; the second is hashtext(site)."""

SECRET_PARAMETERS = ("password", "sslpassword")
"""Connection parameters that hold a secret: never on the command line, never shown."""


def is_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def display(url: str) -> str:
    """``url`` as messages may show it: any password (in the user part or a parameter) removed."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            netloc = user.partition(":")[0] + "@" + host
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                           if k not in SECRET_PARAMETERS])
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "the PostgreSQL URL given"


def secret_in(url: str) -> str | None:
    """The secret parameter ``url`` carries (``password``), or None. Raises ValueError for a URL
    libpq cannot read."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # checked again, with its own message, when the store opens
        return None
    import psycopg

    try:
        given = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ValueError(f"must be a PostgreSQL URL libpq can read ({reason(exc)})") from None
    return next((name for name in SECRET_PARAMETERS if given.get(name)), None)


def _bindable(value: Any) -> Any:
    return _text(value)


def _readable(value: Any) -> Any:
    """Rows as SQLite gives them, so the shared code reads one shape: times as ISO text (the
    session's time zone is UTC), dates as ISO text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


class PostgresStore(Store):
    """The inventory in a PostgreSQL database (psycopg 3)."""

    dialect = "postgres"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.where = display(url)
        self.read_only = read_only
        try:
            import psycopg
        except ImportError:
            raise InventoryError(f"{self.where}: needs the psycopg package (pip install 'psycopg[binary]')") from None
        self._errors = (psycopg.Error,)
        extra: dict[str, Any] = {"autocommit": True}
        try:
            given = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise InventoryError(f"{self.where}: not a PostgreSQL URL libpq can read ({reason(exc)})") from None
        if "connect_timeout" not in given and not os.environ.get("PGCONNECT_TIMEOUT"):
            extra["connect_timeout"] = CONNECT_TIMEOUT
        if "application_name" not in given and not os.environ.get("PGAPPNAME"):
            extra["application_name"] = "camsweep"
        try:
            self.db = psycopg.connect(url, **extra)
        except psycopg.Error as exc:
            raise InventoryError(f"{self.where}: cannot connect ({reason(exc)})") from None
        setup = [f"SET search_path TO {SCHEMA}", "SET TIME ZONE 'UTC'"]
        if read_only:  # the server refuses any write of this session, ours included
            setup.append("SET default_transaction_read_only = on")
        self._ready(*setup)

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _sql(sql: str) -> str:
        assert "%" not in sql, "psycopg would read % as a placeholder"
        return sql.replace("?", "%s")

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.db.execute(self._sql(sql), [_bindable(p) for p in params])
        if cursor.description is None:
            return []
        return [tuple(_readable(v) for v in row) for row in cursor.fetchall()]

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [[_bindable(p) for p in row] for row in rows]
        if batch:
            with self.db.cursor() as cursor:
                cursor.executemany(self._sql(sql), batch)

    @contextmanager
    def _transaction(self, lock: str | None = None) -> Iterator[None]:
        with self.db.transaction():
            if lock is not None:
                # Two writers of one site queue here until the first commits, so "new since the
                # previous scan" and first/last seen follow commit order; other sites do not wait.
                self.db.execute(f"SELECT pg_advisory_xact_lock({SITE_LOCK_CLASS}, hashtext(%s))", [lock])
            yield

    @contextmanager
    def _migrating(self) -> Iterator[None]:
        with self.db.transaction():
            self.db.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            exists = self.db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [SCHEMA]).fetchone()
            if not exists:  # asked first: CREATE SCHEMA IF NOT EXISTS needs the right to create even when it does
                self.db.execute(f"CREATE SCHEMA {SCHEMA}")
            yield

    def _tables(self) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')", [SCHEMA])]

    def _read_error(self, why: object) -> InventoryError:
        return InventoryError(f"{self.where}: cannot read the inventory ({reason(why)})")
