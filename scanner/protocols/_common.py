"""Helpers every codec shares: bounded input, hardened XML, HTTP-style header blocks, and the
guard that turns bad device input into an Observation with a ``problem`` instead of an exception.

Device replies are hostile until proven otherwise: every parser caps the input size *before*
looking at it, parses XML only through defusedxml with DTDs forbidden, and records what went
wrong as ``"<slug>: <detail>"`` (``oversize``, ``xml-forbidden``, ``xml-invalid``,
``invalid-utf8``, ``garbage``, ``bad-length``, ``not-json``, ``not-a-reply``, ``parser-error``).
"""

from __future__ import annotations

import functools
import inspect
import io
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    return repr(data)[: RAW_LIMIT + 1]


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


def split_message(raw: str | bytes, *, what: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """Split an HTTP/RTSP/SSDP message into start line, headers in wire order, and body bytes.

    The header block must be UTF-8 (``invalid-utf8`` otherwise); the body is returned as bytes.
    Folded continuation lines are joined to the previous header; lines without a colon are skipped.
    """
    data = as_bytes(raw)
    match = re.search(rb"\r?\n\r?\n", data)
    head, body = (data[: match.start()], data[match.end() :]) if match else (data, b"")
    text = decode_utf8(head, f"{what} header block")
    lines = re.split(r"\r?\n", text.lstrip("\r\n"))
    start = lines[0].strip() if lines else ""
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            continue
        if len(headers) >= MAX_HEADERS:
            break
        headers.append((name.strip(), value.strip()))
    return start, headers, body


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


def unique_lines(values: Sequence[str | None]) -> str:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return "\n".join(out)


# ------------------------------------------------------------------------------- the guard


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
                log.warning("%s: parser error on device input: %s: %s", fn.__qualname__, type(exc).__name__, exc)
                problem = f"parser-error: {type(exc).__name__}: {exc}"
            try:
                bound = signature.bind_partial(*args, **kwargs)
                bound.apply_defaults()
                call = dict(bound.arguments)
            except TypeError:
                call = dict(kwargs)
            raw = call.get(raw_arg) if raw_arg else None
            if isinstance(raw, Mapping):
                raw = repr(dict(raw))
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
    log.debug("%s from %s: %s", kind.value, ip or mac or "?", problem)
    return Observation.make(
        probe, kind, ip=_safe_ip(ip), mac=mac if isinstance(mac, str) else None, port=port,
        raw=raw_text(raw), problem=problem[:512], time=time,
    )


def _safe_ip(ip: Any) -> str | None:
    return ip if isinstance(ip, str) else None
