"""Helpers every codec shares: bounded input, hardened XML, HTTP-style header blocks, and the
guard that turns bad device input into an Observation with a ``problem`` instead of an exception.

Device replies are hostile until proven otherwise: every parser caps the input size *before*
looking at it, parses XML only through defusedxml with DTDs forbidden, and records what went
wrong as ``"<slug>: <detail>"`` (``oversize``, ``xml-forbidden``, ``xml-invalid``,
``invalid-utf8``, ``garbage``, ``bad-length``, ``not-json``, ``not-a-reply``, ``parser-error``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ParamSpec
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from ..models import RAW_LIMIT, ArtefactKind, Observation

log = logging.getLogger("camsweep")

DISCOVERY_LIMIT = 64 * 1024
"""Bytes accepted from one discovery datagram or banner (SADP, DHIP, WSD, SSDP, RTSP)."""

DOCUMENT_LIMIT = 256 * 1024
"""Bytes accepted from one fetched document (UPnP description, ONVIF SOAP reply)."""

MAX_HEADERS = 256
"""Header lines kept from one HTTP/RTSP/SSDP message; the rest are ignored."""

XML_FORBID = {"forbid_dtd": True, "forbid_entities": True, "forbid_external": True}
"""What device XML may not contain, for every XML parser camsweep runs: defusedxml here, and
zeep's lxml parser for ONVIF replies (zeep's ``Settings`` take the same three names)."""

HEADER_BLOCK_LIMIT = 64 * 1024
"""Bytes of one message's header block read (every header together); the rest is ignored. Real
devices send well under 2 KiB; http.client alone would hand over 6.4 MB (100 lines of 64 KiB)."""

HEADER_VALUE_LIMIT = 8 * 1024
"""Characters of one header value kept, folded continuation lines included."""

LOG_DETAIL_LIMIT = 200
"""Characters of device-influenced text (an exception message) put into one log line."""

P = ParamSpec("P")


class BadInput(Exception):
    """Raised inside a codec when device input is unusable; the guard turns it into a problem."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(f"{slug}: {detail}")
        self.slug = slug
        self.detail = detail

    @property
    def problem(self) -> str:
        return f"{self.slug}: {self.detail}"


def as_bytes(data: str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", errors="surrogatepass")
    return bytes(data)


def raw_text(data: Any) -> str | None:
    """A bounded, always-decodable text form of any input, for ``Observation.raw``."""
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        # Cut before decoding so a huge input costs nothing; keep one char more than RAW_LIMIT
        # so Observation.make still sees (and flags) that it was cut.
        return bytes(data[: RAW_LIMIT * 4 + 4]).decode("utf-8", errors="replace")
    if isinstance(data, str):
        return data[: RAW_LIMIT + 1]
    try:
        return repr(data)[: RAW_LIMIT + 1]
    except (ValueError, RecursionError):  # an int of over 4,300 digits; nesting deeper than repr goes
        return f"<{type(data).__name__} that cannot be shown>"


def check_size(data: str | bytes, limit: int) -> None:
    size = len(data.encode("utf-8", errors="surrogatepass")) if isinstance(data, str) else len(data)
    if size > limit:
        raise BadInput("oversize", f"{size} bytes > {limit}")


def decode_utf8(data: bytes, what: str = "input") -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("invalid-utf8", f"{what} is not UTF-8 (byte {exc.start})") from None


# ---------------------------------------------------------------------------------------- XML

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


def _prepare_xml(data: str | bytes) -> str | bytes:
    if isinstance(data, str):
        # A str is already decoded: an encoding="..." in its declaration would only mislead.
        return _XML_DECL_TEXT.sub("", data, count=1).strip().rstrip("\x00")
    # Devices pad datagrams with NULs and precede documents with blank lines.
    return bytes(data).lstrip(b" \t\r\n").rstrip(b"\x00 \t\r\n")


def parse_xml(data: str | bytes, limit: int) -> Element:
    """Parse untrusted XML: size cap first, then defusedxml with DTDs and entities forbidden."""
    check_size(data, limit)
    prepared = _prepare_xml(data)
    if not prepared:
        raise BadInput("garbage", "empty document")
    if isinstance(prepared, bytes):
        declared = _DECL_ENCODING.search(prepared[:200]) if prepared.startswith(b"<?xml") else None
        name = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        if name.replace("_", "-") not in _EXPAT_ENCODINGS:
            # Chinese firmware declares GB2312/GBK, which expat cannot decode: decode here instead.
            try:
                text = prepared.decode(name, errors="replace")
            except LookupError:
                raise BadInput("xml-invalid", f"unknown encoding {name!r}") from None
            prepared = _XML_DECL_TEXT.sub("", text, count=1)
    return _fromstring(prepared)


_EXPAT_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "utf-16", "utf-16le", "utf-16be"})


def _fromstring(prepared: str | bytes) -> Element:
    try:
        root: Element = SafeET.fromstring(prepared, **XML_FORBID)
        return root
    except defusedxml.DTDForbidden:
        raise BadInput("xml-forbidden", "DTD not allowed") from None
    except defusedxml.EntitiesForbidden:
        raise BadInput("xml-forbidden", "entity declarations not allowed") from None
    except defusedxml.ExternalReferenceForbidden:
        raise BadInput("xml-forbidden", "external references not allowed") from None
    except defusedxml.NotSupportedError as exc:
        raise BadInput("xml-forbidden", str(exc)) from None
    except ParseError as exc:
        raise BadInput("xml-invalid", str(exc)) from None
    except ValueError as exc:  # pyexpat refuses some declared encodings outright
        raise BadInput("xml-invalid", str(exc)) from None


def declared_namespaces(data: str | bytes) -> list[str]:
    """Namespace URIs declared anywhere in a document, in document order, without repeats.

    ElementTree drops ``xmlns:`` declarations that no element uses (Hikvision's envelope declares
    ``tnshik``/``hikwsd``/``hikxsd`` and never uses them), so read the ``start-ns`` events.
    Call only on input that ``parse_xml`` already accepted.
    """
    prepared = _prepare_xml(data)
    if isinstance(prepared, str):
        prepared = prepared.encode("utf-8")
    seen: list[str] = []
    try:
        for _event, (_prefix, uri) in SafeET.iterparse(
            io.BytesIO(prepared), events=("start-ns",), **XML_FORBID
        ):
            if uri and uri not in seen:
                seen.append(uri)
    except (ParseError, defusedxml.DefusedXmlException, ValueError):
        return seen
    return seen


def local_name(tag: Any) -> str:
    """``{urn:ns}Name`` or ``prefix:Name`` -> ``Name`` (devices disagree on prefixes)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def iter_local(root: Element, name: str) -> Iterator[Element]:
    wanted = name.lower()
    for element in root.iter():
        if local_name(element.tag).lower() == wanted:
            yield element


def find_local(root: Element, name: str) -> Element | None:
    return next(iter_local(root, name), None)


def text_of(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def children_by_name(element: Element) -> dict[str, str]:
    """Direct children's text keyed by lower-cased local name (first occurrence wins)."""
    out: dict[str, str] = {}
    for child in element:
        key = local_name(child.tag).lower()
        value = text_of(child)
        if key and value is not None and key not in out:
            out[key] = value
    return out


def collapse(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------ HTTP-style header blocks


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(r"\r?\n")


def split_message(raw: str | bytes, *, what: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """Split an HTTP/RTSP/SSDP message into start line, headers in wire order, and body bytes.

    The header block must be UTF-8 (``invalid-utf8`` otherwise); the body is returned as bytes.
    Folded continuation lines are joined to the previous header; lines without a colon are skipped.
    Bounded: only the first ``HEADER_BLOCK_LIMIT`` bytes can be the header block (a longer one is
    cut at its last whole line and the message has no body), and ``bound_headers`` applies.
    """
    data = as_bytes(raw)
    match = _BLANK_LINE.search(data, 0, HEADER_BLOCK_LIMIT + 4)
    if match:
        head, body = data[: match.start()], data[match.end() :]
    elif len(data) <= HEADER_BLOCK_LIMIT:
        head, body = data, b""
    else:
        head = data[:HEADER_BLOCK_LIMIT]
        head, body = head[: head.rfind(b"\n") + 1 or len(head)], b""
    text = decode_utf8(head, f"{what} header block")
    lines = _LINE_END.split(text.lstrip("\r\n"))
    start = lines[0].strip() if lines else ""
    # Continuations are collected and joined once: joining per line made a folded header quadratic.
    headers: list[tuple[str, list[str]]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1][1].append(line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            continue
        if len(headers) >= MAX_HEADERS:
            break
        headers.append((name.strip(), [value.strip()]))
    return start, bound_headers((name, " ".join(p for p in parts if p)) for name, parts in headers), body


def bound_headers(headers: Iterable[tuple[object, object]]) -> list[tuple[str, str]]:
    """Headers as (name, value) strings, bounded: at most ``MAX_HEADERS``, each value cut to
    ``HEADER_VALUE_LIMIT`` characters, all of them together to ``HEADER_BLOCK_LIMIT``.

    Everything that reads headers from a device (the codecs, the HTTP probe's redirect and hint
    checks, the authentication step) sees them through this, so a header's size costs nothing.
    """
    out: list[tuple[str, str]] = []
    budget = HEADER_BLOCK_LIMIT
    for name, value in headers:
        if len(out) >= MAX_HEADERS or budget <= 0:
            break
        name_text = str(name)[:HEADER_VALUE_LIMIT]
        value_text = str(value)[: min(HEADER_VALUE_LIMIT, max(budget - len(name_text), 0))]
        budget -= len(name_text) + len(value_text)
        out.append((name_text, value_text))
    return out


def header_fields(prefix: str, headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``<prefix>.header.<lower name>`` (repeats joined by ", ") and ``<prefix>.header_names``."""
    values: dict[str, list[str]] = {}
    names: list[str] = []
    for name, value in headers[:MAX_HEADERS]:
        name = str(name).strip()
        if not name:
            continue
        names.append(name)
        values.setdefault(name.lower(), []).append(str(value).strip())
    fields = {f"{prefix}.header.{key}": ", ".join(v) for key, v in values.items()}
    if names:
        fields[f"{prefix}.header_names"] = "\n".join(names)
    return fields


def header_values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    wanted = name.lower()
    return [str(v) for n, v in headers if str(n).strip().lower() == wanted]


def unique_lines(values: Iterable[str | None]) -> str:
    return "\n".join(dict.fromkeys(value for value in values if value))


# ------------------------------------------------------------------------------- the guard


_WARNINGS_LOCK = threading.Lock()


@contextlib.contextmanager
def library_warnings(origin: str) -> Iterator[list[str]]:
    """Collect the warnings a library emits while parsing device input, instead of letting them
    reach stderr (cryptography warns twice about a certificate with a 10,000-character CN): the
    caller records them as the observation's ``problem``.

    ``warnings.catch_warnings`` swaps process-wide state, so callers are serialised by a lock,
    and a warning raised from anywhere but ``origin`` (the caller's file) while the lock is held --
    another thread's -- is shown as usual afterwards, not swallowed.
    """
    caught: list[str] = []
    with _WARNINGS_LOCK:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            yield caught
        for item in seen:
            if item.filename == origin:
                caught.append(one_line(item.message if isinstance(item.message, Warning) else Warning(item.message)))
            else:
                warnings.showwarning(item.message, item.category, item.filename, item.lineno, item.file, item.line)


def guarded(kind: ArtefactKind, raw_arg: str | None) -> Callable[[Callable[P, Observation]], Callable[P, Observation]]:
    """Make a parser total: ``BadInput`` or any other exception becomes a problem Observation.

    ``raw_arg`` names the parameter holding the device input, kept (bounded) as ``raw``; the
    problem observation gets the call's probe/ip/mac/port/time, defaults included.
    """

    def decorate(fn: Callable[P, Observation]) -> Callable[P, Observation]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Observation:
            try:
                return fn(*args, **kwargs)
            except BadInput as exc:
                problem = exc.problem
            except Exception as exc:  # noqa: BLE001 - a codec bug must not end a scan; record it
                # One short line: the message may quote the device's input (60 KB seen per packet).
                log.warning("%s: parser error on device input: %s", fn.__qualname__, one_line(exc))
                problem = f"parser-error: {type(exc).__name__}: {str(exc)[:512]}"
            try:
                bound = signature.bind_partial(*args, **kwargs)
                bound.apply_defaults()
                call = dict(bound.arguments)
            except TypeError:
                call = dict(kwargs)
            raw = call.get(raw_arg) if raw_arg else None
            if isinstance(raw, Mapping):
                raw = dict(raw)  # raw_text shows it with repr, which may refuse: the guard must not raise
            return failed(kind, problem, raw=raw, **_where(call))

        return wrapper

    return decorate


def _where(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    port = kwargs.get("port")
    return {
        "probe": str(kwargs.get("probe", "unknown")),
        "ip": kwargs.get("ip"),
        "mac": kwargs.get("mac"),
        "port": port if isinstance(port, int) else None,
        "time": kwargs.get("time") if isinstance(kwargs.get("time"), datetime) else None,
    }


def failed(
    kind: ArtefactKind,
    problem: str,
    *,
    raw: Any,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    port: int | None = None,
    time: datetime | None = None,
) -> Observation:
    """An observation that records bad input: raw kept (bounded), no fields."""
    observation = Observation.make(
        probe, kind, ip=_safe_ip(ip), mac=mac if isinstance(mac, str) else None, port=port,
        raw=raw_text(raw), problem=problem[:512], time=time,
    )
    log.debug("%s from %s: %s", kind.value, observation.ip or observation.mac or "?",
              _printable(observation.problem or "")[:LOG_DETAIL_LIMIT])
    return observation


def one_line(exc: BaseException, limit: int = LOG_DETAIL_LIMIT) -> str:
    """``Type: start of message`` on one printable line of at most ``limit`` characters."""
    text = f"{type(exc).__name__}: {str(exc)[: limit * 2]}"
    text = _printable(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _printable(text: str) -> str:
    """Control, bidi and unencodable characters escaped (``\\x1b``, ``\\u202e``, ``\\ud800``)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _safe_ip(ip: Any) -> str | None:
    return ip if isinstance(ip, str) else None
