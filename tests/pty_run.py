"""Run a command on a pseudo-terminal of a given size and collect what it shows (tests only)."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Sequence


class PtyRun:
    """A child whose stdin, stdout and stderr are one terminal ``columns`` wide.

    ``output`` is everything the terminal received so far (decoded as UTF-8); ``wait_for``
    blocks until a predicate on it holds. The reader thread ends when the child closes the
    terminal.
    """

    def __init__(self, command: Sequence[str], *, columns: int = 100, rows: int = 40,
                 env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self._master = master
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        # Ctrl-C as at a terminal: a test run started in the background (nohup, CI) ignores SIGINT,
        # and its children would inherit that.
        self.process = subprocess.Popen(list(command), stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                        start_new_session=True,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError as exc:  # EIO: the child closed its side
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            with self._lock:
                self._chunks.append(chunk)

    @property
    def output(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> bool:
        """Poll until ``predicate(output)`` holds (True) or ``timeout`` seconds pass or the child ends."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self.output):
                return True
            if self.process.poll() is not None:
                return predicate(self.output)
            time.sleep(0.05)
        return False

    def finish(self, timeout: float) -> int:
        """Wait for the child and for the terminal to drain; kill it past ``timeout``."""
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=10)
            os.close(self._master)
