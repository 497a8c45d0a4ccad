"""Scan targets: parse CIDRs, ranges, hosts and hostnames; refuse public space; bound the size.

Everything here is decided before a single packet leaves: a bad target, a public range without
``allow_public`` or a range too big to scan raises ``UsageError`` with one clear line.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .errors import UsageError

MAX_HOSTS = 65536
"""Default upper bound on the addresses one scan may touch (a /16)."""

IPv4Net = ipaddress.IPv4Network
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT: not public, not "private"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
_RANGE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})-(\d{1,3}(?:\.\d{1,3}){3}|\d{1,3})$")

Resolver = Callable[[str], list[str]]


def resolve_hostname(name: str) -> list[str]:
    """IPv4 addresses of ``name`` via the system resolver (may send a DNS query)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"target {name!r}: cannot resolve host name ({exc})") from None
    return sorted({str(info[4][0]) for info in infos})


def is_public(net: IPv4Net) -> bool:
    """True unless the whole network lies in private, loopback, link-local, CGNAT or test space."""
    if net.is_private or net.is_loopback or net.is_link_local or net.subnet_of(_SHARED):
        return False
    # 198.18.0.0/15 (benchmarking) and the documentation nets are `is_private` in Python; a
    # network straddling private and public space (e.g. 0.0.0.0/0) is public.
    return True


_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")


def _not_a_host_address(net: IPv4Net) -> str | None:
    """Why ``net`` cannot hold scannable hosts, or None.

    Python counts 0.0.0.0/8, 240.0.0.0/4 and 255.255.255.255 as ``is_private``, so without this
    they would pass the public-space check: 0.0.0.0 connects to this machine itself, and
    255.255.255.255 and multicast groups are not single hosts (a unicast probe there is a
    broadcast). Refused even with --allow-public.
    """
    if net.overlaps(_THIS_NETWORK):
        return "'this network' (0.0.0.0/8: it means this machine)"
    if net.is_multicast or net.overlaps(ipaddress.IPv4Network("224.0.0.0/4")):
        return "multicast space"
    if net.overlaps(ipaddress.IPv4Network("240.0.0.0/4")):
        return "reserved or broadcast space (240.0.0.0/4, 255.255.255.255)"
    return None


def _parse_range(text: str, first: str, last: str, what: str) -> list[IPv4Net]:
    try:
        start = ipaddress.IPv4Address(first)
        end = ipaddress.IPv4Address(last if "." in last else first.rsplit(".", 1)[0] + "." + last)
    except ValueError:
        raise UsageError(f"{what} {text!r}: not a valid address range") from None
    if end < start:
        raise UsageError(f"{what} {text!r}: range ends before it starts")
    return list(ipaddress.summarize_address_range(start, end))


def _shape_problem(item: str) -> str | None:
    """What is wrong with a target that is no network, range or host name, said precisely."""
    if "," in item:
        return "several targets joined by commas; separate them with spaces (or one per line in an -iL file)"
    address, slash, prefix = item.partition("/")
    if slash:
        if not prefix.isdigit():
            return f"prefix length {prefix!r} is not a number"
        if int(prefix) > 32:
            return f"prefix length {int(prefix)} is over 32"
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            return f"{address!r} is not an IPv4 address"
    return None


def parse_target(text: str, resolve: Resolver = resolve_hostname, what: str = "target") -> list[IPv4Net]:
    """One target -> the IPv4 networks it covers (a host is a /32). ``what`` names it in errors."""
    item = text.strip()
    if not item:
        raise UsageError(f"empty {what}")
    match = _RANGE.match(item)
    if match:
        return _parse_range(item, match.group(1), match.group(2), what)
    try:
        net = ipaddress.ip_network(item, strict=False)
    except ValueError:
        net = None
    if net is not None:
        if net.version != 4:
            raise UsageError(f"{what} {item!r}: IPv6 targets are not supported")
        return [net]  # type: ignore[list-item]
    problem = _shape_problem(item)
    if problem:
        raise UsageError(f"{what} {item!r}: {problem}")
    if "/" in item or not _HOSTNAME.match(item) or item.replace(".", "").isdigit():
        raise UsageError(f"{what} {item!r}: not a CIDR, range (a.b.c.d-e), address or host name")
    addresses = resolve(item)
    if not addresses:
        raise UsageError(f"target {item!r}: host name has no IPv4 address")
    return [ipaddress.ip_network(f"{a}/32") for a in addresses]  # type: ignore[misc]


def _hosts(net: IPv4Net) -> Iterator[ipaddress.IPv4Address]:
    """Scannable addresses: a subnet's network and broadcast addresses are left out."""
    return iter(net) if net.prefixlen >= 31 else net.hosts()


def _count(net: IPv4Net) -> int:
    return net.num_addresses if net.prefixlen >= 31 else net.num_addresses - 2


def _excluded_hosts(net: IPv4Net, cut: IPv4Net) -> int:
    """How many of ``net``'s scannable addresses lie in ``cut`` (CIDRs nest or are apart)."""
    if not net.overlaps(cut):
        return 0
    if net.subnet_of(cut):
        return _count(net)
    edges = 0 if net.prefixlen >= 31 else (net.network_address in cut) + (net.broadcast_address in cut)
    return cut.num_addresses - edges


@dataclass(frozen=True)
class Targets:
    """The expanded scan scope: ``networks`` less the ``excluded`` ones (``--exclude``)."""

    specs: tuple[str, ...]
    networks: tuple[IPv4Net, ...]
    count: int
    excluded: tuple[IPv4Net, ...] = ()

    def _left_out(self, addr: ipaddress.IPv4Address) -> bool:
        return any(addr in net for net in self.excluded)

    def hosts(self) -> Iterator[str]:
        """Every address to scan, each once, in order."""
        seen: set[int] = set()
        for net in self.networks:
            for addr in _hosts(net):
                if int(addr) not in seen and not self._left_out(addr):
                    seen.add(int(addr))
                    yield str(addr)

    def contains(self, ip: str | None) -> bool:
        if not ip:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        # no networks: a passive scope given only exclusions (``scope``) keeps every other host
        return (not self.networks or any(addr in net for net in self.networks)) and not (
            isinstance(addr, ipaddress.IPv4Address) and self._left_out(addr))


def expand(
    specs: Iterable[str],
    *,
    exclude: Iterable[str] = (),
    allow_public: bool = False,
    max_hosts: int = MAX_HOSTS,
    resolve: Resolver = resolve_hostname,
) -> Targets:
    """Parse, check and bound the targets, less ``exclude`` (CIDRs, ranges, hosts, host names).
    Raises UsageError; sends nothing but DNS for names."""
    spec_list = tuple(s for s in specs)
    if not spec_list:
        raise UsageError("no targets to scan")
    networks: list[IPv4Net] = []
    for spec in spec_list:
        for net in parse_target(spec, resolve):
            if is_public(net) and not allow_public:
                raise UsageError(
                    f"target {spec!r} ({net}) is public address space; scanning it needs --allow-public"
                )
            unusable = _not_a_host_address(net)
            if unusable:
                raise UsageError(f"target {spec!r} ({net}) is {unusable}, not hosts to scan")
            networks.append(net)
    excluded = tuple(ipaddress.collapse_addresses(
        net for item in exclude for net in parse_target(item, resolve, what="--exclude")))
    collapsed = tuple(ipaddress.collapse_addresses(networks))
    # Count on the nets as given (a /24 leaves out its network/broadcast addresses)
    total = sum(_count(n) - sum(_excluded_hosts(n, cut) for cut in excluded) for n in collapsed)
    if total > max_hosts:
        raise UsageError(
            f"targets cover {total} addresses, more than the limit of {max_hosts}; "
            "scan smaller ranges (e.g. one /16 at a time)"
        )
    if total == 0:
        raise UsageError("--exclude leaves no address of the targets to scan")
    return Targets(spec_list, tuple(networks), total, excluded)


def _no_lookup(name: str) -> list[str]:
    raise UsageError(f"target {name!r}: a host name is not looked up for a run that sends nothing; "
                     "give its address")


def scope(specs: Iterable[str], *, exclude: Iterable[str] = ()) -> Targets | None:
    """The hosts a passive run keeps (``listen --only``, ``scan --pcap TARGETS``, with ``-iL``
    and ``--exclude``), or None for every host. Parsed and refused in the same words as scan
    targets, but nothing is sent to them: public space and the size bound do not apply, and a host
    name is refused rather than resolved (resolving would send a DNS query)."""
    spec_list = tuple(specs)
    excluded = tuple(ipaddress.collapse_addresses(
        net for item in exclude for net in parse_target(item, _no_lookup, what="--exclude")))
    if not spec_list and not excluded:
        return None
    networks = tuple(net for spec in spec_list for net in parse_target(spec, _no_lookup))
    return Targets(spec_list, networks, 0, excluded)
