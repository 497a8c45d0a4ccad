#!/usr/bin/env python3
"""Benchmark: the inventory's ingest and roll-up, SQLite (one file) and PostgreSQL side by side
(issue 18). Not a test.

For each backend, an empty inventory takes two rounds of 50 sites x 1,000 devices (``--sites``,
``--devices``): every site's scan is stored through ``Store.store`` as a scanner stores it at the
end of a scan (one transaction each), the second round a day later with a tenth of each site's
devices replaced, so the roll-up has a previous scan to count new devices against. Timed: each
round's ingest (wall time), then the roll-up (``Store.rollup``, what ``camsweep report
--all-sites`` reads) over all 100 scans, best and median of ``--repeat`` runs. Scans are built
before the clock starts.

PostgreSQL is a throwaway server (``tests/pgserver.py``: initdb into a temporary folder, a Unix
socket only, as ``nobody`` when run as root; fsync off, as for the tests) started and stopped by
this script; it needs Debian's ``postgresql`` package. Results go to stdout and
``bench/results/store_ingest-<UTC time>.json``.

    python3 bench/store_ingest.py
    python3 bench/store_ingest.py --sites 10 --devices 200 --only sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camsweep.models import Manufacturer, ScanResult
from camsweep.store import open_store

from tests.pgserver import PgServer
from tests.test_store import item, result

MAKERS = (Manufacturer.HIKVISION, Manufacturer.DAHUA, Manufacturer.OTHER, Manufacturer.UNKNOWN)


def site_scan(site: int, devices: int, round_: int) -> ScanResult:
    """Site ``site``'s scan in round ``round_``: from round 1 on, every tenth device is a new one."""
    items = []
    for n in range(devices):
        generation = round_ if n % 10 == 0 else 0  # a replaced device: another MAC
        mac = f"02:{site:02x}:{generation:02x}:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"
        items.append(item(f"10.{site}.{n // 250}.{n % 250 + 1}", mac, maker=MAKERS[n % len(MAKERS)]))
    return result(*items, minutes=24 * 60 * round_, site=f"site-{site:03d}")


def run(location: str, rounds: list[list[ScanResult]], repeat: int) -> dict[str, object]:
    out: dict[str, object] = {}
    with open_store(location) as inv:
        for n, scans in enumerate(rounds, 1):
            start = time.perf_counter()
            for scan in scans:
                inv.store(scan)
            took = time.perf_counter() - start
            devices = sum(len(s.devices) for s in scans)
            out[f"round_{n}"] = {"scans": len(scans), "devices": devices, "seconds": round(took, 3),
                                 "per_scan_ms": round(1000 * took / len(scans), 1),
                                 "devices_per_second": round(devices / took)}
        now = rounds[-1][0].finished + timedelta(hours=1)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            rows = inv.rollup(timedelta(days=7), now)
            times.append(time.perf_counter() - start)
        out["rollup"] = {"sites": len(rows), "best_ms": round(1000 * min(times), 1),
                         "median_ms": round(1000 * statistics.median(times), 1), "runs": repeat,
                         "new_since_previous": sum(r.new or 0 for r in rows)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    rounds = [[site_scan(s, args.devices, r) for s in range(args.sites)] for r in range(2)]
    report: dict[str, object] = {
        "bench": "store_ingest", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "sites": args.sites, "devices_per_site": args.devices, "rounds": len(rounds),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="camsweep-bench-") as folder:
            path = Path(folder) / "inventory.sqlite"
            report["sqlite"] = run(str(path), rounds, args.repeat)
            report["sqlite"]["file_mb"] = round(path.stat().st_size / 1e6, 1)  # type: ignore[index]
    if args.only in (None, "postgres"):
        server = PgServer().start()
        try:
            name = server.create_database()
            report["postgres"] = run(server.url(name), rounds, args.repeat)
            import psycopg

            with psycopg.connect(host=server.socket_dir, dbname=name, user="postgres") as con:
                size = con.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            report["postgres"]["database_mb"] = round(size / 1e6, 1)  # type: ignore[index]
            report["postgres"]["server"] = server.sql("SHOW server_version")[0][0]  # type: ignore[index]
        finally:
            server.stop()
    text = json.dumps(report, indent=2)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"store_ingest-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
