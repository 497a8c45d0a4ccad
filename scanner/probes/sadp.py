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
    is_not_a_reply,
    multicast_round,
    udp_socket,
    unicast_ask,
    window_deadline,
)

log = logging.getLogger("camsweep")

GROUP = "239.255.255.250"
PORT = 37020
VOLATILE_FIELDS = ("sadp.uuid",)
"""Fields that differ between copies of one device's answer to our repeated requests."""


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
        emit = OnceEmitter(ctx, volatile=VOLATILE_FIELDS)
        inquiry = sadp_codec.build_inquiry(str(uuid.uuid4()))

        def on_reply(data: bytes, ip: str, port: int) -> None:
            observation = sadp_codec.parse_reply(data, probe=self.name, ip=ip)
            if not is_not_a_reply(observation):  # not another client's inquiry
                self._answered.add(ip)
                emit(observation)

        listener = group_listener(iface, GROUP, PORT)
        try:
            with udp_socket(iface) as sender:
                multicast_round(
                    ctx, sender, [(inquiry, (GROUP, PORT))], [listener], on_reply,
                    window_deadline(self.config), own_ips=[iface.ip],
                )
        finally:
            if listener is not None:
                listener.close()

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        if ctx.cancelled.is_set() or host.ip in self._answered:
            return
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx, volatile=VOLATILE_FIELDS)
        inquiry = sadp_codec.build_inquiry(str(uuid.uuid4()))

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            observation = sadp_codec.parse_reply(data, probe=self.name, ip=ip)
            if is_not_a_reply(observation):
                return False
            emit(observation)
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
