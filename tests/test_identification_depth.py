"""Issue 14 items 1-3: type and model from what is already on the wire, an honest brand for OEM
units, and the newest statement of a field winning (with the older ones listed).

The answers are the real recorded ones of ``tests/fixtures/replies`` parsed by the same codecs the
probes use; where a test needs a variant (another firmware, an OEM code), the one value changed is
named next to it and comes from the cited source in the rule it exercises.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from camsweep.devices import merge
from camsweep.models import ArtefactKind as K
from camsweep.models import DeviceType, Manufacturer, Observation, Verdict
from camsweep.passive import analyse_capture
from camsweep.protocols import rtsp, sadp
from camsweep.verdicts import identify, load_fingerprints

DB = load_fingerprints()
REPLIES = Path(__file__).parent / "fixtures" / "replies"
# Haicam/Haicam@307e0a37 golang/discovery.go: the real SADP answer of a DS-2CD2385G1-I
SADP_REPLY = (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_text()
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
IP_A = "198.18.0.20"
MAC_A = "58:50:ed:1f:e3:85"


def sadp_answer(*, firmware: str | None = None, oem_code: str | None = None, at: int = 0) -> Observation:
    text = SADP_REPLY
    if firmware is not None:
        text = text.replace("V5.6.2build 190701", firmware)
    if oem_code is not None:
        text = text.replace("<DetailOEMCode>1</DetailOEMCode>", f"<DetailOEMCode>{oem_code}</DetailOEMCode>")
    return sadp.parse_reply(text, probe="sadp", ip=IP_A, time=T0 + timedelta(seconds=at))


def obs(probe: str, kind: K, fields: dict[str, str], at: int = 0) -> Observation:
    return Observation.make(probe, kind, ip=IP_A, fields=fields, time=T0 + timedelta(seconds=at))


def verdict_of(*observations: Observation) -> Verdict:
    devices = merge(observations)
    assert len(devices) == 1
    return identify(devices[0], DB)


# -- type and model --------------------------------------------------------------------------------

def test_realm_that_is_the_model_gives_model_and_type() -> None:
    # search-index file 57719710306: RTSP 401 of a DS-7608NI-K2 NVR, realm "DS-7608NI-K2(24680)"
    reply = ('RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm="DS-7608NI-K2(24680)", '
             'nonce="b7c41e0a9d3f625814ae7c0b6d29f4e1", stale="FALSE", qop="auth"\r\n'
             "Date: Mon, 15 Jan 2024 09:20:11 GMT\r\n\r\n")
    v = verdict_of(rtsp.parse_reply(reply, probe="rtsp", ip=IP_A, port=554, time=T0))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.model == "DS-7608NI-K2"
    assert v.device_type is DeviceType.NVR  # from the model family, not from the port


def test_dnvrs_server_types_an_nvr_without_a_model() -> None:
    # https://github.com/maciej-or/hikvision_next/issues/50: the NVR's 401 (realm of 24 hex digits)
    v = verdict_of(obs("http", K.HTTP_RESPONSE, {"http.header.server": "DNVRS-Webs",
                                                 "http.auth.realm": "fe12f37bd00000bccbbd35f1"}))
    assert (v.manufacturer, v.model, v.device_type) == (Manufacturer.HIKVISION, None, DeviceType.NVR)


def test_ip_camera_realm_types_a_camera() -> None:
    # https://github.com/google/ExoPlayer/issues/9800 (recorded reply in tests/fixtures/replies)
    raw = (REPLIES / "rtsp_hikvision_describe_401.txt").read_text().replace("\r\n", "\n").replace("\n", "\r\n")
    v = verdict_of(rtsp.parse_reply(raw, probe="rtsp", ip=IP_A, port=554, time=T0))
    assert v.device_type is DeviceType.CAMERA


def test_onvif_types_are_hints_that_a_model_number_outranks() -> None:
    transmitter = {"onvif.types": "dn:NetworkVideoTransmitter tds:Device"}
    assert verdict_of(obs("wsd", K.ONVIF_SCOPES, transmitter)).device_type is DeviceType.CAMERA
    storage = {"onvif.types": "dn:NetworkVideoTransmitter dn:NetworkVideoStorage tds:Device"}
    assert verdict_of(obs("wsd", K.ONVIF_SCOPES, storage)).device_type is DeviceType.NVR
    # A recorder announcing itself as a transmitter (as Hikvision NVRs do) is typed by its model.
    nvr = {**transmitter, "onvif.scope.hardware": "DS-7608NXI-I2/8P/S",
           "onvif.scopes": "onvif://www.onvif.org/type/video_encoder\nonvif://www.onvif.org/hardware/DS-7608NXI-I2/8P/S"}
    v = verdict_of(obs("wsd", K.ONVIF_SCOPES, nvr))
    assert (v.model, v.device_type) == ("DS-7608NXI-I2/8P/S", DeviceType.NVR)


def test_no_type_from_ports_alone() -> None:
    v = verdict_of(*(Observation.make("ports", K.OPEN_PORT, ip=IP_A, port=p, fields={"port.open": str(p)}, time=T0)
                     for p in (80, 554, 8000)))
    assert v.device_type is DeviceType.UNKNOWN


def test_oem_model_family_from_a_label_source_gives_the_type() -> None:
    # https://github.com/rroller/dahua/issues/303: a Lorex N843A8 NVR, model known from a label field only
    v = verdict_of(obs("onvif", K.ONVIF_DEVICE_INFO, {"onvif.model": "N843A8"}))
    assert (v.model, v.device_type) == ("N843A8", DeviceType.NVR)


# -- brand -----------------------------------------------------------------------------------------

def test_oem_code_never_yields_the_makers_own_brand() -> None:
    # Sadp.h (search-index file 22180221439): "10101: a device with a specific OEM code is an OEM
    # device". The ONVIF name scope still says HIKVISION, copied from the baseline firmware.
    v = verdict_of(sadp_answer(oem_code="10101"),
                   obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "HIKVISION DS-2CD2385G1-I"}, at=1))
    assert v.manufacturer is Manufacturer.HIKVISION
    assert v.brand is None
    assert "OEM unit" in v.summary and "10101" in v.summary


def test_oem_code_keeps_a_relabellers_brand() -> None:
    v = verdict_of(sadp_answer(oem_code="10101"), obs("wsd", K.ONVIF_SCOPES, {"onvif.scope.name": "ANNKE"}, at=1))
    assert v.brand == "Annke"


def test_baseline_oem_code_names_no_brand() -> None:
    # DetailOEMCode 1 is "new baseline device": an OEM ECI-T24F2 reports it too (search-index file 69384930782).
    v = verdict_of(sadp_answer())
    assert v.manufacturer is Manufacturer.HIKVISION and v.brand is None
    assert "could be an OEM unit" in v.summary


# -- freshness -------------------------------------------------------------------------------------

def test_newest_firmware_wins_and_the_older_is_listed() -> None:
    old, new = sadp_answer(at=0), sadp_answer(firmware="V5.7.3build 220112", at=600)
    for order in ((old, new), (new, old)):
        v = verdict_of(*order)
        assert v.firmware == "V5.7.3build 220112"
        assert len(v.disagreements) == 1
        text = v.disagreements[0]
        assert text.startswith("firmware: V5.7.3build 220112") and "older: V5.6.2build 190701" in text
        assert Verdict.from_dict(v.to_dict()).disagreements == v.disagreements


def test_agreeing_answers_list_nothing() -> None:
    v = verdict_of(sadp_answer(at=0), sadp_answer(at=600))
    assert v.firmware == "V5.6.2build 190701" and v.disagreements == ()


def test_capture_with_a_firmware_upgrade_shows_the_new_firmware(tmp_path) -> None:
    def frame(firmware: str) -> Ether:
        return (Ether(src=MAC_A, dst="01:00:5e:7f:ff:fa") / IP(src=IP_A, dst="239.255.255.250")
                / UDP(sport=37020, dport=37020) / SADP_REPLY.replace("V5.6.2build 190701", firmware).encode())

    frames = [frame("V5.6.2build 190701") for _ in range(3)] + [frame("V5.7.3build 220112") for _ in range(3)]
    for i, f in enumerate(frames):
        f.time = 1_764_838_800 + 60 * i
    path = tmp_path / "upgrade.pcap"
    wrpcap(str(path), frames)
    (item,) = [d for d in analyse_capture(str(path)).devices if d.device.ip == IP_A]
    assert sum(o.kind is K.SADP_REPLY for o in item.device.observations) == 2  # one per statement
    assert item.verdict.firmware == "V5.7.3build 220112"
    assert "older: V5.6.2build 190701" in item.verdict.disagreements[0]
