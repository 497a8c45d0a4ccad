"""Passive discovery: identify devices from traffic alone, sending nothing.

* ``analyse_capture(path)`` reads a pcap/pcapng file offline;
* ``listen(interface, duration)`` reads frames from an interface with a receive-only packet socket.

Both produce the same Observations as the active probes (probe name ``passive``) and go through the
same identification, so their results can be stored and compared with active scans.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Iterable

from .. import audit, netif
from ..errors import PrivilegeError, UsageError
from ..models import ScanResult, utcnow
from ..targets import scope
from . import bpf
from .capture import LINKTYPE_ETHERNET, open_capture
from .decode import Defragmenter
from .signals import Analyser

if TYPE_CHECKING:
    from ..engine import EventHandler

__all__ = ["analyse_capture", "check_listen", "listen", "packet_socket", "Analyser"]

log = logging.getLogger("camsweep")


def _scope(targets: Iterable[str], exclude: Iterable[str]) -> Callable[[str], bool] | None:
    kept = scope(targets, exclude=exclude)
    return kept.contains if kept is not None else None


def analyse_capture(path: str, *, targets: Iterable[str] = (), exclude: Iterable[str] = (),
                    on_event: EventHandler | None = None, prefilter: bool = True) -> ScanResult:
    """Identify devices in a capture file. A truncated/corrupt tail gives a partial result.
    Only hosts in ``targets`` (default: all) and not in ``exclude`` are kept (``targets.scope``).

    ``prefilter``: let libpcap (tcpdump) drop the frames that cannot carry a signal before Python
    reads them (``bpf``); the result is the same either way, only faster. Without tcpdump, or for
    a file tcpdump does not read to its end, every frame is read in Python.

    ``on_event(kind, data)`` hears "phase" {"name": "read", "bytes": file size}, then every
    10,000 packets read in Python "read" {"bytes", "packets", "hosts"} (so far), then "phase"
    {"name": "identify"}. The result records the capture's file name and the audit trail
    (``audit.at_scan_time``)."""
    from ..verdicts import identify_result

    targets = tuple(targets)
    keep = _scope(targets, exclude)  # a bad target is refused before the file is opened
    started = utcnow()
    notes: list[str] = []
    with open_capture(path) as capture:
        if on_event:
            on_event("phase", {"name": "read", "bytes": capture.size})
        read = None
        if prefilter and (linktype := bpf.linktype_of(path)) is not None:
            source = bpf.Prefiltered(path, linktype)
            try:
                read = _read(source.frames(), keep, on_event, source.position)
                count, problem, skipped = source.frames_read, None, []
            except bpf.Unavailable as exc:
                notes.append(str(exc))
            except bpf.Failed as exc:  # camsweep's own reader says what is wrong with the file
                log.debug("tcpdump did not read %s: %s", path, exc)
                read = None
        if read is None:
            read = _read(capture.frames(), keep, on_event, capture.fh.tell)
            count, problem, skipped = capture.frames_read, capture.problem, capture.notes()
    analyser, defrag = read
    if on_event:
        on_event("phase", {"name": "identify"})
    notes.insert(0, f"capture {os.path.basename(path)}: {count} packets read")
    if problem:
        notes.append(f"capture {os.path.basename(path)}: {problem}; results are from the readable part")
    notes += skipped + analyser.cut_notes() + defrag.notes() + analyser.budget.notes()
    result = identify_result(
        analyser.observations(), targets=targets or (path,), mode="pcap", started=started,
        partial=problem is not None, notes=tuple(notes), methods=("passive",),
    )
    return replace(result, capture=path, **audit.at_scan_time())


def _read(frames: Iterable[tuple[float, int, bytes]], keep: Callable[[str], bool] | None,
          on_event: EventHandler | None, position: Callable[[], int]) -> tuple[Analyser, Defragmenter]:
    """Feed frames to a new Analyser keeping the hosts ``keep`` says (all: None), then flush it."""
    analyser = Analyser(keep)
    defrag = Defragmenter()
    for n, (ts, linktype, frame) in enumerate(frames, 1):
        analyser.feed_frame(ts, linktype, frame, defrag)
        if on_event and n % 10_000 == 0:
            on_event("read", {"bytes": position(), "packets": n, "hosts": analyser.budget.hosts})
    analyser.flush()
    return analyser, defrag


ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def check_listen(interface: str, duration: float) -> None:
    """What ``listen`` needs of the system, checked before it (or a command around it) starts:
    a positive duration, the interface, CAP_NET_RAW. Raises UsageError or PrivilegeError."""
    if duration <= 0:
        raise UsageError("--duration must be positive")
    if not netif.interface_exists(interface):
        raise UsageError(f"interface {interface!r} does not exist")
    if not netif.has_raw_sockets():
        raise PrivilegeError("listening needs root (CAP_NET_RAW) to open a packet socket")


def packet_socket(interface: str) -> tuple[socket.socket, str | None]:
    """A receive-only AF_PACKET socket bound to ``interface``, reads bounded to half a second
    (``listen``, ``camsweep watch``), and why it is unfiltered, if it is. It is never written to;
    callers skip frames whose address says ``PACKET_OUTGOING`` (the host's own). A BPF program
    (``bpf.expression``, compiled by libpcap) is attached before it is bound, so the kernel drops
    the frames that cannot carry a signal from the first one on. Needs CAP_NET_RAW."""
    if not netif.interface_exists(interface):
        raise UsageError(f"interface {interface!r} does not exist")
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    except PermissionError:
        raise PrivilegeError("listening needs root (CAP_NET_RAW) to open a packet socket") from None
    unfiltered = None
    try:
        try:
            bpf.attach(sock, bpf.compile_filter(bpf.expression(LINKTYPE_ETHERNET)))
        except bpf.Unavailable as exc:
            unfiltered = str(exc)
        sock.bind((interface, 0))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {interface!r}: {exc.strerror or exc}") from None
    sock.settimeout(0.5)
    return sock, unfiltered


def listen(interface: str, duration: float, *, targets: Iterable[str] = (), exclude: Iterable[str] = (),
           stop: Callable[[], bool] | None = None, on_event: EventHandler | None = None) -> ScanResult:
    """Identify devices from what an interface hears for ``duration`` seconds. Sends nothing.

    ``on_event(kind, data)`` hears "phase" {"name": "listen", "seconds": duration}, then about
    twice a second "listen" {"elapsed", "packets", "hosts"}, then "phase" {"name": "identify"}.

    The socket is a receive-only AF_PACKET socket: it is never written to, and frames the host
    itself sends are skipped. A BPF program (``bpf.expression``, compiled by libpcap) makes the
    kernel drop the frames that cannot carry a signal, so a busy mirror port is kept up with;
    ``packets`` counts the frames it passed. Needs CAP_NET_RAW (root).
    """
    from ..verdicts import identify_result

    targets = tuple(targets)
    analyser = Analyser(_scope(targets, exclude))  # a bad target is refused before the socket is opened
    check_listen(interface, duration)
    sock, unfiltered = packet_socket(interface)
    started = utcnow()
    partial = False
    defrag = Defragmenter()
    try:
        begun = time.monotonic()
        deadline, tick = begun + duration, begun
        if on_event:
            on_event("phase", {"name": "listen", "seconds": duration})
        while (now := time.monotonic()) < deadline and not (stop and stop()):
            if on_event and now >= tick:
                tick = now + 0.5
                on_event("listen", {"elapsed": now - begun, "packets": analyser.packets, "hosts": analyser.budget.hosts})
            try:
                frame, address = sock.recvfrom(65535)
            except socket.timeout:
                continue
            if address[2] == PACKET_OUTGOING:
                continue
            analyser.feed_frame(time.time(), LINKTYPE_ETHERNET, frame, defrag)
    except KeyboardInterrupt:
        partial = True
    finally:
        sock.close()
    if on_event:
        on_event("phase", {"name": "identify"})
    analyser.flush()
    notes = [f"listened on {interface} for {duration:g} s; {analyser.packets} packets; nothing was sent"]
    notes += ([unfiltered] if unfiltered else []) + analyser.cut_notes() + defrag.notes()
    if partial:
        notes.append("interrupted: results so far")
    notes += analyser.budget.notes()
    result = identify_result(
        analyser.observations(), targets=targets or (interface,), mode="listen", started=started,
        partial=partial, notes=tuple(notes), methods=("passive",),
    )
    return replace(result, **audit.at_scan_time(interface=interface))
