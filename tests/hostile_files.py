"""Generator of hostile saved files for the regression and fuzz tests (issue 19): no binary fixtures.

Everything is built from camsweep's own writers, then spoiled: a real saved scan of one camera
(``saved_scan``) with a value planted at any path (``planted``), short-form host objects
(``short_form_host``), a real small inventory database (``write_inventory``) and byte flips of it
(``flipped``). Device text that cannot be encoded (lone surrogates) or that drives a terminal
(ESC, C1, bidi overrides) is in ``SURROGATE_MODEL`` and ``TERMINAL_HOSTILE``.
"""

from __future__ import annotations

import dataclasses
import copy
import json
import random
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from camsweep.store.sqlite import SqliteStore
from camsweep.models import ArtefactKind, Device, IdentifiedDevice, Observation, ScanResult
from camsweep.shortform import observations_from_documents
from camsweep.verdicts import identify_result

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
IP = "198.18.0.21"
MAC = "3c:ef:8c:00:00:21"

SURROGATE_MODEL = "IPC-\ud800"
"""A DHIP ``DeviceType`` as a device can send it: a lone-surrogate escape, valid JSON, not UTF-8."""

TERMINAL_HOSTILE = "DS-2CD2\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil"
"""ESC (OSC title, clear screen), a C1 CSI and a right-to-left override."""

RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def short_form_host(model: str = "IPC-HDW1431T1-S4") -> dict[str, Any]:
    """One hand-written host (README "Offline identification") with a DHIP answer naming ``model``."""
    return {
        "ip": IP,
        "mac": MAC,
        "dhip": {"method": "client.notifyDevInfo", "mac": MAC,
                 "params": {"deviceInfo": {"DeviceType": model, "SerialNumber": "6C01E93PAG69A7D",
                                           "Vendor": "Dahua", "MachineName": "cam-21"}}},
        "onvif_device_info": {"Manufacturer": "Dahua", "Model": model, "FirmwareVersion": "V2.800"},
        "ports": [80, 554, 37777],
    }


def saved_scan() -> dict[str, Any]:
    """A real saved scan (``identify --format json``) of one Dahua camera, as a dict."""
    result = identify_result(observations_from_documents([short_form_host()], "hostile_files"))
    doc = json.loads(json.dumps(result.to_dict()))
    when = T0.isoformat()  # fixed times: the same bytes every run, so byte flips are reproducible
    doc["started"] = doc["finished"] = when
    for item in doc["devices"]:
        for obs in item["device"]["observations"]:
            obs["time"] = when
        for hit in item["verdict"]["hits"]:
            hit["seen_at"] = when
    return doc


def planted(path: tuple[str | int, ...], value: Any, scan: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``scan`` (default: ``saved_scan()``) with ``value`` put at ``path``."""
    doc = copy.deepcopy(scan if scan is not None else saved_scan())
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


def to_json(doc: Any) -> str:
    """JSON text as a device or an editor could write it: non-finite numbers as ``1e999``/``NaN``,
    lone surrogates as ``\\udXXX`` escapes (json.dumps writes both when asked to)."""
    return json.dumps(doc).replace("Infinity", "1e999")


def result_with_model(model: str) -> ScanResult:
    """A scan result whose device text holds ``model`` exactly (built past ``Observation.make``,
    as a result read back from a file would be)."""
    obs = Observation(
        probe="dhip", kind=ArtefactKind.DHIP_REPLY, time=T0, ip=IP, mac=MAC, raw=f'{{"DeviceType": "{model}"}}',
        fields={"dhip.model": model, "dhip.vendor": "Dahua"},
    )
    item = identify_result([obs]).devices[0]
    device = Device(key=item.device.key, macs=item.device.macs, ips=item.device.ips, observations=(obs,))
    # An Observation replaces a lone surrogate as it is made; the verdict read back from a file
    # keeps what the file says, so writers must still encode it.
    verdict = dataclasses.replace(item.verdict, model=model)
    return ScanResult(started=T0, finished=T0, devices=(IdentifiedDevice(device, verdict),),
                      targets=("198.18.0.0/24",), methods=("dhip",))


def write_inventory(path: Path) -> Path:
    """A real small inventory: two scans of the same camera (a firmware change between them)."""
    first = ScanResult.from_dict(saved_scan())
    second = ScanResult.from_dict(planted(("devices", 0, "verdict", "firmware"), "V2.820"))
    with SqliteStore(path) as inv:
        inv.store(first)
        inv.store(second)
    # One file, no -wal beside it: the flips then hit the pages every reader goes through.
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    return path


def flipped(data: bytes, seed: int, flips: int = 4) -> bytes:
    """``data`` with ``flips`` random bits flipped (deterministic per seed), past the 16-byte magic
    ("SQLite format 3"), where a damaged file is more than "not a database"."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        at = rng.randrange(16, len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def empty_pcap() -> bytes:
    """A valid classic pcap (Ethernet) with no packets: a capture that yields no device."""
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def _sql(path: Path, statement: str, *params: Any, writable_schema: bool = False) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    if writable_schema:
        con.execute("PRAGMA writable_schema = ON")
    con.execute(statement, params)
    con.commit()
    con.close()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def _garble_first_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\x55" * (4096 - 100)  # the schema page, past the 100-byte file header
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Any] = {
    # the name of an index made invalid UTF-8: sqlite's own error message then fails to decode
    "schema name not UTF-8": lambda p: _sql(
        p, "UPDATE sqlite_master SET name = CAST(X'73716c697465df6175746f696e6465785f646576696365735f31' AS TEXT)"
           " WHERE name = 'sqlite_autoindex_devices_1'", writable_schema=True),
    "schema page garbled": _garble_first_page,
    "file cut in half": _truncate,
    "schema version a word": lambda p: _sql(p, "UPDATE meta SET value = 'one' WHERE key = 'schema_version'"),
    "stored scan not a scan": lambda p: _sql(
        p, "UPDATE scans SET result = ?", to_json(planted(("devices", 0, "device", "ips", 0), "not-an-ip"))),
    "stored scan 1e999 port": lambda p: _sql(
        p, "UPDATE scans SET result = ?", to_json(planted(("devices", 0, "device", "open_ports", 0), float("inf")))),
    "stored scan not JSON": lambda p: _sql(p, "UPDATE scans SET result = '{\"schema_version\": 1,'"),
    "targets a blob": lambda p: _sql(p, "UPDATE scans SET targets = X'00ff'"),
    "mode not UTF-8": lambda p: _sql(p, "UPDATE scans SET mode = CAST(X'ff' AS TEXT)"),
    "sighting maker a blob": lambda p: _sql(p, "UPDATE sightings SET manufacturer = X'00'"),
}
"""Ways a real inventory gets damaged, each applied to a file ``write_inventory`` made."""


def dhip_pcap(model: str = SURROGATE_MODEL) -> bytes:
    """One DHIP discovery answer in a classic pcap (the issue's reproducer): a Dahua device on
    multicast 239.255.255.251:37810 whose JSON carries ``"DeviceType": model`` as a ``\\u`` escape."""
    from camsweep.protocols.dhip import encode

    body = json.dumps({"method": "client.notifyDevInfo", "mac": MAC, "params": {"deviceInfo": {
        "DeviceType": model, "Vendor": "Dahua", "SerialNumber": "6C01E93PAG69A7D"}}}).encode("ascii")
    payload = encode(body)
    udp = struct.pack("!HHHH", 37810, 37810, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes(map(int, IP.split("."))), bytes([239, 255, 255, 251]))
    checksum = sum(struct.unpack("!10H", header))
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    header = header[:10] + struct.pack("!H", ~checksum & 0xFFFF) + header[12:]
    frame = bytes.fromhex("01005e7ffffb") + bytes.fromhex(MAC.replace(":", "")) + b"\x08\x00" + header + udp
    record = struct.pack("<IIII", 1_764_000_000, 0, len(frame), len(frame)) + frame
    return empty_pcap() + record
