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
from . import register
from ._udp import Accept, DatagramDiscoveryProbe, is_not_a_reply

log = logging.getLogger("camsweep")

NAMESPACES = ("2005", "2009")
"""WS-Discovery April 2005 draft (what ONVIF devices answer) and WS-Discovery 1.1 (2009/01)."""


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


@register
class WsdProbe(DatagramDiscoveryProbe):
    spec = wsd_codec.SPEC
    description = "ONVIF WS-Discovery Probe (multicast + unicast), Hello/Bye (scopes, XAddrs)"
    volatile_fields = ("onvif.message_id", "onvif.relates_to")
    answer_delay = 0.5
    """APP_MAX_DELAY: a device waits a random time up to 500 ms before answering a multicast Probe
    (WS-Discovery 1.1, Appendix I)."""

    def new_round(self) -> tuple[list[bytes], Accept]:
        """One Probe per namespace, each with its own MessageID; ProbeMatches must relate to one.

        Hello/Bye announcements (sent to the group) are kept as they come.
        """
        message_ids = [new_message_id() for _ in NAMESPACES]
        payloads = [
            wsd_codec.build_probe(message_id, namespace)
            for message_id, namespace in zip(message_ids, NAMESPACES)
        ]

        def accept(data: bytes, ip: str) -> Observation | None:
            observation = wsd_codec.parse_message(data, probe=self.name, ip=ip)
            if is_not_a_reply(observation):
                return None  # another client's Probe/Resolve seen on the group
            if observation.problem is not None:
                return observation  # malformed: recorded as evidence of what the host sent
            message_type = observation.fields.get("onvif.message_type")
            if message_type in ("Hello", "Bye"):
                return observation
            if any(wsd_codec.is_reply_to(observation, mid) for mid in message_ids):
                return observation
            log.debug("wsd: dropped a %s from %s that answers someone else", message_type, ip)
            return None

        return payloads, accept
