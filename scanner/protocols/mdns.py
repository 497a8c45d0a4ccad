"""mDNS / DNS-SD service records -> ``mdns.*`` fields.

zeroconf does the wire format; this module only normalises what it resolved. Hikvision cameras
announce ``_CGI._tcp`` with instance ``HIKVISION <model> - <serial tail>`` and host ``<serial>.local``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..jsonio import type_name
from ..models import ArtefactKind, Observation
from ._common import BadInput, guarded
from ._spec import Field, Heard, Passive, ProtocolSpec, Unread

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["MAX_SERVICES", "SPEC", "TXT_MAX_CHARS", "TXT_MAX_ENTRIES", "from_service", "txt_entries", "txt_lines"]

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


MAX_SERVICES = 64
"""Services read from one mDNS packet on the wire. Responders announce a handful; a 64 KiB packet
can name 2,800, each an observation to build (~30 us): uncapped, hostile announcements cost ~1.5 us
a byte."""


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation] | Unread]:
    """Services announced in one mDNS response (PTR -> SRV/TXT in the same packet), at most
    MAX_SERVICES of them; how many more there were is yielded as an ``Unread``.

    Parsed with zeroconf's DNSIncoming: responders (zeroconf itself, Avahi) put NSEC records in
    every announcement, which dpkt's DNS parser rejects (seen in the lab's chatty mode).
    """
    from zeroconf import DNSIncoming, DNSPointer, DNSService, DNSText

    msg = DNSIncoming(heard.payload)
    if not msg.valid or not msg.is_response():
        return
    records = msg.answers()
    srv = {r.name.lower(): r for r in records if isinstance(r, DNSService)}
    txt = {r.name.lower(): r for r in records if isinstance(r, DNSText)}
    where = heard.where()
    read = cut = 0
    for r in records:
        if not isinstance(r, DNSPointer) or r.name.lower().startswith("_services."):
            continue
        if read >= MAX_SERVICES:
            cut += 1
            continue
        read += 1
        instance, service_type = r.alias, r.name
        label = instance[: -len(service_type) - 1] if instance.lower().endswith("." + service_type.lower()) else instance
        s = srv.get(instance.lower())
        t = txt.get(instance.lower())
        observation = from_service(
            service_type, label, server=s.server if s else None, service_port=s.port if s else None,
            txt=_txt_properties(t.text if t else b""), **where,
        )
        yield ("mdns", heard.src, observation.fields.get("mdns.instance")), observation
    if cut:
        yield Unread("mDNS", f"services past {MAX_SERVICES} in one packet", cut)


def txt_entries(rdata: bytes) -> list[bytes]:
    """The character-strings of a TXT record's rdata (each one length byte, then the text)."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(rdata):
        length = rdata[offset]
        entries.append(rdata[offset + 1 : offset + 1 + length])
        offset += 1 + length
    return [e for e in entries if e]


def _txt_properties(rdata: bytes) -> dict[str, str]:
    """TXT rdata -> ``{key: value}`` (a bare key has the value ``""``)."""
    properties: dict[str, str] = {}
    for entry in txt_entries(rdata):
        key, _, value = entry.decode("utf-8", "replace").partition("=")
        properties[key] = value
    return properties


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    for record in r.children("mdns"):
        txt = record.data.get("txt")
        if not isinstance(txt, (str, list, Mapping, type(None))):
            raise record.bad("txt", f"expected an object, a list or a string, got {type_name(txt)}")
        yield from_service(
            record.text("type", ""), record.text("name", ""), server=record.opt_text("server"),
            service_port=record.opt_integer("port", 0, 65535), txt=txt or {}, **where,
        )


SPEC = ProtocolSpec(
    name="mdns",
    title="mDNS",
    order=60,
    udp=(5353,),
    groups=("224.0.0.251",),
    families={"mdns": "mDNS"},
    fields={
        "mdns.service_type": Field("mdns", "service type (`_CGI._tcp.local`)"),
        "mdns.instance": Field("mdns", "instance label (`HIKVISION <model> - <serial tail>`)"),
        "mdns.server": Field("mdns", "host name (SRV target)"),
        "mdns.port": Field("mdns", "service port (SRV)"),
        "mdns.txt": Field("mdns", "TXT entries as `key=value` lines"),
    },
    short_form=("mdns",),
    read_short_form=_short_form,
    passive=Passive(_heard, replies_only=True),
)
