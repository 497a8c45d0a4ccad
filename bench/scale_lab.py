#!/usr/bin/env python3
"""Benchmark (issue 15 item 3): camsweep at site scale, next to nmap, in one sitting.

For each device count (default 250 and 1,000) and each layout it brings up a lab of that many
devices (profiles cloned, every device on segment A; namespace prefix ``cs-scale-``), then from
the lab's scanner namespace times, on the same lab:

* ``camsweep scan <subnet> --format json`` -- wall clock, peak RSS (``/usr/bin/time``), devices
  found and identified against the lab's ground truth (scored as ``bench/scan_lab.py`` does), and
  the cost per device (wall seconds / devices) so 250 and 1,000 can be compared;
* ``nmap -sn -n <subnet>`` (host discovery) and ``nmap -sV -n -p <camsweep's ports> <subnet>``
  (service scan, ``--host-timeout`` bounded) -- wall clock and hosts found.

Layouts: ``22`` puts the devices on 198.18.0.0/22 and scans it (goal: 1,000 devices fully
identified in <= 60 s and <= 300 MB peak RSS); ``16`` puts them on 198.18.0.0/16 and scans the
whole /16 at the default ``--rate`` (goal: <= 180 s).

The lab's namespaces share the kernel's one neighbour table (a real site's hosts each have their
own), so the benchmark's lab raises the kernel-wide limits for its own run
(``Lab(neighbour_limits=...)``, restored at teardown; the result records it), and one CPU's
backlog queue takes the lab's copies of every broadcast, so it raises ``net.core.netdev_max_backlog``
the same way; each camsweep run records the kernel's backlog drops during it. Results are printed
and written to ``bench/results/scale_lab-<UTC time>.json``. Not a test; as root::

    sudo python3 bench/scale_lab.py                                # 250 and 1,000; /22 and /16; nmap too
    sudo python3 bench/scale_lab.py --counts 250 --layouts 22 --no-nmap   # the short form
    sudo python3 bench/scale_lab.py --nmap-sv-up-to 250            # nmap -sV only on the 250-device labs
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_lab import camsweep_claims, commit_of, score, timed  # noqa: E402  (the same scoring as the lab benchmark)

from camsweep.config import DEFAULT_PORTS  # noqa: E402
from camsweep.lab import Lab  # noqa: E402
from camsweep.lab.topology import Plan  # noqa: E402

LAYOUTS = {
    "22": (Plan("198.18.0.0/22", "198.18.8.0/22"), "198.18.0.0/22", 60.0),
    "16": (Plan("198.18.0.0/16", "198.19.0.0/24"), "198.18.0.0/16", 180.0),
}
"""Layout -> (lab plan, subnet scanned, wall-clock goal in seconds)."""
RSS_GOAL_KIB = 300 * 1024
NETDEV_BACKLOG = 10000
"""The lab's kernel-wide ``net.core.netdev_max_backlog`` for its run: each ARP request on a segment
of 1,000 lab devices is 1,000 frames queued at once on one CPU (a switch copies broadcasts in
hardware). At the default 1,000 the kernel dropped 2,189,573 frames during one /16 scan and the
scan found 999 of 1,000 (bench/results/scale_lab-20261204T231253Z.json)."""
NEIGHBOUR_LIMITS = (8192, 16384, 32768)
"""The lab's kernel-wide neighbour-table limits for its run: a /16 sweep at 1,000 addresses a
second keeps a few thousand unresolved entries alive at once, and the lab's 1,000 devices add one
entry each for the scanner."""


def softnet_dropped() -> int:
    """Frames the kernel dropped because a CPU's backlog queue was full (2nd column of
    /proc/net/softnet_stat, one row per CPU, hex), since boot."""
    rows = Path("/proc/net/softnet_stat").read_text().splitlines()
    return sum(int(row.split()[1], 16) for row in rows)


def camsweep_run(netns: list[str], subnet: str, truth: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    dropped = softnet_dropped()
    with tempfile.TemporaryDirectory(prefix="camsweep-scale-") as state:
        done, wall, rss = timed([*netns, sys.executable, str(ROOT / "scan.py"), "scan", subnet, "--format", "json",
                                 "--no-store", "--state-dir", state], timeout=timeout)
    entry: dict[str, Any] = {"command": f"camsweep scan {subnet} --format json", "wall_seconds": round(wall, 2),
                             "peak_rss_kib": rss, "exit_code": done.returncode,
                             "kernel_backlog_drops_during_run": softnet_dropped() - dropped}
    if done.returncode in (0, 3, 6):
        report = json.loads(done.stdout)
        scored = score(truth, camsweep_claims(report))
        entry.update({
            "notes": report["scan"]["notes"],
            "found": scored["found"], "maker_right": scored["maker"]["right"],
            "restricted_model_right": scored["restricted_model"],
            "seconds_per_device": round(wall / max(1, len(truth)), 4),
        })
    else:
        entry["stderr"] = done.stderr[-2000:]
    return entry


def nmap_run(netns: list[str], command: list[str], timeout: float) -> dict[str, Any]:
    done, wall, rss = timed([*netns, *command], timeout=timeout)
    # One <host> element per host found; nmap 7.9x also prints a <hosthint> with its own status
    # for each host while it scans (counting every status="up" counted most hosts twice).
    # -sV writes <host starttime=...>, -sn a bare <host>: both count.
    up = len(set(re.findall(r'<host(?:\s[^>]*)?>\s*<status state="up"[^>]*/>\s*<address addr="([^"]+)"', done.stdout)))
    return {"command": " ".join(command), "wall_seconds": round(wall, 2), "peak_rss_kib": rss,
            "exit_code": done.returncode, "hosts_up": up,
            "seconds_per_device": None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[250, 1000], help="Lab sizes to measure.")
    parser.add_argument("--layouts", nargs="+", choices=sorted(LAYOUTS), default=["22", "16"])
    parser.add_argument("--no-nmap", action="store_true", help="Skip nmap -sn and nmap -sV.")
    parser.add_argument("--nmap-host-timeout", default="60s", help="nmap -sV --host-timeout.")
    parser.add_argument("--nmap-sv-up-to", type=int, default=None,
                        help="Run nmap -sV only on labs of at most this many devices (it takes minutes per 100 devices).")
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds before any one run is killed.")
    parser.add_argument("--prefix", default="cs-scale-", help="Namespace prefix of the benchmark's labs.")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="Directory for the JSON result.")
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ports = ",".join(str(p) for p in DEFAULT_PORTS)
    rows: list[dict[str, Any]] = []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"scale_lab-{stamp}.json"
    for layout in args.layouts:
        plan, subnet, goal = LAYOUTS[layout]
        for count in args.counts:
            with Lab(count=count, prefix=args.prefix, segment="A", plan=plan, neighbour_limits=NEIGHBOUR_LIMITS,
                     netdev_backlog=NETDEV_BACKLOG) as lab:
                lab.check_isolated()
                netns = ["ip", "netns", "exec", lab.scanner_namespace]
                truth = [{"name": d.name, "ip": d.ip, "segment": d.segment, "truth": dict(d.truth)} for d in lab.devices]
                row: dict[str, Any] = {"layout": f"/{layout}", "subnet": subnet, "devices": count,
                                       "lab_startup_seconds": round(lab.startup_seconds or 0.0, 1),
                                       "neighbour_limits_for_the_lab": list(NEIGHBOUR_LIMITS),
                                       "netdev_backlog_for_the_lab": NETDEV_BACKLOG,
                                       "wall_goal_seconds": goal, "rss_goal_kib": RSS_GOAL_KIB if layout == "22" else None}
                row["camsweep"] = camsweep_run(netns, subnet, truth, args.timeout)
                if not args.no_nmap and shutil.which("nmap"):
                    lab.check_isolated()
                    row["nmap_sn"] = nmap_run(netns, ["nmap", "-sn", "-n", "-oX", "-", subnet], args.timeout)
                    if args.nmap_sv_up_to is None or count <= args.nmap_sv_up_to:
                        row["nmap_sV"] = nmap_run(netns, ["nmap", "-sV", "-n", "-p", ports, "--host-timeout",
                                                          args.nmap_host_timeout, "-oX", "-", subnet], args.timeout)
                    for key in ("nmap_sn", "nmap_sV"):
                        if key in row:
                            row[key]["seconds_per_device"] = round(row[key]["wall_seconds"] / count, 4)
                rows.append(row)
                print(json.dumps(_summary(row)), flush=True)
                _write(path, stamp, rows)  # after every lab: a long sitting cut short keeps what it measured
    print(_table(rows))
    print(f"full result: {path}", file=sys.stderr)
    return 0


def _write(path: Path, stamp: str, rows: list[dict[str, Any]]) -> None:
    version = subprocess.run(["nmap", "--version"], capture_output=True, text=True).stdout.splitlines() \
        if shutil.which("nmap") else []
    result = {"benchmark": "scale_lab", "time": stamp, "commit": commit_of(ROOT),
              "nmap_version": version[0] if version else None, "runs": rows}
    path.write_text(json.dumps(result, indent=2) + "\n")


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    c = row["camsweep"]
    return {"layout": row["layout"], "devices": row["devices"], "camsweep_wall": c["wall_seconds"],
            "camsweep_rss_mib": round((c["peak_rss_kib"] or 0) / 1024, 1), "found": c.get("found"),
            "maker_right": c.get("maker_right"), "s_per_device": c.get("seconds_per_device"),
            "nmap_sn_wall": row.get("nmap_sn", {}).get("wall_seconds"),
            "nmap_sV_wall": row.get("nmap_sV", {}).get("wall_seconds")}


def _table(rows: list[dict[str, Any]]) -> str:
    """Side by side: layout, devices, then wall seconds (and per device) of each tool."""
    lines = ["layout devices | camsweep s (s/dev) RSS MiB found | nmap -sn s (s/dev) up | nmap -sV s (s/dev) up"]
    for row in rows:
        c, sn, sv = row["camsweep"], row.get("nmap_sn", {}), row.get("nmap_sV", {})
        lines.append(
            f"{row['layout']:>6} {row['devices']:>7} | {c['wall_seconds']:>8} ({c.get('seconds_per_device')}) "
            f"{round((c['peak_rss_kib'] or 0) / 1024)} {c.get('found')} | "
            f"{sn.get('wall_seconds', '-')} ({sn.get('seconds_per_device', '-')}) {sn.get('hosts_up', '-')} | "
            f"{sv.get('wall_seconds', '-')} ({sv.get('seconds_per_device', '-')}) {sv.get('hosts_up', '-')}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
