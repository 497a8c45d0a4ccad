"""Merge observations into devices: one device per host, keyed by MAC where known, else by IP."""

from __future__ import annotations

import ipaddress
from typing import Iterable

from .models import ArtefactKind, Device, Observation

_HOSTNAME_FIELDS = ("dhcp.hostname", "mdns.server", "hostname.name")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _ip_sort_key(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)
    return (addr.version, int(addr))


def merge(observations: Iterable[Observation]) -> list[Device]:
    """Group observations into devices.

    An observation carrying both an IP and a MAC links them, so observations made earlier by IP
    alone join the device once any probe learns its MAC (e.g. a routed camera whose MAC only
    ONVIF or SADP reveals). Observations with neither address are dropped: they cannot be placed.
    """
    obs = [o for o in observations if o.ip or o.mac]
    uf = _UnionFind()
    for o in obs:
        nodes = [f"mac:{o.mac}"] if o.mac else []
        if o.ip:
            nodes.append(f"ip:{o.ip}")
        for node in nodes:
            uf.find(node)
        if len(nodes) == 2:
            uf.union(nodes[0], nodes[1])

    groups: dict[str, list[Observation]] = {}
    for o in obs:
        node = f"mac:{o.mac}" if o.mac else f"ip:{o.ip}"
        groups.setdefault(uf.find(node), []).append(o)

    devices = [_device(group) for group in groups.values()]
    devices.sort(key=lambda d: (_ip_sort_key(d.ips[0]) if d.ips else (9, 0), d.key))
    return devices


def _device(group: list[Observation]) -> Device:
    group.sort(key=lambda o: o.time)
    macs = sorted({o.mac for o in group if o.mac})
    ips = sorted({o.ip for o in group if o.ip}, key=_ip_sort_key)
    hostnames = sorted(
        {o.fields[k].rstrip(".") for o in group for k in _HOSTNAME_FIELDS if k in o.fields}
    )
    ports = sorted(
        {
            o.port
            for o in group
            if o.port and o.kind is ArtefactKind.OPEN_PORT and o.fields.get("port.protocol", "tcp") == "tcp"
        }
        | {
            o.port
            for o in group
            if o.port and o.problem is None and o.kind in (ArtefactKind.HTTP_RESPONSE, ArtefactKind.RTSP_BANNER, ArtefactKind.TLS_CERTIFICATE)
        }
    )
    key = macs[0] if macs else ips[0]
    return Device(
        key=key,
        macs=tuple(macs),
        ips=tuple(ips),
        hostnames=tuple(hostnames),
        open_ports=tuple(ports),
        observations=tuple(group),
    )
