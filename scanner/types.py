"""camsweep's shared vocabulary: the string enums every layer speaks.

The fingerprint data package (``camsweep.fingerprints``), the core and the renderers
(``camsweep.reports``) all name artefact kinds, device types, evidence tiers and manufacturers.
They live here, in a module that imports nothing of camsweep but :mod:`camsweep.errors`, so that
the data package never reaches into the scanner for a name (``tests/test_boundaries.py``).
``camsweep.models`` re-exports them; ``import camsweep`` exports them as before.

Which makers are *restricted* is data: the ``[makers.<id>]`` tables of
``fingerprints/restrictions.toml``, read once here. :data:`RESTRICTED_MAKERS` and the members of
:class:`Manufacturer` are derived from them, so a maker is added to (or dropped from) the set by
editing that file alone; every consumer (verdicts, findings, restrictions, reports) uses these.
"""

from __future__ import annotations

import enum
import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import DataFileError


class ArtefactKind(str, enum.Enum):
    """What kind of thing a probe saw."""

    HTTP_RESPONSE = "http_response"
    HTTP_TITLE = "http_title"
    HTTP_AUTH_REALM = "http_auth_realm"
    RTSP_BANNER = "rtsp_banner"
    TLS_CERTIFICATE = "tls_certificate"
    ONVIF_SCOPES = "onvif_scopes"
    ONVIF_DEVICE_INFO = "onvif_device_info"
    SADP_REPLY = "sadp_reply"
    DHIP_REPLY = "dhip_reply"
    UPNP_DESCRIPTION = "upnp_description"
    SSDP_REPLY = "ssdp_reply"
    MDNS_RECORD = "mdns_record"
    DHCP_OPTIONS = "dhcp_options"
    OPEN_PORT = "open_port"
    MAC_ADDRESS = "mac_address"
    HOSTNAME = "hostname"
    ASSET_RECORD = "asset_record"
    SNMP_SYSTEM = "snmp_system"
    FORWARDING_ENTRY = "forwarding_entry"


class DeviceType(str, enum.Enum):
    CAMERA = "camera"
    NVR = "nvr"
    DVR = "dvr"
    INTERCOM = "doorbell/intercom"
    ACCESS_CONTROL = "access control"
    OTHER = "other"
    UNKNOWN = "unknown"


class Tier(str, enum.Enum):
    """How much a signal says about the *maker*, strongest first.

    firmware: produced by the maker's firmware whatever the label (SADP/DHIP answers, ISAPI/RPC2
        APIs, realm shapes, header quirks) -- survives OEM relabelling.
    label: the name printed on the box (title text, ONVIF name scope, UPnP manufacturer).
    network: the MAC's registered organisation.
    weak: shapes many devices share (port sets, generic banners); never decisive alone.
    """

    FIRMWARE = "firmware"
    LABEL = "label"
    NETWORK = "network"
    WEAK = "weak"


REPORT_FORMATS = ("table", "json", "csv", "jsonl", "cyclonedx", "html")
"""The formats a judged scan is rendered in: ``camsweep.reports`` has a renderer for each, and the
settings (``--format``, a config file's ``[output] reports``) offer them."""


# --------------------------------------------------------------------------- restricted makers

_MAKER_ID = re.compile(r"^[a-z][a-z0-9]*$")


def _restrictions_file() -> Path:
    # The data folder is the camsweep.fingerprints package. Located without importing it: that
    # package imports this module, and a checkout (scan.py) and an install lay the folders out
    # differently, which the import system already knows.
    spec = importlib.util.find_spec(f"{__package__}.fingerprints")
    assert spec is not None and spec.submodule_search_locations, "camsweep.fingerprints is part of the package"
    return Path(list(spec.submodule_search_locations)[0]) / "restrictions.toml"


def read_data_toml(path: Path) -> dict[str, Any]:
    """A shipped data file as a dict; unreadable or malformed is a DataFileError naming it."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise DataFileError(str(path), f"cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise DataFileError(str(path), f"not valid TOML: {error}") from None


def _read_restricted_makers(path: Path) -> dict[str, str]:
    """``{maker id: display name}`` from the ``[makers.<id>]`` tables, in file order."""
    makers = read_data_toml(path).get("makers")
    if not isinstance(makers, dict) or not makers:
        raise DataFileError(str(path), "makers: at least one [makers.<id>] table is required")
    names: dict[str, str] = {}
    for maker_id, table in makers.items():
        if not _MAKER_ID.match(maker_id):
            raise DataFileError(str(path), "maker ids are lower-case letters and digits", entry=f"makers.{maker_id}")
        name = table.get("name") if isinstance(table, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise DataFileError(str(path), "name: the maker's display name is required", entry=f"makers.{maker_id}")
        names[maker_id] = name
    return names


RESTRICTED_MAKER_NAMES: dict[str, str] = _read_restricted_makers(_restrictions_file())
"""Display name of each restricted maker id (``{"hikvision": "Hikvision", ...}``), from the data."""

RESTRICTED_MAKERS: tuple[str, ...] = tuple(RESTRICTED_MAKER_NAMES)
"""The restricted maker ids, in the order restrictions.toml lists them."""


class _Manufacturer(str, enum.Enum):
    """Who made the hardware (not whose name is on the label).

    One member per restricted maker (``Manufacturer.HIKVISION``, value ``"hikvision"``), plus
    ``OTHER`` (a known maker that is not restricted) and ``UNKNOWN``.
    """

    @property
    def restricted(self) -> bool:
        return self.value in RESTRICTED_MAKER_NAMES

    @property
    def label(self) -> str:
        """The display name (``Hikvision``); the value itself for ``other``/``unknown``."""
        return RESTRICTED_MAKER_NAMES.get(self.value, self.value)

    @classmethod
    def of(cls, maker_id: str) -> "_Manufacturer":
        """The member for a maker id of the fingerprint data: its own if restricted, else OTHER."""
        return cls(maker_id) if maker_id in RESTRICTED_MAKER_NAMES else cls("other")


Manufacturer = _Manufacturer(  # type: ignore[call-overload]
    "Manufacturer",
    [(maker_id.upper(), maker_id) for maker_id in RESTRICTED_MAKERS] + [("OTHER", "other"), ("UNKNOWN", "unknown")],
    module=__name__,
    qualname="Manufacturer",
)
Manufacturer.__doc__ = _Manufacturer.__doc__

__all__ = ["ArtefactKind", "DeviceType", "Manufacturer", "REPORT_FORMATS", "RESTRICTED_MAKERS", "RESTRICTED_MAKER_NAMES", "Tier"]
