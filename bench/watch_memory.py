#!/usr/bin/env python3
"""Benchmark: ``camsweep watch``'s memory over a long run (issue 17, item 5). Not a test.

Builds one hour of the lab's chatter compressed into a capture: ``examples/lab-capture.pcap`` (8 s
of the chatty lab heard from the scanner's port, recorded by ``examples/record_lab_capture.py``)
repeated back to back with its times shifted, each copy's TCP client ports renumbered, so every copy's
HTTP/RTSP/TLS exchanges are new flows as they are on a real network, until the copies cover
``--minutes`` (60) of capture time. Then, in a fresh process, it replays that capture through the
watch's state machine (``camsweep.watch.Watch``) with the packets' times as its clock -- as
``camsweep watch`` would have run on that hour -- identifying at most every second when something
new was heard, alerting, and storing a snapshot every ``--snapshot`` (300) seconds into a temporary
SQLite inventory. It prints the peak RSS after the first simulated minute and at the end, the
current RSS at both points, and the alerts and snapshots, and keeps them as JSON in bench/results/:

    python3 bench/watch_memory.py                 # one hour (about 750,000 packets)
    python3 bench/watch_memory.py --minutes 5     # the short form
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
EXAMPLE = os.path.join(ROOT, "examples", "lab-capture.pcap")
EPHEMERAL = 32768  # Linux's first ephemeral port: the lab client's side of each TCP exchange


def _renumber(frame: bytes, copy: int) -> bytes:
    """The frame with its TCP client (ephemeral) port moved by ``copy``; servers' ports stay."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return frame
    start = 14 + (frame[14] & 0x0F) * 4
    if len(frame) < start + 4:
        return frame
    ports = list(struct.unpack_from("!HH", frame, start))
    for n, port in enumerate(ports):
        if port >= EPHEMERAL:
            ports[n] = EPHEMERAL + (port - EPHEMERAL + copy * 7919) % (65536 - EPHEMERAL)
    return frame[:start] + struct.pack("!HH", *ports) + frame[start + 4:]


def build(path: str, minutes: float) -> dict[str, float]:
    from camsweep.passive.capture import open_capture

    with open_capture(EXAMPLE) as capture:
        frames = list(capture.frames())
    first, last = frames[0][0], frames[-1][0]
    span = last - first + 0.1  # one copy's length in capture time
    copies = math.ceil(minutes * 60 / span)
    record = struct.Struct("<IIII")
    packets = 0
    with open(path, "wb", buffering=1 << 20) as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))  # pcap, Ethernet
        for copy in range(copies):
            for ts, _, frame in frames:
                moved = ts - first + copy * span
                frame = _renumber(frame, copy)
                out.write(record.pack(int(moved), round(moved % 1 * 1e6) % 1_000_000, len(frame), len(frame)))
                out.write(frame)
                packets += 1
    return {"copies": copies, "packets": packets, "capture_seconds": round(copies * span, 1),
            "capture_mib": round(os.path.getsize(path) / 2**20, 1)}


def _rss_mib() -> tuple[float, float]:
    """(peak RSS so far, current RSS) of this process, MiB."""
    current = 0.0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, current


def replay(path: str, snapshot: float) -> dict[str, object]:
    """Run the watch's state machine over ``path`` in this (fresh) process."""
    from camsweep.config import Outputs, WatchConfig
    from camsweep.passive.capture import open_capture
    from camsweep.store import open_store
    from camsweep.watch import Snapshot, Watch

    alerts: list[object] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "inventory.sqlite")

        def store(taken: Snapshot) -> None:
            with open_store(db) as inventory:
                inventory.store_and_prune(taken.result, taken.assessment, None)

        watch = None
        start_rss: tuple[float, float] | None = None
        started = time.perf_counter()
        with open_capture(path) as capture:
            for ts, linktype, frame in capture.frames():
                if watch is None:
                    begin = ts
                    watch = Watch(WatchConfig(interface="replay", snapshot_interval=snapshot), Outputs(),
                                  alert=alerts.append, snapshot=store, now=ts)
                watch.feed(ts, linktype, frame)
                watch.tick(ts)
                if start_rss is None and ts - begin >= 60:
                    start_rss = _rss_mib()
            packets = capture.frames_read
        assert watch is not None
        watch.store_snapshot(ts)
        elapsed = time.perf_counter() - started
        end_rss = _rss_mib()
        with open_store(db, read_only=True) as inventory:
            stored = len(inventory.scans(""))
    start_rss = start_rss or end_rss
    return {
        "packets": packets, "replay_seconds": round(elapsed, 1), "packets_per_second": round(packets / elapsed),
        "alerts": len(alerts), "snapshots_stored": stored, "hosts": watch.analyser.budget.hosts,
        "peak_rss_mib_after_first_minute": round(start_rss[0], 1), "peak_rss_mib_at_end": round(end_rss[0], 1),
        "rss_mib_after_first_minute": round(start_rss[1], 1), "rss_mib_at_end": round(end_rss[1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="capture time to build (default 60)")
    parser.add_argument("--snapshot", type=float, default=300.0, help="seconds between snapshots (default 300)")
    parser.add_argument("--replay", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        print(json.dumps(replay(args.replay, args.snapshot)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lab-hour.pcap")
        figures: dict[str, object] = dict(build(path, args.minutes))
        done = subprocess.run([sys.executable, __file__, "--replay", path, "--snapshot", str(args.snapshot)],
                              capture_output=True, text=True, check=True)
        figures.update(json.loads(done.stdout))
    print(f"capture: {figures['packets']:,} packets, {figures['capture_seconds']} s of lab chatter "
          f"({figures['copies']} copies of examples/lab-capture.pcap, {figures['capture_mib']} MiB)")
    print(f"replay: {figures['replay_seconds']} s ({figures['packets_per_second']:,} packets/s); "
          f"{figures['alerts']} alerts, {figures['snapshots_stored']} snapshots stored, {figures['hosts']} hosts")
    print(f"peak RSS: {figures['peak_rss_mib_after_first_minute']} MiB after the first minute, "
          f"{figures['peak_rss_mib_at_end']} MiB at the end (current: {figures['rss_mib_after_first_minute']} -> "
          f"{figures['rss_mib_at_end']} MiB)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = os.path.join(HERE, "results", f"watch_memory-{stamp}.json")
    with open(results, "w") as out:
        json.dump({"minutes": args.minutes, "snapshot": args.snapshot, **figures}, out, indent=2)
    print(f"kept in {os.path.relpath(results, ROOT)}")


if __name__ == "__main__":
    main()
