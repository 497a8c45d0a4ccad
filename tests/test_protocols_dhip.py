"""DHIP codec: real Dahua replies (Haicam, Phenomite), request/reply round trips, lying headers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from camsweep.models import RAW_LIMIT, ArtefactKind
from camsweep.protocols import dhip

REPLIES = Path(__file__).parent / "fixtures" / "replies"
HAICAM_JSON = (REPLIES / "dhip_notifydevinfo_ipc-hdw1431t1-s4.json").read_bytes()
PHENOMITE_JSON = (REPLIES / "dhip_notifydevinfo_ipc-hdw5421s.json").read_text()

EXPECTED_HAICAM = {
    "dhip.method": "client.notifyDevInfo",
    "dhip.device_class": "IPC",
    "dhip.model": "IPC-HDW1431T1-S4",
    "dhip.serial": "6C01E93PAG69A7D",
    "dhip.vendor": "Private",
    "dhip.manufacturer": "Private",
    "dhip.version": "2.800.0000000.13.R",
    "dhip.mac": "08:ed:ed:87:42:7a",
    "dhip.machine_name": "6C01E93PAG69A7D",
    "dhip.ipv4": "192.168.124.17",
    "dhip.http_port": "80",
    "dhip.port": "37777",
}


def _packet(body: bytes, length: int | None = None, length2: int | None = None, magic: bytes = b"DHIP") -> bytes:
    n = len(body) if length is None else length
    m = n if length2 is None else length2
    return struct.pack("<I4sIIIIII", 0x20, magic, 0, 0, n, 0, m, 0) + body


def test_real_reply_json_text() -> None:
    obs = dhip.parse_reply(HAICAM_JSON, probe="dhip", ip="192.168.124.17")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.DHIP_REPLY
    for key, value in EXPECTED_HAICAM.items():
        assert obs.fields[key] == value, key
    assert obs.mac == "08:ed:ed:87:42:7a"


def test_real_reply_with_spaced_json_and_vendor_dahua() -> None:
    obs = dhip.parse_reply(PHENOMITE_JSON, probe="dhip")
    assert obs.problem is None
    assert obs.fields["dhip.model"] == "IPC-HDW5421S"
    assert obs.fields["dhip.serial"] == "1F006E4PAX00075"
    assert obs.fields["dhip.vendor"] == "Dahua"
    assert obs.fields["dhip.manufacturer"] == "Private"
    assert obs.fields["dhip.version"] == "2.400.0.8"
    assert obs.fields["dhip.ipv4"] == "218.5.136.140"
    assert obs.fields["dhip.mac"] == "4c:11:bf:c2:0b:9d"
    assert obs.mac == "4c:11:bf:c2:0b:9d"


def test_full_packet_and_decoded_mapping_give_same_fields() -> None:
    obj = json.loads(HAICAM_JSON)
    from_packet = dhip.parse_reply(dhip.encode_reply(obj), probe="dhip")
    from_mapping = dhip.parse_reply(obj, probe="dhip")
    assert from_packet.problem is None and from_mapping.problem is None
    assert dict(from_packet.fields) == dict(from_mapping.fields) == EXPECTED_HAICAM
    # The binary header is not kept as raw text; the JSON is.
    assert from_packet.raw is not None and from_packet.raw.startswith("{")


def test_trailing_bytes_after_announced_body_ignored() -> None:
    packet = dhip.encode_reply(json.loads(HAICAM_JSON)) + b"\x00"
    assert dhip.parse_reply(packet, probe="dhip").problem is None


def test_caller_mac_is_kept() -> None:
    obs = dhip.parse_reply(HAICAM_JSON, probe="dhip", mac="02:00:00:00:00:01")
    assert obs.mac == "02:00:00:00:00:01"
    assert obs.fields["dhip.mac"] == "08:ed:ed:87:42:7a"


def test_build_search_layout() -> None:
    packet = dhip.build_search()
    size, magic, session, request_id, length, r1, length2, r2 = struct.unpack_from("<I4sIIIIII", packet)
    assert (size, magic, session, r1, r2) == (0x20, b"DHIP", 0, 0, 0)
    assert request_id == 0
    body = packet[32:]
    assert length == length2 == len(body)
    assert body == b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}\n'
    # Same first 8 bytes as the request Haicam's dahuaProbe() sends (" \0\0\0DHIP").
    assert packet[:8] == b" \x00\x00\x00DHIP"


def test_build_search_round_trip_is_a_request_not_a_reply() -> None:
    packet = dhip.build_search(mac="08:ed:ed:87:42:7a", uni=0)
    decoded = dhip.decode(packet)
    assert decoded == {"method": "DHDiscover.search", "params": {"mac": "08:ed:ed:87:42:7a", "uni": 0}}
    obs = dhip.parse_reply(packet, probe="dhip")
    assert obs.problem is not None and obs.problem.startswith("not-a-reply:")
    assert obs.fields == {}


@pytest.mark.parametrize(
    ("data", "slug"),
    [
        (b" \x00\x00\x00DHIP\x00\x00", "truncated"),  # header cut short
        (_packet(b'{"method":"x"}\n', length=4096), "bad-length"),  # length larger than the packet
        (_packet(b'{"method":"x"}\n', length=15, length2=16), "bad-length"),  # fields disagree
        (_packet(b'{"method":"x"}\n', length=0x7FFFFFFF), "oversize"),  # absurd length
        (_packet(b"<html>not json</html>\n"), "not-json"),
        (_packet(b"[1, 2, 3]\n"), "garbage"),
        (_packet(b'{"method":"x"}\n', magic=b"DHIQ"), "garbage"),
        (_packet(b'{"mac":"\xff\xfe"}\n'), "invalid-utf8"),
        (b"\x01\x02\x03" * 20, "garbage"),
        (b"{" * 5000 + b"}" * 5000, "not-json"),
        (b"x" * 70000, "oversize"),
    ],
    ids=[
        "truncated-header", "length-past-end", "lengths-disagree", "absurd-length", "html-body", "json-array",
        "wrong-magic", "bad-utf8", "binary-garbage", "broken-json", "oversize",
    ],
)
def test_hostile_packets_become_problems(data: bytes, slug: str) -> None:
    obs = dhip.parse_reply(data, probe="dhip", ip="198.18.0.20")
    assert obs.problem is not None and obs.problem.startswith(slug + ":"), obs.problem
    assert obs.fields == {}
    assert obs.kind is ArtefactKind.DHIP_REPLY
    assert obs.ip == "198.18.0.20"
    assert obs.raw is not None and len(obs.raw) <= RAW_LIMIT


def test_deeply_nested_json_text_is_a_problem() -> None:
    obs = dhip.parse_reply("[" * 30000 + "]" * 30000, probe="dhip")
    assert obs.problem is not None and obs.problem.startswith("not-json:"), obs.problem
    assert obs.fields == {}


def test_real_dhip_login_challenge_packet() -> None:
    packet = bytes.fromhex((REPLIES / "dhip_login_challenge_imou_ranger2.hex").read_text().strip())
    size, magic, session, _id, length, _r1, length2, _r2 = struct.unpack_from("<I4sIIIIII", packet)
    assert (size, magic, length, length2) == (32, b"DHIP", 0xEB, 0xEB)
    assert length == len(packet) - 32
    assert session == json.loads(packet[32:])["session"] == 2869194125
    obs = dhip.parse_reply(packet, probe="dhip", ip="10.10.10.85")
    assert obs.problem is None
    assert obs.fields == {
        "dhip.realm": "Login to 907F3C6C73FEDA77",
        "dhip.error_code": "268632079",
        "dhip.error_message": "Component error: login challenge!",
        "dhip.result": "false",
    }
    # Cut one byte short, the same packet's length field lies.
    cut = dhip.parse_reply(packet[:-1], probe="dhip")
    assert cut.problem == "bad-length: DHIP length field says 235 bytes, only 234 follow"


def test_json_without_any_dhip_key_is_garbage() -> None:
    obs = dhip.parse_reply('{"hello": "world"}', probe="dhip")
    assert obs.problem is not None and obs.problem.startswith("garbage:")
