"""Raw HTTP/1.1 server on asyncio streams.

Written by hand on purpose: HTTP frameworks normalise header case and add ``Server``/``Date``,
which would erase exactly the tells camsweep looks for (Dahua's upper-case names, no Server).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..templates import fill

log = logging.getLogger("camsweep.lab")

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
IDLE_TIMEOUT = 30.0
HUGE_SIZE = 50 * 1024 * 1024


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Handler = Callable[[Request], Awaitable[bytes | None]]


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One request from the stream, or None at a clean end of stream."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise ConnectionError("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise ConnectionError(f"bad request line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(min(length, MAX_BODY)) if length else b""
    return Request(parts[0], parts[1], parts[2], headers, body)


def build_response(status: int, headers: list[list[str]] | list[tuple[str, str]], body: bytes,
                   reason: str | None = None, head_only: bool = False) -> bytes:
    """Status line + headers exactly as given (+ Content-Length only if the list lacks one)."""
    if reason is None:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    lines = [f"HTTP/1.1 {status} {reason}"]
    names = {name.lower() for name, _ in headers}
    lines += [f"{name}: {value}" for name, value in headers]
    if "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


_PARAM_RE = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]+))')


def check_credentials(route: Mapping[str, Any], request: Request) -> bool:
    """True when the request carries valid credentials for an ``auth`` route (RFC 7617/7616 MD5)."""
    username, password = route.get("username"), route.get("password")
    header = request.headers.get("authorization", "")
    if username is None or password is None or not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and route["auth"] == "basic":
        try:
            return base64.b64decode(value).decode() == f"{username}:{password}"
        except ValueError:
            return False
    if scheme.lower() != "digest" or route["auth"] != "digest":
        return False
    params = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM_RE.finditer(value)}
    if params.get("username") != username or params.get("realm") != route["realm"]:
        return False
    ha1 = _md5(f"{username}:{route['realm']}:{password}")
    ha2 = _md5(f"{request.method}:{params.get('uri', '')}")
    if params.get("qop"):
        expected = _md5(f"{ha1}:{params.get('nonce')}:{params.get('nc')}:{params.get('cnonce')}:{params['qop']}:{ha2}")
    else:
        expected = _md5(f"{ha1}:{params.get('nonce')}:{ha2}")
    return params.get("response") == expected


class HttpServer:
    """Answers one ``[[http]]`` table of a profile; ``extra`` handlers serve ONVIF/UPnP paths."""

    def __init__(self, config: Mapping[str, Any], variables: Mapping[str, str], base_dir: str,
                 extra: Mapping[str, Handler] | None = None) -> None:
        self.config = config
        self.variables = variables
        self.base_dir = Path(base_dir)
        self.extra = dict(extra or {})

    def _body(self, reply: Mapping[str, Any]) -> bytes:
        if "body_file" in reply:
            return (self.base_dir / reply["body_file"]).read_bytes()
        return fill(reply.get("body", ""), self.variables).encode("utf-8")

    def _reply(self, reply: Mapping[str, Any], request: Request, default_status: int,
               extra_vars: Mapping[str, str] | None = None) -> bytes:
        variables = {**self.variables, **(extra_vars or {})}
        body = self._body(reply)
        variables["content_length"] = str(len(body))
        headers = [(fill(n, variables), fill(v, variables)) for n, v in reply.get("headers", [])]
        return build_response(reply.get("status", default_status), headers, body,
                              reply.get("reason"), head_only=request.method == "HEAD")

    def _find_route(self, request: Request) -> Mapping[str, Any] | None:
        routes = self.config.get("routes", [])
        for key in (request.target, request.path):
            for route in routes:
                if route["path"] == key and route.get("method", request.method).upper() == request.method:
                    return route
        return None

    def _challenge(self, route: Mapping[str, Any]) -> str:
        nonce = os.urandom(16).hex()
        if "challenge" in route:
            return fill(route["challenge"], {"realm": route["realm"], "nonce": nonce})
        if route["auth"] == "basic":
            return f'Basic realm="{route["realm"]}"'
        return f'Digest realm="{route["realm"]}", qop="auth", nonce="{nonce}"'

    async def respond(self, request: Request) -> bytes:
        handler = self.extra.get(request.path)
        if handler is not None:
            answer = await handler(request)
            if answer is not None:
                return answer
        route = self._find_route(request)
        if route is None:
            default = self.config.get("default")
            if default is None:
                return build_response(404, [], b"", head_only=request.method == "HEAD")
            return self._reply(default, request, 404)
        if "auth" in route and not check_credentials(route, request):
            challenge = self._challenge(route)
            unauthorized = route.get("unauthorized")
            if unauthorized is None:
                return build_response(401, [("WWW-Authenticate", challenge)], b"",
                                      head_only=request.method == "HEAD")
            return self._reply(unauthorized, request, 401, {"challenge": challenge})
        return self._reply(route, request, 200)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            behaviour = self.config.get("behaviour")
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                if behaviour == "drip":
                    await self._drip(writer)
                    break
                if behaviour == "huge":
                    await self._huge(writer)
                    break
                writer.write(await self.respond(request))
                await writer.drain()
                if request.headers.get("connection", "").lower() == "close" or request.version == "HTTP/1.0":
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
            log.debug("http: connection ended: %s", error)
        except asyncio.CancelledError:
            pass  # emulator shutting down with a client still attached (e.g. a drip)
        finally:
            writer.close()

    async def _drip(self, writer: asyncio.StreamWriter) -> None:
        """Hostile: a plausible status line, then one byte per second for as long as the peer waits."""
        payload = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        position = 0
        while True:
            writer.write(payload[position % len(payload):position % len(payload) + 1] if position < len(payload) else b"X")
            await writer.drain()
            position += 1
            await asyncio.sleep(1.0)

    async def _huge(self, writer: asyncio.StreamWriter) -> None:
        """Hostile: advertises and streams a 50 MB body."""
        writer.write(build_response(200, [("Content-Type", "text/html"), ("Content-Length", str(HUGE_SIZE))], b""))
        chunk = b"A" * 65536
        sent = 0
        while sent < HUGE_SIZE:
            writer.write(chunk[: HUGE_SIZE - sent])
            sent += len(chunk)
            await writer.drain()
