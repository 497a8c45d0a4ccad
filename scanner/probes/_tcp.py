"""Bounded TCP for the per-host probes: every connect, read and whole exchange has a deadline.

A device may answer slowly, drip one byte a second forever, or stream 50 MB: the helpers here
cut each exchange at a deadline (a watchdog shuts the socket down, which wakes any blocked read)
and at a byte limit, and tell the caller which limit was hit so it can be recorded.
"""

from __future__ import annotations

import errno
import selectors
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

OPEN, CLOSED, UNREACHABLE, TIMEOUT = "open", "closed", "unreachable", "timeout"
NO_BUFFERS = "no-buffers"
"""ENOBUFS: the kernel had no room (its neighbour table full): says nothing about the host."""

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.EADDRNOTAVAIL}


class Watchdog:
    """Shuts registered sockets down at a deadline, so no blocked read outlives it.

    Use as a context manager around one exchange; ``fired`` says whether the deadline cut it.
    ``stop_all()`` fires every active watchdog at once (the scan was interrupted).
    """

    _active: weakref.WeakSet[Watchdog] = weakref.WeakSet()
    _stopped = threading.Event()
    """Set by ``stop_all``: a watchdog entered after it fires at once. A probe that looked at its
    cancel flag just before Ctrl-C set it may start one more exchange after ``stop_all`` ran;
    without this, that exchange would wait out its whole deadline. ``resume`` clears it when the
    next scan starts."""

    @classmethod
    def stop_all(cls) -> None:
        cls._stopped.set()  # first: a watchdog entered from now on fires on entry
        for dog in list(cls._active):
            dog._fire()

    @classmethod
    def resume(cls) -> None:
        cls._stopped.clear()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shutdown(sock)
        return sock

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> Watchdog:
        self._active.add(self)
        self._timer.start()
        if self._stopped.is_set():
            self._fire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self._active.discard(self)


class HostSlots:
    """Politeness across probes: at most ``limit`` connections to one address at a time.

    One instance per scan is shared by every probe context (the engine makes it, like the rate
    limiter), so the HTTP probe, ONVIF calls and UPnP description fetches to one device count
    together. Only addresses with a connection open are kept, so memory follows concurrency.
    """

    def __init__(self) -> None:
        self._open: dict[str, int] = {}
        self._changed = threading.Condition()

    def acquire(self, ip: str, limit: int, timeout: float) -> bool:
        """Take a slot for ``ip``; False if none was free within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._open.get(ip, 0) >= max(1, limit):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            self._open[ip] = self._open.get(ip, 0) + 1
            return True

    def release(self, ip: str) -> None:
        with self._changed:
            left = self._open.get(ip, 0) - 1
            if left > 0:
                self._open[ip] = left
            else:
                self._open.pop(ip, None)
            self._changed.notify_all()

    def in_use(self, ip: str) -> int:
        with self._changed:
            return self._open.get(ip, 0)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


@dataclass
class Reply:
    """Bytes read from a peer and why reading stopped."""

    data: bytes = b""
    timed_out: bool = False
    oversize: bool = False
    closed: bool = False
    error: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


def read_message(
    sock: socket.socket, deadline: float, limit: int, complete: Callable[[bytes], bool]
) -> Reply:
    """Read until ``complete(data)``, the peer closes, ``limit`` bytes, or the monotonic deadline."""
    reply = Reply()
    chunks = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reply.timed_out = True
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(65536, limit - len(chunks) + 1))
        except TimeoutError:
            reply.timed_out = True
            break
        except OSError as exc:
            reply.error = exc.strerror or str(exc)
            break
        if not chunk:
            reply.closed = True
            break
        chunks += chunk
        if len(chunks) > limit:
            del chunks[limit:]
            reply.oversize = True
            break
        if complete(bytes(chunks)):
            break
    reply.data = bytes(chunks)
    return reply


def connect(ip: str, port: int, timeout: float) -> socket.socket | None:
    """A connected socket, or None if the port is closed, unreachable or silent."""
    try:
        return socket.create_connection((ip, port), timeout=timeout)
    except OSError:
        return None


class SweepQueue:
    """Work for ``connect_sweep``: a fixed list plus pairs added while the sweep runs (served first)."""

    def __init__(self, pairs: Iterable[tuple[str, int]] = ()) -> None:
        self._base = iter(pairs)
        self._urgent: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def add(self, pairs: Iterable[tuple[str, int]]) -> None:
        with self._lock:
            self._urgent.extend(pairs)

    def next(self) -> tuple[str, int] | None:
        with self._lock:
            if self._urgent:
                return self._urgent.pop(0)
        return next(self._base, None)


def _state(err: int) -> str:
    if err == 0:
        return OPEN
    if err == errno.ECONNREFUSED:
        return CLOSED
    return NO_BUFFERS if err == errno.ENOBUFS else UNREACHABLE


def connect_sweep(
    pairs: Iterable[tuple[str, int]] | SweepQueue,
    *,
    timeout: float,
    max_inflight: int,
    wait_rate: Callable[[], None],
    cancelled: threading.Event,
) -> Iterator[tuple[str, int, str]]:
    """Non-blocking TCP connects; yields ``(ip, port, state)`` for each pair as it resolves.

    ``state`` is OPEN (handshake completed), CLOSED (refused: the host is alive),
    UNREACHABLE, TIMEOUT or NO_BUFFERS (the kernel's tables were full: nothing known). Connections are closed as soon as they complete; nothing is sent.
    With a SweepQueue the caller may add pairs while iterating (e.g. the other ports of a host
    that just proved alive); the sweep ends when the queue is empty and nothing is in flight.
    """
    queue = pairs if isinstance(pairs, SweepQueue) else SweepQueue(pairs)
    selector = selectors.DefaultSelector()
    pending: dict[socket.socket, tuple[str, int, float]] = {}

    def finish(sock: socket.socket, state: str) -> tuple[str, int, str]:
        ip, port, _ = pending.pop(sock)
        selector.unregister(sock)
        sock.close()
        return ip, port, state

    def collect(wait: float) -> Iterator[tuple[str, int, str]]:
        if pending:
            for key, _ in selector.select(timeout=wait):
                sock = key.fileobj  # type: ignore[assignment]
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # type: ignore[union-attr]
                state = _state(err)
                yield finish(sock, state)  # type: ignore[arg-type]
        now = time.monotonic()
        for sock, (_, _, deadline) in list(pending.items()):
            if deadline <= now:
                yield finish(sock, TIMEOUT)

    try:
        while not cancelled.is_set():
            if len(pending) >= max_inflight:
                yield from collect(0.05)
                continue
            pair = queue.next()
            if pair is None:
                if not pending:
                    return
                nearest = min(d for _, _, d in pending.values())
                yield from collect(max(0.0, min(0.05, nearest - time.monotonic())))
                continue
            ip, port = pair
            wait_rate()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            rc = sock.connect_ex((ip, port))
            if rc not in (0, errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
                sock.close()
                yield ip, port, _state(rc)
                continue
            pending[sock] = (ip, port, time.monotonic() + timeout)
            selector.register(sock, selectors.EVENT_WRITE)
            yield from collect(0)
    finally:
        for sock in list(pending):
            selector.unregister(sock)
            sock.close()
        pending.clear()
        selector.close()
