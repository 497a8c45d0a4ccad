"""Findings: devices judged against the restrictions data and a policy (scanner/findings.py).

Inputs are built directly from camsweep.models (no verdict engine): ``sample_result()`` is also
used by tests/test_reports.py and tests/test_html_report.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from camsweep import policy, restrictions
from camsweep.findings import Action, Assessment, Status, assess
from camsweep.models import (
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

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 9, 4, tzinfo=UTC)

HOSTILE_MODEL = "<script>alert(1)</script>"
HOSTILE_HOST = '"><img src=x onerror=alert(1)>'
HOSTILE_FIRMWARE = "=HYPERLINK(\"http://evil.example/\",\"fw\")"


def hit(rule_id: str, tier: Tier, field: str, value: str, maker: Manufacturer | None, brand: str | None = None,
        certainty: float = 0.9) -> RuleHit:
    return RuleHit(
        rule_id=rule_id, rule_file=f"{field.split('.')[0]}.toml", field=field, value=value, probe=field.split(".")[0],
        seen_at=T0, tier=tier, certainty=certainty, maker=maker, brand=brand,
    )


def device(key: str, ip: str, mac: str | None, hostnames: tuple[str, ...] = (), ports: tuple[int, ...] = (80,)) -> Device:
    obs = Observation.make("arp", ArtefactKind.MAC_ADDRESS, ip=ip, mac=mac, time=T0,
                           fields={"mac.address": mac} if mac else {})
    return Device(key=key, macs=(mac,) if mac else (), ips=(ip,), hostnames=hostnames, open_ports=ports, observations=(obs,))


HIK, DAHUA = Manufacturer.HIKVISION, Manufacturer.DAHUA


def sample_devices() -> list[IdentifiedDevice]:
    return [
        # 1. Hikvision camera, SADP evidence, firmware built before the CVE-2021-36260 cut-off.
        IdentifiedDevice(
            device("c0:56:e3:00:00:01", "198.18.0.21", "c0:56:e3:00:00:01", ("cam-lobby",)),
            Verdict(HIK, "Hikvision", DeviceType.CAMERA, "DS-2CD2143G2-I", "V5.5.0 build 200619", "DS-2CD2143G2-I20200619AAWR",
                    0.97, "high",
                    (hit("sadp-probematch", Tier.FIRMWARE, "sadp.xml_root", "ProbeMatch", HIK),
                     hit("sadp-model-ds", Tier.FIRMWARE, "sadp.model", "DS-2CD2143G2-I", HIK, "Hikvision"),
                     hit("oui-hikvision", Tier.NETWORK, "mac.oui", "C056E3", HIK, certainty=0.5)),
                    (), "Hikvision camera (SADP)"),
        ),
        # 2. HiLook (Hikvision value line) NVR with recent firmware: covered, no KEV.
        IdentifiedDevice(
            device("44:19:b6:00:00:02", "198.18.0.30", "44:19:b6:00:00:02"),
            Verdict(HIK, "HiLook", DeviceType.NVR, "NVR-108MH-C", "V4.62.210 build 220801", None, 0.92, "high",
                    (hit("isapi-device-info", Tier.FIRMWARE, "http.body", "<DeviceInfo xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">", HIK),
                     hit("title-hilook", Tier.LABEL, "http.title", "HiLook", HIK, "HiLook")),
                    (), "HiLook NVR"),
        ),
        # 3. Lorex (Dahua OEM) NVR: firmware evidence for Dahua, label Lorex.
        IdentifiedDevice(
            device("00:1f:54:00:00:03", "198.18.1.40", "00:1f:54:00:00:03"),
            Verdict(DAHUA, "Lorex", DeviceType.NVR, "N861", "V2.800.0000000.6.R, Build Date: 2022-01-05", None, 0.9, "high",
                    (hit("dhip-reply", Tier.FIRMWARE, "dhip.method", "client.notifyDevInfo", DAHUA),
                     hit("upnp-lorex", Tier.LABEL, "upnp.manufacturer", "Lorex", DAHUA, "Lorex")),
                    (), "Dahua-made Lorex NVR"),
        ),
        # 4. Amcrest (Dahua OEM) camera with firmware older than the CVE-2020-5735 fix.
        IdentifiedDevice(
            device("9c:8e:cd:00:00:04", "198.18.1.41", "9c:8e:cd:00:00:04"),
            Verdict(DAHUA, "Amcrest", DeviceType.CAMERA, "IP2M-841", "V2.800.0000000.6.R, Build Date: 2020-03-01", None, 0.85,
                    "medium",
                    (hit("rpc2-login", Tier.FIRMWARE, "http.path", "/RPC2_Login", DAHUA),),
                    (), "Amcrest camera on Dahua firmware"),
        ),
        # 5. OUI-only Dahua: low confidence -> manual check.
        IdentifiedDevice(
            device("90:02:a9:00:00:05", "198.18.1.50", "90:02:a9:00:00:05"),
            Verdict(DAHUA, None, DeviceType.UNKNOWN, None, None, None, 0.3, "low",
                    (hit("oui-dahua", Tier.NETWORK, "mac.oui", "9002A9", DAHUA, certainty=0.5),), (), "MAC OUI only"),
        ),
        # 6. Conflicting evidence: Hikvision firmware tier but a Dahua label.
        IdentifiedDevice(
            device("198.18.0.60", "198.18.0.60", None),
            Verdict(HIK, "Dahua", DeviceType.CAMERA, "DS-2CD2032-I", None, None, 0.7, "medium",
                    (hit("isapi-path", Tier.FIRMWARE, "http.path", "/ISAPI/System/deviceInfo", HIK),
                     hit("title-dahua", Tier.LABEL, "http.title", "Dahua", DAHUA, "Dahua")),
                    ("label says Dahua, firmware evidence says Hikvision",), "conflict"),
        ),
        # 7. Axis camera: clear.
        IdentifiedDevice(
            device("ac:cc:8e:00:00:07", "198.18.0.70", "ac:cc:8e:00:00:07"),
            Verdict(Manufacturer.OTHER, "Axis", DeviceType.CAMERA, "P3245-V", "10.12.114", None, 0.95, "high",
                    (hit("axis-server", Tier.FIRMWARE, "http.header.server", "AXIS", None, "Axis"),), (), "Axis camera"),
        ),
        # 8. Unknown maker sold as Annke (relabels Hikvision): manual check.
        IdentifiedDevice(
            device("198.18.0.80", "198.18.0.80", None),
            Verdict(Manufacturer.UNKNOWN, "Annke", DeviceType.CAMERA, "C800", None, None, 0.2, "low",
                    (hit("title-annke", Tier.LABEL, "http.title", "ANNKE", None, "Annke"),), (), "Annke label only"),
        ),
        # 9. Hostile device text on a Hikvision camera.
        IdentifiedDevice(
            device("bc:ad:28:00:00:09", "198.18.0.90", "bc:ad:28:00:00:09", (HOSTILE_HOST,)),
            Verdict(HIK, "Hikvision", DeviceType.CAMERA, HOSTILE_MODEL, HOSTILE_FIRMWARE, None, 0.9, "high",
                    (hit("sadp-probematch", Tier.FIRMWARE, "sadp.xml_root", "ProbeMatch", HIK),
                     hit("sadp-model-ds", Tier.FIRMWARE, "sadp.model", HOSTILE_MODEL + "\u2028</script>", HIK)),
                    (), "hostile text"),
        ),
    ]


def sample_result(devices: list[IdentifiedDevice] | None = None) -> ScanResult:
    return ScanResult(
        started=T0,
        finished=T1,
        devices=tuple(sample_devices() if devices is None else devices),
        targets=("198.18.0.0/24", "198.18.1.0/24"),
        methods=("arp", "sadp", "dhip", "http"),
        data_versions={"fingerprints": "2026.11.25", "oui": "2024-06-01"},
    )


@pytest.fixture(scope="module")
def data() -> restrictions.RestrictionsData:
    return restrictions.load()


def by_ip(assessment: Assessment, ip: str):
    return next(f for f in assessment.findings if f.location.ip == ip)


def test_statuses_and_order(data):
    result = assess(sample_result(), data, policy.select(data, "all"))
    status = {f.location.ip: f.status for f in result.findings}
    assert status == {
        "198.18.0.21": Status.RESTRICTED,
        "198.18.0.30": Status.RESTRICTED,
        "198.18.1.40": Status.RESTRICTED,
        "198.18.1.41": Status.RESTRICTED,
        "198.18.1.50": Status.MANUAL_CHECK,
        "198.18.0.60": Status.MANUAL_CHECK,
        "198.18.0.70": Status.CLEAR,
        "198.18.0.80": Status.MANUAL_CHECK,
        "198.18.0.90": Status.RESTRICTED,
    }
    # Known-exploited firmware first, then high-confidence recorders before cameras, manual checks, clear.
    order = [f.location.ip for f in result.findings]
    assert order[:2] == ["198.18.0.21", "198.18.1.41"]
    assert [f.priority for f in result.findings] == sorted(f.priority for f in result.findings)
    assert order[-1] == "198.18.0.70"
    assert result.counts() == {"devices": 9, "restricted": 5, "listed": 0, "manual_check": 3, "clear": 1, "kev_affected": 2,
                               "kev_possible": 0}


def test_kev_affected_range_in_finding(data):
    finding = by_ip(assess(sample_result(), data, policy.select(data, "all")), "198.18.0.21")
    assert finding.priority == 1
    assert [m.cve.id for m in finding.kev_affected] == ["CVE-2021-36260"]
    assert "V5.5.0 build 200619" in finding.kev[0].reason and "before 2021-06-25" in finding.kev[0].reason
    assert finding.actions[:2] == (Action.UPDATE_FIRMWARE, Action.ISOLATE)
    assert "CVE-2021-36260" in finding.action_text
    # Under "all" the KEV due date counts as a deadline (BOD 22-01) and is long past.
    assert finding.deadline is not None and finding.overdue


def test_oem_unit_and_instruments(data):
    finding = by_ip(assess(sample_result(), data, policy.select(data, "all")), "198.18.1.40")
    assert finding.oem_unit and finding.brand_vs_maker == "Lorex (made by Dahua, OEM)"
    ids = {m.id for m in finding.instruments}
    assert {"US-889-A", "US-889-B", "US-FCC-CL", "UK-WMS22"} <= ids
    # Instruments that name only the maker's own products do not reach an OEM unit.
    assert "US-BIS-EL19" not in {m.id for m in finding.informational}
    assert any("Lorex was Dahua-owned" in n for n in finding.notes)
    assert any("recorders" in n for n in finding.notes)
    why_889 = next(m.why for m in finding.instruments if m.id == "US-889-B")
    assert "Lorex unit produced by Dahua" in why_889 and "public safety" in why_889
    # HiLook is Hikvision's own value line: not an OEM unit.
    hilook = by_ip(assess(sample_result(), data, policy.select(data, "all")), "198.18.0.30")
    assert not hilook.oem_unit and hilook.brand_vs_maker == "HiLook (Hikvision)"


def test_amcrest_kev_by_brand(data):
    finding = by_ip(assess(sample_result(), data, policy.select(data, "all")), "198.18.1.41")
    assert [m.cve.id for m in finding.kev_affected] == ["CVE-2020-5735"]
    assert "older than the fix 2.800.0000000.6.R.200314" in finding.kev_affected[0].reason


def test_manual_checks_are_kept_with_reasons(data):
    result = assess(sample_result(), data, policy.select(data, "all"))
    manual = {f.location.ip: f for f in result.manual_checks}
    assert set(manual) == {"198.18.1.50", "198.18.0.60", "198.18.0.80"}
    assert any("network-tier evidence" in r for r in manual["198.18.1.50"].manual_reasons)
    assert any("conflicting evidence" in r for r in manual["198.18.0.60"].manual_reasons)
    assert any("Annke" in r and "Hikvision" in r for r in manual["198.18.0.80"].manual_reasons)
    assert all(Action.CHECK in f.actions for f in manual.values())
    assert all(f.priority == 5 for f in manual.values())


def test_policy_limits_instruments(data):
    uk = assess(sample_result(), data, policy.select(data, "uk-gov"))
    finding = by_ip(uk, "198.18.0.30")
    assert {m.id for m in finding.instruments} == {"UK-WMS22", "UK-TIMELINE", "UK-DHSC"}
    assert finding.deadline == date(2025, 4, 30) and finding.deadline_source == "UK-TIMELINE (S)"
    assert Action.REPLACE in finding.actions
    # Canada's order names Hikvision only: a Dahua device is not restricted under ca-federal.
    ca = assess(sample_result(), data, policy.select(data, "ca-federal"))
    assert by_ip(ca, "198.18.1.40").status is Status.LISTED
    assert by_ip(ca, "198.18.0.30").status is Status.RESTRICTED


def test_informational_only_policy_lists(data):
    ua = assess(sample_result(), data, policy.select(data, "ua"))
    finding = by_ip(ua, "198.18.0.30")
    assert finding.status is Status.LISTED and finding.priority == 4
    assert [m.id for m in finding.informational] == ["UA-NACP"] and not finding.instruments
    assert Action.DOCUMENT in finding.actions
    # KEV-affected devices stay first whatever the policy.
    assert ua.findings[0].location.ip in ("198.18.0.21", "198.18.1.41") and ua.findings[0].priority == 1


def test_purpose_limited_instruments_offer_exemption(data):
    contractor = assess(sample_result(), data, policy.select(data, "us-federal-contractor"))
    finding = by_ip(contractor, "198.18.0.30")
    assert Action.DOCUMENT_EXEMPTION in finding.actions and Action.REPORT in finding.actions
    assert "document an exemption" in finding.action_text


def test_location_and_subnet(data):
    result = assess(sample_result(), data, policy.select(data, "all"))
    f = by_ip(result, "198.18.1.40")
    assert f.location.subnet == "198.18.1.0/24" and f.location.mac == "00:1f:54:00:00:03"
    assert by_ip(result, "198.18.0.21").location.hostname == "cam-lobby"


def test_to_dict_is_json_ready(data):
    import json

    result = assess(sample_result(), data, policy.select(data, "all"), operator="alice")
    text = json.dumps(result.to_dict())
    back = json.loads(text)
    assert back["operator"] == "alice"
    assert back["data_versions"]["restrictions_version"] == data.version
    assert back["findings"][0]["kev"][0]["cve"] == "CVE-2021-36260"
    assert {i["id"] for i in back["instruments"]} >= {"US-889-A", "UA-NACP"}


def test_findings_are_frozen(data):
    finding = assess(sample_result(), data, policy.select(data, "all")).findings[0]
    with pytest.raises(AttributeError):
        finding.priority = 9  # type: ignore[misc]


def test_empty_scan(data):
    result = assess(sample_result([]), data, policy.select(data, "all"))
    assert result.findings == () and result.counts()["devices"] == 0


def test_mac_only_device_has_no_subnet(data):
    passive = IdentifiedDevice(
        Device(key="90:02:a9:00:00:aa", macs=("90:02:a9:00:00:aa",)),
        Verdict(DAHUA, "Dahua", DeviceType.CAMERA, "IPC-HFW5431E-Z", None, None, 0.9, "high",
                (hit("dhip-reply", Tier.FIRMWARE, "dhip.method", "client.notifyDevInfo", DAHUA),)),
    )
    finding = assess(sample_result([passive]), data, policy.select(data, "all")).findings[0]
    assert finding.location.ip == "" and finding.location.subnet is None
    assert finding.status is Status.RESTRICTED
    # The model matches CVE-2021-33044's families but no firmware was seen: possibly affected.
    assert (finding.kev[0].cve.id, finding.kev[0].state.value) == ("CVE-2021-33044", "possibly affected")
    assert finding.priority == 2 and Action.UPDATE_FIRMWARE in finding.actions


@pytest.mark.parametrize(
    ("maker", "level", "confidence", "status"),
    [
        (Manufacturer.OTHER, "high", 0.95, Status.CLEAR),  # a Honeywell unit with another maker's firmware
        (Manufacturer.UNKNOWN, "low", 0.2, Status.MANUAL_CHECK),  # only the label: could be Hikvision- or Dahua-made
    ],
)
def test_mixed_brand_alone_is_not_a_verdict(data, maker, level, confidence, status):
    item = IdentifiedDevice(
        device("00:40:84:00:00:01", "198.18.0.99", "00:40:84:00:00:01"),
        Verdict(maker, "Honeywell", DeviceType.CAMERA, "HC30W45R3", None, None, confidence, level,
                (hit("title-honeywell", Tier.LABEL, "http.title", "Honeywell", None, "Honeywell"),)),
    )
    finding = assess(sample_result([item]), data, policy.select(data, "all")).findings[0]
    assert finding.status is status
    if status is Status.MANUAL_CHECK:
        assert "Honeywell" in finding.manual_reasons[0] and finding.deadline is None
        assert "if confirmed as Hikvision" in finding.action_text
