"""Alerts of ``camsweep watch``: what one says (``Alert``) and where it goes (``Sinks``).

An alert is raised once per device, the first time the watch identifies a device made by a
restricted maker (Hikvision, Dahua, their OEM units) or restricted under the chosen policy that
the inventory did not know. It goes, as configured in ``[watch]``, to:

* **JSON lines** on standard output (one object per line, the body below): journald keeps a
  service's stdout, so ``journalctl -u camsweep-watch -o cat`` shows them;
* **syslog**, RFC 5424, through the standard library's ``SysLogHandler`` (a Unix socket such as
  ``/dev/log``, or ``udp://host:514`` / ``tcp://host:514``), with ``RFC5424Formatter``;
* a **webhook**: an HTTP POST of the JSON body, with ``Authorization: Bearer <token>`` when a
  token file is configured; refused redirects, bounded retries with backoff. The URL (which may
  carry a secret path) and the token are never logged: messages say "the webhook".

The JSON body (``Alert.to_dict``; README "Continuous monitoring")::

    {"schema": "camsweep.alert/1", "event": "new-device", "reason": "maker" | "restricted",
     "at": ISO time raised, "first_seen": ISO time first heard, "site": ..., "interface": ...,
     "identity": "mac:..." (the inventory's), "ip": ..., "mac": ..., "maker": "hikvision",
     "brand": ..., "device_type": ..., "model": ..., "firmware": ..., "status": "restricted" |
     "listed" | "manual-check" | "clear", "confidence": "high", "policies": [...],
     "instruments": [ids], "summary": one line}

Each sink has its own thread and a bounded queue, so a slow webhook neither delays the capture
nor the other sinks; an alert that does not fit the queue is dropped and counted in the log.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

from . import jsonio
from .errors import ConfigError

log = logging.getLogger("camsweep")

SCHEMA = "camsweep.alert/1"
QUEUE = 1000
"""Alerts waiting per sink at most; a site has far fewer new devices than this at once."""
WEBHOOK_TIMEOUT = 5.0
"""Seconds per webhook attempt (connect and reply)."""
WEBHOOK_ATTEMPTS = 4
WEBHOOK_BACKOFF = 1.0
"""Seconds before the second attempt; doubled before each next one (1, 2, 4: 7 s of waiting)."""
SYSLOG_MAX = 2048
"""Bytes of one syslog message at most (RFC 5424 receivers must take 480, should take 2048)."""
ENTERPRISE = 32473
"""The SD-ID's private enterprise number: 32473 is the one RFC 5612 reserves for examples and
documentation; camsweep has none of its own."""


class Secret(str):
    """A token read from a file: never shown by ``repr`` (settings are dataclasses whose repr
    would otherwise print it in a traceback or a debug line)."""

    def __repr__(self) -> str:
        return "'<secret>'"


def read_token(path: str) -> Secret:
    """The webhook token: the first line of its file (read when the watch starts and at SIGHUP)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(4096)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the webhook token ({getattr(exc, 'strerror', None) or exc})") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token or not token.isprintable():
        raise ConfigError(f"{path}: the webhook token file must hold one line of printable text")
    return Secret(token)


def check_webhook_url(url: str) -> str | None:
    """What is wrong with a webhook URL, or None (the URL itself is never repeated: it may hold a secret)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


def parse_syslog_target(target: str) -> tuple[str | tuple[str, int], int]:
    """``/dev/log`` or ``unix:/path`` (a Unix socket), ``udp://host[:514]``, ``tcp://host[:514]``
    -> (address for SysLogHandler, socket type). Raises ValueError("must ...")."""
    target = target.removeprefix("unix:")
    if target.startswith("/"):
        return target, socket.SOCK_DGRAM
    parts = urlsplit(target)
    if parts.scheme in ("udp", "tcp") and parts.hostname and not parts.path:
        try:
            port = parts.port or 514
        except ValueError:
            port = 0
        if port:
            return (parts.hostname, port), socket.SOCK_DGRAM if parts.scheme == "udp" else socket.SOCK_STREAM
    raise ValueError(f"must be a Unix socket path (/dev/log), udp://host:port or tcp://host:port, not {target!r}")


def _syslog_problem(target: str) -> str | None:
    try:
        parse_syslog_target(target)
    except ValueError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------- alert


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Alert:
    """One new device worth an alert (see the module's doc for the JSON body)."""

    reason: str  # "restricted" (under the policy) or "maker" (made by a restricted maker)
    at: datetime
    first_seen: datetime
    identity: str
    ip: str
    mac: str
    maker: str
    brand: str | None
    device_type: str
    model: str | None
    firmware: str | None
    status: str
    confidence: str
    summary: str
    site: str = ""
    interface: str = ""
    policies: tuple[str, ...] = ()
    instruments: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "event": "new-device", "reason": self.reason, "at": _iso(self.at),
            "first_seen": _iso(self.first_seen), "site": self.site, "interface": self.interface,
            "identity": self.identity, "ip": self.ip, "mac": self.mac, "maker": self.maker, "brand": self.brand,
            "device_type": self.device_type, "model": self.model, "firmware": self.firmware,
            "status": self.status, "confidence": self.confidence, "policies": list(self.policies),
            "instruments": list(self.instruments), "summary": self.summary,
        }

    def sentence(self) -> str:
        """One line for syslog's MSG: what, where, why."""
        what = " ".join(part for part in (self.brand or self.maker, self.model or self.device_type) if part)
        where = self.ip or self.mac or self.identity
        why = (f"restricted under {','.join(self.policies)}" if self.reason == "restricted"
               else f"made by {self.maker}")
        return f"new device {what} at {where}: {why} ({self.status}, {self.confidence} confidence)"


# ---------------------------------------------------------------------------------------- sinks


class Sink:
    """Where alerts go. ``send`` is called on the sink's own thread; it may block and raise."""

    name = "sink"

    def send(self, alert: Alert) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class JsonLines(Sink):
    """One JSON object per line on a stream (the watch's stdout), flushed at once."""

    name = "jsonl"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, alert: Alert) -> None:
        self.stream.write(jsonio.dumps(alert.to_dict()) + "\n")
        self.stream.flush()


def _sd_value(text: str) -> str:
    """An SD-PARAM value (RFC 5424 6.3.3): '"', '\\' and ']' escaped; controls replaced."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


class RFC5424Formatter(logging.Formatter):
    """``1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG``: the RFC 5424 header after PRI
    (``SysLogHandler`` puts ``<PRI>`` in front). A record's ``msgid`` and ``structured`` (a dict)
    extras fill MSGID and one ``camsweep@32473`` SD-ELEMENT. Over TCP each message ends in a line
    feed (RFC 6587 non-transparent framing: the message itself never holds one)."""

    def __init__(self, *, framing: bool = False) -> None:
        super().__init__()
        self.framing = framing
        host = socket.gethostname() or "-"
        self.hostname = "".join(c for c in host if 33 <= ord(c) <= 126)[:255] or "-"

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        msgid = getattr(record, "msgid", None) or "-"
        structured = getattr(record, "structured", None)
        sd = "-"
        if structured:
            params = " ".join(f'{key}="{_sd_value(str(value))}"' for key, value in structured.items() if value)
            sd = f"[camsweep@{ENTERPRISE} {params}]"
        message = "".join(c if c.isprintable() else "?" for c in record.getMessage())
        line = f"1 {stamp} {self.hostname} camsweep {record.process or '-'} {msgid} {sd} {message}"
        line = line.encode("utf-8")[: SYSLOG_MAX - 8].decode("utf-8", "ignore")  # room for <PRI>
        return line + ("\n" if self.framing else "")


class _Handler(logging.handlers.SysLogHandler):
    """SysLogHandler whose failures reach the caller (``Sinks`` logs one line) instead of
    ``logging``'s traceback on stderr."""

    def handleError(self, record: logging.LogRecord) -> None:  # logging's name for it
        raise  # noqa: PLE0704 - called by emit() inside its except clause: re-raises that error


class Syslog(Sink):
    """RFC 5424 messages through ``logging.handlers.SysLogHandler`` (facility daemon, warning)."""

    name = "syslog"

    def __init__(self, target: str) -> None:
        address, socktype = parse_syslog_target(target)
        try:
            self.handler = _Handler(
                address=address, facility=logging.handlers.SysLogHandler.LOG_DAEMON, socktype=socktype)
        except OSError as exc:
            raise ConfigError(f"syslog {target}: cannot connect ({exc.strerror or exc})") from None
        self.handler.append_nul = False  # RFC 5424 has no NUL terminator
        self.handler.setFormatter(RFC5424Formatter(framing=socktype == socket.SOCK_STREAM))

    def send(self, alert: Alert) -> None:
        record = logging.LogRecord("camsweep.alert", logging.WARNING, __file__, 0, "%s", (alert.sentence(),), None)
        record.msgid = "new-device"
        body = alert.to_dict()
        record.structured = {key: body[key] for key in (
            "reason", "identity", "ip", "mac", "maker", "brand", "model", "device_type", "status", "site", "interface")}
        record.structured["first_seen"] = body["first_seen"]
        self.handler.emit(record)  # a Unix socket is reconnected once by emit itself; a failure raises

    def close(self) -> None:
        self.handler.close()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would re-send the token to wherever the reply points: refused (an error)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Webhook(Sink):
    """POST the JSON body to the configured URL; ``WEBHOOK_ATTEMPTS`` tries with doubling backoff."""

    name = "webhook"

    def __init__(self, url: str, token: str | None = None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        problem = check_webhook_url(url)
        if problem:
            raise ConfigError(f"the webhook URL {problem}")
        self._url = url
        self._token = token
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirects())
        self.delivered = 0

    def __repr__(self) -> str:
        return "Webhook(<url and token hidden>)"

    def send(self, alert: Alert) -> None:
        data = jsonio.dumps(alert.to_dict()).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "camsweep-watch"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        why = ""
        for attempt in range(WEBHOOK_ATTEMPTS):
            if attempt:
                self._sleep(WEBHOOK_BACKOFF * 2 ** (attempt - 1))
            request = urllib.request.Request(self._url, data=data, headers=headers, method="POST")
            try:
                with self._opener.open(request, timeout=WEBHOOK_TIMEOUT) as reply:
                    reply.read(65536)
                self.delivered += 1
                return
            except urllib.error.HTTPError as exc:
                why = f"HTTP {exc.code}"  # never str(exc) of a URL error: it could name the URL
                if exc.code < 500 and exc.code not in (408, 429):
                    break  # refused or redirected (never followed): sending it again will not help
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                why = getattr(reason, "strerror", None) or type(reason).__name__
        log.error("webhook: alert for %s not delivered after %d attempt(s) (%s)", alert.identity, attempt + 1, why)


class Sinks:
    """Each sink on its own thread behind a bounded queue. ``close`` waits a bounded time for
    what is queued, so a stopping or reloading watch hands its last alerts over."""

    def __init__(self, sinks: Iterable[Sink]) -> None:
        self.sinks = list(sinks)
        self._queues: list[queue.Queue[Alert | None]] = []
        self._threads: list[threading.Thread] = []
        for sink in self.sinks:
            q: queue.Queue[Alert | None] = queue.Queue(QUEUE)
            thread = threading.Thread(target=self._work, args=(sink, q), name=f"camsweep-{sink.name}", daemon=True)
            thread.start()
            self._queues.append(q)
            self._threads.append(thread)

    @staticmethod
    def _work(sink: Sink, q: queue.Queue[Alert | None]) -> None:
        while (alert := q.get()) is not None:
            try:
                sink.send(alert)
            except Exception as exc:  # noqa: BLE001 - a sink failing must not stop the watch or the other sinks
                log.error("%s: alert for %s not delivered (%s)", sink.name, alert.identity, type(exc).__name__)

    def send(self, alert: Alert) -> None:
        for sink, q in zip(self.sinks, self._queues):
            try:
                q.put_nowait(alert)
            except queue.Full:
                log.error("%s: %d alerts waiting; alert for %s dropped", sink.name, QUEUE, alert.identity)

    def close(self, wait: float = 30.0) -> None:
        deadline = time.monotonic() + wait
        for q in self._queues:
            try:
                q.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                pass
        for sink, thread in zip(self.sinks, self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s: alerts still being delivered when the watch stopped", sink.name)
            else:
                sink.close()


def sinks_for(settings: Any, stdout: TextIO) -> Sinks:
    """The sinks ``[watch]`` asks for (a ``WatchConfig``), each checked now: a syslog target that
    cannot be reached is a ConfigError before the watch starts (or, at SIGHUP, before the running
    sinks are replaced)."""
    chosen: list[Sink] = []
    if settings.jsonl:
        chosen.append(JsonLines(stdout))
    if settings.syslog:
        chosen.append(Syslog(settings.syslog))
    if settings.webhook_url:
        chosen.append(Webhook(settings.webhook_url, settings.webhook_token))
    return Sinks(chosen)
