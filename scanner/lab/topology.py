"""The lab's network: address plan, building the namespaces, and tearing them down.

    cs-scanner (eth0 198.18.0.2) ─┐
    cs-dNNN    (segment A hosts) ──┼── brA ┐
    cs-router  (eth0 198.18.0.1) ──┘       ├ both bridges live in cs-sw
    cs-router  (eth1 198.18.1.1) ──┬── brB ┘
    cs-dNNN    (segment B hosts) ──┘

Segment B is a routed "camera VLAN": the router forwards unicast (ip_forward is set inside
cs-router only) but no multicast routing runs, and ARP stays on its own bridge. Every veth is
created inside cs-sw with its peer placed straight into the host's namespace, so no interface,
address or route ever appears in the root namespace. IPv6 is disabled in every lab namespace.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import ScanError
from .netns import PREFIX, STRAY_NETWORK, in_netns, ip_batch, lab_namespaces, write_sysctl
from .profiles import UNCONFIGURED, Profile

log = logging.getLogger("camsweep")

SWITCH_NS = PREFIX + "sw"
ROUTER_NS = PREFIX + "router"
SCANNER_NS = PREFIX + "scanner"


@dataclass(frozen=True)
class Names:
    """Namespace names of one lab. The default prefix is ``cs-``; tests run a second, throw-away
    lab under ``cs-<tag>-`` (same addresses: namespaces are separate worlds)."""

    prefix: str = PREFIX

    def __post_init__(self) -> None:
        if not self.prefix.startswith(PREFIX):
            raise ValueError(f"lab namespace prefix must start with {PREFIX!r}")

    @property
    def switch(self) -> str:
        return self.prefix + "sw"

    @property
    def router(self) -> str:
        return self.prefix + "router"

    @property
    def scanner(self) -> str:
        return self.prefix + "scanner"

    @property
    def client(self) -> str:
        """The chatty lab's NVR/VMS client host (segment A); made only with ``chatter``."""
        return self.prefix + "client"

    def device(self, index: int, width: int) -> str:
        return f"{self.prefix}d{index:0{width}d}"

    def owns(self, namespace: str) -> bool:
        """True for namespaces this lab would create (not another tagged lab's)."""
        rest = namespace[len(self.prefix):] if namespace.startswith(self.prefix) else None
        return rest is not None and (rest in ("sw", "router", "scanner", "client") or re.fullmatch(r"d\d+", rest) is not None)
FIRST_HOST = 10  # .2-.9 are kept for lab infrastructure (.1 router, .2 scanner, .3 chatty-mode client)
NARROW_LIMIT = 240  # devices per segment that fit the default /24s


@dataclass(frozen=True)
class Plan:
    """Subnets and infrastructure addresses of one lab run."""

    segment_a: str
    segment_b: str

    @property
    def net_a(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.segment_a)

    @property
    def net_b(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.segment_b)

    @property
    def router_a(self) -> str:
        return str(self.net_a.network_address + 1)

    @property
    def router_b(self) -> str:
        return str(self.net_b.network_address + 1)

    @property
    def scanner_ip(self) -> str:
        return str(self.net_a.network_address + 2)

    @property
    def client_ip(self) -> str:
        return str(self.net_a.network_address + 3)

    def network(self, segment: str) -> ipaddress.IPv4Network:
        return self.net_a if segment == "A" else self.net_b

    def gateway(self, segment: str) -> str:
        return self.router_a if segment == "A" else self.router_b

    def to_dict(self) -> dict[str, Any]:
        return {"segment_a": self.segment_a, "segment_b": self.segment_b, "router_a": self.router_a,
                "router_b": self.router_b, "scanner_ip": self.scanner_ip}


NARROW = Plan("198.18.0.0/24", "198.18.1.0/24")
WIDE = Plan("198.18.0.0/22", "198.18.8.0/22")


@dataclass(frozen=True)
class Host:
    """One emulated device placed in the lab."""

    namespace: str
    ip: str
    profile: Profile


def assign(profiles: list[Profile], names: Names = Names(), plan: Plan | None = None,
           strict: bool = True) -> tuple[Plan, list[Host]]:
    """Choose the address plan (unless given) and give every device a namespace and an IP.

    An explicit ip that does not fit its segment is an error in the /24 plan (the profile is
    wrong) and re-allocated otherwise, or when not ``strict`` (the caller moved the devices)."""
    per_segment = {s: sum(1 for p in profiles if p.segment == s) for s in ("A", "B")}
    if plan is None:
        plan = NARROW if max(per_segment.values()) <= NARROW_LIMIT else WIDE
    width = 3 if len(profiles) < 1000 else 4
    taken: set[str] = set()
    wanted: dict[int, str] = {}
    for index, profile in enumerate(profiles):
        if profile.ip is None:
            continue
        if profile.segment == "S":  # its factory address, outside both segments (checked on load)
            wanted[index] = profile.ip
            continue
        net = plan.network(profile.segment)
        address = ipaddress.IPv4Address(profile.ip)
        reserved = {net.network_address, net.broadcast_address, net.network_address + 1, net.network_address + 2}
        if address not in net or address in reserved:
            if plan is NARROW and strict:
                raise ScanError(f"{profile.path}: ip {profile.ip} is not a free address of segment {profile.segment} ({net})")
            log.info("lab: %s: ip %s re-allocated in the lab's address plan", profile.name, profile.ip)
            continue
        if profile.ip in taken:
            raise ScanError(f"{profile.path}: ip {profile.ip} is used by another profile")
        taken.add(profile.ip)
        wanted[index] = profile.ip
    cursors = {s: plan.network(s).network_address + FIRST_HOST for s in ("A", "B")}
    hosts = []
    for index, profile in enumerate(profiles):
        chosen = wanted.get(index)
        if chosen is None:
            net = plan.network(profile.segment)
            while str(cursors[profile.segment]) in taken:
                cursors[profile.segment] += 1
            if cursors[profile.segment] >= net.broadcast_address:
                raise ScanError(f"segment {profile.segment} ({net}) is full")
            chosen = str(cursors[profile.segment])
            taken.add(chosen)
        hosts.append(Host(names.device(index + 1, width), chosen, profile))
    return plan, hosts


def _configure_sysctls(namespaces: list[str], router: str) -> None:
    """IPv6 off everywhere, forwarding on in the router only (a thread: setns is per thread)."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            for name in namespaces:
                with in_netns(name):
                    write_sysctl("net.ipv6.conf.all.disable_ipv6", "1")
                    write_sysctl("net.ipv6.conf.default.disable_ipv6", "1")
                    if name == router:
                        write_sysctl("net.ipv4.ip_forward", "1")
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=work, name="lab-sysctl")
    worker.start()
    worker.join()
    if failure:
        raise ScanError(f"lab: configuring namespaces failed: {failure[0]}")


def build(plan: Plan, hosts: list[Host], names: Names, created: list[str], *, chatty: bool = False) -> None:
    """Create the namespaces, bridges, links, addresses and routes.

    ``created`` receives every namespace name this call may have made (before it makes them), so
    the caller can tear down exactly those on any failure, even halfway. ``chatty`` adds the client
    namespace and makes segment A's bridge learn no addresses, so it floods every frame to every
    port -- the scanner's port then sees what a switch mirror (SPAN) port would.
    """
    leftovers = [n for n in lab_namespaces() if names.owns(n)]
    if leftovers:
        raise ScanError(f"lab namespaces already exist ({', '.join(leftovers[:3])}...); run `camsweep lab down`")
    infra = [names.switch, names.router, names.scanner] + ([names.client] if chatty else [])
    namespaces = infra + [h.namespace for h in hosts]
    created.extend(namespaces)
    ip_batch([f"netns add {name}" for name in namespaces])
    _configure_sysctls(namespaces, names.router)

    a_len, b_len = plan.net_a.prefixlen, plan.net_b.prefixlen
    switch = [
        "link add brA type bridge mcast_snooping 0", "link set brA up",
        "link add brB type bridge mcast_snooping 0", "link set brB up",
        f"link add p-scanner type veth peer name eth0 netns {names.scanner}",
        f"link add p-routerA type veth peer name eth0 netns {names.router}",
        f"link add p-routerB type veth peer name eth1 netns {names.router}",
        "link set p-scanner master brA", "link set p-routerA master brA", "link set p-routerB master brB",
        "link set p-scanner up", "link set p-routerA up", "link set p-routerB up",
    ]
    segment_a_ports = ["p-scanner", "p-routerA"]
    if chatty:
        switch += [f"link add p-client type veth peer name eth0 netns {names.client}",
                   "link set p-client master brA", "link set p-client up"]
        segment_a_ports.append("p-client")
    for host in hosts:
        port = "p-" + host.namespace[len(names.prefix):]
        bridge = "brB" if host.profile.segment == "B" else "brA"
        switch += [f"link add {port} type veth peer name eth0 netns {host.namespace}",
                   f"link set {port} master {bridge}", f"link set {port} up"]
        if bridge == "brA":
            segment_a_ports.append(port)
    if chatty:  # no learned address: unknown unicast is flooded, so every port hears everything
        switch += [f"link set dev {port} type bridge_slave learning off" for port in segment_a_ports]
    ip_batch(switch, netns=names.switch)

    ip_batch(["link set lo up", f"addr add {plan.scanner_ip}/{a_len} dev eth0", "link set eth0 up",
              f"route add {plan.segment_b} via {plan.router_a}", "route add 224.0.0.0/4 dev eth0"],
             netns=names.scanner)
    if chatty:
        ip_batch(["link set lo up", f"addr add {plan.client_ip}/{a_len} dev eth0", "link set eth0 up",
                  f"route add {plan.segment_b} via {plan.router_a}"], netns=names.client)
    ip_batch(["link set lo up", f"addr add {plan.router_a}/{a_len} dev eth0",
              f"addr add {plan.router_b}/{b_len} dev eth1", "link set eth0 up", "link set eth1 up"],
             netns=names.router)
    for host in hosts:
        segment = host.profile.segment
        if segment == "S":  # a stray: its own address (or none) on A's wire, no gateway
            address = [] if host.ip == UNCONFIGURED else [f"addr add {host.ip}/{STRAY_NETWORK.prefixlen} dev eth0"]
            ip_batch(["link set lo up", f"link set eth0 address {host.profile.mac}", *address, "link set eth0 up",
                      "route add 224.0.0.0/4 dev eth0"], netns=host.namespace)
            continue
        prefix = a_len if segment == "A" else b_len
        ip_batch(["link set lo up", f"link set eth0 address {host.profile.mac}",
                  f"addr add {host.ip}/{prefix} dev eth0", "link set eth0 up",
                  f"route add default via {plan.gateway(segment)}", "route add 224.0.0.0/4 dev eth0"],
                 netns=host.namespace)


def destroy(namespaces: list[str]) -> None:
    """Delete lab namespaces (their veths and bridges go with them). Only ``cs-`` names."""
    names = [n for n in namespaces if n.startswith(PREFIX)]
    if not names:
        return
    try:
        ip_batch([f"netns del {name}" for name in names])
    except ScanError:
        # One already gone must not keep the others: fall back to one by one.
        from .netns import ip
        for name in names:
            ip(["netns", "del", name], check=False)
