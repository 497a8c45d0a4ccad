"""A capture's timestamps are file data: an absurd one must not end the analysis with a traceback."""

from __future__ import annotations

import math
from pathlib import Path

import dpkt
import pytest

from camsweep.passive import analyse_capture
from camsweep.passive.signals import Analyser

# An ARP request from 198.18.0.5 (00:11:22:33:44:55) asking for 198.18.0.1.
ARP = bytes.fromhex(
    "ffffffffffff" "001122334455" "0806" "0001080006040001" "001122334455" "c6120005" "000000000000" "c6120001"
)


def test_pcapng_with_a_timestamp_past_year_9999(tmp_path: Path) -> None:
    path = tmp_path / "future.pcapng"
    with path.open("wb") as handle:
        dpkt.pcapng.Writer(handle).writepkt(ARP, ts=1e12)  # year 33658
    result = analyse_capture(str(path))
    ips = [ip for item in result.devices for ip in item.device.ips]
    assert ips == ["198.18.0.5"]


@pytest.mark.parametrize("ts", [1e12, -1e13, math.nan, math.inf])
def test_analyser_dates_impossible_timestamps_at_the_epoch(ts: float) -> None:
    assert Analyser()._when(ts).year == 1970
