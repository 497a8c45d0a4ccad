"""SSDP/UPnP codec: real M-SEARCH reply and real camera description, builder round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from camsweep.models import ArtefactKind
from camsweep.protocols import upnp

REPLIES = Path(__file__).parent / "fixtures" / "replies"
SSDP_REPLY = (REPLIES / "ssdp_msearch_reply_pms.txt").read_bytes()
DESCRIPTION = (REPLIES / "upnp_description_belkin_netcam.xml").read_bytes()


def test_real_msearch_reply() -> None:
    obs = upnp.parse_ssdp(SSDP_REPLY, probe="ssdp", ip="192.168.2.6")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.SSDP_REPLY
    assert obs.fields["ssdp.message_type"] == "response"
    assert obs.fields["ssdp.server"] == "Windows_7-amd64-6.1, UPnP/1.0, PMS/1.80.0-SNAPSHOT"
    assert obs.fields["ssdp.location"] == "http://192.168.2.6:5001/description/fetch"
    assert obs.fields["ssdp.st"] == "urn:schemas-upnp-org:device:MediaServer:1"
    assert obs.fields["ssdp.usn"] == "uuid:1dcf238e-3a20-4035-a3b1-7f23dd19b944::urn:schemas-upnp-org:device:MediaServer:1"
    assert "ssdp.nt" not in obs.fields


def test_notify_gives_nt() -> None:
    notify = (
        "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
        "LOCATION: http://198.18.0.10:49152/description.xml\r\nSERVER: Linux/3.0, UPnP/1.0, x/1\r\n"
        "USN: uuid:1::upnp:rootdevice\r\n\r\n"
    )
    obs = upnp.parse_ssdp(notify, probe="ssdp")
    assert obs.problem is None
    assert obs.fields["ssdp.message_type"] == "notify"
    assert obs.fields["ssdp.nt"] == "upnp:rootdevice"
    assert obs.fields["ssdp.nts"] == "ssdp:alive"


def test_real_camera_description() -> None:
    obs = upnp.parse_description(DESCRIPTION, probe="ssdp", ip="198.18.0.30", port=49153)
    assert obs.problem is None
    assert obs.kind is ArtefactKind.UPNP_DESCRIPTION
    assert obs.port == 49153
    assert obs.fields == {
        "upnp.manufacturer": "Belkin International Inc.",
        "upnp.manufacturer_url": "http://www.belkin.com",
        "upnp.model_name": "NetCamHDv1",
        "upnp.model_number": "1.0",
        "upnp.model_description": "Belkin Plugin Socket 1.0",
        "upnp.friendly_name": "Porch",
        "upnp.serial": "23A595V018F00C",
        "upnp.device_type": "urn:Belkin:device:NetCamSensor:1",
        "upnp.udn": "uuid:NetCamSensor-1_0-23A595V018F00C",
    }


def test_build_msearch_round_trip() -> None:
    packet = upnp.build_msearch()
    assert packet == (
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n'
    )
    assert b"ST: upnp:rootdevice\r\n" in upnp.build_msearch("upnp:rootdevice", 1)
    obs = upnp.parse_ssdp(packet, probe="ssdp")  # another client's search seen passively
    assert obs.problem is not None and obs.problem.startswith("not-a-reply:")
    assert obs.fields == {}


@pytest.mark.parametrize(("st", "mx"), [("ssdp:all\r\nX: y", 2), ("", 2), ("ssdp:all", 0), ("ssdp:all", 120)])
def test_build_msearch_refuses_bad_arguments(st: str, mx: int) -> None:
    with pytest.raises(ValueError):
        upnp.build_msearch(st, mx)


@pytest.mark.parametrize(
    ("raw", "slug"),
    [(b"\x01\x02garbage", "garbage"), (b"HTTP/1.1 200 OK\r\nSERVER: \xff\r\n\r\n", "invalid-utf8"), (b"A" * 70000, "oversize")],
    ids=["binary", "bad-utf8", "oversize"],
)
def test_hostile_ssdp(raw: bytes, slug: str) -> None:
    obs = upnp.parse_ssdp(raw, probe="ssdp")
    assert obs.problem is not None and obs.problem.startswith(slug + ":")
    assert obs.fields == {}


def test_description_without_device_is_garbage() -> None:
    obs = upnp.parse_description(b'<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion/></root>', probe="ssdp")
    assert obs.problem is not None and obs.problem.startswith("garbage:")
    obs = upnp.parse_description(b"<html><body>login</body></html>", probe="ssdp")
    assert obs.problem is not None and obs.problem.startswith("garbage:")
