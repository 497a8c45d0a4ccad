"""RTSP requests and replies (port 554) -> ``rtsp.*`` fields.

The realm of a 401 is the useful part: ``Login to <serial>`` (Dahua and its OEMs) or
``IP Camera(<5 chars>)`` (newer Hikvision), both kept in ``rtsp.auth.realm``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation
from ._common import (
    DISCOVERY_LIMIT,
    BadInput,
    check_size,
    guarded,
    header_fields,
    header_values,
    split_message,
)
from ._spec import Field, Heard, Passive, ProtocolSpec
from .http import auth_fields

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "build_request", "parse_reply"]

_METHOD = re.compile(r"^[A-Z_]{3,20}$")
_STATUS = re.compile(r"^RTSP/\d\.\d\s+(\d{3})\b")


def _clean(value: str, what: str) -> str:
    if any(c in value for c in "\r\n\x00"):
        raise ValueError(f"RTSP {what} must not contain CR, LF or NUL: {value!r}")
    return value


def build_request(method: str, url: str, cseq: int, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """``OPTIONS rtsp://host:554/ RTSP/1.0`` with ``CSeq`` and any extra headers, CRLF-terminated."""
    if not _METHOD.match(method):
        raise ValueError(f"not an RTSP method: {method!r}")
    lines = [f"{method} {_clean(url, 'URL')} RTSP/1.0", f"CSeq: {int(cseq)}"]
    lines += [f"{_clean(name, 'header name')}: {_clean(value, 'header value')}" for name, value in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@guarded(ArtefactKind.RTSP_BANNER, raw_arg="raw")
def parse_reply(
    raw: str | bytes,
    *,
    port: int = 554,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """An RTSP reply (status line, headers, optional body) -> RTSP_BANNER observation."""
    check_size(raw, DISCOVERY_LIMIT)
    start, headers, _body = split_message(raw, what="RTSP")
    match = _STATUS.match(start)
    if not match:
        raise BadInput("garbage", "not an RTSP reply status line")
    fields = {
        "rtsp.status": match.group(1),
        **header_fields("rtsp", headers),
        **auth_fields("rtsp", headers),
    }
    public = header_values(headers, "public")
    if public:
        fields["rtsp.public"] = ", ".join(public)
    return Observation.make(
        probe, ArtefactKind.RTSP_BANNER, ip=ip, mac=mac, port=port, raw=raw, fields=fields, time=time
    )


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    yield ("rtsp", heard.src, heard.sport), parse_reply(heard.payload, port=heard.sport, **heard.where())


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    text = r.opt_text("rtsp")
    if text:
        yield parse_reply(text, port=554, **where)


SPEC = ProtocolSpec(
    name="rtsp",
    title="RTSP",
    order=90,
    holds_connections=True,
    families={"rtsp.header": "RTSP headers", "rtsp.auth": "RTSP realm"},
    fields={
        "rtsp.status": Field("rtsp.status", "reply status"),
        "rtsp.header.*": Field("rtsp.header", "header value by lower-case name"),
        "rtsp.header_names": Field("rtsp.header_names", "header names in wire order and original case"),
        "rtsp.auth.scheme": Field("rtsp.auth", "`WWW-Authenticate` schemes"),
        "rtsp.auth.realm": Field("rtsp.auth", "`WWW-Authenticate` realms"),
        "rtsp.public": Field("rtsp.public", "methods in `Public`, in order"),
    },
    short_form=("rtsp",),
    read_short_form=_short_form,
    passive=Passive(_heard, tcp=(b"RTSP/1.",), framing="head", requests=(b"OPTIONS ", b"DESCRIBE")),
)
