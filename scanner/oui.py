"""MAC address -> maker/brand, from the IEEE registry netaddr ships plus ``fingerprints/oui.toml``.

Lookup order: locally administered or multicast addresses match nothing (their first three octets
are not an OUI); then the curated prefixes in ``oui.toml`` (blocks registered after netaddr's IEEE
snapshot; longest prefix wins); then the IEEE organisation name from netaddr, compared EXACTLY
(after normalising case and punctuation) with the organisations listed in ``oui.toml``. Substring
matching is never used: "Shanghai Dahua Scale Factory" is not Dahua and "Ace Axis Limited" is not Axis.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from dataclasses import dataclass

import netaddr
from netaddr.eui import ieee

from camsweep.fingerprints import FingerprintDB, OuiEntry, normalise_name

from .models import normalize_mac

log = logging.getLogger("camsweep")


@dataclass(frozen=True, slots=True)
class OuiMatch:
    """An OUI table entry that matched, with the organisation name as the registry spells it."""

    entry: OuiEntry
    org: str
    prefix: str


@functools.cache
def _registry_text() -> bytes:
    """netaddr's bundled ``oui.txt``, read once.

    ``netaddr.EUI(mac).oui`` opens and reads this file again for every lookup; a capture with
    100,000 distinct MACs made that the slowest step of a run. The file is 5.7 MB and is only
    sliced at the offsets netaddr's own index (``ieee.OUI_INDEX``, loaded at import) gives.
    """
    return importlib.resources.files("netaddr.eui").joinpath("oui.txt").read_bytes()


_ORGS: dict[int, str | None] = {}
"""Organisation per 24-bit OUI looked up so far; at most one entry per registered OUI (~38k)."""


def ieee_org(mac: str) -> str | None:
    """The IEEE organisation registered for ``mac``'s OUI (netaddr's bundled copy), if any.

    The same answer as ``netaddr.EUI(mac).oui.registration().org`` (the first registration of the
    OUI, its ``(hex)`` line), read from the registry text kept in memory.
    """
    normal = normalize_mac(mac)
    if normal is None:
        return None
    value = int(normal.replace(":", "")[:6], 16)
    if value in _ORGS:
        return _ORGS[value]
    records = ieee.OUI_INDEX.get(value)
    if not records:
        return None  # not cached: unregistered OUIs are unbounded in number, the index answers fast
    offset, size = records[0]
    org = None
    for line in _registry_text()[offset : offset + size].decode("utf-8", "replace").split("\n"):
        if "(hex)" in line:
            parts = line.strip().split(None, 2)
            org = parts[2].strip() if len(parts) == 3 else None
            break
    _ORGS[value] = org
    return org


def is_locally_administered(mac: str) -> bool:
    """True for locally administered (bit 0x02) or group (bit 0x01) addresses: no OUI applies."""
    first = int(mac[:2], 16)
    return bool(first & 0x03)


def lookup(mac: str | None, db: FingerprintDB) -> OuiMatch | None:
    """The maker/brand entry for ``mac``, or None (unknown, unlisted or locally administered)."""
    normal = normalize_mac(mac)
    if normal is None or is_locally_administered(normal):
        return None
    hexdigits = normal.replace(":", "").upper()
    for entry in db.oui.prefixes:  # longest first
        if entry.prefix and hexdigits.startswith(entry.prefix):
            return OuiMatch(entry, entry.org, entry.prefix)
    org = ieee_org(normal)
    if org is None:
        return None
    registered = db.oui.orgs.get(normalise_name(org))
    if registered is None:
        return None
    return OuiMatch(registered, org, hexdigits[:6])


def snapshot(db: FingerprintDB) -> str:
    """Which IEEE data the OUI lookups used, for ``ScanResult.data_versions``."""
    installed = netaddr.__version__
    if db.oui.netaddr_version and installed == db.oui.netaddr_version:
        return f"{db.oui.snapshot}; curated prefixes from camsweep.fingerprints/oui.toml ({db.version})"
    return (
        f"IEEE registry bundled in netaddr {installed} (snapshot date not recorded; oui.toml describes "
        f"netaddr {db.oui.netaddr_version or '?'}); curated prefixes from camsweep.fingerprints/oui.toml ({db.version})"
    )
