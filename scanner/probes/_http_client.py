"""The one bounded HTTP client: every HTTP request camsweep sends to a device goes through here.

The HTTP probe (banner pages, maker pages, the one authenticated read), the SSDP probe's UPnP
description fetch and the ONVIF SOAP calls (a zeep transport, ``probes/onvif.py``) share one set
of limits, taken from the scan settings (:class:`Limits`):

* **time** -- ``connect_timeout`` for the TCP (and TLS) handshake, ``read_timeout`` for each read,
  ``request_timeout`` for the whole exchange: a watchdog (``_tcp.Watchdog``) shuts the socket at
  that deadline, so a device dripping one byte a second is cut off, and Ctrl-C wakes every
  exchange at once. A caller may pass an earlier ``deadline`` (its own time budget).
* **size** -- ``max_body`` bytes of body; a compressed body is inflated up to the same bound.
* **politeness** -- at most ``per_host`` connections to one address at a time, counted across all
  probes of a scan (``_tcp.HostSlots``), and one ``--rate`` pacing step before each connection.
* **safety** -- the URL's host must be an IP literal (a name is never resolved), nothing comes from
  the environment (no proxy, no ``~/.netrc``), no cookies are kept, no redirect is followed here
  (:func:`redirect_target` says which one a caller may follow: same host only), and no path on
  the never-request list (``fingerprints/_paths.py``, compared percent-decoded) is ever sent.
  Certificates are not checked: the ``tls`` probe records them.

Built on the standard library's ``http.client`` rather than requests/urllib3: it hands over the
reply's header lines in wire order and original case (``HTTPResponse.getheaders()``; rules use
``http.header_names`` as evidence), lets us open the socket ourselves (``connect()`` is its
override point, so the watchdog and the source address need no library internals), and does
nothing implicit that would have to be switched off. No private attribute of any library is used.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

from ..fingerprints._paths import forbidden
from ..protocols._common import bound_headers
from ._tcp import HostSlots, Watchdog

if TYPE_CHECKING:  # the probe package imports this module
    from ..config import ScanConfig
    from . import ProbeContext

log = logging.getLogger("camsweep")

USER_AGENT = "camsweep (device inventory)"
_HEADERS = (("User-Agent", USER_AGENT), ("Accept", "*/*"), ("Accept-Encoding", "identity"), ("Connection", "close"))
"""Sent with every request, before the caller's own (which replace a same-named one)."""

_SAFE = "!$%&'()*+,/:;=?@[]~"
"""Characters left as they are in a request target; everything else is percent-encoded, as
requests did (a device's Location may hold spaces, backslashes or non-ASCII)."""


@dataclass(frozen=True)
class Limits:
    """The bounds every HTTP exchange runs under (from ``ScanConfig``)."""

    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    request_timeout: float = 3.0
    max_body: int = 256 * 1024
    per_host: int = 3

    @classmethod
    def of(cls, config: ScanConfig) -> Limits:
        return cls(config.connect_timeout, config.read_timeout, config.request_timeout, config.max_body,
                   config.per_host)


@dataclass(frozen=True)
class Target:
    """Where a request goes, rebuilt from checked parts: never the device's string passed on."""

    scheme: str
    ip: str
    port: int
    path: str
    """The request target: path and query, percent-encoded."""

    @property
    def url(self) -> str:
        authority = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.scheme}://{authority}:{self.port}{self.path}"


def target_of(url: str) -> Target:
    """The checked parts of an ``http``/``https`` URL whose host is an IP literal; ValueError otherwise.

    This is the one URL parser for everything sent: the address checked (scope, same host) is
    the address connected to. ``http://evil.example\\@10.0.0.5/`` is 10.0.0.5 here, and that is
    where the request goes; user information in a URL is dropped, never sent.
    """
    parts = urlsplit(url.strip())
    port = parts.port  # ValueError for a bad port
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("no host")
    ip = str(ipaddress.ip_address(parts.hostname))  # ValueError for a name: resolving it could lead anywhere
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, ip, port or (443 if parts.scheme == "https" else 80), quote(path, safe=_SAFE))


def redirect_target(url: str, location: str) -> Target | None:
    """Where a redirect from ``url`` leads, if a caller may follow it: the same host, http(s), and
    not a path on the never-request list. Anything else (another host, a name, a bad port) is None."""
    try:
        here = target_of(url)
        there = target_of(urljoin(url, location.strip()))
    except ValueError:
        return None
    if there.ip != here.ip or forbidden(there.path):
        return None
    return there


@dataclass
class Fetched:
    """One HTTP exchange as seen on the wire, with the limits it hit.

    ``problem`` is ``http-refused``, ``http-timeout``, ``http-bad-reply`` (anything malformed or
    cut by the device), ``http-bad-url`` or ``http-forbidden-path`` (nothing sent), or None.
    A reply cut after its head keeps ``status``, ``headers`` and the body read so far.
    """

    url: str
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    problem: str | None = None
    detail: str = ""
    oversize: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class HandshakeTimeout(TimeoutError):
    """The TCP connection was accepted; the TLS handshake on it was not answered in time."""


class _Connection(http.client.HTTPConnection):
    """An HTTP(S) connection whose socket we open: bounded connect, watched by the watchdog."""

    def __init__(self, target: Target, limits: Limits, dog: Watchdog, source_ip: str | None) -> None:
        super().__init__(target.ip, target.port, timeout=limits.read_timeout,
                         source_address=(source_ip, 0) if source_ip else None)
        self.target = target
        self.limits = limits
        self.dog = dog
        if target.scheme == "https":
            self.default_port = 443  # the Host header names no port when it is the scheme's own

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.limits.connect_timeout, self.source_address)
        self.dog.watch(sock)
        if self.target.scheme == "https":
            # No handshake inside wrap_socket: it runs below, under the watchdog and connect_timeout.
            sock = _TLS.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
            self.dog.watch(sock)
            sock.settimeout(self.limits.connect_timeout)
            try:
                sock.do_handshake()
            except TimeoutError as exc:
                raise HandshakeTimeout from exc
        sock.settimeout(self.limits.read_timeout)
        self.sock = sock


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _tls_context()


class HttpClient:
    """Sends one request at a time and never raises for anything a device does (see the module doc)."""

    def __init__(self, limits: Limits, *, wait_rate: Callable[[], None] = lambda: None,
                 slots: HostSlots | None = None, source_ip: str | None = None) -> None:
        self.limits = limits
        self.wait_rate = wait_rate
        self.slots = slots if slots is not None else HostSlots()
        self.source_ip = source_ip

    @classmethod
    def for_context(cls, ctx: ProbeContext, *, source_ip: str | None = None) -> HttpClient:
        """The client for a probe context: the scan's limits, rate limiter and per-host slots."""
        return cls(Limits.of(ctx.config), wait_rate=ctx.wait_rate, slots=ctx.connections, source_ip=source_ip)

    def get(self, url: str, *, headers: Iterable[tuple[str, str]] = (), deadline: float | None = None) -> Fetched:
        return self.request("GET", url, headers=headers, deadline=deadline)

    def request(self, method: str, url: str, *, body: bytes | None = None,
                headers: Iterable[tuple[str, str]] = (), deadline: float | None = None) -> Fetched:
        """One exchange, bounded by ``request_timeout`` and the caller's ``deadline`` (monotonic)."""
        result = Fetched(url)
        try:
            target = target_of(url)
        except ValueError as exc:
            result.problem, result.detail = "http-bad-url", f"not sent: {exc}"
            return result
        if forbidden(target.path):
            result.problem, result.detail = "http-forbidden-path", "not sent: the path is on the never-request list"
            return result
        started = time.monotonic()
        total = self.limits.request_timeout
        if deadline is not None:
            total = min(total, deadline - started)
        if total <= 0:
            result.problem, result.detail = "http-timeout", "not sent: no time left"
            return result
        if not self.slots.acquire(target.ip, self.limits.per_host, total):
            result.problem = "http-timeout"
            result.detail = f"not sent: {self.limits.per_host} connection(s) to the host busy for {total:g} s"
            return result
        try:
            self.wait_rate()
            left = total - (time.monotonic() - started)
            if left <= 0:
                result.problem, result.detail = "http-timeout", "not sent: no time left"
                return result
            wanted = dict(_HEADERS)
            for name, value in headers:
                for known in [k for k in wanted if k.lower() == name.lower()]:
                    del wanted[known]
                wanted[name] = value
            self._exchange(method, target, body, wanted, left, result)
        finally:
            self.slots.release(target.ip)
        return result

    def _exchange(self, method: str, target: Target, body: bytes | None, headers: dict[str, str],
                  total: float, result: Fetched) -> None:
        dog = Watchdog(total)
        end = time.monotonic() + total
        connection = _Connection(target, self.limits, dog, self.source_ip)
        head_done = False
        try:
            with dog:
                try:
                    connection.connect()
                except ConnectionRefusedError:
                    result.problem, result.detail = "http-refused", "connection refused"
                    return
                except HandshakeTimeout:
                    result.problem = "http-timeout"
                    result.detail = f"connected, but no TLS handshake within {self.limits.connect_timeout:g} s"
                    return
                except TimeoutError:
                    result.problem, result.detail = "http-timeout", f"no connection within {self.limits.connect_timeout:g} s"
                    return
                connection.request(method, target.path, body=body, headers=headers)
                response = connection.getresponse()
                head_done = True
                result.status = response.status
                # Bounded here (64 KiB in all, 8 KiB a value), so no caller works on a 6 MB header.
                result.headers = bound_headers(response.getheaders())
                self._read_body(response, result, end)
        except TimeoutError:
            result.problem = "http-timeout"
            result.detail = (f"reply cut after {total:g} s" if dog.fired else
                             f"no data for {self.limits.read_timeout:g} s")
        except http.client.IncompleteRead:
            result.problem, result.detail = "http-bad-reply", "connection closed before the end of the body"
        except (http.client.HTTPException, OSError, ValueError) as exc:
            # OSError covers ssl.SSLError and the socket the watchdog shut down.
            result.problem = "http-timeout" if dog.fired else "http-bad-reply"
            result.detail = f"reply cut after {total:g} s" if dog.fired else _reason(exc)
        finally:
            connection.close()
        if dog.fired and result.problem is None:
            result.problem, result.detail = "http-timeout", f"reply cut after {total:g} s"
        if result.problem == "http-timeout" and not head_done:
            # What http.client parsed of a cut head is not evidence.
            result.status, result.headers = None, []
            result.detail = f"reply head not complete within {total:g} s" if dog.fired else result.detail

    def _read_body(self, response: http.client.HTTPResponse, result: Fetched, end: float) -> None:
        cap = self.limits.max_body
        body = bytearray()
        try:
            while len(body) <= cap:
                if time.monotonic() > end:
                    result.problem, result.detail = "http-timeout", "body not complete in time"
                    break
                chunk = response.read1(min(65536, cap + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
        finally:
            declared = result.header("Content-Length") or ""
            if (result.problem is None and declared.strip().isdigit() and len(body) < min(int(declared), cap + 1)
                    and result.header("Transfer-Encoding") is None and result.status not in (204, 304)):
                # read1 reports a close before Content-Length bytes as a plain end: say it was cut.
                result.problem, result.detail = "http-bad-reply", "connection closed before the end of the body"
            if len(body) > cap:
                result.oversize = True
                del body[cap:]
            encoding = result.header("Content-Encoding")
            result.body = _inflate(bytes(body), encoding, cap) if encoding else bytes(body)


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """A gzip/deflate body inflated up to ``limit`` bytes (identity was asked; some send it anyway)."""
    wbits = {"gzip": 47, "x-gzip": 47, "deflate": 15}.get(encoding.strip().lower())
    if wbits is None:
        return body
    try:
        return zlib.decompressobj(wbits).decompress(body, limit)
    except zlib.error:
        return body


def _reason(exc: BaseException) -> str:
    """One line saying what went wrong (the exception's own words, bounded)."""
    text = str(exc)[:600] or type(exc).__name__
    return re.sub(r"\s+", " ", f"{type(exc).__name__}: {text}")[:300]
