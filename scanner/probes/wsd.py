"""ONVIF WS-Discovery (UDP 3702): Probe for network video transmitters, Hello/Bye announcements.

The ProbeMatch scopes name the label (``name/``, ``hardware/``) and the envelope's namespaces
betray the firmware. We send the Probe in both WS-Discovery namespaces (2005/04, which most
cameras speak, and 2009/01), each three times against UDP loss, to 239.255.255.250:3702 on the scan
interface; ProbeMatches are kept only if they relate to one of our MessageIDs. Devices on a
routed segment never see multicast, so ``probe_host`` asks each host directly.
"""

from __future__ import annotations

import logging
import uuid

from ..models import Observation
from ..protocols import wsd as wsd_codec
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
PORT = 3702

NAMESPACES = ("2005", "2009")
"""WS-Discovery April 2005 draft (what ONVIF devices answer) and WS-Discovery 1.1 (2009/01)."""


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"
VOLATILE_FIELDS = ("onvif.message_id", "onvif.relates_to")
"""Fields that differ between copies of one device's answer to our repeated requests."""


@register
class WsdProbe(Probe):
    name = "wsd"
    description = "ONVIF WS-Discovery Probe (multicast + unicast), Hello/Bye (scopes, XAddrs)"

    def __init__(self, config: object) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts that already answered the multicast round: no need to ask them again."""

    def _probes(self) -> tuple[list[str], list[bytes]]:
        message_ids = [new_message_id() for _ in NAMESPACES]
        payloads = [
            wsd_codec.build_probe(message_id, namespace)
            for message_id, namespace in zip(message_ids, NAMESPACES)
        ]
        return message_ids, payloads

    def _accept(self, data: bytes, ip: str, message_ids: list[str]) -> Observation | None:
        """The observation for a datagram, or None if it is not evidence for this scan."""
        observation = wsd_codec.parse_message(data, probe=self.name, ip=ip)
        if is_not_a_reply(observation):
            return None  # another client's Probe/Resolve seen on the group
        if observation.problem is not None:
            return observation  # malformed: recorded as evidence of what the host sent
        message_type = observation.fields.get("onvif.message_type")
        if message_type in ("Hello", "Bye"):
            return observation
        if any(wsd_codec.is_reply_to(observation, message_id) for message_id in message_ids):
            return observation
        log.debug("wsd: dropped a %s from %s that answers someone else", message_type, ip)
        return None

    def discover(self, ctx: ProbeContext) -> None:
        iface = interface_address(getattr(self.config, "interface", None))
        emit = OnceEmitter(ctx, volatile=VOLATILE_FIELDS)
        message_ids, payloads = self._probes()

        def on_datagram(data: bytes, ip: str, port: int) -> None:
            observation = self._accept(data, ip, message_ids)
            if observation is not None:
                self._answered.add(ip)
                emit(observation)

        # Hello/Bye are announced to the group; ProbeMatches come to our source port.
        listener = group_listener(iface, GROUP, PORT)
        try:
            with udp_socket(iface) as sender:
                multicast_round(
                    ctx, sender, [(p, (GROUP, PORT)) for p in payloads], [listener], on_datagram,
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
        message_ids, payloads = self._probes()

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            observation = self._accept(data, ip, message_ids)
            if observation is None:
                return False
            emit(observation)
            return True

        unicast_ask(
            ctx, iface, payloads, (host.ip, PORT), on_reply, deadline=host_deadline(self.config)
        )
