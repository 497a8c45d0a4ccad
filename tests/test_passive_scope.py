"""With targets, passive analysis reports no host outside them -- DHCP clients included."""

from __future__ import annotations

import dpkt

from camsweep.passive.decode import Packet
from camsweep.passive.signals import Analyser


def _dhcp_request(requested: bytes) -> bytes:
    message = dpkt.dhcp.DHCP(
        op=dpkt.dhcp.DHCP_OP_REQUEST, chaddr=bytes.fromhex("001122334455"),
        opts=[(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([dpkt.dhcp.DHCPREQUEST])),
              (dpkt.dhcp.DHCP_OPT_REQ_IP, requested),
              (dpkt.dhcp.DHCP_OPT_HOSTNAME, b"cam-lobby")],
    )
    return bytes(message)


def _packet(payload: bytes) -> Packet:
    return Packet(bytes.fromhex("001122334455"), b"\xff" * 6, "0.0.0.0", "255.255.255.255", 17, 68, 67, 0, 0,
                  payload, True)


def _scope(ip: str) -> bool:
    return ip.startswith("198.18.0.")


def test_dhcp_client_outside_the_targets_is_dropped() -> None:
    analyser = Analyser(_scope)
    analyser.feed(0.0, _packet(_dhcp_request(bytes([10, 9, 9, 9]))))
    assert analyser.observations() == []


def test_dhcp_client_inside_the_targets_is_kept() -> None:
    analyser = Analyser(_scope)
    analyser.feed(0.0, _packet(_dhcp_request(bytes([198, 18, 0, 44]))))
    [obs] = analyser.observations()
    assert obs.mac == "00:11:22:33:44:55" and obs.fields["dhcp.requested_ip"] == "198.18.0.44"


def test_without_targets_every_dhcp_client_is_kept() -> None:
    analyser = Analyser()
    analyser.feed(0.0, _packet(_dhcp_request(bytes([10, 9, 9, 9]))))
    assert [o.fields["dhcp.requested_ip"] for o in analyser.observations()] == ["10.9.9.9"]
