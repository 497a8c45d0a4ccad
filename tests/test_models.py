"""The model's JSON form is stable: to_dict -> from_dict gives back the same objects."""

from datetime import datetime, timezone

import pytest

from camsweep.errors import InputFileError, SchemaVersionError
from camsweep.models import (
    RAW_LIMIT,
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
    normalize_mac,
)

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def _obs() -> Observation:
    return Observation.make(
        "sadp", ArtefactKind.SADP_REPLY, ip="198.18.0.21", mac="58-50-ED-00-00-01",
        raw="<ProbeMatch/>", fields={"sadp.model": "DS-2CD2043G2-I", "sadp.serial": None}, time=T0,
    )


def test_observation_make_normalises_and_drops_empty_fields():
    obs = _obs()
    assert obs.mac == "58:50:ed:00:00:01"
    assert obs.fields == {"sadp.model": "DS-2CD2043G2-I"}
    assert obs.kind is ArtefactKind.SADP_REPLY


def test_observation_bounds_raw_text_and_flags_it():
    obs = Observation.make("http", ArtefactKind.HTTP_RESPONSE, ip="198.18.0.5", raw="x" * (RAW_LIMIT + 10))
    assert len(obs.raw) == RAW_LIMIT and obs.truncated


def test_invalid_bytes_do_not_break_observations():
    obs = Observation.make("http", ArtefactKind.HTTP_RESPONSE, ip="198.18.0.5", raw=b"\xff\xfeok")
    assert obs.raw.endswith("ok")


@pytest.mark.parametrize("value,expected", [
    ("AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
    ("aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),
    ("58-50-ed-00-00-01", "58:50:ed:00:00:01"),
    ("00:00:00:00:00:00", None),
    ("ff:ff:ff:ff:ff:ff", None),
    ("not a mac", None),
    ("aa:bb:cc:dd:ee", None),
])
def test_normalize_mac(value, expected):
    assert normalize_mac(value) == expected


def test_scan_result_round_trip():
    obs = _obs()
    hit = RuleHit(
        rule_id="sadp-probematch", rule_file="sadp.toml", field="sadp.xml_root", value="ProbeMatch",
        probe="sadp", seen_at=T0, tier=Tier.FIRMWARE, certainty=0.95, maker=Manufacturer.HIKVISION,
        extracted={"model": "DS-2CD2043G2-I"}, port=37020,
    )
    verdict = Verdict(
        manufacturer=Manufacturer.HIKVISION, brand="Hikvision", device_type=DeviceType.CAMERA,
        model="DS-2CD2043G2-I", confidence=0.95, confidence_level="high", hits=(hit,),
        conflicts=("label says Axis",), summary="s",
    )
    device = Device(key=obs.mac, macs=(obs.mac,), ips=(obs.ip,), open_ports=(80, 8000), observations=(obs,))
    result = ScanResult(started=T0, finished=T0, devices=(IdentifiedDevice(device, verdict),),
                        targets=("198.18.0.0/24",), methods=("sadp",), notes=("n",),
                        data_versions={"fingerprints": "1"})
    again = ScanResult.from_dict(result.to_dict())
    assert again == result
    assert again.to_dict() == result.to_dict()
    assert again.devices[0].verdict.hits[0].port == 37020 and again.scan_id == result.scan_id


def test_scan_ids_are_unique_and_an_old_scan_gets_a_stable_one():
    import uuid

    first, second = ScanResult(started=T0, finished=T0), ScanResult(started=T0, finished=T0)
    assert first.scan_id != second.scan_id and uuid.UUID(first.scan_id).version == 4
    old = first.to_dict()
    del old["scan_id"]  # a scan saved before scan ids existed
    old_hit = {"rule_id": "r", "rule_file": "f", "field": "x", "value": "v", "probe": "p",
               "seen_at": T0.isoformat(), "tier": "weak", "certainty": 0.1}
    assert RuleHit.from_dict(old_hit).port is None  # a hit saved before ports were kept
    derived = {ScanResult.from_dict(old).scan_id for _ in range(2)}
    assert len(derived) == 1 and uuid.UUID(derived.pop()).version == 5
    assert uuid.UUID(ScanResult.from_dict({**old, "mode": "IPC-\ud800"}).scan_id)  # a saved lone surrogate
    old["scan_id"] = "not-a-uuid"
    with pytest.raises(InputFileError, match="scan_id.*not a UUID"):
        ScanResult.from_dict(old)


def test_scan_result_of_another_schema_version_is_refused():
    data = ScanResult(started=T0, finished=T0).to_dict()
    data["schema_version"] = 99
    with pytest.raises(SchemaVersionError, match="schema_version 99"):
        ScanResult.from_dict(data)
