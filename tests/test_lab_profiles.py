"""The shipped lab device profiles (scanner/lab/profiles/*.toml): loadable, complete, consistent.

Loads every profile with the lab's own loader and checks what issue 3 asks of the set: enough
devices of each kind, unique identities, ground truth and sources on every profile, well-formed
XML replies (entities are reported, never expanded, so the XML-bomb profiles are safe to parse),
and the hostile behaviours the robustness tests rely on. Pure parsing: no network.
"""

from __future__ import annotations

import ipaddress
import json
import xml.parsers.expat
from collections import Counter
from pathlib import Path

import pytest

from camsweep.lab.profiles import SHIPPED_PROFILES, Profile, load_profiles
from camsweep.lab.templates import device_variables, fill

MAKERS = {"hikvision", "dahua", "other"}
TYPES = {"camera", "nvr", "dvr", "intercom", "access_control", "other"}
SEGMENTS = {"A": ipaddress.IPv4Network("198.18.0.0/24"), "B": ipaddress.IPv4Network("198.18.1.0/24")}
HOUSE_BRANDS = {"hikvision": "Hikvision", "dahua": "Dahua"}

ALL = load_profiles()
# example-*.toml belong to the lab-infrastructure helper (format demos); the requirements below
# are about the device set, so they count only the shipped device profiles.
DEVICES = [p for p in ALL if not Path(p.path).name.startswith("example-")]
HOSTILE = [p for p in DEVICES if p.name.startswith("hostile-")]
REGULAR = [p for p in DEVICES if not p.name.startswith("hostile-")]


def variables(profile: Profile) -> dict[str, str]:
    network = SEGMENTS[profile.segment]
    ip = profile.ip or str(network.network_address + 10)
    values = device_variables(profile.name, profile.hostname, profile.mac, ip, str(network),
                              str(network.network_address + 1))
    values.update(cseq="1", message_id="urn:uuid:00000000-0000-4000-8000-000000000001",
                  relates_to="uuid:00000000-0000-4000-8000-000000000002", uuid=values["device_uuid"], port="80")
    return values


def xml_replies(profile: Profile) -> list[tuple[str, str]]:
    """(where, text) for every XML template the profile serves."""
    found = []
    if profile.wsd:
        found += [(f"wsd.{key}", text) for key, text in profile.wsd.items()]
    if profile.sadp:
        found.append(("sadp.reply", profile.sadp["reply"]))
    if profile.ssdp:
        found.append(("ssdp.description", profile.ssdp["description"]))
    if profile.onvif:
        found += [(f"onvif.replies.{key}", text) for key, text in profile.onvif.get("replies", {}).items()]
    for server in profile.http:
        for route in server.get("routes", []):
            content_type = dict((k.lower(), v) for k, v in route.get("headers", [])).get("content-type", "")
            if "xml" in content_type and "body" in route:
                found.append((f"http {server['port']} {route['path']}", route["body"]))
    return found


def well_formed(text: str) -> None:
    """Raise ExpatError unless ``text`` is well-formed XML; entities are passed through unexpanded."""
    parser = xml.parsers.expat.ParserCreate()
    parser.DefaultHandler = lambda data: None  # setting it turns internal entity expansion off
    parser.Parse(text.encode("utf-8"), True)


def dhip_lengths(raw: bytes) -> tuple[int, int, int]:
    """(first length field, second length field, actual payload length) of a DHIP datagram."""
    first = int.from_bytes(raw[16:20], "little")
    second = int.from_bytes(raw[24:28], "little")
    return first, second, len(raw) - 32


# --- the set as a whole ----------------------------------------------------------------------

def test_enough_device_profiles_ship() -> None:
    assert len(DEVICES) >= 30


def test_names_macs_and_ips_are_unique_across_all_profiles() -> None:
    for attribute in ("name", "mac"):
        counts = Counter(getattr(p, attribute) for p in ALL)
        assert [value for value, n in counts.items() if n > 1] == [], attribute
    ips = Counter(p.ip for p in ALL if p.ip)
    assert [ip for ip, n in ips.items() if n > 1] == []


@pytest.mark.parametrize("profile", DEVICES, ids=lambda p: p.name)
def test_identity_is_usable_on_its_segment(profile: Profile) -> None:
    first_octet = int(profile.mac[:2], 16)
    assert not first_octet & 1, "multicast MAC"
    assert profile.mac != "00:00:00:00:00:00"
    assert profile.ip is not None, "shipped device profiles pin their address"
    address = ipaddress.IPv4Address(profile.ip)
    assert address in SEGMENTS[profile.segment]
    assert 10 <= int(address) - int(SEGMENTS[profile.segment].network_address) <= 250


@pytest.mark.parametrize("profile", DEVICES, ids=lambda p: p.name)
def test_truth_and_sources_are_recorded(profile: Profile) -> None:
    assert profile.truth["manufacturer"] in MAKERS
    assert profile.truth["type"] in TYPES
    assert profile.truth["brand"].strip()
    assert profile.sources and all(len(source.strip()) > 20 for source in profile.sources)


def test_required_mix_of_devices() -> None:
    def kinds(maker: str, brand_is_house: bool) -> Counter[str]:
        return Counter(p.truth["type"] for p in REGULAR if p.truth["manufacturer"] == maker
                       and (p.truth["brand"] == HOUSE_BRANDS[maker]) == brand_is_house)

    hik, dahua = kinds("hikvision", True), kinds("dahua", True)
    assert hik["camera"] >= 2 and hik["nvr"] >= 1 and hik["dvr"] >= 1
    assert dahua["camera"] >= 2 and dahua["nvr"] + dahua["dvr"] >= 2
    oem = [p for p in REGULAR if p.truth["manufacturer"] in HOUSE_BRANDS
           and p.truth["brand"] != HOUSE_BRANDS[p.truth["manufacturer"]]]
    assert len(oem) >= 6
    assert {p.truth["manufacturer"] for p in oem} == {"hikvision", "dahua"}
    other_cameras = [p for p in REGULAR if p.truth["manufacturer"] == "other" and p.truth["type"] == "camera"]
    assert len(other_cameras) >= 8
    assert len({p.truth["brand"] for p in other_cameras}) >= 7
    hosts = [p for p in REGULAR if p.truth["manufacturer"] == "other" and p.truth["type"] == "other"]
    assert len(hosts) >= 4


def test_segment_b_holds_hikvision_dahua_and_oem_units() -> None:
    behind_router = [p for p in REGULAR if p.segment == "B"]
    assert len(behind_router) >= 5
    labels = {(p.truth["manufacturer"], p.truth["brand"] == HOUSE_BRANDS.get(p.truth["manufacturer"])) for p in behind_router}
    assert ("hikvision", True) in labels and ("dahua", True) in labels
    assert ("hikvision", False) in labels and ("dahua", False) in labels


def test_a_few_devices_accept_onvif_credentials() -> None:
    credentialed = [p for p in DEVICES if p.onvif and p.onvif.get("username") and p.onvif.get("password")]
    assert len(credentialed) >= 2
    assert {p.truth["manufacturer"] for p in credentialed} >= {"hikvision", "dahua"}


# --- replies ------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", DEVICES, ids=lambda p: p.name)
def test_every_xml_reply_is_well_formed(profile: Profile) -> None:
    values = variables(profile)
    for where, text in xml_replies(profile):
        try:
            well_formed(fill(text, values))
        except xml.parsers.expat.ExpatError as error:
            pytest.fail(f"{profile.name} {where}: {error}")


@pytest.mark.parametrize("profile", [p for p in DEVICES if p.dhip and "reply" in p.dhip], ids=lambda p: p.name)
def test_dhip_json_parses_and_names_the_model(profile: Profile) -> None:
    reply = profile.dhip["reply"]
    document = json.loads(fill(reply, variables(profile))) if isinstance(reply, str) else reply
    assert document["method"] == "client.notifyDevInfo"
    assert document["mac"] == profile.mac
    assert document["params"]["deviceInfo"]["DeviceType"] == profile.truth["model"]


@pytest.mark.parametrize("profile", [p for p in REGULAR if p.sadp], ids=lambda p: p.name)
def test_sadp_reply_agrees_with_the_profile(profile: Profile) -> None:
    reply = profile.sadp["reply"]
    assert f"<DeviceDescription>{profile.truth['model']}</DeviceDescription>" in reply
    assert "<MAC>{mac_dash}</MAC>" in reply and "<IPv4Address>{ip}</IPv4Address>" in reply
    assert profile.truth["manufacturer"] == "hikvision", "only Hikvision firmware answers SADP"


@pytest.mark.parametrize("profile", [p for p in REGULAR if p.dhip], ids=lambda p: p.name)
def test_only_dahua_firmware_answers_dhip(profile: Profile) -> None:
    assert profile.truth["manufacturer"] == "dahua"


@pytest.mark.parametrize("profile", [p for p in REGULAR if p.rtsp], ids=lambda p: p.name)
def test_rtsp_templates_echo_cseq_and_end_the_header(profile: Profile) -> None:
    for method, template in profile.rtsp.items():
        if method == "port":
            continue
        assert template.startswith("RTSP/1.0 "), method
        assert "{cseq}" in template and template.endswith("\r\n\r\n"), method


def test_listed_content_lengths_are_the_placeholder_or_the_true_length() -> None:
    """A Content-Length listed to keep the device's header order/case must not lie (hostiles aside)."""
    listed = 0
    for profile in REGULAR:
        for server in profile.http:
            for route in [*server.get("routes", []), *([server["default"]] if "default" in server else [])]:
                declared = [v for k, v in route.get("headers", []) if k.lower() == "content-length"]
                if not declared:
                    continue
                listed += 1
                if declared[0] != "{content_length}":
                    body = fill(route.get("body", ""), variables(profile))
                    assert int(declared[0]) == len(body.encode("utf-8")), f"{profile.name} {route.get('path')}"
    assert listed >= 10


# --- hostile devices ----------------------------------------------------------------------------

def test_hostile_http_behaviours_are_present() -> None:
    behaviours = {server.get("behaviour") for p in HOSTILE for server in p.http}
    assert {"drip", "huge"} <= behaviours


def test_xml_bombs_cover_wsd_sadp_and_upnp() -> None:
    def bombed(text: str) -> bool:
        return "<!DOCTYPE" in text and "<!ENTITY" in text

    assert any(p.wsd and bombed(p.wsd["probe_match"]) and "&lol8;&lol8;" in p.wsd["probe_match"] for p in HOSTILE)
    assert any(p.sadp and bombed(p.sadp["reply"]) and 'SYSTEM "file:///' in p.sadp["reply"] for p in HOSTILE)
    assert any(p.ssdp and bombed(p.ssdp["description"]) for p in HOSTILE)


def test_invalid_utf8_replies_really_are_invalid() -> None:
    invalid = 0
    for profile in HOSTILE:
        payloads = [bytes.fromhex(profile.dhip["raw_reply_hex"])[32:]] if profile.dhip and "raw_reply_hex" in profile.dhip else []
        for server in profile.http:
            payloads += [(Path(profile.base_dir) / r["body_file"]).read_bytes() for r in server.get("routes", []) if "body_file" in r]
        for payload in payloads:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                invalid += 1
    assert invalid >= 2


def test_a_dhip_reply_lies_about_its_length() -> None:
    lying = []
    for profile in HOSTILE:
        if profile.dhip and "raw_reply_hex" in profile.dhip:
            raw = bytes.fromhex(profile.dhip["raw_reply_hex"])
            assert raw[4:8] == b"DHIP"
            first, second, actual = dhip_lengths(raw)
            if first != actual and second != actual:
                lying.append(profile.name)
    assert lying


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", '"><img src=x onerror=', "=HYPERLINK(", "+cmd|", "@SUM("])
def test_markup_and_formula_payloads_reach_names(payload: str) -> None:
    names = []
    for profile in HOSTILE:
        names += [service["name"] for service in profile.mdns]
        names += [profile.sadp["reply"]] if profile.sadp else []
        names += [profile.ssdp["description"], profile.ssdp["server"]] if profile.ssdp else []
        names += [value for server in profile.http for route in server.get("routes", []) for _, value in route.get("headers", [])]
        names += [route.get("body", "") for server in profile.http for route in server.get("routes", [])]
    assert any(payload in name for name in names)


def test_shipped_directory_is_the_one_loaded() -> None:
    assert all(Path(p.path).parent == SHIPPED_PROFILES for p in ALL)
