"""camsweep: find Hikvision, Dahua and OEM-rebadged cameras, NVRs and DVRs on a LAN.

The library is usable on its own; the ``camsweep`` CLI is a thin layer over it::

    from scanner import identify_observations, load_observations
    for item in identify_observations(load_observations(["hosts.json"])):
        print(item.device.ip, item.verdict.manufacturer, item.verdict.brand)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    CamsweepError,
    ConfigError,
    DataFileError,
    ExitCode,
    InputFileError,
    InventoryError,
    OutputError,
    PrivilegeError,
    ScanError,
    SchemaVersionError,
    UsageError,
)
from .models import (
    SCHEMA_VERSION,
    ArtefactKind,
    Device,
    DeviceType,
    IdentifiedDevice,
    Manufacturer,
    Observation,
    RuleHit,
    ScanResult,
    Tier,
    Verdict,
)

__all__ = [
    "__version__",
    "SCHEMA_VERSION",
    "ArtefactKind",
    "CamsweepError",
    "ConfigError",
    "DataFileError",
    "Device",
    "DeviceType",
    "ExitCode",
    "IdentifiedDevice",
    "InputFileError",
    "InventoryError",
    "Manufacturer",
    "Observation",
    "OutputError",
    "PrivilegeError",
    "RuleHit",
    "ScanError",
    "ScanResult",
    "SchemaVersionError",
    "Tier",
    "UsageError",
    "Verdict",
]
