"""Hikvision SADP inquiry (UDP 37020): the maker's own discovery protocol.

An answer at all is firmware-tier evidence (OEM-relabelled units answer too); it carries model,
serial, firmware and MAC. Multicast to 239.255.255.250:37020 on the segment, unicast per host for
routed segments. Devices answer to our source port, and some to the group (UniversalScanner
``Hikvision.cs`` listens on both): we read both.
"""

from __future__ import annotations

import uuid

from ..models import Observation
from ..protocols import sadp as sadp_codec
from . import register
from ._udp import Accept, DatagramDiscoveryProbe, is_not_a_reply


@register
class SadpProbe(DatagramDiscoveryProbe):
    spec = sadp_codec.SPEC
    description = "Hikvision SADP inquiry on UDP 37020 (model, serial, firmware, MAC)"
    volatile_fields = ("sadp.uuid",)

    def new_round(self) -> tuple[list[bytes], Accept]:
        def accept(data: bytes, ip: str) -> Observation | None:
            observation = sadp_codec.parse_reply(data, probe=self.name, ip=ip)
            # Any device's answer counts, also one to another client's inquiry seen on the group.
            return None if is_not_a_reply(observation) else observation

        return [sadp_codec.build_inquiry(str(uuid.uuid4()))], accept
