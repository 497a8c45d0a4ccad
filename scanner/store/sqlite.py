"""The embedded inventory: one SQLite file, the default for one machine.

Default location: ``$XDG_STATE_HOME/camsweep/inventory.sqlite``
(``~/.local/state/camsweep/inventory.sqlite``). Writers wait for one another (``BEGIN
IMMEDIATE``, up to ``BUSY_SECONDS``); every read of a damaged file is one InventoryError.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import default_state_dir
from ..errors import InventoryError
from ._base import Store, _text, reason

BUSY_SECONDS = 10


def default_path() -> Path:
    return default_state_dir() / "inventory.sqlite"


def _create_private(path: Path) -> None:
    """Create a new database file as 0600 (sqlite would make it 0644 less the umask).

    The inventory lists every device, its weaknesses and where it is. SQLite gives its -wal and
    -shm files the database file's permissions. An existing file is left as it is; a symbolic link
    to a missing file is refused, because sqlite would create the file it points to with its own
    (0644) permissions, wherever that is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        if os.path.islink(path) and not os.path.exists(path):
            raise InventoryError(
                f"{path}: is a symbolic link to a missing file; refusing to create a database through it "
                "(remove the link, or give --db the real path)"
            ) from None
        return
    except OSError as exc:
        raise InventoryError(f"{path}: cannot create the database: {exc.strerror}") from None
    os.close(fd)


def _bindable(value: Any) -> Any:
    """Dates as ISO text (the columns are TEXT; sqlite3's own date adapter is deprecated)."""
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


class SqliteStore(Store):
    """The inventory in one SQLite file."""

    dialect = "sqlite"
    _errors = (sqlite3.Error, UnicodeDecodeError)
    """What a damaged file raises from the sqlite3 module (its error message itself may be bytes
    of the damaged schema, which then fail to decode)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path else default_path()
        self.where = str(self.path)
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise InventoryError(f"{self.path}: no inventory database there (give --db the path a scan stored to)")
            # mode=ro: sqlite creates no file and writes nothing (a WAL database's -shm is the
            # one exception sqlite makes for readers, and only next to an existing database).
            target, uri, setup = f"file:{quote(str(self.path.absolute()))}?mode=ro", True, ("PRAGMA foreign_keys = ON",)
        else:
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise InventoryError(f"{self.path}: cannot create its directory: {exc.strerror}") from None
            _create_private(self.path)
            target, uri, setup = str(self.path), False, ("PRAGMA foreign_keys = ON", "PRAGMA journal_mode = WAL")
        try:
            # isolation_level=None: transactions are this class's own (BEGIN IMMEDIATE below).
            self.db = sqlite3.connect(target, timeout=BUSY_SECONDS, isolation_level=None, uri=uri)
        except self._errors as exc:
            raise InventoryError(f"{self.path}: not a usable camsweep database ({reason(exc)})") from None
        self._ready(*setup)

    def close(self) -> None:
        self.db.close()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, [_bindable(p) for p in params]).fetchall()

    def _run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, ([_bindable(p) for p in row] for row in rows))

    @contextmanager
    def _transaction(self, lock: str | None = None) -> Iterator[None]:
        # IMMEDIATE: the write lock is taken at BEGIN, so two writers queue (busy timeout) instead
        # of one failing when it upgrades a read lock. The file has one writer at a time anyway,
        # so a site needs no lock of its own.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")  # inside: a COMMIT that fails (a full disk) is rolled back too
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    @contextmanager
    def _migrating(self) -> Iterator[None]:
        # A table rebuild (SQLite's way to change a constraint) needs foreign keys off, which
        # cannot change inside a transaction; they are checked before the migration commits.
        self.db.execute("PRAGMA foreign_keys = OFF")
        try:
            with self._transaction():
                yield
                broken = self.db.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise InventoryError(f"{self.path}: a migration left {len(broken)} broken reference(s); nothing was changed")
        finally:
            self.db.execute("PRAGMA foreign_keys = ON")

    def _tables(self) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]

    def _read_error(self, why: object) -> InventoryError:
        return InventoryError(
            f"{self.path}: the database is damaged ({reason(why)}); restore it from a backup or move it away")
