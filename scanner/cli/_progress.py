"""The progress display of ``scan``, ``scan --pcap`` and ``listen``: rich's Progress on stderr.

Shown only when stderr is a terminal and the run is attended (not under ``--config``); otherwise
every event is ignored at the cost of one attribute test. Events come from the scan's threads
(``engine.EventHandler``); rich's Progress is thread-safe and redraws on its own thread, so a
handler only updates numbers and never slows a probe. ``stop()`` ends the display at once (the
caller stops it as soon as the scan returns, interrupted or not); events after that are ignored.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Any

PHASES = {
    "discover": "discovering hosts",
    "hosts": "probing hosts",
    "identify": "identifying devices",
    "read": "reading the capture",
    "listen": "listening",
}


def _size(n: float) -> str:
    from rich.filesize import decimal

    return decimal(int(n))


class ScanProgress:
    """``on_event`` handler drawing phase, counts, elapsed time and ETA; use as a context manager."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self._total: float | None = None
        self._begun = 0.0
        self._addresses = 0

    @classmethod
    def for_terminal(cls, attended: bool = True) -> ScanProgress:
        """Enabled when stderr is a terminal and the run is ``attended``."""
        return cls(attended and sys.stderr.isatty())

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24),
                TextColumn("{task.fields[counts]}"), TextColumn("elapsed"), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(file=sys.stderr), transient=True, refresh_per_second=5,
            )
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        with self._lock:
            progress, self._progress = self._progress, None
        if progress is not None:
            progress.stop()

    # -- events -----------------------------------------------------------------------------

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if self._progress is None:
            return
        with self._lock:
            if self._progress is None:  # stopped by another thread meanwhile
                return
            if kind == "phase":
                self._phase(data)
            elif kind == "discover":
                self._update(None, f"{data['answered']} host(s) answered of {self._addresses} address(es)")
            elif kind == "progress":
                self._update(data["probed"], f"{data['probed']}/{data['total']} host(s), {data['devices']} device(s) found")
            elif kind == "read":
                self._update(data["bytes"], f"{_size(data['bytes'])}/{_size(self._total or 0)}, "
                                            f"{data['packets']} packets, {data['hosts']} host(s) seen")
            elif kind == "listen":
                self._update(data["elapsed"], f"{data['packets']} packets, {data['hosts']} host(s) heard")

    def _phase(self, data: dict[str, Any]) -> None:
        name = data.get("name", "")
        total: float | None = None
        counts = ""
        if name == "discover":
            self._addresses = data.get("addresses", 0)
            total, counts = data.get("expected"), f"0 host(s) answered of {self._addresses} address(es)"
        elif name == "hosts":
            total, counts = data.get("total"), f"0/{data.get('total', 0)} host(s)"
        elif name == "read":
            total, counts = data.get("bytes"), f"0 B/{_size(data.get('bytes', 0))}"
        elif name == "listen":
            total = data.get("seconds")
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._total, self._begun = total, time.monotonic()
        self._task = self._progress.add_task(PHASES.get(name, name), total=total or None, counts=counts)
        self._progress.refresh()  # every phase is shown at least once, however short

    def _update(self, completed: float | None, counts: str) -> None:
        if self._task is None:
            return
        if completed is None:  # discovery: time is the measure of progress, its length an estimate
            completed = min(time.monotonic() - self._begun, 0.99 * (self._total or 0.0))
        self._progress.update(self._task, completed=completed, counts=counts)
