"""DHCP codec: real DISCOVER bytes (dpkt's test capture), options form, hostile payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from camsweep.models import ArtefactKind
from camsweep.protocols import dhcp

REPLIES = Path(__file__).parent / "fixtures" / "replies"
DISCOVER = bytes.fromhex((REPLIES / "dhcp_discover_msft50.hex").read_text().strip())


def test_real_discover_packet() -> None:
    obs = dhcp.parse_packet(DISCOVER, probe="dhcp")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.DHCP_OPTIONS
    assert obs.mac == "00:02:55:82:f3:a6"  # from chaddr
    assert obs.ip is None  # ciaddr is 0.0.0.0 in a DISCOVER
    assert obs.fields["dhcp.hostname"] == "Guinevere"
    assert obs.fields["dhcp.vendor_class"] == "MSFT 5.0"
    assert obs.fields["dhcp.param_list"] == "1,15,3,6,44,46,47,31,33,43"
    assert obs.fields["dhcp.message_type"] == "DISCOVER"
    assert obs.fields["dhcp.requested_ip"] == "10.0.1.101"


def test_server_reply_is_not_a_client_message() -> None:
    reply = b"\x02" + DISCOVER[1:]
    obs = dhcp.parse_packet(reply, probe="dhcp")
    assert obs.problem is not None and obs.problem.startswith("not-a-request:")
    assert obs.fields == {}


@pytest.mark.parametrize(
    ("payload", "slug"),
    [(b"", "garbage"), (b"\x01" * 100, "garbage"), (DISCOVER[:236] + b"XXXX" + DISCOVER[240:], "garbage"),
     (b"\x00" * 70000, "oversize")],
    ids=["empty", "short", "no-magic", "oversize"],
)
def test_hostile_payloads(payload: bytes, slug: str) -> None:
    obs = dhcp.parse_packet(payload, probe="dhcp", ip="198.18.0.50")
    assert obs.problem is not None and obs.problem.startswith(slug + ":"), obs.problem
    assert obs.fields == {}
    assert obs.ip == "198.18.0.50"


def test_options_cut_short_keep_what_decodes() -> None:
    # Cut inside option 251: the message type before it is still read, nothing is invented.
    obs = dhcp.parse_packet(DISCOVER[:245], probe="dhcp")
    assert obs.problem is None
    assert dict(obs.fields) == {"dhcp.message_type": "DISCOVER"}
    assert obs.mac == "00:02:55:82:f3:a6"


def test_from_options_forms() -> None:
    # Synthetic values: this checks the options form only.
    obs = dhcp.from_options(hostname=b"host-a\x00", vendor_class="vendor-x 1.0",
                            param_list=[1, 3, 6, 12, 15], probe="input", mac="02:00:00:00:00:01")
    assert obs.problem is None
    assert obs.mac == "02:00:00:00:00:01"
    assert obs.fields == {
        "dhcp.hostname": "host-a",
        "dhcp.vendor_class": "vendor-x 1.0",
        "dhcp.param_list": "1,3,6,12,15",
    }
    assert dhcp.from_options(hostname=None, vendor_class=None, param_list=b"\x01\x03\x06", probe="x").fields == {
        "dhcp.param_list": "1,3,6"
    }
    assert dhcp.from_options(hostname=None, vendor_class=None, param_list="1, 3,x,6", probe="x").fields[
        "dhcp.param_list"
    ] == "1,3,6"
    empty = dhcp.from_options(hostname="", vendor_class=None, param_list=None, probe="x")
    assert empty.problem is not None and empty.fields == {}
