"""The hostile part of the lab scans within a memory bound in every output format (issue 14, item 6).

Among the hostile profiles, ``hostile-wsd-probematch-flood`` answers each WS-Discovery Probe with
5,000 ProbeMatches (fresh endpoint UUIDs, same IP): before the per-host answer cap that flood alone
added ~264 MB to a scan and 9,900 rule hits to one device. Each scan runs in a child process from
the lab's scanner namespace; its peak RSS comes from ``os.wait4`` (memory, not time, is asserted).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camsweep.probes._udp import ANSWERS_PER_HOST
from camsweep.types import REPORT_FORMATS
from tests.lab_scan import LabScan, scan_in_lab

PEAK_RSS_MB = 150
FLOOD_IP = "198.18.0.206"
FLOOD_MATCHES = 5_000


@pytest.fixture(scope="module")
def hostile_lab(needs_root: None) -> Iterator[Any]:
    from camsweep.lab import Lab
    from camsweep.lab.profiles import hostile_profiles

    profiles = hostile_profiles()
    flood = [p for p in profiles if p.ip == FLOOD_IP]
    assert flood and flood[0].wsd and flood[0].wsd["matches"] == FLOOD_MATCHES
    with Lab(prefix=f"cs-f{os.getpid()}-", profiles=profiles) as running:
        yield running


@pytest.fixture(scope="module")
def scans(hostile_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LabScan]:
    workdir = tmp_path_factory.mktemp("floods")
    return {fmt: scan_in_lab(hostile_lab, fmt, Path(workdir)) for fmt in REPORT_FORMATS}


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_the_hostile_lab_scans_within_the_memory_bound(scans: dict[str, LabScan], fmt: str) -> None:
    run = scans[fmt]
    assert run.exit == 0, run.stderr[-2000:]
    assert run.report_bytes, f"no {fmt} report written"
    assert run.peak_rss_mb is not None and run.peak_rss_mb <= PEAK_RSS_MB, run.peak_rss_mb


def test_the_flood_is_kept_small_and_counted(scans: dict[str, LabScan]) -> None:
    report = scans["json"].report
    assert report is not None
    result = report.get("scan", report)
    (device,) = [d for d in result["devices"] if FLOOD_IP in d["device"]["ips"]]
    wsd = [o for o in device["device"]["observations"] if o["probe"] == "wsd"]
    problems = [o["problem"] for o in wsd if (o.get("problem") or "").startswith("flood")]
    # A few answers read (the cap), the rest of 6 x 5,000 counted in one problem, never held.
    assert len(wsd) <= ANSWERS_PER_HOST + 1
    assert len(problems) == 1 and "WS-Discovery" in problems[0]
    unread = int(problems[0].split()[1].replace(",", ""))
    assert unread > FLOOD_MATCHES // 2  # most of the flood arrived and was counted, not read
    # Each rule fires once per distinct value, however often the device repeats it.
    hits = [(h["rule_id"], h["field"], h["value"], h["probe"], h["port"]) for h in device["verdict"]["hits"]]
    assert hits and len(hits) == len(set(hits))
    # The flood does not hide what the device is.
    assert device["verdict"]["manufacturer"] == "hikvision"
