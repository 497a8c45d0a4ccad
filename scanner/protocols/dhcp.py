"""DHCP client options (hostname 12, vendor class 60, parameter request list 55) -> ``dhcp.*``.

``parse_packet`` reads a raw BOOTP/DHCP UDP payload with dpkt (a client's DISCOVER/REQUEST seen by
a passive listener); the client hardware address (chaddr) gives the observation's MAC.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation, normalize_ip
from ._common import DISCOVERY_LIMIT, BadInput, check_size, guarded
from ._spec import PASSIVE_PROBE, Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["MESSAGE_TYPES", "SPEC", "from_options", "parse_packet"]

MESSAGE_TYPES = {
    1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM",
}
_MAGIC = b"\x63\x82\x53\x63"


def _param_list(value: Iterable[int] | str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return ",".join(str(b) for b in value)
    if isinstance(value, str):
        items = [x.strip() for x in value.replace(" ", ",").split(",") if x.strip()]
    else:
        items = [str(x).strip() for x in value]
    # isdigit() alone admits "²" (int() refuses it) and 5,000 digits (int() refuses over 4,300).
    numbers = [str(int(x)) for x in items if x.isascii() and x.isdigit() and len(x) <= 3 and int(x) < 256]
    return ",".join(numbers)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).rstrip(b"\x00").decode("utf-8", errors="replace")
    return "".join(ch for ch in str(value) if ch.isprintable()).strip()


@guarded(ArtefactKind.DHCP_OPTIONS, raw_arg=None)
def from_options(
    *,
    hostname: str | bytes | None,
    vendor_class: str | bytes | None,
    param_list: Iterable[int] | str | bytes | None,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """Options already decoded (short form, a DHCP server's lease log) -> DHCP_OPTIONS."""
    fields = {
        "dhcp.hostname": _text(hostname),
        "dhcp.vendor_class": _text(vendor_class),
        "dhcp.param_list": _param_list(param_list),
    }
    if not any(fields.values()):
        raise BadInput("garbage", "no hostname, vendor class or parameter list")
    raw = "\n".join(f"{k}={v}" for k, v in fields.items() if v)
    return Observation.make(probe, ArtefactKind.DHCP_OPTIONS, ip=ip, mac=mac, raw=raw, fields=fields, time=time)


@guarded(ArtefactKind.DHCP_OPTIONS, raw_arg="payload")
def parse_packet(
    payload: bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """A BOOTP/DHCP client message (UDP payload) -> DHCP_OPTIONS with the client's MAC.

    Server messages (BOOTREPLY) describe the server, not the client: ``not-a-request``.
    """
    import dpkt

    check_size(payload, DISCOVERY_LIMIT)
    data = bytes(payload)
    if len(data) < 240 or data[236:240] != _MAGIC:
        raise BadInput("garbage", "not a DHCP message (short, or no magic cookie)")
    try:
        message = dpkt.dhcp.DHCP(data)
    except (dpkt.UnpackError, ValueError, IndexError, struct.error) as exc:
        raise BadInput("garbage", f"DHCP message does not decode: {exc}") from None
    if message.op != dpkt.dhcp.DHCP_OP_REQUEST:
        raise BadInput("not-a-request", "BOOTREPLY from a DHCP server, not a client message")
    options = {code: value for code, value in message.opts}
    hlen = message.hln if 0 < message.hln <= 16 else 6
    chaddr = bytes(message.chaddr)[:hlen]
    client_mac = ":".join(f"{b:02x}" for b in chaddr) if hlen == 6 else None
    fields = {
        "dhcp.hostname": _text(options.get(dpkt.dhcp.DHCP_OPT_HOSTNAME)),
        "dhcp.vendor_class": _text(options.get(dpkt.dhcp.DHCP_OPT_VENDOR_ID)),
        "dhcp.param_list": _param_list(options.get(dpkt.dhcp.DHCP_OPT_PARAM_REQ)),
    }
    msg_type = options.get(dpkt.dhcp.DHCP_OPT_MSGTYPE)
    if msg_type:
        fields["dhcp.message_type"] = MESSAGE_TYPES.get(msg_type[0], str(msg_type[0]))
    requested = options.get(dpkt.dhcp.DHCP_OPT_REQ_IP)
    if requested and len(requested) == 4:
        fields["dhcp.requested_ip"] = ".".join(str(b) for b in requested)
    client_ip = ip
    if client_ip is None and message.ciaddr:
        client_ip = normalize_ip(".".join(str(b) for b in message.ciaddr.to_bytes(4, "big")))
    return Observation.make(
        probe, ArtefactKind.DHCP_OPTIONS, ip=client_ip, mac=mac or client_mac, raw=data.hex(),
        fields=fields, time=time,
    )


_CLIENT_PORT = 68


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """A client's message, placed where the client is or asks to be.

    A client often has no address yet (source 0.0.0.0): it is placed at the address it requests.
    With a scope, a client that cannot be placed in it is not reported.
    """
    if heard.sport != _CLIENT_PORT:
        return  # a server's message describes the server, not a device
    obs = parse_packet(heard.payload, probe=PASSIVE_PROBE, time=heard.time)
    if not obs.mac or obs.problem is not None:
        return
    ip = obs.ip or (heard.src if heard.src != "0.0.0.0" else None)
    placed = ip or obs.fields.get("dhcp.requested_ip") or None
    if heard.in_scope is not None and (placed is None or not heard.in_scope(placed)):
        return
    yield ("dhcp", obs.mac), Observation.make(
        PASSIVE_PROBE, obs.kind, ip=ip, mac=obs.mac, raw=obs.raw, fields=obs.fields, time=heard.time
    )


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    if not r.data.get("dhcp"):
        return
    d = r.child("dhcp")
    param_list: Any = d.data.get("param_list")
    if not isinstance(param_list, (str, type(None))):
        param_list = d.integers("param_list", 0, 255)
    yield from_options(
        hostname=d.opt_text("hostname"), vendor_class=d.opt_text("vendor_class"), param_list=param_list, **where,
    )


SPEC = ProtocolSpec(
    name="dhcp",
    title="DHCP (passive only)",
    order=120,
    method=False,
    udp=(67, _CLIENT_PORT),
    families={"dhcp": "DHCP"},
    fields={
        "dhcp.hostname": Field("dhcp", "host name (option 12)"),
        "dhcp.vendor_class": Field("dhcp", "vendor class (option 60)"),
        "dhcp.param_list": Field("dhcp", "parameter request list (option 55), comma-joined option numbers"),
        "dhcp.message_type": Field("dhcp", "message type (`DISCOVER`, `REQUEST`, ...)"),
        "dhcp.requested_ip": Field("dhcp", "requested address (option 50)"),
    },
    short_form=("dhcp",),
    read_short_form=_short_form,
    passive=Passive(_heard, places_itself=True),
)
