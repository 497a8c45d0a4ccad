#!/usr/bin/env python3
"""Benchmark: the HTML report of a large site (issue 13). Not a test.

Builds a site of N devices (default 2,000) from the demo capture's devices
(examples/lab-capture.pcap, read with ``camsweep.passive.analyse_capture``): each one cloned with
its own IP and MAC until there are N, so the evidence, verdicts and findings are those of real
device replies. Then renders the HTML report without a policy (each device then lists every
instrument naming its maker: the largest report), and records as JSON in bench/results/:

* the file's size (goal: at most 10 MB for 2,000 devices) and its size per device, next to the
  report of the capture's own devices, to show the size grows with devices only;
* the time to render it;
* the time headless Chromium takes to load it (navigation to the load event: parse, layout, the
  page's script), median of three loads (tests/chromium.py drives the browser).

    python3 bench/html_report.py --devices 2000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

GOAL_BYTES = 10 * 1000 * 1000


def site(devices: int):  # type: ignore[no-untyped-def]
    """A scan result of ``devices`` devices cloned from the demo capture's."""
    from camsweep.models import Device, IdentifiedDevice
    from camsweep.passive import analyse_capture

    base = analyse_capture(os.path.join(ROOT, "examples", "lab-capture.pcap"))
    items = list(base.devices)
    clones = []
    for n in range(devices):
        item = items[n % len(items)]
        ip = f"10.{64 + n // 65536}.{n // 256 % 256}.{n % 256}"
        mac = f"02:00:{n >> 24 & 255:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"
        device: Device = replace(item.device, key=mac, ips=(ip,), macs=(mac,))
        clones.append(IdentifiedDevice(device, item.verdict))
    return base, replace(base, devices=tuple(clones), targets=("10.64.0.0/12",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--loads", type=int, default=3, help="browser loads to take the median of")
    args = parser.parse_args()

    from camsweep.findings import evaluate
    from camsweep.reports import render_report

    from tests.chromium import Browser

    base, big = site(args.devices)
    small_html = render_report(evaluate(base, None), "html")
    began = time.perf_counter()
    html = render_report(evaluate(big, None), "html")
    render_seconds = time.perf_counter() - began
    size = len(html.encode("utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "report.html")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(html)
        with Browser(timeout=300) as browser:
            loads = [browser.open(path, width=1280) for _ in range(args.loads)]
            rows = browser.evaluate("document.querySelectorAll('#devices tr.device').length")
            shown = browser.evaluate("document.getElementById('shown').textContent")
    record = {
        "bench": "html_report",
        "when": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "devices": args.devices,
        "base_devices": len(base.devices),
        "base_bytes": len(small_html.encode("utf-8")),
        "bytes": size,
        "bytes_per_device": round(size / args.devices),
        "goal_bytes": GOAL_BYTES,
        "within_goal": size <= GOAL_BYTES,
        "render_seconds": round(render_seconds, 2),
        "chromium_load_seconds": [round(s, 2) for s in loads],
        "chromium_load_median_seconds": round(statistics.median(loads), 2),
        "rows_in_page": rows,
        "page_says": shown,
        "cpus": os.cpu_count(),
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", f"html_report-{record['when']}.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")
    print(json.dumps(record, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
