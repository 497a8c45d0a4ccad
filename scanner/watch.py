"""Continuous monitoring (``camsweep watch``): passive listening that runs until stopped.

Two parts:

* ``Watch``, the state machine. Frames go in (``feed``), the caller's clock drives it (``tick``):
  at most every ``CHECK_INTERVAL`` seconds, when something new was heard, it identifies what it
  holds and judges it under the policy, and raises one ``Alert`` per device that the inventory
  did not know and that is made by a restricted maker or restricted under the policy. Every
  ``snapshot_interval`` seconds (and ``ALERT_SNAPSHOT_DELAY`` after an alert, so that a restart
  knows the alerted device) it hands a snapshot -- a ``listen`` result of everything heard since
  it started -- to be stored in the inventory. Its memory is the passive analyser's, bounded by
  ``camsweep.bounds`` however long it runs. With packet times as its clock it replays a capture
  (tests, ``bench/watch_memory.py``) exactly as it would have run live.
* ``run``, the live loop: the receive-only packet socket ``listen`` uses (nothing is ever sent),
  reopened when the interface goes down, disappears or comes back.

Alerts are not repeated: a device is alerted once per identity (``identity_of``, as the inventory
tracks devices); the set survives a reload (SIGHUP: ``reconfigure``), and across restarts the
inventory's identities of devices it holds as Hikvision/Dahua-made or restricted
(``Store.flagged_identities``) seed it; a device it knew as something else is alerted when the
watch identifies it as one of those. A device alerted under one identity (its IP, heard before
its MAC) is not alerted again under another (``Watch._known_as``). A device alerted within
``ALERT_SNAPSHOT_DELAY`` of a crash may be alerted again after the restart (at least once, never
lost).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import math
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import audit
from .alerts import Alert
from .config import Outputs, WatchConfig
from .errors import CamsweepError
from .findings import Status
from .models import ScanResult
from .passive import PACKET_OUTGOING, packet_socket
from .passive.capture import LINKTYPE_ETHERNET
from .passive.decode import Defragmenter
from .passive.signals import Analyser
from .store import identity_of
from .types import RESTRICTED_MAKERS

if TYPE_CHECKING:
    from .findings import Assessment, Finding

log = logging.getLogger("camsweep")

CHECK_INTERVAL = 1.0
"""Seconds between identifications at most: an alert follows the packet that made it possible
within this plus one identification (well under the 10 s promised)."""
ALERT_SNAPSHOT_DELAY = 5.0
"""Seconds after an alert before a snapshot stores the alerted device (alerts close together
share one snapshot)."""
REOPEN_WAIT = 1.0
"""Seconds between attempts to reopen the capture on an interface that is down or gone."""


@dataclass(frozen=True)
class Snapshot:
    """What ``Watch`` hands over to be stored: the result so far and its judgement."""

    result: ScanResult
    assessment: Assessment


class Watch:
    """Frames in, alerts and snapshots out (see the module doc). Not thread-safe: one caller."""

    def __init__(self, settings: WatchConfig, outputs: Outputs, *, alert: Callable[[Alert], None],
                 snapshot: Callable[[Snapshot], None] | None = None, known: Iterable[str] = (),
                 now: float | None = None) -> None:
        from .restrictions import load
        from .verdicts import load_fingerprints

        self.analyser = Analyser()
        self.defrag = Defragmenter()
        self.alerted: set[str] = set(known)
        """Identities already alerted or already in the inventory: never alerted (again)."""
        self.alerts_raised = 0
        self.snapshots = 0
        self._fingerprints = load_fingerprints()
        self._load_restrictions = load
        self._snapshot = snapshot
        self._observations = 0  # how many the analyser held at the last identification
        now = time.time() if now is None else now
        self.started = _moment(now)
        self._next_check = now
        self._next_snapshot = math.inf  # set by reconfigure
        self._alert_snapshot: float | None = None
        self.reconfigure(settings, outputs, alert=alert, now=now)

    def reconfigure(self, settings: WatchConfig, outputs: Outputs, *, alert: Callable[[Alert], None],
                    now: float | None = None) -> None:
        """New settings (SIGHUP): policy, snapshot interval, sinks. What was heard and alerted stays."""
        now = time.time() if now is None else now
        self.settings, self.outputs, self._alert = settings, outputs, alert
        self._restrictions = self._load_restrictions()
        self._next_snapshot = min(self._next_snapshot, now + settings.snapshot_interval)  # a shorter one applies now
        self._observations = -1  # judge what is held again under the (maybe new) policy

    # -- input ---------------------------------------------------------------------------------
    def feed(self, ts: float, linktype: int, frame: bytes) -> None:
        self.analyser.feed_frame(ts, linktype, frame, self.defrag)

    def tick(self, now: float) -> None:
        """Identify, alert and store when due (``now``: the caller's clock, packet time in a replay)."""
        if now >= self._next_check:
            self._next_check = now + CHECK_INTERVAL
            held = self.analyser.budget.observations  # admitted = kept: it grows when something new is heard
            if held != self._observations:
                self._observations = held
                self._check(now)
        due = self._next_snapshot if self._alert_snapshot is None else min(self._next_snapshot, self._alert_snapshot)
        if now >= due:
            self.store_snapshot(now)

    # -- output --------------------------------------------------------------------------------
    def result(self, now: float) -> ScanResult:
        """Everything heard since the watch started, identified: a ``listen`` result."""
        from .verdicts import identify_result

        interface = self.settings.interface or ""
        notes = [(f"watch on {interface or 'a capture'} since {self.started.isoformat(timespec='seconds')}; "
                 f"{self.analyser.packets} packets; nothing was sent")]
        notes += self.analyser.cut_notes() + self.defrag.notes() + self.analyser.budget.notes()
        result = identify_result(self.analyser.observations(), targets=(interface or "capture",), mode="listen",
                                 db=self._fingerprints, started=self.started, notes=tuple(notes),
                                 methods=("passive",))
        recorded = audit.at_scan_time(interface=interface or None)
        recorded["operator"] = self.outputs.operator or recorded["operator"]
        return replace(result, finished=max(_moment(now), self.started), site=self.outputs.site, **recorded)

    def judge(self, result: ScanResult) -> Assessment:
        from . import policy
        from .findings import assess

        return assess(result, self._restrictions, policy.select(self._restrictions, self.outputs.policy),
                      today=self.outputs.as_of, operator=result.operator, max_data_age=self.outputs.max_data_age)

    def store_snapshot(self, now: float) -> None:
        self._next_snapshot = now + self.settings.snapshot_interval
        self._alert_snapshot = None
        if self._snapshot is None or not self.analyser.budget.observations:
            return  # nothing heard yet: an empty scan in the history would say nothing
        result = self.result(now)
        self._snapshot(Snapshot(result, self.judge(result)))
        self.snapshots += 1

    def _check(self, now: float) -> None:
        result = self.result(now)
        assessment = self.judge(result)
        items = {item.device.key: item for item in result.devices}
        for finding in assessment.findings:
            item = items.get(finding.key)
            if item is None:
                continue
            identity = identity_of(item)
            restricted = finding.status == Status.RESTRICTED
            if identity in self.alerted or (not restricted and finding.maker not in RESTRICTED_MAKERS):
                continue
            if self._known_as(finding, identity):
                continue
            self.alerts_raised += 1
            first = min((o.time for o in item.device.observations), default=self.started)
            self._alert(Alert(
                reason="restricted" if restricted else "maker", at=_moment(now), first_seen=first, identity=identity,
                ip=finding.location.ip, mac=finding.location.mac, maker=finding.maker, brand=finding.brand,
                device_type=finding.device_type, model=finding.model, firmware=finding.firmware,
                status=finding.status.value, confidence=finding.confidence_level, summary=finding.summary,
                site=self.outputs.site, interface=self.settings.interface or "", policies=assessment.policies,
                instruments=tuple(dict.fromkeys(m.id for m in finding.instruments)),
            ))
            if self._alert_snapshot is None:
                self._alert_snapshot = now + ALERT_SNAPSHOT_DELAY


    def _known_as(self, finding: Finding, identity: str) -> bool:
        """Whether the device was alerted (or known) under another name, recording its names.

        A device's identity changes as evidence arrives: heard first in its replies (an IP, maybe
        a serial), its MAC later. Its MACs and serial name it for sure. An alert for a device with
        no MAC yet records its address as ``ip:``: a device later heard at that address, MAC or
        not, is taken for it. Every alerted address is recorded as ``at:`` too: a device heard
        with no MAC at an alerted device's address is taken for it (a camera keeps its address),
        while a new MAC at an address that belonged to another MAC is a new device."""
        location = finding.location
        names = {identity} | {f"mac:{mac}" for mac in location.macs}
        if finding.serial:
            names.add(f"serial:{finding.maker}:{finding.serial}")
        ips = {f"ip:{ip}" for ip in location.ips}
        addresses = {f"at:{ip}" for ip in location.ips}
        known = bool((names | ips) & self.alerted) or (not location.macs and bool(addresses & self.alerted))
        self.alerted |= names | addresses | (set() if location.macs else ips)
        return known


def _moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def run(watch: Watch, *, stop: Callable[[], bool], between: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time) -> None:
    """Listen on ``watch.settings.interface`` until ``stop()``, feeding ``watch``; ``between()``
    runs at least twice a second (the CLI reloads its config there on SIGHUP). A capture that
    fails (the interface went down or away) is reopened once the interface is up again; the
    outage is logged when it starts and when it ends. A changed interface (a reload) is reopened."""
    sock: socket.socket | None = None
    bound = ""
    outage: str | None = None
    said_unfiltered = False
    try:
        while not stop():
            between()
            interface = watch.settings.interface or ""
            if sock is not None and bound != interface:
                sock.close()
                sock = None
            if sock is None:
                try:
                    if outage is not None and not _is_up(interface):
                        raise OSError(errno.ENETDOWN, "interface is down")
                    sock, unfiltered = packet_socket(interface)
                    bound = interface
                    if unfiltered and not said_unfiltered:
                        log.warning("%s", unfiltered)
                        said_unfiltered = True
                except (CamsweepError, OSError) as exc:
                    if outage is None:
                        outage = str(exc)
                        log.warning("capture on %s stopped (%s); waiting for it to come back", interface, exc)
                    watch.tick(clock())
                    _pause(REOPEN_WAIT, stop)
                    continue
                if outage is not None:
                    log.warning("capture on %s is back", interface)
                    outage = None
                else:
                    log.info("listening on %s (nothing is sent)", interface)
            try:
                frame, address = sock.recvfrom(65535)
            except TimeoutError:
                watch.tick(clock())
                continue
            except OSError as exc:  # ENETDOWN once when the link goes down; ENODEV/ENXIO when it is gone
                outage = exc.strerror or str(exc)
                log.warning("capture on %s stopped (%s); waiting for it to come back", bound, outage)
                sock.close()
                sock = None
                continue
            if address[2] != PACKET_OUTGOING:
                watch.feed(clock(), LINKTYPE_ETHERNET, frame)
            watch.tick(clock())
    finally:
        if sock is not None:
            sock.close()


def _pause(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1


def _is_up(interface: str) -> bool:
    """Whether ``interface`` exists and is administratively up (asked of the kernel, in this
    process's network namespace)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # an ioctl handle: nothing is sent
            reply = fcntl.ioctl(probe, SIOCGIFFLAGS, struct.pack("16sH", interface.encode()[:15], 0))
    except OSError:
        return False
    return bool(struct.unpack_from("H", reply, 16)[0] & IFF_UP)
