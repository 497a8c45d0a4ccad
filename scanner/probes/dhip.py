"""Dahua DHIP ``DHDiscover.search`` (UDP 37810): the maker's own discovery protocol.

Dahua firmware (and its OEMs: Amcrest, Lorex, Intelbras, ...) answers with ``client.notifyDevInfo``
carrying model, serial, firmware and MAC. Multicast to 239.255.255.251 plus the interface's
broadcast address on the segment, unicast per host for routed segments. Replies come to our
source port or to the group on port 37810 (UniversalScanner ``Dahua2.cs`` listens on both; Haicam
``dahuaProbe`` reads the group): we read both.
"""

from __future__ import annotations

from ..models import Observation
from ..protocols import dhip as dhip_codec
from . import register
from ._udp import Accept, DatagramDiscoveryProbe, is_not_a_reply


@register
class DhipProbe(DatagramDiscoveryProbe):
    spec = dhip_codec.SPEC
    description = "Dahua DHIP DHDiscover.search on UDP 37810 (model, serial, firmware, MAC)"
    broadcast = True

    def new_round(self) -> tuple[list[bytes], Accept]:
        def accept(data: bytes, ip: str) -> Observation | None:
            observation = dhip_codec.parse_reply(data, probe=self.name, ip=ip)
            return None if is_not_a_reply(observation) else observation  # not a client's search

        return [dhip_codec.build_search(mac="", uni=1)], accept
