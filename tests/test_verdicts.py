"""Identification logic: tiers, OEM units, conflicts, OUI-only, negatives, confidence, JSON.

Observations are built directly with ``Observation.make`` (field values as the parsers emit them;
the values themselves are the cited real artefacts from the fingerprint examples).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from camsweep.devices import merge
from camsweep.models import (
    ArtefactKind as K,
)
from camsweep.models import (
    Device,
    DeviceType,
    Manufacturer,
    Observation,
    ScanResult,
    Tier,
    Verdict,
)
from camsweep.verdicts import derived_fields, identify, identify_devices, identify_result, load_fingerprints

DB = load_fingerprints()
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Haicam/Haicam@307e0a37 golang/discovery.go: SADP reply of a DS-2CD2385G1-I
SADP_FIELDS = {
    "sadp.xml_root": "ProbeMatch",
    "sadp.model": "DS-2CD2385G1-I",
    "sadp.serial": "DS-2CD2385G1-I20200414AAWRE33842150",
    "sadp.firmware": "V5.6.2build 190701",
    "sadp.mac": "58:50:ed:1f:e3:85",
}
# Haicam/Haicam@307e0a37 golang/discovery.go: DHIP reply of an IPC-HDW1431T1-S4
DHIP_FIELDS = {
    "dhip.method": "client.notifyDevInfo",
    "dhip.device_class": "IPC",
    "dhip.model": "IPC-HDW1431T1-S4",
    "dhip.serial": "6C01E93PAG69A7D",
    "dhip.vendor": "Private",
    "dhip.version": "2.800.0000000.13.R",
}


def obs(probe: str, kind: K, fields: dict[str, str], *, ip: str = "192.0.2.10", mac: str | None = None,
        port: int | None = None, problem: str | None = None, offset: int = 0) -> Observation:
    return Observation.make(probe, kind, ip=ip, mac=mac, port=port, fields=fields, problem=problem,
                            time=T0.replace(second=offset))


def verdict_of(*observations: Observation) -> Verdict:
    devices = merge(observations)
    assert len(devices) == 1
    return identify(devices[0], DB)


def rule_ids(verdict: Verdict) -> set[str]:
    return {h.rule_id for h in verdict.hits}


def test_oem_unit_hikvision_firmware_under_annke_label() -> None:
    v = verdict_of(
        obs("sadp", K.SADP_REPLY, {k: v for k, v in SADP_FIELDS.items()}, mac="58:50:ed:1f:e3:85"),
        obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "ANNKE"}, offset=1),
    )
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand == "Annke"
    assert v.device_type is DeviceType.CAMERA  # from the model family
    assert v.model == "DS-2CD2385G1-I"
    assert v.serial == "DS-2CD2385G1-I20200414AAWRE33842150"
    assert v.firmware == "V5.6.2build 190701"
    assert v.conflicts == ()
    assert v.confidence >= 0.9
    assert "Annke" in v.summary and "Hikvision firmware" in v.summary
    assert {"sadp-probematch", "onvif-name-brand", "oui-hikvision", "model-hikvision-ipc"} <= rule_ids(v)


def test_oem_firmware_without_label_gets_no_brand() -> None:
    v = verdict_of(obs("sadp", K.SADP_REPLY, {"sadp.xml_root": "ProbeMatch", "sadp.model": "DS-2CD2385G1-I"},
                       mac="58:50:ed:1f:e3:85"))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand is None  # a Hikvision OUI does not prove the label: OEM units carry it too
    assert "brand unknown" in v.summary


def test_conflict_axis_label_with_sadp_reply_is_listed_not_hidden() -> None:
    v = verdict_of(
        obs("sadp", K.SADP_REPLY, {"sadp.xml_root": "ProbeMatch"}),
        obs("dhcp", K.DHCP_OPTIONS, {"dhcp.vendor_class": "AXIS,Network Camera,P3343,5.20.3"}, offset=1),
    )
    assert v.manufacturer is Manufacturer.HIKVISION  # strongest evidence still decides
    assert len(v.conflicts) == 1
    assert "Axis" in v.conflicts[0] and "Hikvision" in v.conflicts[0]
    assert "dhcp-axis-vendor-class" in v.conflicts[0] and "sadp-probematch" in v.conflicts[0]
    assert v.confidence_level != "high"


def test_conflict_label_of_other_makers_relabeller() -> None:
    v = verdict_of(
        obs("http", K.HTTP_RESPONSE, {"http.body": '<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'},
            port=80),
        obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "Amcrest"}, offset=1),
    )
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand == "Amcrest"
    assert any("Amcrest" in c and "Dahua" in c for c in v.conflicts)


def test_firmware_evidence_for_two_makers() -> None:
    v = verdict_of(
        obs("sadp", K.SADP_REPLY, {"sadp.xml_root": "ProbeMatch"}),
        obs("dhip", K.DHIP_REPLY, DHIP_FIELDS, offset=1),
    )
    assert v.manufacturer in (Manufacturer.HIKVISION, Manufacturer.DAHUA)
    assert len(v.conflicts) == 1
    assert "Dahua" in v.conflicts[0] and "Hikvision" in v.conflicts[0]


def test_oui_only_gives_low_confidence() -> None:
    v = verdict_of(obs("arp", K.MAC_ADDRESS, {}, mac="58:50:ed:1f:e3:85"))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.confidence <= 0.4
    assert v.confidence_level == "low"
    assert v.brand is None
    assert [h.tier for h in v.hits] == [Tier.NETWORK]
    assert "OUI" in v.summary


def test_relabeller_oui_alone_names_brand_but_not_maker() -> None:
    v = verdict_of(obs("arp", K.MAC_ADDRESS, {}, mac="a0:60:32:00:00:01"))
    assert v.manufacturer is Manufacturer.UNKNOWN
    assert v.brand == "Amcrest"
    assert v.confidence == 0.0
    assert "needs protocol evidence" in v.summary


def test_relabeller_label_alone_is_not_a_hikvision_verdict() -> None:
    v = verdict_of(obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "ANNKE"}))
    assert v.manufacturer is Manufacturer.UNKNOWN
    assert v.brand == "Annke"


def test_house_brand_label_alone_is_capped() -> None:
    v = verdict_of(obs("mdns", K.MDNS_RECORD, {"mdns.instance": "HIKVISION DS-2CD2722FWD-IZS - 733050075"}))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand == "Hikvision"
    assert v.confidence <= 0.7
    assert v.device_type is DeviceType.CAMERA


def test_non_hikvision_camera_is_other_with_brand() -> None:
    v = verdict_of(
        obs("dhcp", K.DHCP_OPTIONS, {"dhcp.vendor_class": "AXIS,Network Camera,P3343,5.20.3"}, mac="ac:cc:8e:a3:1a:bf"),
        obs("tls", K.TLS_CERTIFICATE, {"tls.subject": "CN=axis-accc8ea31abf,O=Axis Communications AB"}, port=443, offset=1),
    )
    assert v.manufacturer is Manufacturer.OTHER
    assert v.brand == "Axis"
    assert v.model == "P3343"
    assert v.device_type is DeviceType.CAMERA
    assert v.conflicts == ()
    assert v.confidence_level == "high"  # two independent firmware families


def test_dahua_with_two_families_is_high() -> None:
    v = verdict_of(
        obs("dhip", K.DHIP_REPLY, DHIP_FIELDS, mac="08:ed:ed:87:42:7a"),
        obs("rtsp", K.RTSP_BANNER, {"rtsp.auth.realm": "Login to 6C01E93PAG69A7D"}, port=554, offset=1),
    )
    assert v.manufacturer is Manufacturer.DAHUA
    assert v.confidence_level == "high"
    assert v.device_type is DeviceType.CAMERA
    assert v.firmware == "2.800.0000000.13.R"
    assert v.brand is None  # Vendor "Private" names no label


def test_intelbras_dhip_vendor_names_brand() -> None:
    v = verdict_of(obs("dhip", K.DHIP_REPLY, {"dhip.method": "client.notifyDevInfo", "dhip.vendor": "Intelbras",
                                              "dhip.device_class": "MHDX", "dhip.model": "MHDX 1016"}))
    assert (v.manufacturer, v.brand, v.device_type) == (Manufacturer.DAHUA, "Intelbras", DeviceType.DVR)
    assert v.conflicts == ()


def test_dahua_header_shape_is_derived() -> None:
    o = obs("http", K.HTTP_RESPONSE, {"http.header_names": "X-XSS-Protection\nContent-type\nCONNECTION\nCONTENT-LENGTH",
                                      "http.status": "200"}, port=80)
    assert derived_fields(o) == {"http.header_shape": "server=absent upper=CONNECTION,CONTENT-LENGTH"}
    v = verdict_of(o)
    assert v.manufacturer is Manufacturer.DAHUA
    with_server = obs("http", K.HTTP_RESPONSE, {"http.header_names": "Server\nCONNECTION\nCONTENT-LENGTH",
                                                "http.header.server": "DNVRS-Webs"}, port=80)
    assert derived_fields(with_server)["http.header_shape"].startswith("server=present")


def test_weak_evidence_never_decides() -> None:
    observations = [obs("tcp", K.OPEN_PORT, {"port.number": str(p), "port.protocol": "tcp"}, port=p, offset=i)
                    for i, p in enumerate((80, 554, 8000))]
    v = verdict_of(*observations)
    assert v.manufacturer is Manufacturer.UNKNOWN
    assert v.confidence == 0.0 and v.confidence_level == "none"
    assert "ports-hikvision-sdk" in rule_ids(v)
    assert "weak" in v.summary


def test_no_evidence_is_unknown() -> None:
    v = verdict_of(obs("http", K.HTTP_RESPONSE, {"http.header.server": "nginx"}, port=80))
    assert (v.manufacturer, v.confidence_level, v.hits) == (Manufacturer.UNKNOWN, "none", ())


def test_observations_with_a_problem_are_skipped() -> None:
    bad = obs("sadp", K.SADP_REPLY, {"sadp.xml_root": "ProbeMatch"}, problem="XML bomb")
    assert bad.fields == {"sadp.xml_root": "ProbeMatch"}  # make() keeps fields; the engine must not use them
    v = verdict_of(bad)
    assert v.manufacturer is Manufacturer.UNKNOWN and v.hits == ()


def test_model_settles_device_type_nvr() -> None:
    v = verdict_of(obs("http", K.HTTP_RESPONSE, {
        "http.body": '<DeviceInfo version="2.0"\n  xmlns="http://www.isapi.org/ver20/XMLSchema">\n'
                     "<model>DS-7608NXI-I2/8P/S</model>\n<firmwareVersion>V4.62.210</firmwareVersion>",
    }, port=80))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.model == "DS-7608NXI-I2/8P/S" and v.firmware == "V4.62.210"
    assert v.device_type is DeviceType.NVR


def test_output_is_deterministic_whatever_the_input_order() -> None:
    observations = [
        obs("sadp", K.SADP_REPLY, SADP_FIELDS, mac="58:50:ed:1f:e3:85"),
        obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "HIKVISION DS-2CD2385G1-I",
                                    "onvif.scope.hardware": "DS-2CD2385G1-I"}, offset=1),
        obs("rtsp", K.RTSP_BANNER, {"rtsp.auth.realm": "IP Camera(C1214)"}, port=554, offset=2),
        obs("tcp", K.OPEN_PORT, {"port.number": "8000"}, port=8000, offset=3),
        obs("tcp", K.OPEN_PORT, {"port.number": "554"}, port=554, offset=4),
    ]
    first = identify(merge(observations)[0], DB).to_dict()
    rng = random.Random(7)
    for _ in range(5):
        shuffled = observations[:]
        rng.shuffle(shuffled)
        assert identify(merge(shuffled)[0], DB).to_dict() == first


def test_verdict_json_round_trip() -> None:
    v = verdict_of(
        obs("sadp", K.SADP_REPLY, SADP_FIELDS, mac="58:50:ed:1f:e3:85"),
        obs("dhcp", K.DHCP_OPTIONS, {"dhcp.vendor_class": "AXIS,Network Camera,P3343,5.20.3"}, offset=1),
    )
    assert v.conflicts and v.hits
    data = json.loads(json.dumps(v.to_dict()))
    assert Verdict.from_dict(data).to_dict() == v.to_dict()


def test_identify_devices_and_result() -> None:
    observations = [
        obs("sadp", K.SADP_REPLY, SADP_FIELDS, ip="192.0.2.10", mac="58:50:ed:1f:e3:85"),
        obs("dhip", K.DHIP_REPLY, DHIP_FIELDS, ip="192.0.2.11", mac="08:ed:ed:87:42:7a", offset=1),
        obs("dhcp", K.DHCP_OPTIONS, {"dhcp.vendor_class": "AXIS,Network Camera,P3343,5.20.3"}, ip="192.0.2.12", offset=2),
    ]
    items = identify_devices(merge(observations), DB)
    assert [i.verdict.manufacturer for i in items] == [Manufacturer.HIKVISION, Manufacturer.DAHUA, Manufacturer.OTHER]
    result = identify_result(observations, targets=("hosts.json",), db=DB, partial=True, notes=("n",), methods=("input",))
    assert isinstance(result, ScanResult)
    assert result.mode == "identify" and result.partial and result.targets == ("hosts.json",)
    assert result.data_versions["fingerprints"] == DB.version
    assert result.data_versions["fingerprints_as_of"] == DB.as_of.isoformat()
    assert "netaddr" in result.data_versions["oui"]
    assert [d.verdict.manufacturer for d in result.devices] == [i.verdict.manufacturer for i in items]
    assert ScanResult.from_dict(json.loads(json.dumps(result.to_dict()))).to_dict() == result.to_dict()


def test_identify_uses_packaged_db_by_default() -> None:
    device = merge([obs("sadp", K.SADP_REPLY, {"sadp.xml_root": "ProbeMatch"})])[0]
    assert isinstance(device, Device)
    assert identify(device).manufacturer is Manufacturer.HIKVISION


@pytest.mark.parametrize(
    ("fields", "maker"),
    [
        ({"http.header.server": "DNVRS-Webs"}, Manufacturer.HIKVISION),
        ({"http.header.server": "Webs"}, Manufacturer.UNKNOWN),
        ({"http.header.server": "uc-httpd 1.0.0"}, Manufacturer.OTHER),
        ({"http.header.server": "GoAhead-Webs"}, Manufacturer.UNKNOWN),
        ({"tls.issuer": "CN=NVR,C=CN,ST=Zhejiang,L=Hangzhou,O=ZheJiang Dahua Technology CO.\\,LTD.,OU=NVR"}, Manufacturer.DAHUA),
        ({"http.body": '{"result":false,"params":{"realm":"Login to 907F3C6C73FEDA77","random":"1f1e4fbc","encryption":"Default"}}'},
         Manufacturer.DAHUA),
    ],
)
def test_single_signals(fields: dict[str, str], maker: Manufacturer) -> None:
    assert verdict_of(obs("x", K.HTTP_RESPONSE, fields, port=80)).manufacturer is maker


def test_dahua_firmware_oem_code_names_amcrest() -> None:
    # tchellomello/python-amcrest#168: getSoftwareVersion of an Amcrest IPM-721B
    v = verdict_of(obs("http", K.HTTP_RESPONSE, {"http.body": "version=2.420.AC00.15.R\r\nBuildDate=2016-09-08"}, port=80))
    assert (v.manufacturer, v.brand, v.firmware) == (Manufacturer.DAHUA, "Amcrest", "2.420.AC00.15.R")
    assert v.conflicts == ()
    assert "Amcrest relabels Dahua units" in v.summary


def test_realm_rules_match_each_line_of_a_multi_realm_field() -> None:
    # the HTTP/RTSP parsers join distinct realms of several challenges with newlines
    v = verdict_of(obs("rtsp", K.RTSP_BANNER, {"rtsp.auth.realm": "device\nLogin to 4K01FD2PAJ6E3FF"}, port=554))
    assert v.manufacturer is Manufacturer.DAHUA and v.serial == "4K01FD2PAJ6E3FF"


def test_real_hikvision_probematch_and_a_relabelled_copy() -> None:
    """The envelope namespaces and scope order survive a relabelled name/ scope."""
    from pathlib import Path

    from camsweep.protocols import wsd

    fixture = Path(__file__).parent / "fixtures" / "replies" / "wsd_probematches_ds-2cd3955fwd-iws.xml"
    xml = fixture.read_text(encoding="utf-8")  # programcj/programming_path Onvif_Discover.c (real reply)
    real = verdict_of(wsd.parse_message(xml, probe="wsd", ip="192.0.2.20"))
    assert (real.manufacturer, real.brand, real.model) == (Manufacturer.HIKVISION, "Hikvision", "DS-2CD3955FWD-IWS")
    assert {"onvif-namespace-hikvision-topics", "onvif-scope-hikvision-hangzhou"} <= rule_ids(real)
    # The same reply as an OEM unit would send it: only the label in the name/ scope changes.
    relabelled = xml.replace("name/HIKVISION%20DS-2CD3955FWD-IWS", "name/ANNKE%20I91BN")
    oem = verdict_of(wsd.parse_message(relabelled, probe="wsd", ip="192.0.2.21"))
    assert (oem.manufacturer, oem.brand) == (Manufacturer.HIKVISION, "Annke")
    assert oem.conflicts == ()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("<deviceType>VIS</deviceType>", DeviceType.INTERCOM),
        ("<deviceType>ACS</deviceType>", DeviceType.ACCESS_CONTROL),
        ("<deviceType>IPCamera</deviceType>", DeviceType.CAMERA),
        ("<deviceType>DVR</deviceType>", DeviceType.DVR),
    ],
)
def test_isapi_device_type_codes(body: str, kind: DeviceType) -> None:
    isapi = '<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' + body
    v = verdict_of(obs("http", K.HTTP_RESPONSE, {"http.body": isapi}, port=80))
    assert (v.manufacturer, v.device_type) == (Manufacturer.HIKVISION, kind)


def test_long_values_are_kept_as_an_excerpt_around_the_match() -> None:
    body = "x" * 1500 + '<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' + "y" * 1500
    v = verdict_of(obs("http", K.HTTP_RESPONSE, {"http.body": body}, port=80))
    hit = next(h for h in v.hits if h.rule_id == "http-isapi-namespace-isapi-org")
    assert "http://www.isapi.org/ver20/XMLSchema" in hit.value
    assert len(hit.value) <= 302 and hit.value.startswith("…") and hit.value.endswith("…")


def test_ezviz_registered_oui_names_ezviz_and_stays_low() -> None:
    # 20:BB:BC is registered to Hangzhou Ezviz Software (oui.toml oui-ezviz): the block names the brand.
    v = verdict_of(obs("arp", K.MAC_ADDRESS, {}, mac="20:bb:bc:00:00:01"))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand == "EZVIZ"
    assert v.confidence_level == "low"


def test_ezviz_unit_with_a_hikvision_block_gets_no_brand() -> None:
    # EZVIZ units also ship with Hikvision's own A0:FF:0C (research/fingerprints.md 1): no label proof.
    v = verdict_of(obs("arp", K.MAC_ADDRESS, {}, mac="a0:ff:0c:62:9b:17"))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand is None
    assert v.confidence_level == "low"


# Public order shared by TP-Link VIGI (koush/scrypted#1014) and Reolink (Ullaakut/cameradar#213).
LIVE555_PUBLIC = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER"


def test_shared_rtsp_public_order_names_no_brand() -> None:
    v = verdict_of(obs("rtsp", K.RTSP_BANNER, {"rtsp.header.public": LIVE555_PUBLIC}, port=554))
    assert v.manufacturer is Manufacturer.UNKNOWN
    assert v.brand is None
    assert "rtsp-public-live555-order" in rule_ids(v)


def test_reolink_with_shared_rtsp_public_order_is_reolink_without_conflict() -> None:
    v = verdict_of(obs("rtsp", K.RTSP_BANNER, {"rtsp.header.public": LIVE555_PUBLIC}, port=554,
                       mac="ec:71:db:3c:88:19"))
    assert v.manufacturer is Manufacturer.OTHER
    assert v.brand == "Reolink"
    assert v.conflicts == ()


@pytest.mark.parametrize(
    ("model", "kind"),
    [("TVN 21S", DeviceType.NVR), ("CMIP8242WB", DeviceType.CAMERA), ("I91BY", DeviceType.CAMERA)],
)
def test_oem_model_family_gives_the_type_but_no_brand(model: str, kind: DeviceType) -> None:
    # constructed: a SADP ProbeMatch carrying an OEM model number (values from models.toml examples)
    v = verdict_of(obs("sadp", K.SADP_REPLY, {"sadp.xml_root": "ProbeMatch", "sadp.model": model}))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.device_type is kind
    assert v.brand is None


def test_one_strong_firmware_reply_is_medium_and_high_needs_two_families() -> None:
    sadp = verdict_of(obs("sadp", K.SADP_REPLY, SADP_FIELDS))
    dhip = verdict_of(obs("dhip", K.DHIP_REPLY, DHIP_FIELDS))
    assert sadp.confidence_level == "medium" and dhip.confidence_level == "medium"
    both = verdict_of(obs("sadp", K.SADP_REPLY, SADP_FIELDS),
                      obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "HIKVISION DS-2CD2385G1-I"}, offset=1))
    assert both.confidence_level == "high"


def test_a_hit_keeps_the_port_its_value_came_from() -> None:
    v = verdict_of(
        obs("sadp", K.SADP_REPLY, SADP_FIELDS, mac="58:50:ed:1f:e3:85", port=37020),
        obs("http", K.HTTP_RESPONSE, {"http.header.server": "DNVRS-Webs"}, mac="58:50:ed:1f:e3:85", port=8000),
    )
    ports = {h.rule_file: h.port for h in v.hits}
    assert ports["sadp.toml"] == 37020
    assert {h.port for h in v.hits if h.field == "http.header.server"} == {8000}
    assert {h.port for h in v.hits if h.field == "mac.address"} == {None}  # the OUI is no port's
