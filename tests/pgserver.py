"""A throwaway PostgreSQL server for the tests and the bench: a real server, not a mock.

``PgServer`` runs ``initdb`` into a temporary folder and starts ``postgres`` on a Unix socket in
that folder only (``listen_addresses = ''``: no TCP port at all), as an unprivileged user: as
root (CI) the folder is given to ``nobody`` and the server's programs run through ``runuser``,
since PostgreSQL refuses to run as root. ``stop`` stops it and removes the folder; the pytest
fixture (``tests/conftest.py``) calls it at the end of the session, also after a failure.

Roles: ``postgres`` (the superuser every test connects as, trusted on the socket) and
``camsweep_pw``, which must give a password (``PASSWORD``, SCRAM) -- for the tests of where
credentials come from.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

PASSWORD_ROLE = "camsweep_pw"
PASSWORD = "s3cret-Pa55word-x9"
START_BOUND = 60.0
"""Seconds ``pg_ctl start -w`` may take (a loaded CI machine); it returns as soon as the server is up."""


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's /usr/lib/postgresql/<newest>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


class PgServer:
    def __init__(self) -> None:
        bindir = bin_dir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        self.bindir = bindir
        # Short: a Unix socket path must fit in 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="cspg-"))
        self.data = self.root / "data"
        self.socket_dir = str(self.root)
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "nobody", "--"]
        self.started = False

    def _server_program(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as, *args], capture_output=True, text=True, check=False,
                              cwd=self.root, timeout=START_BOUND * 2)

    def start(self) -> PgServer:
        done = self._server_program(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                                    "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# camsweep tests: a Unix socket in the test folder only, no TCP; speed over durability.\n"
                f"listen_addresses = ''\nunix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 60\nshared_buffers = 64MB\n"
            )
        (self.data / "pg_hba.conf").write_text(
            f"local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n", encoding="utf-8")
        done = self._server_program(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                                    str(self.root / "server.log"), "-w", "-t", str(int(START_BOUND)), "start")
        if done.returncode:
            log = (self.root / "server.log").read_text(encoding="utf-8", errors="replace")[-800:]
            raise RuntimeError(f"postgres did not start: {done.stderr.strip()[-300:]} {log}")
        self.started = True
        self.sql(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        return self

    def stop(self) -> None:
        try:
            if self.started:
                self._server_program(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", user: str = "postgres", **params: str) -> str:
        """A URL camsweep takes: the socket folder as the host parameter, no password."""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"host": self.socket_dir, "user": user, **params}.items())
        return f"postgresql:///{dbname}?{query}"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(host=self.socket_dir, dbname=dbname, user="postgres", autocommit=True, **kwargs)

    def sql(self, statement: str, params: Any = None, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with self.connect(dbname) as con:
            cursor = con.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self) -> str:
        name = f"t{time.monotonic_ns()}_{os.getpid()}"
        self.sql(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def wait_for(self, query: str, params: Any, dbname: str, want: int, bound: float = 900.0) -> None:
        """Poll until ``query`` counts ``want`` (e.g. backends waiting on a lock): a state to reach,
        not a time to measure; ``bound`` only stops a broken test from hanging. It is far beyond
        any wait on a loaded machine: at load average 25 on 2 cores, twenty ``camsweep`` processes
        took 94 s to start and reach their lock (a 120 s bound failed the test now and then)."""
        deadline = time.monotonic() + bound
        while True:
            count = self.sql(query, params, dbname)[0][0]
            if count == want:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {bound:.0f} s for {want}, have {count}: {query}")
            time.sleep(0.05)
