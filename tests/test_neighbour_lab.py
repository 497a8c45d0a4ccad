"""No silent loss when the kernel's neighbour table is full (issue 15 item 4).

The lab is brought up with its neighbour-table limits lowered to a few entries above what the
kernel holds already, then both segments are scanned: about 500 addresses to resolve, on-link
(the scanner's entries) and on segment B (routed: the router namespace's entries, and no ARP
sweep vouches for those hosts). The table overflows -- the test checks the kernel's own count --
and every lab device must then be either in the result or covered by the result's note that
names the sysctl to raise.

The limits are kernel-wide (all namespaces share one neighbour table): the lab sets them for its
own run only and restores them at teardown (``Lab(neighbour_limits=...)``); camsweep itself
never writes a sysctl.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import pytest

from camsweep import netif
from tests.conftest import ROOT, SCAN_BOUND
from tests.schema_check import report_json

SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")
ROOM = 64
"""Entries the lowered table has beyond what the kernel held when the lab came up: far below the
~500 the scan needs, so it overflows. With 16 and an empty table (a fresh kernel, or right after
another lab's namespaces were deleted) the scan could hardly resolve its own router, its port
sweep outran the engine's bound, and only the engine's general overflow note was written."""


def test_a_full_neighbour_table_loses_no_host_unnoticed(needs_root: None) -> None:
    from camsweep.lab import Lab

    table = netif.neighbour_table()
    limit = (table.entries or 0) + ROOM
    with Lab(prefix=f"cs-n{os.getpid()}-", neighbour_limits=(min(128, limit // 2), limit - 4, limit)) as lab:
        assert netif.neighbour_table().limit == limit
        before = netif.neighbour_table()
        with tempfile.TemporaryDirectory(prefix="camsweep-neigh-") as tmp:
            done = lab.exec([sys.executable, str(ROOT / "scan.py"), "scan", *SEGMENTS, "--format", "json",
                             "--no-store", "--state-dir", str(Path(tmp) / "state")],
                            cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True)
        overflowed = netif.neighbour_table_grew(before)
        devices = [d.ip for d in lab.devices]
    assert netif.neighbour_table().limit == table.limit  # the lab put the kernel's limit back
    assert done.returncode in (0, 3), done.stderr
    assert overflowed, "the lowered limits did not make the table overflow"
    scan = report_json(done.stdout)["scan"]
    notes = scan["notes"]
    assert any(note.startswith(netif.NEIGH_OVERFLOW) for note in notes), notes
    found = {ip for item in scan["devices"] for ip in item["device"]["ips"]}
    missing = [ip for ip in devices if ip not in found]
    print(f"{len(devices) - len(missing)} of {len(devices)} found; notes: {notes}")
    if missing:  # then the result must say that hosts may be missing, and what to raise
        assert any(netif.NEIGH_SYSCTL in note and "may be live hosts" in note for note in notes), (missing, notes)


def test_the_neighbour_table_is_read_from_iproute2() -> None:
    """What the scan compares before and after: the kernel's own numbers, read without root."""
    table = netif.neighbour_table()
    assert isinstance(table.limit, int) and table.limit > 0
    assert isinstance(table.fulls, int) and table.fulls >= 0
    assert not netif.neighbour_table_grew(netif.NeighbourTable(limit=table.limit, fulls=None))


def test_the_overflow_note_names_the_sysctl_and_never_changes_it() -> None:
    note = netif.neighbour_overflow_note("the host sweep: 3 address(es) may be hosts", 1024)
    assert note.startswith(netif.NEIGH_OVERFLOW) and "net.ipv4.neigh.default.gc_thresh3 (now 1024)" in note
    source = (ROOT / "scanner").rglob("*.py")
    writers = [p for p in source if "gc_thresh" in p.read_text() and "write_text" in p.read_text()
               and "lab" not in p.parts]
    assert writers == []  # only the lab (for its own run) writes the limits


def test_the_lab_sets_the_kernel_backlog_for_its_run_and_puts_it_back(needs_root: None,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """``Lab(netdev_backlog=...)``: a /16 lab's broadcasts queue 1,000 copies at once on one CPU,
    so the scale benchmark raises the kernel-wide backlog for its run; teardown restores it, also
    when the lab fails to come up."""
    from camsweep.lab import Lab, load_profiles
    from camsweep.lab.lab import NETDEV_BACKLOG
    from camsweep.lab.netns import IsolationError

    path = Path("/proc/sys", NETDEV_BACKLOG.replace(".", "/"))
    if not path.exists():  # a container's own network namespace has no such sysctl: the lab says so and runs
        with caplog.at_level(logging.WARNING, logger="camsweep"), \
                Lab(prefix=f"cs-b{os.getpid()}-", profiles=load_profiles()[:1], netdev_backlog=10000) as lab:
            assert lab.devices
        assert f"lab: cannot set {NETDEV_BACKLOG}" in caplog.text
        return
    before = int(path.read_text())
    with Lab(prefix=f"cs-b{os.getpid()}-", profiles=load_profiles()[:1], netdev_backlog=before + 7):
        assert int(path.read_text()) == before + 7
    assert int(path.read_text()) == before

    broken = Lab(prefix=f"cs-b{os.getpid()}-", profiles=load_profiles()[:1], netdev_backlog=before + 9)
    broken.scanner_namespace = "cs-no-such-namespace"  # the isolation check at the end of up() fails
    with caplog.at_level(logging.WARNING, logger="camsweep"), pytest.raises(IsolationError, match="does not exist"):
        broken.up()
    assert f"{NETDEV_BACKLOG} set to {before + 9}" in caplog.text  # it was set before up() failed
    assert int(path.read_text()) == before
