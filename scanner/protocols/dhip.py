"""Dahua DHIP discovery (UDP 37810): ``DHDiscover.search`` builder and reply parser.

A DHIP packet is a 32-byte header of eight little-endian uint32 -- header size 0x20, the magic
``DHIP``, session 0, request id, body length, 0, body length (again), 0 -- followed by a JSON body
and a newline (UniversalScanner ``Dahua2.cs``; Haicam ``discovery.go``). The reply's method is
``client.notifyDevInfo`` with ``params.deviceInfo``. Answering at all marks Dahua firmware:
the ``Vendor`` field says ``Private``, ``Dahua`` or the OEM label and is not trusted alone.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Hashable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation, normalize_mac
from ._common import DISCOVERY_LIMIT, BadInput, decode_utf8, guarded
from ._spec import Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["HEADER", "HEADER_SIZE", "MAGIC", "SPEC", "build_search", "decode", "encode", "encode_reply", "parse_reply"]

HEADER = struct.Struct("<I4sIIIIII")
HEADER_SIZE = HEADER.size  # 32
MAGIC = b"DHIP"

_RPC_KEYS = ("params", "result", "error", "session")
"""Keys of a DHIP JSON-RPC message; an object with none of them (and no method) is not DHIP."""

_DEVICE_FIELDS = {
    "DeviceClass": "dhip.device_class",
    "DeviceType": "dhip.model",
    "SerialNo": "dhip.serial",
    "Vendor": "dhip.vendor",
    "Manufacturer": "dhip.manufacturer",
    "Version": "dhip.version",
    "MachineName": "dhip.machine_name",
    "HttpPort": "dhip.http_port",
    "Port": "dhip.port",
    "DeviceID": "dhip.device_id",
}


def encode(body: bytes, request_id: int = 0) -> bytes:
    """Header + body; both length fields count the body (including its trailing newline)."""
    if len(body) > DISCOVERY_LIMIT:
        raise ValueError(f"DHIP body of {len(body)} bytes is larger than {DISCOVERY_LIMIT}")
    return HEADER.pack(HEADER_SIZE, MAGIC, 0, request_id, len(body), 0, len(body), 0) + body


def build_search(mac: str = "", uni: int = 1) -> bytes:
    """The ``DHDiscover.search`` request; ``mac`` empty asks every device."""
    payload = {"method": "DHDiscover.search", "params": {"mac": mac, "uni": int(uni)}}
    return encode(json.dumps(payload, separators=(",", ":")).encode("utf-8") + b"\n")


def encode_reply(obj: Mapping[str, Any]) -> bytes:
    """A full reply packet for ``obj`` (the lab emulator answers with this)."""
    return encode(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")


def decode(data: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """A packet (header + JSON), a JSON text, or a decoded object -> the JSON object.

    Raises BadInput on anything else: short or foreign header, length fields that disagree or
    point past the end of the packet, oversize, invalid UTF-8, non-JSON or non-object bodies.
    """
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, str):
        if len(data) > DISCOVERY_LIMIT:
            raise BadInput("oversize", f"{len(data)} characters > {DISCOVERY_LIMIT}")
        return _json_object(data)
    packet = bytes(data)
    if len(packet) > DISCOVERY_LIMIT + HEADER_SIZE:
        raise BadInput("oversize", f"{len(packet)} bytes > {DISCOVERY_LIMIT + HEADER_SIZE}")
    if packet.lstrip()[:1] == b"{":
        return _json_object(decode_utf8(packet, "DHIP body"))
    if len(packet) < HEADER_SIZE:
        raise BadInput("truncated", f"DHIP header needs {HEADER_SIZE} bytes, got {len(packet)}")
    size, magic, _session, _request_id, length, _r1, length2, _r2 = HEADER.unpack_from(packet)
    if size != HEADER_SIZE or magic != MAGIC:
        raise BadInput("garbage", "not a DHIP header")
    if length != length2:
        raise BadInput("bad-length", f"DHIP length fields disagree ({length} != {length2})")
    if length > DISCOVERY_LIMIT:
        raise BadInput("oversize", f"DHIP length field {length} > {DISCOVERY_LIMIT}")
    available = len(packet) - HEADER_SIZE
    if length > available:
        raise BadInput("bad-length", f"DHIP length field says {length} bytes, only {available} follow")
    # Bytes after the announced body (some firmware adds a NUL) are ignored.
    return _json_object(decode_utf8(packet[HEADER_SIZE : HEADER_SIZE + length], "DHIP body"))


def _json_object(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text.strip(" \t\r\n\x00"))
    except (ValueError, RecursionError) as exc:  # ValueError: also a number of over 4,300 digits
        raise BadInput("not-json", f"DHIP body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(obj, dict):
        raise BadInput("garbage", f"DHIP body is a JSON {type(obj).__name__}, not an object")
    return obj


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        try:
            return str(value).strip()
        except ValueError:  # an int of over 4,300 digits
            return None
    return None


@guarded(ArtefactKind.DHIP_REPLY, raw_arg="data")
def parse_reply(
    data: bytes | str | Mapping[str, Any],
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """A DHIP reply -> DHIP_REPLY; its ``mac`` becomes the observation's MAC when the caller has none.

    Besides the discovery answer (``client.notifyDevInfo``), a DHIP login reply is accepted: its
    ``params.realm`` (``Login to <serial>``) and ``error`` become ``dhip.realm``/``dhip.error_*``.
    A ``DHDiscover.search`` request (another client searching) is ``not-a-reply``.
    """
    obj = decode(data)
    method = _scalar(obj.get("method")) or ""
    if method == "DHDiscover.search":
        raise BadInput("not-a-reply", "DHDiscover.search request from a client, not a device reply")
    params = _mapping(obj.get("params"))
    info = _mapping(params.get("deviceInfo"))
    if not method and not info and not any(key in obj for key in _RPC_KEYS):
        raise BadInput("garbage", "DHIP JSON has no method, params, result, error or session")
    fields: dict[str, str] = {}
    if method:
        fields["dhip.method"] = method
    # A DHIP-over-TCP login answer (port 37777/5000/80) carries the challenge realm and an error.
    realm = _scalar(params.get("realm"))
    if realm:
        fields["dhip.realm"] = realm
    error = _mapping(obj.get("error"))
    for name, key in (("code", "dhip.error_code"), ("message", "dhip.error_message")):
        value = _scalar(error.get(name))
        if value:
            fields[key] = value
    if "result" in obj and _scalar(obj.get("result")):
        fields["dhip.result"] = _scalar(obj.get("result")) or ""
    for name, key in _DEVICE_FIELDS.items():
        value = _scalar(info.get(name))
        if value:
            fields[key] = value
    ipv4 = info.get("IPv4Address")
    if isinstance(ipv4, Mapping) and _scalar(ipv4.get("IPAddress")):
        fields["dhip.ipv4"] = _scalar(ipv4.get("IPAddress")) or ""
    raw_mac = _scalar(obj.get("mac")) or _scalar(info.get("MAC")) or ""
    device_mac = normalize_mac(raw_mac)
    if device_mac or raw_mac:
        fields["dhip.mac"] = device_mac or raw_mac.lower()
    if isinstance(data, Mapping):
        raw: Any = json.dumps(obj, default=str)
    elif isinstance(data, (bytes, bytearray)) and bytes(data).lstrip()[:1] != b"{":
        raw = json.dumps(obj, ensure_ascii=False)  # the header is binary: keep the JSON as raw
    else:
        raw = data
    return Observation.make(
        probe, ArtefactKind.DHIP_REPLY, ip=ip, mac=mac or device_mac, raw=raw, fields=fields, time=time
    )


_STATEMENT = ("dhip.version", "dhip.model", "dhip.serial")
"""The fields that say what the unit is: a passive answer that changes one is kept as well."""


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """A device's DHIP packet on the wire; another client's search is not one."""
    payload = heard.payload
    if payload[4:8] == MAGIC and b"DHDiscover.search" not in payload[:200]:
        obs = parse_reply(payload, **heard.where())
        # As for SADP: a later answer naming another firmware, model or serial is kept as well.
        yield ("dhip", heard.src, *(obs.fields.get(k) for k in _STATEMENT)), obs


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    reply = r.text_or_object("dhip")  # DHIP JSON is free-form: the codec reads what it knows
    if reply:
        yield parse_reply(reply, **where)


SPEC = ProtocolSpec(
    name="dhip",
    title="DHIP reply",
    order=40,
    udp=(37810,),
    groups=("239.255.255.251",),
    families={"dhip": "DHIP reply"},
    fields={
        "dhip.method": Field("dhip", "JSON-RPC method (`client.notifyDevInfo`)"),
        "dhip.device_class": Field("dhip", "`DeviceClass` (IPC, NVR, VTO, ...)"),
        "dhip.model": Field("dhip", "model (`DeviceType`)"),
        "dhip.serial": Field("dhip", "serial (`SerialNo`)"),
        "dhip.vendor": Field("dhip", "`Vendor` (`Private`, `Dahua` or the OEM label)"),
        "dhip.manufacturer": Field("dhip", "`Manufacturer`"),
        "dhip.version": Field("dhip", "firmware (`Version`)"),
        "dhip.mac": Field("dhip", "MAC the device reports"),
        "dhip.machine_name": Field("dhip", "`MachineName`"),
        "dhip.ipv4": Field("dhip", "`IPv4Address.IPAddress`"),
        "dhip.http_port": Field("dhip", "`HttpPort`"),
        "dhip.port": Field("dhip", "`Port` (SDK)"),
        "dhip.device_id": Field("dhip", "`DeviceID`"),
        "dhip.realm": Field("dhip", "login reply (TCP) realm, `Login to <serial>`"),
        "dhip.result": Field("dhip", "login reply `result`"),
        "dhip.error_code": Field("dhip", "login reply `error.code`"),
        "dhip.error_message": Field("dhip", "login reply `error.message`"),
    },
    short_form=("dhip",),
    read_short_form=_short_form,
    passive=Passive(_heard, replies_only=True),
)
