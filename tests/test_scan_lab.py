"""Accuracy in the emulated lab: ``camsweep scan`` of both segments from the scanner namespace.

The scan runs as a subprocess inside the lab's scanner namespace (never in the root namespace)
and its JSON is checked against every device's ground truth: every device found; every
Hikvision, Dahua and OEM unit given the right maker, and its brand and model wherever the device
reveals them; nothing else called Hikvision or Dahua; every hostile device recorded with a
problem while the scan still finishes, not partial. ONVIF credentials from the profiles are
passed in a credentials file; no password may appear in any output.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from camsweep.types import RESTRICTED_MAKERS

from tests.conftest import SCAN_BOUND, SEGMENTS
from tests.schema_check import report_json, scan_json

ROOT = Path(__file__).resolve().parents[1]


TRUTH_TYPES = {"intercom": "doorbell/intercom", "access_control": "access control"}
"""Ground-truth type names (PROFILES.md) that DeviceType spells differently."""


def _norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _revealed(value: str, device: dict[str, Any], *, maker_fields: bool = True) -> bool:
    """Whether the device said ``value`` anywhere the scan recorded (fields or raw artefacts).

    With ``maker_fields=False`` the certificate and MAC registry fields are left out: they name
    the maker (``O=ZheJiang Dahua Technology``), not the brand on the label.
    """
    wanted = _norm(value)
    for o in device["observations"]:
        if not maker_fields and o["probe"] in ("tls", "arp"):
            continue
        texts = [v for k, v in o["fields"].items() if maker_fields or not k.startswith(("tls.", "mac."))]
        texts.append(o.get("raw") or "")
        if any(wanted and wanted in _norm(t) for t in texts):
            return True
    return False


def _by_ip(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ip: item for item in result["devices"] for ip in item["device"]["ips"]}


def test_scan_is_complete_and_not_partial(lab_scan: dict[str, Any]) -> None:
    result = lab_scan["result"]
    assert not result["partial"], result["notes"]
    assert result["mode"] == "scan" and set(result["targets"]) == set(SEGMENTS)
    found = _by_ip(result)
    missing = [(d.name, d.ip) for d in lab_scan["lab"].devices if d.ip not in found]
    assert missing == []


def test_every_hikvision_dahua_and_oem_device_is_identified(lab_scan: dict[str, Any]) -> None:
    found = _by_ip(lab_scan["result"])
    wrong: list[str] = []
    for device in lab_scan["lab"].devices:
        truth = device.truth
        if truth["manufacturer"] not in RESTRICTED_MAKERS or device.ip not in found:
            continue
        item = found[device.ip]
        verdict = item["verdict"]
        if verdict["manufacturer"] != truth["manufacturer"]:
            wrong.append(f"{device.name}: maker {verdict['manufacturer']} != {truth['manufacturer']}")
            continue
        brand = truth.get("brand")
        if brand and _revealed(brand, item["device"], maker_fields=False):
            got = _norm(verdict["brand"])
            if not got or (got not in _norm(brand) and _norm(brand) not in got):
                wrong.append(f"{device.name}: brand {verdict['brand']!r} != {brand!r}")
        model = truth.get("model")
        if model and _revealed(model, item["device"]) and _norm(verdict["model"]) != _norm(model):
            wrong.append(f"{device.name}: model {verdict['model']!r} != {model!r}")
        want_type = TRUTH_TYPES.get(truth["type"], truth["type"])
        if verdict["device_type"] != "unknown" and verdict["device_type"] != want_type:
            wrong.append(f"{device.name}: type {verdict['device_type']} != {truth['type']}")
    assert wrong == []


def test_no_other_device_is_called_hikvision_or_dahua(lab_scan: dict[str, Any]) -> None:
    truth_by_ip = {d.ip: d.truth["manufacturer"] for d in lab_scan["lab"].devices}
    false_positives = [
        (ip, item["verdict"]["manufacturer"])
        for ip, item in _by_ip(lab_scan["result"]).items()
        if item["verdict"]["manufacturer"] in RESTRICTED_MAKERS and truth_by_ip.get(ip) != item["verdict"]["manufacturer"]
    ]
    assert false_positives == []


def test_hostile_devices_are_recorded_as_problems(lab_scan: dict[str, Any]) -> None:
    found = _by_ip(lab_scan["result"])
    hostile = [d for d in lab_scan["lab"].devices if d.name.startswith(("hostile", "example-hostile"))]
    assert hostile
    silent: list[str] = []
    for device in hostile:
        observations = found[device.ip]["device"]["observations"]
        if device.name.endswith("-names"):
            # Well-formed replies carrying hostile text: kept verbatim as evidence, not a parse problem.
            assert observations, device.name
            continue
        if not any(o["problem"] for o in observations):
            silent.append(device.name)
    assert silent == []


def test_onvif_credentials_are_used_and_never_shown(lab_scan: dict[str, Any]) -> None:
    assert lab_scan["secrets"], "the lab profiles carry ONVIF credentials"
    for secret in lab_scan["secrets"]:
        assert secret not in lab_scan["stdout"] + lab_scan["stderr"] + lab_scan["saved"]
    found = _by_ip(lab_scan["result"])
    answered = 0
    for device in lab_scan["lab"].devices:
        if not (device.profile.onvif or {}).get("password"):
            continue
        onvif = [o for o in found[device.ip]["device"]["observations"] if o["probe"] == "onvif"]
        assert onvif, device.name
        good = [o for o in onvif if o["problem"] is None]
        if good:
            answered += 1
            assert device.mac in found[device.ip]["device"]["macs"]
    assert answered >= 1


def test_saved_state_matches_the_printed_result(lab_scan: dict[str, Any]) -> None:
    assert scan_json(lab_scan["saved"])["devices"] == lab_scan["result"]["devices"]


def test_every_field_the_probes_emit_is_declared(lab_scan: dict[str, Any]) -> None:
    """What every probe really emits against every profile (credentials included) is declared."""
    from camsweep import protocols

    keys = {k for item in lab_scan["result"]["devices"] for o in item["device"]["observations"] for k in o["fields"]}
    # The credentialed probes ran (ONVIF and the HTTP login need the credentials); the fixture's
    # PATIENT bounds give the login, the last request in a host's HTTP budget, time on a loaded machine.
    assert {"onvif.hw_address", "onvif.xaddrs", "http.authenticated", "sadp.model", "dhip.model"} <= keys
    assert sorted(k for k in keys if not protocols.declares(k)) == []


def test_without_raw_sockets_arp_is_skipped_and_macs_come_from_the_neighbour_table(lab: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="camsweep-lab-noroot-") as tmp:
        done = lab.exec(
            ["setpriv", "--bounding-set", "-net_raw", "--", sys.executable, str(ROOT / "scan.py"), "scan", SEGMENTS[0],
             "--format", "json", "--no-store", "--state-dir", tmp],
            cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True,
        )
    assert done.returncode in (0, 3), done.stderr
    result = report_json(done.stdout)["scan"]
    assert "arp" not in result["methods"]
    assert any("arp skipped" in note and "neighbour table" in note for note in result["notes"])
    found = _by_ip(result)
    segment_a = [d for d in lab.devices if d.segment == "A"]
    with_mac = [d for d in segment_a if d.ip in found and d.mac in found[d.ip]["device"]["macs"]]
    # Every segment-A device that answered anything was learnt by the kernel, MAC included.
    assert len(with_mac) == len([d for d in segment_a if d.ip in found])
    assert with_mac
