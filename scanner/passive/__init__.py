"""Passive discovery: identify devices from traffic alone, sending nothing.

* ``analyse_capture(path)`` reads a pcap/pcapng file offline;
* ``listen(interface, duration)`` reads frames from an interface with a receive-only packet socket.

Both produce the same Observations as the active probes (probe name ``passive``) and go through the
same identification, so their results can be stored and compared with active scans.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
from typing import Callable, Iterable

from ..errors import PrivilegeError, UsageError
from ..models import ScanResult, utcnow
from .capture import LINKTYPE_ETHERNET, open_capture
from .decode import Defragmenter, decode
from .signals import Analyser

__all__ = ["analyse_capture", "listen", "Analyser"]

log = logging.getLogger("camsweep")


def _scope(targets: Iterable[str]) -> Callable[[str], bool] | None:
    nets = []
    for target in targets:
        try:
            nets.append(ipaddress.ip_network(target, strict=False))
        except ValueError:
            raise UsageError(f"not a network or address: {target!r}") from None
    if not nets:
        return None
    return lambda ip: any(ipaddress.ip_address(ip) in n for n in nets)


def analyse_capture(path: str, *, targets: Iterable[str] = (), progress: Callable[[int], None] | None = None) -> ScanResult:
    """Identify devices in a capture file. A truncated/corrupt tail gives a partial result."""
    from ..verdicts import identify_result

    targets = tuple(targets)
    analyser = Analyser(_scope(targets))
    started = utcnow()
    last_ts = 0.0
    defrag = Defragmenter()
    with open_capture(path) as capture:
        for ts, linktype, frame in capture.frames():
            pkt = decode(linktype, frame, defrag)
            if pkt is not None:
                analyser.feed(ts, pkt)
            last_ts = ts
            if progress and capture.frames_read % 100_000 == 0:
                progress(capture.frames_read)
        problem, count = capture.problem, capture.frames_read
    analyser.flush(last_ts)
    notes = [f"capture {os.path.basename(path)}: {count} packets read"]
    if problem:
        notes.append(f"capture {os.path.basename(path)}: {problem}; results are from the readable part")
    notes += capture.notes() + analyser.cut_notes() + defrag.notes() + analyser.budget.notes()
    return identify_result(
        analyser.observations(), targets=targets or (path,), mode="pcap", started=started,
        partial=problem is not None, notes=tuple(notes), methods=("passive",),
    )


ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def listen(interface: str, duration: float, *, targets: Iterable[str] = (),
           stop: Callable[[], bool] | None = None) -> ScanResult:
    """Identify devices from what an interface hears for ``duration`` seconds. Sends nothing.

    The socket is a receive-only AF_PACKET socket: it is never written to, and frames the host
    itself sends are skipped. Needs CAP_NET_RAW (root).
    """
    from ..verdicts import identify_result

    if duration <= 0:
        raise UsageError("--duration must be positive")
    try:
        socket.if_nametoindex(interface)
    except OSError:
        raise UsageError(f"no such interface: {interface!r}") from None
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    except PermissionError:
        raise PrivilegeError("listening needs root (CAP_NET_RAW) to open a packet socket") from None
    targets = tuple(targets)
    analyser = Analyser(_scope(targets))
    started = utcnow()
    partial = False
    defrag = Defragmenter()
    try:
        sock.bind((interface, 0))
        sock.settimeout(0.5)
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline and not (stop and stop()):
            try:
                frame, address = sock.recvfrom(65535)
            except socket.timeout:
                continue
            if address[2] == PACKET_OUTGOING:
                continue
            pkt = decode(LINKTYPE_ETHERNET, frame, defrag)
            if pkt is not None:
                analyser.feed(time.time(), pkt)
    except KeyboardInterrupt:
        partial = True
    finally:
        sock.close()
    analyser.flush(time.time())
    notes = [f"listened on {interface} for {duration:g} s; {analyser.packets} packets; nothing was sent"]
    notes += analyser.cut_notes() + defrag.notes()
    if partial:
        notes.append("interrupted: results so far")
    notes += analyser.budget.notes()
    return identify_result(
        analyser.observations(), targets=targets or (interface,), mode="listen", started=started,
        partial=partial, notes=tuple(notes), methods=("passive",),
    )
