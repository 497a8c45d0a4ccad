"""A unit without an address (factory state) speaks from 0.0.0.0: passive analysis knows it by its
MAC, as the scan does, and two such units are two devices. Before, both were keyed by 0.0.0.0 and
the second unit's announcement was taken for a repeat of the first's: the unit was lost. With
targets such a unit is in none of them and is left out, as every host outside them is.

The SADP payload is a real DS-2CD2385G1-I reply (tests/fixtures/replies/sadp_probematch_ds-2cd2385g1-i.xml,
cited in its .source file); the frames around it are built with scapy and read back through the
whole capture path, with tcpdump's BPF prefilter and without."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from camsweep.passive import analyse_capture

SADP = (Path(__file__).parent / "fixtures" / "replies" / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()


def sadp_to_group(src_ip: str, mac: str) -> Ether:
    return (Ether(src=mac, dst="01:00:5e:7f:ff:fa") / IP(src=src_ip, dst="239.255.255.250")
            / UDP(sport=37020, dport=37020) / SADP)


@pytest.mark.parametrize("prefilter", [True, False])
def test_units_without_an_address_are_devices_of_their_own_known_by_mac(tmp_path: Path, prefilter: bool) -> None:
    path = tmp_path / "site.pcap"
    wrpcap(str(path), [sadp_to_group("0.0.0.0", "58:50:ed:1f:e3:98"), sadp_to_group("0.0.0.0", "58:50:ed:1f:e3:99"),
                       sadp_to_group("198.18.0.20", "58:50:ed:00:00:20")])

    everything = analyse_capture(str(path), prefilter=prefilter)
    assert sorted((d.device.ips, d.device.macs) for d in everything.devices) == [
        ((), ("58:50:ed:1f:e3:98",)), ((), ("58:50:ed:1f:e3:99",)), (("198.18.0.20",), ("58:50:ed:00:00:20",))]
    for item in everything.devices:
        assert item.verdict.manufacturer.value == "hikvision" and item.verdict.model == "DS-2CD2385G1-I"

    scoped = analyse_capture(str(path), targets=["198.18.0.0/24"], prefilter=prefilter)
    assert [(d.device.ips, d.device.macs) for d in scoped.devices] == [(("198.18.0.20",), ("58:50:ed:00:00:20",))]
