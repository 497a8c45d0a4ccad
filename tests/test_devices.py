"""Observations merge into devices by MAC where known, else by IP."""

from camsweep.devices import merge
from camsweep.models import ArtefactKind, Observation


def obs(kind, ip=None, mac=None, port=None, **fields):
    return Observation.make("t", kind, ip=ip, mac=mac, port=port, fields=fields)


def test_later_mac_joins_earlier_ip_only_observations():
    devices = merge([
        obs(ArtefactKind.OPEN_PORT, ip="198.18.1.20", port=80, **{"port.number": 80}),
        obs(ArtefactKind.HTTP_RESPONSE, ip="198.18.1.20", port=80, **{"http.status": 200}),
        obs(ArtefactKind.SADP_REPLY, ip="198.18.1.20", mac="58:50:ed:00:00:01"),
    ])
    assert len(devices) == 1
    d = devices[0]
    assert d.key == "58:50:ed:00:00:01"
    assert d.ips == ("198.18.1.20",)
    assert d.open_ports == (80,)
    assert len(d.observations) == 3


def test_one_device_with_two_addresses_via_mac():
    devices = merge([
        obs(ArtefactKind.MAC_ADDRESS, ip="198.18.0.20", mac="58:50:ed:00:00:01"),
        obs(ArtefactKind.DHCP_OPTIONS, ip="198.18.0.99", mac="58:50:ed:00:00:01", **{"dhcp.hostname": "cam1"}),
    ])
    assert len(devices) == 1
    assert devices[0].ips == ("198.18.0.20", "198.18.0.99")
    assert devices[0].hostnames == ("cam1",)


def test_distinct_hosts_stay_apart_and_sort_by_ip():
    devices = merge([
        obs(ArtefactKind.OPEN_PORT, ip="198.18.0.100", port=22),
        obs(ArtefactKind.OPEN_PORT, ip="198.18.0.9", port=22),
        obs(ArtefactKind.MAC_ADDRESS),  # no address at all: cannot be placed
    ])
    assert [d.ip for d in devices] == ["198.18.0.9", "198.18.0.100"]


def test_a_self_reported_mac_that_arp_contradicts_does_not_merge_two_hosts():
    victim, liar = "58:50:ed:00:00:01", "02:00:00:00:00:66"
    devices = merge([
        obs(ArtefactKind.MAC_ADDRESS, ip="198.18.0.20", mac=victim),
        obs(ArtefactKind.MAC_ADDRESS, ip="198.18.0.66", mac=liar),
        # the device at .66 answers SADP claiming the camera's MAC
        obs(ArtefactKind.SADP_REPLY, ip="198.18.0.66", mac=victim),
    ])
    assert [d.ips for d in devices] == [("198.18.0.20",), ("198.18.0.66",)]
    liar_device = devices[1]
    assert liar_device.key == liar and liar_device.macs == (liar, victim)  # the claim stays visible
    assert len(devices[0].observations) == 1


def test_a_routed_device_still_gets_its_mac_from_its_own_reply():
    devices = merge([
        obs(ArtefactKind.OPEN_PORT, ip="198.18.1.20", port=80),
        obs(ArtefactKind.SADP_REPLY, ip="198.18.1.20", mac="58:50:ed:00:00:09"),
    ])
    assert len(devices) == 1 and devices[0].key == "58:50:ed:00:00:09"
