"""Hikvision SADP inquiry (UDP 37020): the maker's own discovery protocol.

An answer at all is firmware-tier evidence (OEM-relabelled units answer too); it carries model,
serial, firmware and MAC. Multicast to 239.255.255.250:37020 on the segment, unicast per host for
routed segments. Devices answer to our source port, and some to the group: we read both.
"""

from __future__ import annotations

import logging
import uuid

from ..protocols import sadp as sadp_codec
from . import HostInfo, Probe, ProbeContext, register
from ._udp import (
    OnceEmitter,
    group_listener,
    host_deadline,
    interface_address,
    multicast_round,
    udp_socket,
    unicast_ask,
    window_deadline,
)

log = logging.getLogger("camsweep")

GROUP = "239.255.255.250"
PORT = 37020


def is_inquiry(data: bytes) -> bool:
    """True for an SADP request (ours echoed, or another client's), which is not an answer."""
    return b"<ProbeMatch" not in data and b"<Probe>" in data


def _bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


@register
class SadpProbe(Probe):
    name = "sadp"
    description = "Hikvision SADP inquiry on UDP 37020 (model, serial, firmware, MAC)"

    def __init__(self, config: object) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts that already answered the multicast round: no need to ask them again."""

    def discover(self, ctx: ProbeContext) -> None:
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx)
        inquiry = _bytes(sadp_codec.build_inquiry(str(uuid.uuid4())))

        def on_reply(data: bytes, ip: str, port: int) -> None:
            if not is_inquiry(data):
                self._answered.add(ip)
                emit(sadp_codec.parse_reply(data, probe=self.name, ip=ip))

        listener = group_listener(iface, GROUP, PORT)
        try:
            with udp_socket(iface) as sender:
                multicast_round(
                    ctx, sender, [(inquiry, (GROUP, PORT))], [listener], on_reply,
                    window_deadline(self.config), repeats=2, own_ips=[iface.ip],
                )
        finally:
            if listener is not None:
                listener.close()

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        if ctx.cancelled.is_set() or host.ip in self._answered:
            return
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx)
        inquiry = _bytes(sadp_codec.build_inquiry(str(uuid.uuid4())))

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            if is_inquiry(data):
                return False
            emit(sadp_codec.parse_reply(data, probe=self.name, ip=ip))
            return True

        # An on-link device may answer to the group instead of to us: listen there too.
        listener = group_listener(iface, GROUP, PORT)
        try:
            unicast_ask(
                ctx, iface, [inquiry], (host.ip, PORT), on_reply,
                deadline=host_deadline(self.config), listeners=[listener],
            )
        finally:
            if listener is not None:
                listener.close()
