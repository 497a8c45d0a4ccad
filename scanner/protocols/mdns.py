"""mDNS / DNS-SD service records -> ``mdns.*`` fields.

zeroconf does the wire format; this module only normalises what it resolved. Hikvision cameras
announce ``_CGI._tcp`` with instance ``HIKVISION <model> - <serial tail>`` and host ``<serial>.local``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ..models import ArtefactKind, Observation
from ._common import BadInput, guarded

__all__ = ["TXT_MAX_CHARS", "TXT_MAX_ENTRIES", "from_service", "txt_lines"]

TXT_MAX_ENTRIES = 64
TXT_MAX_CHARS = 4 * 1024

TxtInput = Mapping[str | bytes, str | bytes | None] | str | bytes | Iterable[str | bytes] | None


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)


def txt_lines(txt: TxtInput) -> str:
    """TXT entries as ``key=value`` lines (a key without value stays bare), bounded.

    Accepts a Mapping (zeroconf ``properties``), already-joined ``key=value`` text, or an
    iterable of entries. Control characters are dropped so one entry is always one line.
    """
    if txt is None:
        return ""
    if isinstance(txt, Mapping):
        entries = [_text(k) if v is None else f"{_text(k)}={_text(v)}" for k, v in txt.items()]
    elif isinstance(txt, (str, bytes, bytearray)):
        entries = _text(txt).splitlines()
    else:
        entries = [_text(item) for item in txt]
    lines: list[str] = []
    size = 0
    for entry in entries[:TXT_MAX_ENTRIES]:
        line = "".join(ch for ch in entry if ch.isprintable())
        if not line:
            continue
        size += len(line) + 1
        if size > TXT_MAX_CHARS:
            break
        lines.append(line)
    return "\n".join(lines)


def _port(value: object) -> int | None:
    """A service port as zeroconf gives it (int) or a short form holds it (int or digits), else BadInput."""
    if value is None:
        return None
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535):
        raise BadInput("garbage", f"service port {str(value)[:40]!r} is not a port number")
    return int(text)


def _strip_dot(name: str | None) -> str:
    return (name or "").strip().rstrip(".")


@guarded(ArtefactKind.MDNS_RECORD, raw_arg="instance")
def from_service(
    service_type: str,
    instance: str,
    *,
    server: str | None,
    service_port: int | None,
    txt: TxtInput,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """One resolved service -> MDNS_RECORD.

    ``service_type`` and ``server`` lose their trailing dot (``_CGI._tcp.local``); a full
    ``instance`` name ending in ``.<service_type>`` is cut to its instance label.
    """
    port = _port(service_port)
    stype = _strip_dot(service_type)
    label = _strip_dot(instance)
    if stype and label.lower().endswith("." + stype.lower()):
        label = label[: -len(stype) - 1]
    if not stype and not label:
        raise BadInput("garbage", "service record without type or instance name")
    fields = {
        "mdns.service_type": stype,
        "mdns.instance": label,
        "mdns.server": _strip_dot(server),
        "mdns.port": str(port) if port is not None else "",
        "mdns.txt": txt_lines(txt),
    }
    raw = "\n".join(f"{k}={v}" for k, v in fields.items() if v)
    return Observation.make(
        probe, ArtefactKind.MDNS_RECORD, ip=ip, mac=mac, port=port or None,
        raw=raw, fields=fields, time=time,
    )
