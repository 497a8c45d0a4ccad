"""Dahua DHIP ``DHDiscover.search`` (UDP 37810): the maker's own discovery protocol.

Dahua firmware (and its OEMs: Amcrest, Lorex, Intelbras, ...) answers with ``client.notifyDevInfo``
carrying model, serial, firmware and MAC. Multicast to 239.255.255.251 plus the interface's
broadcast address on the segment, unicast per host for routed segments. Replies come to our
source port or to the group on port 37810 (UniversalScanner ``Dahua2.cs`` listens on both; Haicam
``dahuaProbe`` reads the group): we read both.
"""

from __future__ import annotations

import logging

from ..protocols import dhip as dhip_codec
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

GROUP = "239.255.255.251"
PORT = 37810


@register
class DhipProbe(Probe):
    name = "dhip"
    description = "Dahua DHIP DHDiscover.search on UDP 37810 (model, serial, firmware, MAC)"

    def __init__(self, config: object) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts that already answered the multicast round: no need to ask them again."""

    def discover(self, ctx: ProbeContext) -> None:
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx)
        search = dhip_codec.build_search(mac="", uni=1)

        def on_reply(data: bytes, ip: str, port: int) -> None:
            observation = dhip_codec.parse_reply(data, probe=self.name, ip=ip)
            if not is_not_a_reply(observation):  # not another client's search
                self._answered.add(ip)
                emit(observation)

        listener = group_listener(iface, GROUP, PORT)
        requests = [(search, (GROUP, PORT)), (search, (iface.broadcast, PORT))]
        try:
            with udp_socket(iface, broadcast=True) as sender:
                multicast_round(
                    ctx, sender, requests, [listener], on_reply,
                    window_deadline(self.config), own_ips=[iface.ip],
                )
        finally:
            if listener is not None:
                listener.close()

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        if ctx.cancelled.is_set() or host.ip in self._answered:
            return
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx)
        search = dhip_codec.build_search(mac="", uni=1)

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            observation = dhip_codec.parse_reply(data, probe=self.name, ip=ip)
            if is_not_a_reply(observation):
                return False
            emit(observation)
            return True

        # An on-link device may answer to the group instead of to us: listen there too.
        listener = group_listener(iface, GROUP, PORT)
        try:
            unicast_ask(
                ctx, iface, [search], (host.ip, PORT), on_reply,
                deadline=host_deadline(self.config), listeners=[listener],
            )
        finally:
            if listener is not None:
                listener.close()
