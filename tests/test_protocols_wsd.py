"""WS-Discovery codec: real Hikvision ProbeMatches (with its gSOAP namespaces), probe round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from camsweep.models import ArtefactKind
from camsweep.protocols import wsd

REPLIES = Path(__file__).parent / "fixtures" / "replies"
PROBEMATCHES = (REPLIES / "wsd_probematches_ds-2cd3955fwd-iws.xml").read_bytes()
HAICAM_SCOPES = (REPLIES / "wsd_scopes_ds-2cd2385g1-i.txt").read_text().strip()

HIK_NAMESPACES = (
    "http://www.hikvision.com/2011/event/topics",
    "http://www.onvifext.com/onvif/ext/ver10/wsdl",
    "http://www.onvifext.com/onvif/ext/ver10/schema",
)


def test_real_probematches_fields() -> None:
    obs = wsd.parse_message(PROBEMATCHES, probe="wsd", ip="192.168.0.218")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.ONVIF_SCOPES
    f = obs.fields
    assert f["onvif.message_type"] == "ProbeMatches"
    assert f["onvif.message_id"] == "urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d"
    assert f["onvif.relates_to"] == "uuid:bfe8bb88-03a2-4e1a-904a-59a7d2882649"
    assert f["onvif.endpoint"] == "urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d"
    assert f["onvif.types"] == "dn:NetworkVideoTransmitter tds:Device"
    assert f["onvif.xaddrs"] == (
        "http://192.168.0.218/onvif/device_service http://[fe80::b6a3:82ff:fe0f:d92d]/onvif/device_service"
    )
    assert f["onvif.metadata_version"] == "10"
    assert f["onvif.scope.name"] == "HIKVISION DS-2CD3955FWD-IWS"  # %20 decoded
    assert f["onvif.scope.hardware"] == "DS-2CD3955FWD-IWS"
    assert f["onvif.scope.location"] == "city/hangzhou"
    assert "onvif.scope.mac" not in f  # this older firmware sends no MAC/ scope
    scopes = f["onvif.scopes"].split("\n")
    assert len(scopes) == 8
    assert "onvif://www.onvif.org/name/HIKVISION DS-2CD3955FWD-IWS" in scopes


def test_namespaces_declared_but_unused_are_collected() -> None:
    namespaces = wsd.parse_message(PROBEMATCHES, probe="wsd").fields["onvif.namespaces"].split(" ")
    for uri in HIK_NAMESPACES:
        assert uri in namespaces
    assert "http://schemas.xmlsoap.org/ws/2005/04/discovery" in namespaces
    assert len(namespaces) == len(set(namespaces))


def test_prefixes_do_not_matter() -> None:
    # Same document with the discovery/addressing prefixes renamed: local names still match.
    renamed = PROBEMATCHES.replace(b"<d:", b"<disco:").replace(b"</d:", b"</disco:")
    renamed = renamed.replace(b"xmlns:d=", b"xmlns:disco=")
    obs = wsd.parse_message(renamed, probe="wsd")
    assert obs.problem is None
    assert obs.fields["onvif.scope.hardware"] == "DS-2CD3955FWD-IWS"


def test_real_scopes_with_mac_scope() -> None:
    fields = wsd.scope_fields(wsd.parse_scopes(HAICAM_SCOPES))
    assert fields["onvif.scope.mac"] == "58:50:ed:1f:e3:85"
    assert fields["onvif.scope.name"] == "HIKVISION DS-2CD2385G1-I"
    assert fields["onvif.scope.hardware"] == "DS-2CD2385G1-I"
    assert fields["onvif.scope.location"] == "city/hangzhou"
    assert fields["onvif.scopes"].count("\n") == 7


def test_mac_scope_sets_observation_mac() -> None:
    scopes = HAICAM_SCOPES.encode()
    doc = PROBEMATCHES.split(b"<d:Scopes>")[0] + b"<d:Scopes>" + scopes + b"</d:Scopes>" + PROBEMATCHES.split(b"</d:Scopes>")[1]
    obs = wsd.parse_message(doc, probe="wsd")
    assert obs.problem is None
    assert obs.mac == "58:50:ed:1f:e3:85"


def test_several_location_scopes_joined() -> None:
    # Real scope list quoted in vicmaeg/onvif-discovery#17 (an MSTAR no-name camera).
    scopes = wsd.parse_scopes(
        "onvif://www.onvif.org/type/Network_Video_Transmitter onvif://www.onvif.org/name/ONVIF_ICAMERA "
        "onvif://www.onvif.org/hardware/MSTAR_IPNC onvif://www.onvif.org/location/China "
        "onvif://www.onvif.org/location/Shenzhen"
    )
    fields = wsd.scope_fields(scopes)
    assert fields["onvif.scope.location"] == "China\nShenzhen"
    assert fields["onvif.scope.name"] == "ONVIF_ICAMERA"


def test_is_reply_to_normalises_uuid_forms() -> None:
    obs = wsd.parse_message(PROBEMATCHES, probe="wsd")
    assert wsd.is_reply_to(obs, "urn:uuid:BFE8BB88-03A2-4E1A-904A-59A7D2882649")
    assert wsd.is_reply_to(obs, "bfe8bb88-03a2-4e1a-904a-59a7d2882649")
    assert not wsd.is_reply_to(obs, "urn:uuid:00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize(
    ("namespace", "wsd_ns", "wsa_ns"),
    [
        ("2005", "http://schemas.xmlsoap.org/ws/2005/04/discovery", "http://schemas.xmlsoap.org/ws/2004/08/addressing"),
        ("2009", "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01", "http://www.w3.org/2005/08/addressing"),
    ],
)
def test_build_probe_round_trip(namespace: str, wsd_ns: str, wsa_ns: str) -> None:
    mid = "bfe8bb88-03a2-4e1a-904a-59a7d2882649"
    packet = wsd.build_probe(f"uuid:{mid}", namespace)  # type: ignore[arg-type]
    root = fromstring(packet, forbid_dtd=True)
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert root.findtext(f".//{{{wsa_ns}}}MessageID") == f"urn:uuid:{mid}"
    assert root.findtext(f".//{{{wsa_ns}}}Action") == f"{wsd_ns}/Probe"
    assert root.findtext(f".//{{{wsd_ns}}}Probe/{{{wsd_ns}}}Types") == "dn:NetworkVideoTransmitter"
    # The dn: prefix inside Types must be declared for the device to resolve it.
    assert b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' in packet
    # Seen passively, our own Probe is not a device answer.
    obs = wsd.parse_message(packet, probe="wsd")
    assert obs.problem is not None and obs.problem.startswith("not-a-reply:")


def test_build_probe_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        wsd.build_probe("not-a-uuid")
    with pytest.raises(ValueError):
        wsd.build_probe("bfe8bb88-03a2-4e1a-904a-59a7d2882649", "2010")  # type: ignore[arg-type]


def test_hello_and_bye_are_accepted() -> None:
    # Minimal Hello/Bye shaped by the WS-Discovery 2005 schema (synthetic; no real capture kept).
    for kind in ("Hello", "Bye"):
        doc = (
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
            "<s:Header><a:MessageID>uuid:1</a:MessageID></s:Header>"
            f"<s:Body><d:{kind}><a:EndpointReference><a:Address>urn:uuid:2</a:Address></a:EndpointReference>"
            "<d:Scopes>onvif://www.onvif.org/name/X</d:Scopes></d:" + kind + "></s:Body></s:Envelope>"
        )
        obs = wsd.parse_message(doc, probe="wsd")
        assert obs.problem is None
        assert obs.fields["onvif.message_type"] == kind
        assert obs.fields["onvif.endpoint"] == "urn:uuid:2"
        assert obs.fields["onvif.scope.name"] == "X"


def test_non_envelope_is_garbage() -> None:
    obs = wsd.parse_message(b"<ProbeMatch><MAC>58-50-ed-1f-e3-85</MAC></ProbeMatch>", probe="wsd")
    assert obs.problem is not None and obs.problem.startswith("garbage:")
    assert obs.fields == {}
