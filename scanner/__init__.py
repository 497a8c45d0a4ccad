"""camsweep: find Hikvision, Dahua and OEM-rebadged cameras, NVRs and DVRs on a LAN.

The library is usable on its own; the ``camsweep`` CLI is a thin layer over it::

    from camsweep import ScanConfig, scan
    result = scan(ScanConfig(targets=("192.168.10.0/24",), interface="eth1"))
    for item in result.devices:
        print(item.device.ip, item.verdict.manufacturer.value, item.verdict.brand, item.verdict.summary)

    from camsweep import identify_result, load_observations, analyse_capture
    offline = identify_result(load_observations(["hosts.jsonl"]))   # short form, no network
    passive = analyse_capture("site.pcapng")                        # a capture, no network

Heavy parts (the engine, scapy, zeroconf) are imported only when first used, and so are the data
types: ``camsweep.types`` reads the restricted makers from the restrictions data, and the CLI must
be running (to report a broken data file as one line) before that happens.
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

# name: (module, attribute), imported on first use
_LAZY = {
    "SCHEMA_VERSION": ("camsweep.models", "SCHEMA_VERSION"),
    "ArtefactKind": ("camsweep.types", "ArtefactKind"),
    "Device": ("camsweep.models", "Device"),
    "DeviceType": ("camsweep.types", "DeviceType"),
    "IdentifiedDevice": ("camsweep.models", "IdentifiedDevice"),
    "Manufacturer": ("camsweep.types", "Manufacturer"),
    "Observation": ("camsweep.models", "Observation"),
    "RuleHit": ("camsweep.models", "RuleHit"),
    "ScanResult": ("camsweep.models", "ScanResult"),
    "Tier": ("camsweep.types", "Tier"),
    "Verdict": ("camsweep.models", "Verdict"),
    "scan": ("camsweep.engine", "scan"),
    "ScanConfig": ("camsweep.config", "ScanConfig"),
    "Credential": ("camsweep.config", "Credential"),
    "identify": ("camsweep.verdicts", "identify"),
    "identify_result": ("camsweep.verdicts", "identify_result"),
    "merge": ("camsweep.devices", "merge"),
    "load_observations": ("camsweep.shortform", "load"),
    "analyse_capture": ("camsweep.passive", "analyse_capture"),
    "listen": ("camsweep.passive", "listen"),
    "evaluate": ("camsweep.findings", "evaluate"),
    "open_store": ("camsweep.store", "open_store"),
    "Store": ("camsweep.store", "Store"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'camsweep' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Credential",
    "ScanConfig",
    "Store",
    "analyse_capture",
    "evaluate",
    "identify",
    "identify_result",
    "listen",
    "load_observations",
    "merge",
    "open_store",
    "scan",
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
