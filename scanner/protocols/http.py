"""HTTP responses -> ``http.*`` fields; authentication challenges and page titles.

The probe does the request (bounded); this module only reads what came back. Header names are
kept in wire order and original case (``http.header_names``) because the case itself is a tell:
Dahua firmware sends ``CONNECTION:`` and ``CONTENT-LENGTH:`` in upper case and no ``Server``.
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from collections.abc import Hashable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputFileError
from ..jsonio import type_name
from ..models import ArtefactKind, Observation
from ._common import (
    HEADER_VALUE_LIMIT,
    BadInput,
    as_bytes,
    bound_headers,
    collapse,
    guarded,
    header_fields,
    header_values,
    split_message,
    unique_lines,
)
from ._spec import Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = [
    "BODY_LIMIT",
    "SPEC",
    "auth_fields",
    "digest_authorization",
    "parse_challenge",
    "parse_challenges",
    "parse_raw_response",
    "parse_response",
    "split_response",
    "title_of",
]

BODY_LIMIT = 16 * 1024
"""Characters of the body kept in ``http.body``."""

TITLE_SEARCH_LIMIT = 256 * 1024
"""Characters of the body searched for ``<title>``."""

MAX_CHALLENGES = 16
"""Challenges read from all ``WWW-Authenticate`` values of one reply (devices offer two or three)."""

# The title is found in two linear steps (the first opener, then the first closer after it):
# one regex ``<title\b[^>]*>(.*?)</title\s*>`` rescans to the end from every opener when no closer
# follows, which made 256 KiB of "<title>" cost 38 s of CPU while holding the GIL.
_TITLE_OPEN = re.compile(r"<title\b", re.IGNORECASE)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.IGNORECASE)
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
_SEP = re.compile(r"[\s,]*")
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"?|[^,\s]*)\s*')
_TOKEN68_AT = re.compile(r"([A-Za-z0-9\-._~+/]+=+)\s*(?=,|$)")
_STATUS = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})\b")


def title_of(body: str | bytes | None) -> str | None:
    """The page ``<title>``: HTML entities decoded, whitespace collapsed; None if absent/empty."""
    if not body:
        return None
    text = (
        body[: TITLE_SEARCH_LIMIT * 2].decode("utf-8", errors="replace")
        if isinstance(body, (bytes, bytearray))
        else str(body)
    )
    text = text[:TITLE_SEARCH_LIMIT]
    opener = _TITLE_OPEN.search(text)
    if opener is None:
        return None
    # The first opener decides: a later one has no ">" or closer that this one lacks.
    start = text.find(">", opener.end())
    closer = _TITLE_CLOSE.search(text, start + 1) if start >= 0 else None
    if closer is None:
        return None
    title = collapse(html.unescape(text[start + 1 : closer.start()]))
    return title or None


def parse_challenges(value: str) -> list[tuple[str, dict[str, str]]]:
    """Every challenge in one ``WWW-Authenticate`` value: ``[(scheme, {param: value})]``.

    Handles several challenges in one header (``Digest realm="a", nonce="b", Basic realm="a"``),
    quoted values with escapes, and token68 credentials. Parameter names are lower-cased;
    the scheme keeps its case. Garbage ends the parse; what was read so far is returned.
    Bounded: the first ``HEADER_VALUE_LIMIT`` characters, at most ``MAX_CHALLENGES`` challenges.
    """
    out: list[tuple[str, dict[str, str]]] = []
    value = value[:HEADER_VALUE_LIMIT]
    pos, end = 0, len(value)
    while pos < end:
        pos = _SEP.match(value, pos).end()  # type: ignore[union-attr]  # always matches
        if pos >= end:
            break
        token68 = _TOKEN68_AT.match(value, pos)
        if token68 and out and not out[-1][1]:
            # "Negotiate abc==": a bare credential, not a name=value parameter.
            out[-1][1]["token68"] = token68.group(1)
            pos = token68.end()
            continue
        param = _PARAM.match(value, pos)
        if param and out and param.end() > pos:
            key, raw = param.group(1).lower(), param.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:])
            out[-1][1].setdefault(key, raw)
            pos = param.end()
            continue
        scheme = _TOKEN_RE.match(value, pos)
        if not scheme or len(out) >= MAX_CHALLENGES:
            break
        out.append((scheme.group(0), {}))
        pos = scheme.end()
    return out


def parse_challenge(value: str) -> tuple[str, dict[str, str]]:
    """The first challenge of a ``WWW-Authenticate`` value; ``("", {})`` if none."""
    challenges = parse_challenges(value)
    return challenges[0] if challenges else ("", {})


_DIGESTS = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256", "SHA": "sha1"}
"""RFC 7616 algorithms (each also as ``<name>-sess``) by their hashlib names; ``SHA`` is no standard
name, but some servers send it and the client camsweep used before (requests) answered it."""


def digest_authorization(challenge: Mapping[str, str], username: str, password: str, method: str, uri: str,
                         *, cnonce: str | None = None) -> str | None:
    """The ``Authorization`` value answering one Digest challenge (RFC 7616 / RFC 2617), or None.

    ``challenge`` is the parameter dict ``parse_challenges`` gives for a ``Digest`` challenge;
    ``uri`` is the request target (path and query). Only ``qop=auth`` (or none, RFC 2069) is
    answered -- ``auth-int`` would hash the body -- and only the algorithms in ``_DIGESTS``;
    anything else gives None, so the caller never sends a header the device cannot check.
    The request counter is always 1: each answer is used for exactly one request.
    """
    realm, nonce = challenge.get("realm"), challenge.get("nonce")
    if realm is None or not nonce:
        return None
    algorithm = challenge.get("algorithm") or "MD5"
    base = algorithm.upper().removesuffix("-SESS")
    name = _DIGESTS.get(base)
    if name is None or name not in hashlib.algorithms_available:
        return None
    offered = [q.strip().lower() for q in challenge.get("qop", "").split(",") if q.strip()]
    if offered and "auth" not in offered:
        return None

    def digest(text: str) -> str:
        return hashlib.new(name, text.encode("utf-8")).hexdigest()

    cnonce = cnonce or secrets.token_hex(8)
    nc = "00000001"
    ha1 = digest(f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = digest(f"{ha1}:{nonce}:{cnonce}")
    ha2 = digest(f"{method}:{uri}")
    if offered:
        response = digest(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    else:
        response = digest(f"{ha1}:{nonce}:{ha2}")

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    parts = [f"username={quoted(username)}", f"realm={quoted(realm)}", f"nonce={quoted(nonce)}",
             f"uri={quoted(uri)}", f"response={quoted(response)}", f"algorithm={algorithm}"]
    if "opaque" in challenge:
        parts.append(f"opaque={quoted(challenge['opaque'])}")
    if offered:
        parts += ["qop=auth", f"nc={nc}", f"cnonce={quoted(cnonce)}"]
    return "Digest " + ", ".join(parts)


def auth_fields(prefix: str, headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``<prefix>.auth.scheme`` / ``.realm`` from all ``WWW-Authenticate`` headers.

    With several challenges, the distinct schemes and realms are joined by ``\\n`` in order
    (a Hikvision camera offers Digest and Basic with the same realm: that gives one realm).
    """
    challenges = [c for v in header_values(headers, "www-authenticate") for c in parse_challenges(v)][:MAX_CHALLENGES]
    if not challenges:
        return {}
    return {
        f"{prefix}.auth.scheme": unique_lines([scheme for scheme, _ in challenges]),
        f"{prefix}.auth.realm": unique_lines([params.get("realm") for _, params in challenges]),
    }


@guarded(ArtefactKind.HTTP_RESPONSE, raw_arg="body")
def parse_response(
    status: int,
    headers: Sequence[tuple[str, str]],
    body: str | bytes,
    *,
    path: str,
    port: int,
    scheme: str = "http",
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """One HTTP response (already read by the probe, body bounded) -> HTTP_RESPONSE observation."""
    status = int(status)
    if not 100 <= status <= 999:
        raise BadInput("garbage", f"HTTP status {status} out of range")
    header_list = bound_headers(headers)
    if isinstance(body, (bytes, bytearray)):
        body_text = bytes(body[: BODY_LIMIT * 4]).decode("utf-8", errors="replace")[:BODY_LIMIT]
    else:
        body_text = str(body or "")[:BODY_LIMIT]
    fields: dict[str, str] = {
        "http.status": str(status),
        "http.path": path,
        "http.port": str(port),
        "http.scheme": scheme,
        **header_fields("http", header_list),
        **auth_fields("http", header_list),
        "http.body": body_text,
    }
    title = title_of(body)
    if title:
        fields["http.title"] = title
    raw = "\r\n".join([f"HTTP {status}", *(f"{n}: {v}" for n, v in header_list), "", body_text])
    return Observation.make(
        probe, ArtefactKind.HTTP_RESPONSE, ip=ip, mac=mac, port=port, raw=raw, fields=fields, time=time
    )


def split_response(raw: str | bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """``HTTP/1.1 401 ...`` wire text -> (status, headers in wire order, body bytes)."""
    start, headers, body = split_message(raw, what="HTTP")
    match = _STATUS.match(start)
    if not match:
        raise BadInput("garbage", "not an HTTP response status line")
    return int(match.group(1)), headers, body


@guarded(ArtefactKind.HTTP_RESPONSE, raw_arg="raw")
def parse_raw_response(
    raw: str | bytes,
    *,
    path: str,
    port: int,
    scheme: str = "http",
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """A whole response as sent on the wire (lab recordings, captures) -> HTTP_RESPONSE."""
    status, headers, body = split_response(as_bytes(raw)[: 4 * 1024 * 1024])
    return parse_response(
        status, headers, body, path=path, port=port, scheme=scheme, probe=probe, ip=ip, mac=mac, time=time
    )


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """A clear-text reply seen on the wire, filed under the path of the request it answers."""
    yield (("http", heard.src, heard.sport, heard.path),
           parse_raw_response(heard.payload, path=heard.path, port=heard.sport, **heard.where()))


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    for resp in r.children("http"):
        port = resp.integer("port", 1, 65535, 80)
        yield parse_response(
            resp.integer("status", 100, 999, 200), _short_form_headers(resp), resp.text("body", ""),
            path=resp.text("path", "/"), port=port,
            scheme=resp.text("scheme", "https" if port in (443, 8443) else "http"),
            **where,
        )


def _short_form_headers(resp: Reader) -> list[tuple[str, str]]:
    """HTTP headers as an object, or as a list of [name, value] pairs (keeps order and repeats)."""
    headers = resp.data.get("headers")
    if headers is None or isinstance(headers, Mapping):
        return list(resp.text_map("headers").items())
    if not isinstance(headers, list):
        raise resp.bad("headers", f"expected an object or a list of [name, value] pairs, got {type_name(headers)}")
    pairs = []
    for index, pair in enumerate(headers):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise InputFileError(f"{resp.at('headers')}[{index}]: expected a [name, value] pair of strings")
        pairs.append((pair[0], pair[1]))
    return pairs


SPEC = ProtocolSpec(
    name="http",
    title="HTTP probe",
    order=80,
    holds_connections=True,
    families={
        "http.header": "HTTP Server header",
        "http.header_shape": "HTTP header quirks",
        "http.auth": "HTTP realm",
        "http.body": "HTTP reply body",
        "http.title": "HTTP title",
    },
    fields={
        "http.status": Field("http.status", "response status"),
        "http.path": Field("http.path", "request path"),
        "http.port": Field("http.port", "TCP port"),
        "http.scheme": Field("http.scheme", "`http` or `https`"),
        "http.header.*": Field("http.header", "header value by lower-case name (e.g. `http.header.server`)"),
        "http.header_names": Field("http.header_names", "header names in wire order and original case, joined by `\\n`"),
        "http.header_shape": Field(
            "http.header_shape",
            "derived by the verdict: `server=<present|absent> upper=<upper-case header names>`"),
        "http.auth.scheme": Field("http.auth", "`WWW-Authenticate` schemes"),
        "http.auth.realm": Field("http.auth", "`WWW-Authenticate` realms"),
        "http.title": Field("http.title", "page title"),
        "http.body": Field("http.body", "body (first 16 KiB)"),
        "http.authenticated": Field(
            "http.authenticated", "`yes` on the one authenticated read of a maker page (`--credentials`)"),
    },
    short_form=("http",),
    read_short_form=_short_form,
    passive=Passive(_heard, tcp=(b"HTTP/1.",), framing="message", requests=(b"GET ", b"HEAD ", b"POST ")),
)
