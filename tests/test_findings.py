"""Findings: devices judged against the restrictions data and a policy (scanner/findings.py).

Per policy, what each instrument requires of a Hikvision camera, a Dahua NVR, OEM units (Lorex,
LTS) and sub-brand units (EZVIZ, Imou), written from the instruments' texts; no duty, deadline or
OVERDUE without a policy; dates keep their precision; list-only instruments give "listed"; combined
policies keep each deadline with its instrument. ``sample_result()`` (verdicts built from
camsweep.models) is also used by tests/test_reports.py and tests/test_html_report.py.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from camsweep import policy, restrictions, shortform
from camsweep.findings import Assessment, Finding, Status, assess
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
from camsweep.passive import analyse_capture
from camsweep.reports import render_report
from camsweep.verdicts import identify_result

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


# --------------------------------------------------------------------------- six units, from real artefacts
# A Hikvision camera (SADP and WS-Discovery replies from Haicam's capture, corpus multi_host.jsonl:2:
# the SADP reply alone does not name the label, DetailOEMCode 1 is also what OEM units send), a Dahua NVR (the DHIP
# answer in examples/lab-capture.pcap), a Lorex OEM unit (Rapid7's real Lorex W461ASC DHIP reply,
# corpus dhip.jsonl:6) go through the real identification path. No corpus or capture artefact
# carries an LTS, EZVIZ or Imou label together with maker evidence, so those three verdicts are
# built here (as the lab profiles describe the units); tests/test_findings_lab.py judges the same
# six kinds of unit from a scan of the emulated lab.

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
DAY = date(2026, 11, 20)
"""The day the sample scans finished: deadlines are judged at it unless a test says otherwise."""


def _corpus(name: str, line: int) -> IdentifiedDevice:
    entry = json.loads((CORPUS / name).read_text(encoding="utf-8").splitlines()[line - 1])
    result = identify_result(shortform.observations_from_documents([entry], name), targets=(name,))
    (item,) = result.devices
    return item


@functools.cache
def _capture() -> ScanResult:
    return analyse_capture(str(ROOT / "examples" / "lab-capture.pcap"))


def _from_capture(ip: str) -> IdentifiedDevice:
    return next(item for item in _capture().devices if ip in item.device.ips)


def _built(ip: str, mac: str, maker: Manufacturer, brand: str, model: str, hits: tuple[RuleHit, ...]) -> IdentifiedDevice:
    return IdentifiedDevice(device(ip, ip, mac), Verdict(maker, brand, DeviceType.CAMERA, model, None, None, 0.95,
                                                         "high", hits, (), f"{brand} camera"))


@functools.cache
def units() -> dict[str, IdentifiedDevice]:
    lts = _built("198.18.1.40", "14:2f:fd:41:7e:b2", HIK, "LTS", "CMIP3C42W-28M",
                 (hit("sadp-probematch", Tier.FIRMWARE, "sadp.xml_root", "ProbeMatch", HIK),
                  hit("oui-lts", Tier.NETWORK, "mac.oui", "142FFD", None, "LTS", 0.3)))
    ezviz = _built("198.18.0.42", "a0:ff:0c:00:00:42", HIK, "EZVIZ", "CS-H6c",
                   (hit("ports-ezviz-local", Tier.WEAK, "device.ports", "8000,9010,9020", HIK, "EZVIZ", 0.3),
                    hit("oui-hikvision", Tier.NETWORK, "mac.oui", "A0FF0C", HIK, certainty=0.4),
                    hit("sadp-probematch", Tier.FIRMWARE, "sadp.xml_root", "ProbeMatch", HIK)))
    imou = _built("198.18.0.62", "a8:31:62:00:00:62", DAHUA, "Imou", "IPC-A22EP",
                  (hit("dhip-realm-login-to", Tier.FIRMWARE, "dhip.realm", "Login to 5A1C0E93B27FD641", DAHUA),
                   hit("oui-imou", Tier.NETWORK, "mac.oui", "A83162", None, "Imou", 0.3)))
    found = {
        "hik-camera": _corpus("multi_host.jsonl", 2),
        "dahua-nvr": _from_capture("198.18.0.51"),
        "lorex": _corpus("dhip.jsonl", 6),
        "lts": lts,
        "ezviz": ezviz,
        "imou": imou,
    }
    # What the artefacts say, checked here so the expectations below rest on them.
    assert [(u.verdict.manufacturer, u.verdict.brand, u.verdict.device_type) for u in found.values()][:3] == [
        (HIK, "Hikvision", DeviceType.CAMERA), (DAHUA, None, DeviceType.NVR), (DAHUA, "Lorex", DeviceType.CAMERA)]
    return found


def judge(data, spec: str | None, day: date = DAY, which: tuple[str, ...] | None = None) -> dict[str, Finding]:
    chosen = which or tuple(units())
    items = [units()[name] for name in chosen]
    result = ScanResult(started=T0, finished=datetime.combine(day, datetime.min.time(), UTC), devices=tuple(items),
                        targets=("198.18.0.0/23",), methods=("sadp", "dhip"), data_versions={})
    assessment = assess(result, data, policy.select(data, spec), today=day)
    keys = {item.device.key: name for name, item in zip(chosen, items, strict=True)}
    return {keys[f.key]: f for f in assessment.findings}


def duties(finding: Finding) -> set[tuple[str, str, str | None]]:
    """(instrument, duty kind, deadline as the source gives it) of every action required of this unit
    (an action that applies only if the unit is one of an instrument's named products is left out)."""
    return {(a.instruments[0].split()[0], a.kind, a.deadline.value if a.deadline else None)
            for a in finding.actions if a.applies_if is None}


ALL_UNITS = ("hik-camera", "dahua-nvr", "lorex", "lts", "ezviz", "imou")
HIK_UNITS = ("hik-camera", "lts", "ezviz")
DAHUA_UNITS = ("dahua-nvr", "lorex", "imou")


# What each policy requires of each unit, written from the instruments' texts (RESTRICTIONS.md):
# policy -> {unit: {(instrument, duty kind, deadline)}}; a unit left out is "listed" with no action.
EXPECTED: dict[str, dict[str, set[tuple[str, str, str | None]]]] = {
    # NDAA 889 Part A bars agency procurement of equipment produced by Hikvision/Dahua or a
    # subsidiary or affiliate, whatever the label (OEM units included); no removal, no deadline.
    "us-federal": {u: {("US-889-A", "no-procurement", None)} for u in ALL_UNITS},
    # Part B bars contracting with an entity that uses it; FAR 52.204-24/25/26 require representations
    # and reports. No removal deadline.
    "us-federal-contractor": {u: {("US-889-B", "no-use", None), ("US-FAR-24", "reporting", None),
                                  ("US-FAR-25", "reporting", None), ("US-FAR-26", "reporting", None)} for u in ALL_UNITS},
    "us-grant": {u: {("US-889-GRANT", "no-procurement", None)} for u in ALL_UNITS},
    # The Covered List binds those spending FCC subsidies, not agencies.
    "us-fcc-funded": {u: {("US-FCC-CL", "no-procurement", None)} for u in ALL_UNITS},
    # DoD: Part A, and since 2026-06-30 section 805 (1260H-listed entities and those they control).
    "us-dod": {u: {("US-889-A", "no-procurement", None), ("US-805", "no-procurement", None)} for u in ALL_UNITS},
    # Vermont: removal within 90 days of the 2019 directive (relative: no calendar deadline).
    "us-vt": {u: {("US-VT", "removal", None)} for u in ALL_UNITS},
    "us-la": {u: {("US-LA", "no-procurement", None)} for u in ALL_UNITS},
    # UK: every department keeps it off core networks; sensitive sites also deploy no more and
    # remove it by April 2025 (month precision).
    "uk-central-government": {u: {("UK-WMS22", "no-network-connection", None)} for u in ALL_UNITS},
    "uk-sensitive-sites": {u: {("UK-WMS22", "no-network-connection", None), ("UK-WMS22", "no-procurement", None),
                               ("UK-TIMELINE", "removal", "2025-04")} for u in ALL_UNITS},
    # DHSC's halt names Hikvision only, and binds DHSC only.
    "uk-dhsc": {u: {("UK-WMS22", "no-network-connection", None)} | (
        {("UK-DHSC", "no-procurement", None)} if u in HIK_UNITS else set()) for u in ALL_UNITS},
    # Defence removes them; no date was set (end-April 2023 was an audit date).
    "au-defence": {u: {("AU-DEF", "removal", None)} for u in ALL_UNITS},
    "au-commonwealth": {},
    # Canada's order concerns Hikvision only.
    "ca-federal": {u: {("CA-ICA", "no-use", None)} for u in HIK_UNITS},
    "lt-public-sector": {u: {("LT-PP22", "no-procurement", None), ("LT-PP22", "removal", "2025-01-01")} for u in ALL_UNITS},
    # Taiwan: replacement by the end of 2021 (year precision).
    "tw-government": {u: {("TW-EY", "removal", "2021")} for u in ALL_UNITS},
    # India: bidders from land-border countries register; nothing is banned, nothing to do about a device.
    "in-public-procurement": {},
    # The Parliament removed named thermal cameras; none of these units is one.
    "eu-parliament": {},
    "dk-named-body": {u: {("DK", "removal", None)} for u in ALL_UNITS},
    "tesco": {u: {("CO-TESCO", "removal", None)} for u in ALL_UNITS},
    "morrisons": {u: {("CO-MORR", "removal", None)} for u in ALL_UNITS},
    "co-op": {u: {("CO-COOP", "no-procurement", None)} for u in ALL_UNITS},
}


def test_expectations_cover_every_policy(data):
    assert set(EXPECTED) == {p.name for p in data.policies}


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_each_policy_requires_what_its_instruments_require(data, spec):
    found = judge(data, spec)
    for unit in ALL_UNITS:
        want = EXPECTED[spec].get(unit, set())
        finding = found[unit]
        assert duties(finding) == want, (spec, unit)
        assert finding.status is (Status.RESTRICTED if want else Status.LISTED), (spec, unit)
        # Every action names the instrument(s) imposing it; nothing is merged into one headline date.
        assert all(a.instruments for a in finding.actions)
        assert not hasattr(finding, "deadline")


def test_without_a_policy_no_duty_deadline_or_overdue(data):
    found = judge(data, None)
    for unit in ALL_UNITS:
        finding = found[unit]
        assert finding.status is Status.LISTED and finding.actions == () and not finding.overdue, unit
        assert finding.deadlines == () and all(m.duties == () for m in finding.instruments), unit
    groups = found["hik-camera"].by_jurisdiction()
    assert list(groups)[:3] == ["US", "US-VT", "US-LA"] and {m.id for m in groups["UK"]} == {"UK-WMS22", "UK-TIMELINE", "UK-DHSC"}
    hik = {m.id for m in found["hik-camera"].instruments}
    assert {"US-BIS-EL19", "US-EO14032", "UA-NACP", "CA-ICA"} <= hik and "US-BOD2604" not in hik
    assert "CA-ICA" not in {m.id for m in found["dahua-nvr"].instruments}  # names Hikvision only
    # The Entity List names the makers' own entities: not an OEM unit, not a subsidiary's product.
    for unit in ("lts", "lorex", "ezviz", "imou"):
        assert "US-BIS-EL19" not in {m.id for m in found[unit].instruments}, unit
    text = render_report(assess(ScanResult(T0, T1, tuple(units().values()), ("198.18.0.0/23",)), data,
                                policy.select(data, None)), "table")
    assert "OVERDUE" not in text and "No policy chosen" in text and "--policy NAME" in text


def test_list_only_instruments_give_listed_and_say_what_they_restrict(data):
    found = judge(data, None, which=("hik-camera",))["hik-camera"]
    el = next(m for m in found.instruments if m.id == "US-BIS-EL19")
    eo = next(m for m in found.instruments if m.id == "US-EO14032")
    assert "exports" in el.explanation.lower() and "investment" in eo.explanation.lower()
    assert "covers equipment" not in el.why and "covers equipment" not in eo.why
    assert found.status is Status.LISTED and found.recommendations == ()


def test_oem_and_subsidiary_reach_is_explained(data):
    found = judge(data, "us-vt")
    assert "whether US-VT reaches relabelled (OEM) equipment is unclear" in found["lts"].instruments[0].why
    assert "subsidiary or affiliate EZVIZ is unclear" in found["ezviz"].instruments[0].why
    assert found["lts"].oem_unit and not found["ezviz"].oem_unit and found["ezviz"].brand_vs_maker == "EZVIZ (Hikvision)"
    lorex = judge(data, "us-federal")["lorex"]
    assert lorex.brand_vs_maker == "Lorex (made by Dahua, OEM)"
    assert any("Lorex was Dahua-owned" in n for n in lorex.notes)
    assert "reaches equipment produced by a covered maker under another brand" in lorex.instruments[0].why


def test_recorders_carry_the_section_889_note(data):
    found = judge(data, "us-federal", which=("dahua-nvr",))["dahua-nvr"]
    assert any("recorders" in n and "source: IPVM 2022-07-07" in n for n in found.notes)
    assert not any("recorders" in n for n in judge(data, "uk-central-government", which=("dahua-nvr",))["dahua-nvr"].notes)


@pytest.mark.parametrize(
    ("day", "overdue"),
    [(date(2025, 4, 30), False), (date(2025, 5, 1), True)],
)
def test_month_precision_deadline_is_overdue_only_after_the_month(data, day, overdue):
    finding = judge(data, "uk-sensitive-sites", day=day, which=("hik-camera",))["hik-camera"]
    (timeline,) = [a for a in finding.actions if a.instruments == ("UK-TIMELINE",)]
    assert timeline.deadline.value == "2025-04" and timeline.overdue is overdue and finding.overdue is overdue
    assert timeline.deadline_text == "2025-04 (UK-TIMELINE)" + (" OVERDUE" if overdue else "")


@pytest.mark.parametrize(("day", "overdue"), [(date(2021, 12, 31), False), (date(2022, 1, 1), True)])
def test_year_precision_deadline_is_overdue_only_after_the_year(data, day, overdue):
    finding = judge(data, "tw-government", day=day, which=("dahua-nvr",))["dahua-nvr"]
    (action,) = finding.actions
    assert (action.deadline.value, action.deadline.precision, action.overdue) == ("2021", "year", overdue)


def test_combined_policies_keep_each_deadline_with_its_instrument(data):
    finding = judge(data, "uk-sensitive-sites,lt-public-sector", which=("hik-camera",))["hik-camera"]
    assert sorted(a.deadline_text for a in finding.deadlines) == [
        "2025-01-01 (LT-PP22 (S)) OVERDUE", "2025-04 (UK-TIMELINE) OVERDUE"]
    assert len(finding.deadlines) == 2


def test_an_instrument_not_yet_in_force_imposes_nothing_yet(data):
    finding = judge(data, "us-dod", day=date(2026, 1, 1), which=("dahua-nvr",))["dahua-nvr"]
    assert duties(finding) == {("US-889-A", "no-procurement", None)}
    (s805,) = [m for m in finding.instruments if m.id == "US-805"]
    assert s805.state == "not yet in force" and "in force from 2026-06-30" in s805.why and not s805.binding


def test_named_products_reach_only_those_products(data):
    thermal = _built("198.18.0.99", "c0:56:e3:00:00:99", HIK, "Hikvision", "DS-2TD2617B-6/PA",
                     (hit("sadp-probematch", Tier.FIRMWARE, "sadp.xml_root", "ProbeMatch", HIK),))
    unknown_model = IdentifiedDevice(device("198.18.0.98", "198.18.0.98", None),
                                     Verdict(HIK, "Hikvision", DeviceType.CAMERA, None, None, None, 0.9, "high",
                                             (hit("sadp-probematch", Tier.FIRMWARE, "sadp.xml_root", "ProbeMatch", HIK),)))
    result = ScanResult(T0, T1, (thermal, unknown_model, units()["hik-camera"]), ("198.18.0.0/24",))
    a = assess(result, data, policy.select(data, "eu-parliament"))
    found = {f.key: f for f in a.findings}
    removal = found["198.18.0.99"]
    assert removal.status is Status.RESTRICTED and duties(removal) == {("EU-EP", "removal", None)}
    unsure = found["198.18.0.98"]
    assert unsure.status is Status.LISTED and unsure.actions[0].applies_if.startswith("check whether this unit is one")
    assert "thermal" in unsure.action_text
    other = found[units()["hik-camera"].device.key]
    assert other.status is Status.LISTED and other.instruments == ()


def test_kev_remediation_is_a_duty_only_where_a_directive_binds(data):
    sample = sample_result()
    # A federal civilian agency in January 2022: BOD 22-01, the KEV due date (day precision).
    early = by_ip(assess(sample, data, policy.select(data, "us-federal"), today=date(2022, 2, 1)), "198.18.0.21")
    bod = [a for a in early.actions if a.kind == "remediation"]
    assert [(a.instruments, a.deadline.value, a.overdue) for a in bod] == [(("US-BOD2201 (S)",), "2022-01-24", True)]
    assert "CVE-2021-36260" in bod[0].text and [r.id for r in early.recommendations] == ["isolate"]
    # Since 2026-06-10 BOD 26-04 replaces it: a duty, but its timeline depends on exposure camsweep cannot see.
    late = by_ip(assess(sample, data, policy.select(data, "us-federal")), "198.18.0.21")
    (action,) = [a for a in late.actions if a.kind == "remediation"]
    assert action.instruments == ("US-BOD2604 (S)",) and action.deadline is None
    # Anyone else: recommendations with their source, never an action or a deadline.
    other = by_ip(assess(sample, data, policy.select(data, "uk-central-government")), "198.18.0.21")
    assert all(a.kind != "remediation" for a in other.actions)
    assert [(r.id, r.source) for r in other.recommendations] == [
        ("update-firmware", "CISA Known Exploited Vulnerabilities catalog (kev.toml)"),
        ("isolate", "camsweep: general practice for a device with a known-exploited vulnerability; no selected instrument requires it")]
    assert "CVE-2021-36260" in other.recommendations[0].text
    assert by_ip(assess(sample, data, policy.select(data, None)), "198.18.0.21").actions == ()


def test_no_action_without_an_instrument_imposing_it(data):
    # No "isolate onto a VLAN" or "do not buy more" invented for a device no selected instrument binds.
    for spec in (None, "in-public-procurement", "au-commonwealth", "eu-parliament"):
        for finding in assess(sample_result(), data, policy.select(data, spec)).findings:
            assert finding.actions == (), (spec, finding.key)
            assert all(r.id in ("update-firmware", "check-firmware", "isolate") for r in finding.recommendations)
    india = judge(data, "in-public-procurement", which=("hik-camera",))["hik-camera"]
    (gfr,) = india.instruments
    assert gfr.id == "IN-GFR20" and [d.kind for d in gfr.duties] == ["registration"] and not gfr.binding


# --------------------------------------------------------------------------- statuses, brands, manual checks


def test_statuses_and_order(data):
    result = assess(sample_result(), data, policy.select(data, "us-federal"))
    status = {f.location.ip: f.status for f in result.findings}
    assert status == {
        "198.18.0.21": Status.RESTRICTED,
        "198.18.0.30": Status.RESTRICTED,
        "198.18.1.40": Status.RESTRICTED,
        "198.18.1.41": Status.RESTRICTED,
        "198.18.1.50": Status.MANUAL_CHECK,
        "198.18.0.60": Status.MANUAL_CHECK,
        "198.18.0.70": Status.CLEAR,
        "198.18.0.80": Status.CLEAR,  # an Annke label alone: Annke only sometimes sells Hikvision units
        "198.18.0.90": Status.RESTRICTED,
    }
    # Known-exploited firmware first, then high-confidence recorders before cameras, manual checks, clear.
    order = [f.location.ip for f in result.findings]
    assert order[:2] == ["198.18.0.21", "198.18.1.41"]
    assert [f.priority for f in result.findings] == sorted(f.priority for f in result.findings)
    assert result.counts() == {"devices": 9, "restricted": 5, "listed": 0, "manual_check": 2, "clear": 2,
                               "kev_affected": 2, "kev_possible": 0, "overdue": 0}
    assert [f.location.ip for f in result.flagged] == [f.location.ip for f in result.findings if f.status is Status.RESTRICTED]
    unchosen = assess(sample_result(), data, policy.select(data, None))
    assert len(unchosen.flagged) == 5 and unchosen.restricted_count == 0  # exit 3 still means "found"


def test_kev_affected_range_in_finding(data):
    finding = by_ip(assess(sample_result(), data, policy.select(data, None)), "198.18.0.21")
    assert finding.priority == 1
    assert [m.cve.id for m in finding.kev_affected] == ["CVE-2021-36260"]
    assert "V5.5.0 build 200619" in finding.kev[0].reason and "before 2021-06-25" in finding.kev[0].reason
    assert [r.id for r in finding.recommendations] == ["update-firmware", "isolate"]


def test_amcrest_kev_by_brand(data):
    finding = by_ip(assess(sample_result(), data, policy.select(data, None)), "198.18.1.41")
    assert [m.cve.id for m in finding.kev_affected] == ["CVE-2020-5735"]
    assert "older than the fix 2.800.0000000.6.R.200314" in finding.kev_affected[0].reason


def test_manual_checks_are_kept_with_reasons_and_what_would_follow(data):
    result = assess(sample_result(), data, policy.select(data, "uk-sensitive-sites"))
    manual = {f.location.ip: f for f in result.manual_checks}
    assert set(manual) == {"198.18.1.50", "198.18.0.60"}
    assert any("network-tier evidence" in r for r in manual["198.18.1.50"].manual_reasons)
    assert any("conflicting evidence" in r for r in manual["198.18.0.60"].manual_reasons)
    for finding in manual.values():
        assert finding.priority == 5 and finding.actions == () and not finding.overdue
        assert finding.action_text.startswith("check manually") and "if confirmed as" in finding.action_text
        assert {a.instruments for a in finding.if_confirmed} >= {("UK-TIMELINE",)}


@pytest.mark.parametrize(
    ("brand", "oui_maker", "status", "reason"),
    [
        ("Honeywell", None, Status.CLEAR, None),  # sometimes sells both makers' units: the label alone says nothing
        ("Honeywell", HIK, Status.MANUAL_CHECK, "Honeywell has sold Hikvision-made units among others"),
        ("Panasonic", DAHUA, Status.MANUAL_CHECK, "Panasonic has sold Dahua-made units among others"),
        ("FLIR", None, Status.CLEAR, None),  # sold Lorex to Dahua in 2018; not a relabeller
        ("FLIR", DAHUA, Status.MANUAL_CHECK, None),  # the OUI itself still points to Dahua
        ("LTS", None, Status.MANUAL_CHECK, "LTS relabels Hikvision units"),  # an OEM: the label is reason enough
        ("Lorex", None, Status.MANUAL_CHECK, "Lorex was a Dahua subsidiary"),
    ],
)
def test_brand_relations_decide_manual_checks(data, brand, oui_maker, status, reason):
    hits = [hit(f"title-{brand.lower()}", Tier.LABEL, "http.title", brand, None, brand)]
    if oui_maker is not None:
        hits.append(hit(f"oui-{oui_maker.value}", Tier.NETWORK, "mac.oui", "C056E3", oui_maker, certainty=0.3))
    item = IdentifiedDevice(device("00:40:84:00:00:01", "198.18.0.99", "00:40:84:00:00:01"),
                            Verdict(Manufacturer.UNKNOWN, brand, DeviceType.CAMERA, "X1", None, None, 0.2, "low", tuple(hits)))
    finding = assess(sample_result([item]), data, policy.select(data, "us-federal")).findings[0]
    assert finding.status is status
    if reason:
        assert any(reason in r for r in finding.manual_reasons), finding.manual_reasons
    if status is Status.MANUAL_CHECK:
        assert finding.actions == () and finding.deadlines == ()


def test_location_and_subnet(data):
    result = assess(sample_result(), data, policy.select(data, None))
    f = by_ip(result, "198.18.1.40")
    assert f.location.subnet == "198.18.1.0/24" and f.location.mac == "00:1f:54:00:00:03"
    assert by_ip(result, "198.18.0.21").location.hostname == "cam-lobby"


def test_to_dict_is_json_ready(data):
    result = assess(sample_result(), data, policy.select(data, "uk-sensitive-sites"), operator="alice")
    back = json.loads(json.dumps(result.to_dict()))
    assert back["operator"] == "alice" and back["policies"] == ["uk-sensitive-sites"] and back["evaluated_on"] == "2026-11-20"
    assert back["data_versions"]["restrictions_version"] == data.version
    assert back["findings"][0]["kev"][0]["cve"] == "CVE-2021-36260"
    first_action = next(a for a in back["findings"][0]["actions"] if a["kind"] == "removal")
    assert first_action["deadline"]["precision"] == "month" and first_action["instruments"] == ["UK-TIMELINE"]
    assert {i["id"] for i in back["instruments"]} == {"UK-WMS22", "UK-TIMELINE"}


def test_findings_are_frozen(data):
    finding = assess(sample_result(), data, policy.select(data, None)).findings[0]
    with pytest.raises(AttributeError):
        finding.priority = 9  # type: ignore[misc]


def test_empty_scan(data):
    result = assess(sample_result([]), data, policy.select(data, None))
    assert result.findings == () and result.counts()["devices"] == 0


def test_mac_only_device_has_no_subnet(data):
    passive = IdentifiedDevice(
        Device(key="90:02:a9:00:00:aa", macs=("90:02:a9:00:00:aa",)),
        Verdict(DAHUA, "Dahua", DeviceType.CAMERA, "IPC-HFW5431E-Z", None, None, 0.9, "high",
                (hit("dhip-reply", Tier.FIRMWARE, "dhip.method", "client.notifyDevInfo", DAHUA),)),
    )
    finding = assess(sample_result([passive]), data, policy.select(data, "us-federal")).findings[0]
    assert finding.location.ip == "" and finding.location.subnet is None
    assert finding.status is Status.RESTRICTED
    # The model matches CVE-2021-33044's families but no firmware was seen: possibly affected.
    assert (finding.kev[0].cve.id, finding.kev[0].state.value) == ("CVE-2021-33044", "possibly affected")
    assert finding.priority == 2 and [r.id for r in finding.recommendations] == ["check-firmware"]
