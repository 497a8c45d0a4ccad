"""ARP and MAC addresses -> ``mac.*`` fields.

The MAC is the one identifier that links what every probe sees about a host, and its OUI is
network-tier evidence of the maker. The ARP sweep and the neighbour table (``probes/arp.py``) and
the passive path's ARP frames all make the same MAC_ADDRESS observation.
"""

from __future__ import annotations

from datetime import datetime

from ..models import ArtefactKind, Observation, normalize_mac
from ._spec import Field, ProtocolSpec

__all__ = ["SPEC", "mac_fields", "mac_observation"]



def mac_fields(mac: str) -> dict[str, str]:
    """The ``mac.*`` observation fields of a normalised MAC."""
    return {"mac.address": mac, "mac.oui": mac.replace(":", "")[:6].upper()}


def mac_observation(probe: str, ip: str, mac: str, raw: str, time: datetime | None = None) -> Observation | None:
    """A MAC_ADDRESS observation, or None if ``mac`` is not a MAC."""
    clean = normalize_mac(mac)
    if clean is None:
        return None
    return Observation.make(
        probe, ArtefactKind.MAC_ADDRESS, ip=ip, mac=clean, raw=raw, fields=mac_fields(clean), time=time
    )


SPEC = ProtocolSpec(
    name="arp",
    title="ARP, or any probe that learns a MAC",
    order=10,
    link_broadcast=True,
    families={"mac": "MAC OUI"},
    fields={
        "mac.address": Field("mac", "the MAC, `aa:bb:cc:dd:ee:ff`"),
        "mac.oui": Field("mac", "its first 3 octets as `AABBCC`"),
    },
)
