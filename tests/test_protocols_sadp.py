"""SADP codec: real Hikvision reply (Haicam capture), inquiry round trip, hostile input."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import fromstring

from camsweep.models import ArtefactKind
from camsweep.protocols import sadp

REPLIES = Path(__file__).parent / "fixtures" / "replies"
REAL_REPLY = (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()


def test_real_reply_fields() -> None:
    obs = sadp.parse_reply(REAL_REPLY, probe="sadp", ip="192.168.124.40")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.SADP_REPLY
    assert obs.fields["sadp.xml_root"] == "ProbeMatch"
    assert obs.fields["sadp.types"] == "inquiry"
    assert obs.fields["sadp.device_type"] == "141945"
    assert obs.fields["sadp.model"] == "DS-2CD2385G1-I"
    assert obs.fields["sadp.serial"] == "DS-2CD2385G1-I20200414AAWRE33842150"
    assert obs.fields["sadp.mac"] == "58:50:ed:1f:e3:85"
    assert obs.fields["sadp.ipv4"] == "192.168.124.40"
    assert obs.fields["sadp.http_port"] == "80"
    assert obs.fields["sadp.command_port"] == "8000"
    assert obs.fields["sadp.firmware"] == "V5.6.2build 190701"
    assert obs.fields["sadp.dsp_version"] == "V7.3 build 190626"
    assert obs.fields["sadp.oem_code"] == "1"
    assert obs.fields["sadp.activated"] == "true"
    assert obs.fields["sadp.boot_time"] == "1970-01-15 02:44:11"
    assert "sadp.oem_info" not in obs.fields  # this firmware sends no OEMInfo
    # No MAC from the caller: the reply's MAC becomes the observation's.
    assert obs.mac == "58:50:ed:1f:e3:85"
    assert obs.ip == "192.168.124.40"


def test_caller_mac_wins_and_text_input_parses() -> None:
    obs = sadp.parse_reply(REAL_REPLY.decode("utf-8"), probe="sadp", mac="aa:bb:cc:00:00:01")
    assert obs.problem is None
    assert obs.mac == "aa:bb:cc:00:00:01"
    assert obs.fields["sadp.mac"] == "58:50:ed:1f:e3:85"


def test_trailing_nuls_and_leading_newline_tolerated() -> None:
    obs = sadp.parse_reply(b"\r\n" + REAL_REPLY + b"\x00\x00", probe="sadp")
    assert obs.problem is None
    assert obs.fields["sadp.model"] == "DS-2CD2385G1-I"


def test_build_inquiry_matches_published_format() -> None:
    uid = "e8ecfe09-90e4-44c0-842b-703f46b58c81"
    packet = sadp.build_inquiry(uid)
    # Exact request both UniversalScanner (Hikvision.cs) and Haicam (hikvisionProbe) send.
    assert packet == (
        b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>' + uid.encode()
        + b"</Uuid><Types>inquiry</Types></Probe>"
    )
    root = fromstring(packet)
    assert root.tag == "Probe"
    assert root.findtext("Uuid") == uid
    assert root.findtext("Types") == "inquiry"


def test_inquiry_seen_passively_is_not_a_reply() -> None:
    obs = sadp.parse_reply(sadp.build_inquiry("e8ecfe09-90e4-44c0-842b-703f46b58c81"), probe="sadp")
    assert obs.problem is not None and obs.problem.startswith("not-a-reply:")
    assert obs.fields == {}


def test_build_inquiry_refuses_non_uuid() -> None:
    import pytest

    with pytest.raises(ValueError):
        sadp.build_inquiry("</Uuid><x>")


def test_is_reply_to_compares_uuid_case_insensitively() -> None:
    obs = sadp.parse_reply(REAL_REPLY, probe="sadp")
    assert sadp.is_reply_to(obs, "E8ECFE09-90E4-44C0-842B-703F46B58C81")
    assert not sadp.is_reply_to(obs, "00000000-0000-0000-0000-000000000000")
