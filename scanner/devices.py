"""Merge observations into devices: one device per host, keyed by MAC where known, else by IP."""

from __future__ import annotations

import ipaddress
from typing import Iterable

from .models import ArtefactKind, Device, Observation, normalize_ip

_HOSTNAME_FIELDS = ("dhcp.hostname", "mdns.server", "hostname.name", "asset.record")
"""Fields that name a host; a register row (``camsweep check``) is named by its ``file:line``."""


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
    ONVIF or SADP reveals). Observations with neither address are dropped: they cannot be placed,
    except a register row (``asset.record``, ``camsweep check``), which is a device of its own.
    """
    observations = list(observations)
    records = [o for o in observations if not (o.ip or o.mac) and "asset.record" in o.fields]
    obs = [o for o in observations if o.ip or o.mac]
    seen_on_wire = _layer2_macs(obs)
    uf = _UnionFind()
    links: list[str] = []
    for o in obs:
        mac = _linking_mac(o, seen_on_wire)
        nodes = [f"mac:{mac}"] if mac else []
        if o.ip:
            nodes.append(f"ip:{o.ip}")
        for node in nodes:
            uf.find(node)
        if len(nodes) == 2:
            uf.union(nodes[0], nodes[1])
        links.append(nodes[0])

    groups: dict[str, list[Observation]] = {}
    for o, node in zip(obs, links):
        groups.setdefault(uf.find(node), []).append(o)

    devices = [_device(group, seen_on_wire) for group in groups.values()]
    devices.extend(
        # A register row's IP column says where the unit should be (``diff`` matches it with a
        # scan by model and IP); the row is not merged with others at that address.
        Device(key=f"record:{o.fields['asset.record']}", hostnames=(o.fields["asset.record"],), observations=(o,),
               ips=(o.fields["asset.ip"],) if normalize_ip(o.fields.get("asset.ip")) else ())
        for o in records
    )
    devices.sort(key=lambda d: (_ip_sort_key(d.ips[0]) if d.ips else (9, 0), d.key))
    return devices


def _layer2_macs(obs: list[Observation]) -> dict[str, set[str]]:
    """MACs seen answering for an IP at layer 2 (ARP, the neighbour table)."""
    seen: dict[str, set[str]] = {}
    for o in obs:
        if o.kind is ArtefactKind.MAC_ADDRESS and o.ip and o.mac:
            seen.setdefault(o.ip, set()).add(o.mac)
    return seen


def _linking_mac(o: Observation, seen_on_wire: dict[str, set[str]]) -> str | None:
    """The MAC that places this observation, or None to place it by IP.

    A MAC a device reports about itself (SADP, DHIP, ONVIF) fills in a routed device's MAC, but
    where ARP already says which MAC answers for that IP, a different self-reported MAC must not
    pull this IP into another device: a hostile device could claim its neighbour's MAC.
    """
    if not o.mac or not o.ip or o.kind is ArtefactKind.MAC_ADDRESS:
        return o.mac
    wire = seen_on_wire.get(o.ip)
    if wire and o.mac not in wire:
        return None
    return o.mac


def _device(group: list[Observation], seen_on_wire: dict[str, set[str]] | None = None) -> Device:
    group.sort(key=lambda o: o.time)
    # Per distinct IP, not per observation: one IP claimed by N MACs has N observations that all
    # name it, and a union per observation made this step quadratic (issue 19).
    distinct_ips = {o.ip for o in group if o.ip}
    wire = set().union(*((seen_on_wire or {}).get(ip, set()) for ip in distinct_ips))
    group_macs = {o.mac for o in group if o.mac}
    macs = sorted(wire & group_macs) + sorted(group_macs - wire)
    ips = sorted(distinct_ips, key=_ip_sort_key)
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
            if o.port and o.usable and o.kind in (ArtefactKind.HTTP_RESPONSE, ArtefactKind.RTSP_BANNER, ArtefactKind.TLS_CERTIFICATE)
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
