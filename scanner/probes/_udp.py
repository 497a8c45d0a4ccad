"""Sockets for the discovery probes: always on the scanner's interface, every read bounded.

Every discovery probe needs the same three things: the chosen interface's IPv4 address (never
the default interface), a UDP socket bound to that address that sends multicast out of that
interface only (TTL 1, no loopback of our own packets), and a receive loop bounded in size, in
time and by the scan's cancel flag. This module gives exactly those and nothing protocol-specific.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import ipaddress
import json
import logging
import selectors
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from ..config import ScanConfig
from ..errors import ScanError, UsageError
from ..models import ArtefactKind, Observation
from ..passive.capture import LINKTYPE_RAW
from ..passive.decode import UDP, Defragmenter, decode
from . import HostInfo, Probe, ProbeContext

log = logging.getLogger("camsweep")

MAX_DATAGRAM = 64 * 1024
"""Bytes read at most per datagram (a UDP payload cannot be larger anyway)."""

RECEIVE_BUFFER = 4 * 1024 * 1024
"""Socket receive buffer asked for: a multicast request makes every device answer at once
(WS-Discovery answers are several KiB each), and the kernel drops what does not fit."""

POLL_SLICE = 0.1
"""Seconds between checks of the cancel flag while waiting for replies."""

_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)
_IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
_MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)


@dataclass(frozen=True)
class InterfaceAddress:
    """One IPv4 address of the scanner's interface."""

    name: str
    ip: str
    network: ipaddress.IPv4Network

    @property
    def broadcast(self) -> str:
        return str(self.network.broadcast_address)


def interface_addresses(name: str | None) -> list[InterfaceAddress]:
    """All IPv4 addresses of interface ``name``, primary first.

    Raises UsageError when no interface was chosen (we never fall back to the default one) and
    ScanError when the interface does not exist or has no IPv4 address.
    """
    if not name:
        raise UsageError("no network interface chosen; pass --interface")
    found = _lookup(name, int(time.monotonic() // _LOOKUP_TTL))
    if not found:
        raise ScanError(f"interface {name!r} does not exist or has no IPv4 address")
    return list(found)


_LOOKUP_TTL = 30.0
"""Seconds an interface's addresses are reused: per-host probes ask for them once per host."""


@functools.lru_cache(maxsize=16)
def _lookup(name: str, _period: int) -> tuple[InterfaceAddress, ...]:
    found = _addresses_from_iproute(name)
    if found is None:
        found = _addresses_from_ioctl(name)
    return tuple(found)


def interface_address(name: str | None) -> InterfaceAddress:
    """The primary IPv4 address of ``name`` (see ``interface_addresses``)."""
    return interface_addresses(name)[0]


def _addresses_from_iproute(name: str) -> list[InterfaceAddress] | None:
    """Addresses as ``ip -j -4 addr`` reports them; None if iproute2 is unavailable."""
    try:
        done = subprocess.run(
            ["ip", "-j", "-4", "addr", "show", "dev", name],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return []
    try:
        links = json.loads(done.stdout or "[]")
    except ValueError:
        return None
    found: list[InterfaceAddress] = []
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("family") != "inet":
                continue
            ip, prefix = info.get("local"), info.get("prefixlen")
            if ip is None or prefix is None:
                continue
            network = ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)
            found.append(InterfaceAddress(name, ip, network))
    return found


def _addresses_from_ioctl(name: str) -> list[InterfaceAddress]:
    """The primary address via SIOCGIFADDR/SIOCGIFNETMASK (no iproute2 needed)."""
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_sock:
        try:
            addr = fcntl.ioctl(probe_sock.fileno(), _SIOCGIFADDR, request)[20:24]
            mask = fcntl.ioctl(probe_sock.fileno(), _SIOCGIFNETMASK, request)[20:24]
        except OSError:
            return []
    ip = socket.inet_ntoa(addr)
    network = ipaddress.IPv4Network(f"{ip}/{socket.inet_ntoa(mask)}", strict=False)
    return [InterfaceAddress(name, ip, network)]


def enlarge_receive_buffer(sock: socket.socket) -> None:
    """Ask for ``RECEIVE_BUFFER`` (beyond net.core.rmem_max if we may), else what we can get."""
    for option in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
            return
        except OSError:
            continue


def _bind_to_device(sock: socket.socket, name: str) -> None:
    """Pin the socket to the interface too; needs CAP_NET_RAW on older kernels, so best effort."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, name.encode())
    except OSError:
        log.debug("SO_BINDTODEVICE %s not permitted; relying on the bound address", name)


def udp_socket(
    iface: InterfaceAddress, *, broadcast: bool = False, report_unreachable: bool = False
) -> socket.socket:
    """A UDP socket bound to the interface's address (ephemeral port) for sending probes.

    Multicast leaves through this interface only, with TTL 1 (never routed) and without being
    looped back to ourselves. Replies sent to our source port arrive on this socket. With
    ``report_unreachable``, an ICMP port unreachable for a unicast request is reported (so a host
    without the service costs one round trip, not the whole wait).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        _bind_to_device(sock, iface.name)
        enlarge_receive_buffer(sock)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface.ip))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        if broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if report_unreachable:
            sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
        sock.bind((iface.ip, 0))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def group_listener(iface: InterfaceAddress, group: str, port: int) -> socket.socket | None:
    """A socket that receives what devices send to ``group:port`` on the interface.

    Some devices answer discovery to the group (or announce themselves there) instead of to our
    source port. The socket is bound to the group address (so it sees only that group, not other
    traffic to the port) and joins the group on the interface's address. Returns None when the
    port cannot be shared (another program holds it exclusively): we still get direct replies.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        _bind_to_device(sock, iface.name)
        enlarge_receive_buffer(sock)
        try:
            # Only the group we join, not every group some other socket joined.
            sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
        except OSError:
            pass
        sock.bind((group, port))
        membership = socket.inet_aton(group) + socket.inet_aton(iface.ip)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        log.info("cannot listen on %s:%d on %s (%s); direct replies only", group, port, iface.name, exc)
        return None
    return sock


_ETH_P_IP = 0x0800
_SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
UNCONFIGURED = "0.0.0.0"
"""The source address of a unit that has none yet (factory state, DHCP off): known by its MAC."""


_UNCONFIGURED_FILTER = [
    # Classic BPF over a cooked IPv4 packet: UDP from 0.0.0.0, fragments too (a SADP answer is
    # larger than one Ethernet frame); the port is checked after reassembly.
    (0x30, 0, 0, 9),            # ldb [9]   protocol
    (0x15, 0, 3, 17),           # jeq #17 (UDP), else drop
    (0x20, 0, 0, 12),           # ld  [12]  source address
    (0x15, 0, 1, 0),            # jeq #0, else drop
    (0x06, 0, 0, MAX_DATAGRAM), # ret       accept
    (0x06, 0, 0, 0),            # ret #0    drop
]


class UnconfiguredListener(socket.socket):
    """The packet socket of ``unconfigured_listener``: the UDP port it is for, and the
    reassembly of fragmented answers (bounded, ``Defragmenter``)."""

    port: int = 0
    defrag: Defragmenter | None = None

    def datagram(self) -> tuple[bytes, str, int] | None:
        """(payload, "0.0.0.0", source port) of the next whole datagram to ``port``, else None."""
        assert self.defrag is not None
        packet = decode(LINKTYPE_RAW, self.recv(MAX_DATAGRAM), self.defrag)
        if packet is None or packet.proto != UDP or packet.src_ip != UNCONFIGURED or packet.dport != self.port:
            return None
        return packet.payload, UNCONFIGURED, packet.sport


def unconfigured_listener(iface: InterfaceAddress, port: int) -> UnconfiguredListener | None:
    """A receive-only packet socket for what units without an address (0.0.0.0: factory state,
    DHCP off) send to UDP ``port`` on the interface.

    The kernel drops a datagram from 0.0.0.0 to a group outside 224.0.0.0/24 as a martian
    before any UDP socket sees it, yet that is how an unconfigured Hikvision unit answers SADP
    (the EZVIZ capture in the issue). Needs CAP_NET_RAW; None without it (nothing else is lost).
    The socket is never written to, and a BPF filter lets only those datagrams through.
    """
    try:
        sock = UnconfiguredListener(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(_ETH_P_IP))
    except (OSError, AttributeError):
        return None
    sock.port, sock.defrag = port, Defragmenter()
    try:
        program = b"".join(struct.pack("HBBI", *insn) for insn in _UNCONFIGURED_FILTER)
        address = ctypes.create_string_buffer(program)
        fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(address))
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
        sock.bind((iface.name, _ETH_P_IP))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        log.debug("no packet socket for unconfigured units on %s: %s", iface.name, exc)
        return None
    # Frames queued between socket() and the filter: read and let go (the queue is finite).
    for _ in range(4096):
        try:
            sock.recv(MAX_DATAGRAM)
        except OSError:
            break
    return sock


def send(ctx: ProbeContext, sock: socket.socket, payload: bytes, address: tuple[str, int]) -> bool:
    """Send one datagram, honouring the scan's packet rate; False (logged) if the kernel refused."""
    ctx.wait_rate()
    try:
        sock.sendto(payload, address)
    except OSError as exc:
        log.debug("send to %s:%d failed: %s", address[0], address[1], exc)
        return False
    return True


Handler = Callable[[bytes, str, int], None]
"""Called with (datagram, source ip, source port) for each in-scope datagram."""


def receive_until(
    ctx: ProbeContext,
    sockets: Iterable[socket.socket | None],
    deadline: float,
    handler: Handler,
    *,
    own_ips: Iterable[str] = (),
    stop: Callable[[], bool] | None = None,
    on_refused: Callable[[str], None] | None = None,
) -> None:
    """Read datagrams from ``sockets`` until ``deadline`` (time.monotonic), cancel or ``stop()``.

    Each read is at most ``MAX_DATAGRAM`` bytes. Datagrams from our own addresses or from an
    address outside the scan's scope (unless ``ctx.strays``) are dropped before ``handler`` sees
    them; an exception in ``handler`` is logged and the loop goes on (device input never ends the scan). On a socket
    made with ``report_unreachable``, an ICMP port unreachable calls ``on_refused(ip)``.
    """
    own = set(own_ips)
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            if sock is not None:
                selector.register(sock, selectors.EVENT_READ)
        if not selector.get_map():
            return
        while not ctx.cancelled.is_set() and not (stop is not None and stop()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            for key, _ in selector.select(min(remaining, POLL_SLICE)):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    if isinstance(sock, UnconfiguredListener):
                        got = sock.datagram()
                        if got is None:
                            continue
                        data, ip, port = got
                    else:
                        data, (ip, port) = sock.recvfrom(MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionRefusedError:
                    refused_ip = _refused_destination(sock)
                    if refused_ip is not None and on_refused is not None:
                        on_refused(refused_ip)
                    continue
                except OSError as exc:
                    log.debug("receive failed: %s", exc)
                    continue
                if ip in own:
                    continue
                if not ctx.hears(ip):
                    log.debug("dropped reply from out-of-scope %s", ip)
                    continue
                try:
                    handler(data, ip, port)
                except Exception:
                    log.exception("handling a reply from %s failed", ip)


def _refused_destination(sock: socket.socket) -> str | None:
    """The destination an ICMP port unreachable was about (from the socket's error queue)."""
    try:
        _data, _ancillary, _flags, address = sock.recvmsg(1, 1024, _MSG_ERRQUEUE)
    except OSError:
        return None
    return address[0] if address else None


def window_deadline(config: ScanConfig) -> float:
    """End of the shared listen window that started now (monotonic clock)."""
    return time.monotonic() + config.listen_window


UNICAST_ANSWER_TIME = 1.0
"""Seconds an on-link device may take to answer a request sent to it alone: its own processing, as
the round trip on one segment is well under a millisecond (UPnP Device Architecture 1.1, 1.3.2:
a device answering a unicast M-SEARCH SHOULD respond within 1 second)."""


def host_deadline(config: ScanConfig, ip: str | None = None, iface: InterfaceAddress | None = None) -> float:
    """End of a bounded wait for one host's unicast answer: ``--read-timeout`` (a routed host's
    round trip is unknown), or, for a host on the interface's own subnet (``ip`` in ``iface``),
    ``UNICAST_ANSWER_TIME`` plus ``QUIET`` if that is shorter. An on-link host that stays silent
    (a router rate-limiting its ICMP port unreachables, a firewalled PC) then costs a follow-up
    1.3 s, not 2 s, after the multicast round already asked it three times."""
    wait = min(config.read_timeout, config.host_timeout)
    if ip is not None and iface is not None and ipaddress.ip_address(ip) in iface.network:
        wait = min(wait, UNICAST_ANSWER_TIME + QUIET)
    return time.monotonic() + wait


class OnceEmitter:
    """Emits each distinct observation once per scan.

    Discovery requests are repeated against UDP loss, and one device often answers every copy
    (and both WS-Discovery namespaces) with the same content: the duplicates add nothing.
    """

    def __init__(self, ctx: ProbeContext, volatile: Iterable[str] = ()) -> None:
        self._ctx = ctx
        self._volatile = frozenset(volatile)
        """Field keys that differ between copies of one answer (message ids, echoed nonces)."""
        self._seen: set[tuple[object, ...]] = set()

    def __call__(self, observation: Observation) -> bool:
        """Emit unless already emitted; True if it was new."""
        key = (
            observation.ip,
            observation.kind,
            observation.port,
            tuple(sorted(kv for kv in observation.fields.items() if kv[0] not in self._volatile)),
            observation.problem,  # bad copies differ in echoed ids only: one per problem is enough
        )
        if key in self._seen:
            return False
        self._seen.add(key)
        self._ctx.emit(observation)
        return True


def flood_observation(probe: str, kind: ArtefactKind, protocol: str, ip: str, unread: int) -> Observation:
    """The one observation that records a host's answers past ``ANSWERS_PER_HOST`` (counted), of
    the kind its answers were."""
    return Observation.make(
        probe, kind, ip=ip,
        raw=f"{unread:,} more {protocol} answers from {ip} in one round",
        problem=f"{FLOOD}: {unread:,} more {protocol} answer(s) in one round not read "
                f"(cap: {ANSWERS_PER_HOST} per host)")


def is_not_a_reply(observation: Observation) -> bool:
    """True if the codec found a request (another client's search), not a device's answer.

    Group listeners hear every client's discovery request; those are not evidence about a device.
    """
    return (observation.problem or "").startswith("not-a-reply")


RESEND_GAP = 0.3
"""Seconds between repeated copies of a unicast request."""

SEND_SCHEDULE = (0.0, 0.3, 1.0)
"""When (seconds into the listen window) each copy of a multicast request goes out: UDP gets
lost, and a busy segment drops bursts, so the last copy comes a little later than the others."""


ANSWERS_PER_HOST = 16
"""Distinct datagrams read from one host in one multicast round. A device answers each copy of our
requests once (WS-Discovery: two namespaces, three copies) and may announce itself; a device
answering one Probe with thousands of ProbeMatches is a flood: the rest are counted, never parsed
or held (issue 14: 5,000 ProbeMatches per Probe once added ~264 MB to a scan)."""

FLOOD = "flood"
"""How the problem of the one observation that counts a host's unread answers starts."""

QUIET = 0.3
"""Seconds without a new answer that end a multicast round once every device had its time to
answer the last copy (``answer_delay``): answers have stopped arriving. ``--listen`` bounds it."""


class Quiet:
    """Ends a listen window when answers have stopped arriving: ``QUIET`` seconds after the last new
    one, and not before ``answer_delay`` (the longest a device may wait) after the last request."""

    def __init__(self, answer_delay: float = 0.0) -> None:
        self.answer_delay = answer_delay
        self.last_sent = self.last_heard = time.monotonic()

    def sent(self) -> None:
        self.last_sent = time.monotonic()

    def heard(self) -> None:
        self.last_heard = time.monotonic()

    def __call__(self) -> bool:
        now = time.monotonic()
        return now >= self.last_sent + self.answer_delay + QUIET and now >= self.last_heard + QUIET


def multicast_round(
    ctx: ProbeContext,
    sender: socket.socket,
    requests: Iterable[tuple[bytes, tuple[str, int]]],
    listeners: Iterable[socket.socket | None],
    handler: Handler,
    deadline: float,
    *,
    schedule: Iterable[float] = SEND_SCHEDULE,
    own_ips: Iterable[str] = (),
    answer_delay: float = 0.0,
) -> dict[str, int]:
    """Send every request at each ``schedule`` offset (while inside the window), listening
    throughout, until answers have stopped arriving (``Quiet``) or ``deadline``.

    Replies are read from ``sender`` (answers to our source port) and from ``listeners`` (answers
    and announcements sent to a group); identical datagrams from one host are handled once.
    ``answer_delay``: the longest the protocol lets a device wait before it answers a multicast
    request (WS-Discovery's APP_MAX_DELAY, SSDP's MX). Past ``ANSWERS_PER_HOST`` distinct
    datagrams from one host the rest are only counted: returns {host: datagrams not read}.
    """
    requests = list(requests)
    sockets = [sender, *listeners]
    own = list(own_ips)
    seen: set[tuple[str, bytes]] = set()
    read: dict[str, int] = {}
    unread: dict[str, int] = {}
    started = time.monotonic()
    quiet = Quiet(answer_delay)

    def once(data: bytes, ip: str, port: int) -> None:
        if read.get(ip, 0) >= ANSWERS_PER_HOST:  # first: a flood costs a count, not a hash of each datagram
            unread[ip] = unread.get(ip, 0) + 1
            return
        if (ip, data) in seen:
            return
        read[ip] = read.get(ip, 0) + 1
        seen.add((ip, data))
        quiet.heard()
        handler(data, ip, port)

    for offset in schedule:
        send_at = started + offset
        if send_at >= deadline:
            break
        receive_until(ctx, sockets, send_at, once, own_ips=own)
        if ctx.cancelled.is_set():
            return
        for payload, address in requests:
            send(ctx, sender, payload, address)
        quiet.sent()
    receive_until(ctx, sockets, deadline, once, own_ips=own, stop=quiet)
    return unread


def unicast_ask(
    ctx: ProbeContext,
    iface: InterfaceAddress,
    payloads: Iterable[bytes],
    destination: tuple[str, int],
    handler: Callable[[bytes, str, int], bool],
    *,
    deadline: float,
    repeats: int = 2,
    listeners: Iterable[socket.socket | None] = (),
) -> bool:
    """Ask one host directly (how a routed segment without multicast is covered).

    Sends each payload, repeating once after ``RESEND_GAP`` if no answer came; reads only
    datagrams from the destination host (on our socket, and on ``listeners`` for devices that
    answer to a group) until ``handler`` returns True (an answer), the host reports the port
    closed (ICMP port unreachable), or the deadline passes. Returns True if the host answered.
    """
    if not ctx.in_scope(destination[0]):
        return False
    outcome: dict[str, bool] = {"answered": False, "refused": False}

    def from_host(data: bytes, ip: str, port: int) -> None:
        if ip == destination[0] and handler(data, ip, port):
            outcome["answered"] = True

    def on_refused(ip: str) -> None:
        if ip == destination[0]:
            outcome["refused"] = True

    def settled() -> bool:
        return outcome["answered"] or outcome["refused"]

    payloads = list(payloads)
    listeners = list(listeners)
    with udp_socket(iface, report_unreachable=True) as sock:
        for attempt in range(max(1, repeats)):
            if ctx.cancelled.is_set() or settled():
                break
            for payload in payloads:
                ctx.wait_rate()
                try:
                    sock.sendto(payload, destination)
                except ConnectionRefusedError:
                    # The ICMP port unreachable for an earlier copy, reported on this send.
                    outcome["refused"] = True
                    break
                except OSError as exc:
                    log.debug("send to %s:%d failed: %s", destination[0], destination[1], exc)
            if settled():
                break
            until = deadline if attempt + 1 >= repeats else min(deadline, time.monotonic() + RESEND_GAP * 2)
            receive_until(
                ctx, [sock, *listeners], until, from_host, stop=settled, on_refused=on_refused
            )
    if outcome["refused"]:
        log.debug("%s:%d: port closed (ICMP port unreachable)", destination[0], destination[1])
    return outcome["answered"]


Accept = Callable[[bytes, str], "Observation | None"]
"""Turns one datagram from a host into an observation, or None if it is not evidence."""


class DatagramDiscoveryProbe(Probe):
    """A discovery protocol spoken over UDP: a request multicast (and optionally broadcast) on
    the segment during the listen window, and the same request unicast to each host that did not
    answer (how a routed segment, which multicast never reaches, is covered).

    The group and port are the spec's first (``spec.groups``, ``spec.udp``); subclasses give
    ``new_round()``: fresh request payloads plus the function that accepts the replies to them.
    Replies are read on our source port and on the group (some devices answer there), copies are
    emitted once, other clients' requests dropped.
    """

    broadcast: ClassVar[bool] = False
    """Also send to the interface's broadcast address."""
    volatile_fields: ClassVar[tuple[str, ...]] = ()
    """Fields that differ between copies of one device's answer (echoed ids)."""
    answer_delay: ClassVar[float] = 0.0
    """The longest the protocol lets a device wait before answering a multicast request."""
    waits_for_discovery: ClassVar[bool] = True  # probe_host skips the hosts that answered the multicast round

    def __init__(self, config: ScanConfig) -> None:
        super().__init__(config)
        self._answered: set[str] = set()
        """Hosts that answered the multicast round: no need to ask them again."""

    @property
    def group(self) -> str:
        return self.spec.groups[0]

    @property
    def port(self) -> int:
        return self.spec.udp[0]

    def new_round(self) -> tuple[list[bytes], Accept]:
        raise NotImplementedError

    def discover(self, ctx: ProbeContext) -> None:
        iface = interface_address(self.config.interface)
        emit = OnceEmitter(ctx, self.volatile_fields)
        payloads, accept = self.new_round()

        kinds: dict[str, ArtefactKind] = {}  # what each host answered with, for its flood count

        def on_reply(data: bytes, ip: str, port: int) -> None:
            observation = accept(data, ip)
            if observation is not None:
                self._answered.add(ip)
                kinds.setdefault(ip, observation.kind)
                emit(observation)

        destinations = [(self.group, self.port)]
        if self.broadcast and iface.network.prefixlen < 31:  # /31 and /32 have no broadcast
            destinations.append((iface.broadcast, self.port))
        requests = [(payload, where) for payload in payloads for where in destinations]
        # Answers to the group, and (root only) those of units without an address.
        listeners = [group_listener(iface, self.group, self.port), unconfigured_listener(iface, self.port)]
        try:
            with udp_socket(iface, broadcast=self.broadcast) as sender:
                unread = multicast_round(
                    ctx, sender, requests, listeners, on_reply,
                    window_deadline(self.config), own_ips=[iface.ip], answer_delay=self.answer_delay,
                )
        finally:
            for listener in listeners:
                if listener is not None:
                    listener.close()
        for ip, count in unread.items():
            if ip in kinds:  # a host none of whose answers was evidence has nothing to count against
                ctx.emit(flood_observation(self.name, kinds[ip], self.spec.title, ip, count))
            log.debug("%s: %d more answers from %s not read (flood)", self.name, count, ip)

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        if ctx.cancelled.is_set() or host.ip in self._answered:
            return
        iface = interface_address(self.config.interface)
        emit = OnceEmitter(ctx, self.volatile_fields)
        payloads, accept = self.new_round()

        def on_reply(data: bytes, ip: str, port: int) -> bool:
            observation = accept(data, ip)
            if observation is None:
                return False
            emit(observation)
            return True

        # An on-link device may answer to the group instead of to us: listen there too.
        on_link = ipaddress.ip_address(host.ip) in iface.network
        listener = group_listener(iface, self.group, self.port) if on_link else None
        try:
            unicast_ask(
                ctx, iface, payloads, (host.ip, self.port), on_reply,
                deadline=host_deadline(self.config, host.ip, iface), listeners=[listener],
            )
        finally:
            if listener is not None:
                listener.close()
