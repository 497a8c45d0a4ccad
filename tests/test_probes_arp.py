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
        self.received = 0
        self.sent: list[object] = []

    def fileno(self) -> int:
        return self._ours.fileno()

    def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int, int, int, bytes]]:
        self.received += 1
        return b"noise", ("eth-test", 0x0806, 0, 1, b"")  # a frame too short to be ARP

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
    monkeypatch.setattr(arp_module, "open_arp_socket", lambda iface: (flood, "02:00:00:00:00:01"))
    config = ScanConfig(interface="eth-test", read_timeout=0.2)
    found: list[object] = []
    ctx = ProbeContext(config=config, emit=found.append, cancelled=threading.Event(), in_scope=lambda ip: True)

    arp_module.ArpProbe(config).discover(ctx)  # before: looped for as long as frames kept coming

    assert found == []
    assert len(flood.sent) == 2 * 5  # .1 and .3-.6, asked twice (the retry round), then done
    assert flood.received > 0
