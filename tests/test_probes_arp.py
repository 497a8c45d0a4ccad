"""The ARP sweep ends on a segment whose ARP chatter never stops (nothing real is sent: a fake socket)."""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest

from camsweep.config import ScanConfig
from camsweep.probes import ProbeContext
from camsweep.probes import arp as arp_module
from camsweep.probes._udp import InterfaceAddress


class FloodSocket:
    """Always readable (a byte waits on a socketpair and is never consumed); every frame is noise."""

    def __init__(self) -> None:
        self._ours, self._peer = socket.socketpair()
        self._peer.send(b"x")
        self.ins = None
        self.received = 0
        self.sent: list[object] = []

    def fileno(self) -> int:
        return self._ours.fileno()

    def recv(self, size: int) -> bytes:
        self.received += 1
        return b"noise"  # not an ARP reply

    def send(self, packet: object) -> None:
        self.sent.append(packet)

    def close(self) -> None:
        self._ours.close()
        self._peer.close()


@pytest.mark.timeout(60)
def test_sweep_finishes_while_frames_keep_arriving(monkeypatch: pytest.MonkeyPatch) -> None:
    flood = FloodSocket()
    address = InterfaceAddress("eth-test", "198.18.0.2", ipaddress.IPv4Network("198.18.0.0/29"))
    monkeypatch.setattr(arp_module, "interface_addresses", lambda name: [address])
    monkeypatch.setattr(arp_module, "open_arp_socket", lambda iface: (flood, b"\x02\0\0\0\0\x01"))
    config = ScanConfig(interface="eth-test", read_timeout=0.2)
    found: list[object] = []
    ctx = ProbeContext(config=config, emit=found.append, cancelled=threading.Event(), in_scope=lambda ip: True)

    arp_module.ArpProbe(config).discover(ctx)  # before: looped for as long as frames kept coming

    assert found == []
    assert len(flood.sent) == 2 * 5  # .1 and .3-.6, asked twice (the retry round), then done
    assert flood.received > 0


def test_frames_are_what_scapy_builds_and_replies_read_back() -> None:
    """The struct-built request is byte for byte scapy's; a reply scapy builds reads back (scapy is
    the reference encoder here: the sweep no longer builds or dissects frames with it, for speed)."""
    from scapy.layers.l2 import ARP, Ether

    own = "02:00:00:00:00:01"
    scapy_request = Ether(dst="ff:ff:ff:ff:ff:ff", src=own) / ARP(op=1, hwsrc=own, psrc="198.18.0.2",
                                                                  pdst="198.18.0.21")
    assert arp_module.arp_request(bytes.fromhex(own.replace(":", "")), "198.18.0.2", "198.18.0.21") == bytes(scapy_request)
    reply = Ether(dst=own, src="58:50:ed:1f:e4:12") / ARP(op=2, hwsrc="58:50:ed:1f:e4:12", psrc="198.18.0.21",
                                                          hwdst=own, pdst="198.18.0.2")
    assert arp_module.parse_arp_reply(bytes(reply)) == ("198.18.0.21", "58:50:ed:1f:e4:12")
    assert arp_module.parse_arp_reply(bytes(scapy_request)) is None  # a request, not a reply
    assert arp_module.parse_arp_reply(bytes(reply)[:41]) is None  # cut short


@pytest.mark.timeout(60)
@pytest.mark.parametrize("limit", [4, 5])
def test_addresses_asked_only_once_are_counted_in_the_notes(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Above RETRY_LIMIT silent addresses there is no second round, and nothing else asks on-link
    addresses (the ports sweep leaves them to ARP): the notes say how many were asked once."""
    flood = FloodSocket()
    address = InterfaceAddress("eth-test", "198.18.0.2", ipaddress.IPv4Network("198.18.0.0/29"))
    monkeypatch.setattr(arp_module, "interface_addresses", lambda name: [address])
    monkeypatch.setattr(arp_module, "open_arp_socket", lambda iface: (flood, b"\x02\0\0\0\0\x01"))
    monkeypatch.setattr(arp_module, "RETRY_LIMIT", limit)
    notes: list[str] = []
    config = ScanConfig(interface="eth-test", read_timeout=0.2)
    ctx = ProbeContext(config=config, emit=lambda o: None, cancelled=threading.Event(), in_scope=lambda ip: True,
                       note=notes.append)

    arp_module.ArpProbe(config).discover(ctx)

    if limit < 5:  # 5 silent addresses, more than the limit: asked once, and said so
        assert len(flood.sent) == 5
        assert notes == [arp_module.asked_once_note(5, 5)]
        assert notes[0].startswith("arp: 5 of 5 on-link addresses stayed silent and were asked only once")
        assert f"at most {limit:,} addresses" in notes[0]
    else:
        assert len(flood.sent) == 10 and notes == []
