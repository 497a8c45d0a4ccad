#!/usr/bin/env python3
"""Benchmark: ``camsweep scan`` of the emulated lab against ground truth, next to nmap.

Brings the lab up (its own namespaces, prefix ``cs-bench-`` by default so it never collides with a
test run), then from inside the lab's scanner namespace:

1. times ``camsweep scan 198.18.0.0/24 198.18.1.0/24 --format json`` (wall clock and the scan
   process's peak RSS, via /usr/bin/time when present) and scores its verdicts;
2. times ``nmap -sV -n -p <same ports> --script broadcast-wsdd-discover`` on the same ranges and
   scores what nmap's service/script output names, the same way.

Scoring, per device of the lab: found at all; maker right (Hikvision, Dahua, or "neither"); brand,
model and type right where the ground truth has them. Type and model accuracy (issue 14) are also
given over the Hikvision/Dahua-made units whose answers *reveal* them, judged from the profile's own
declared answers (``revealed``), never from camsweep's output. Results are printed as JSON and
written to ``bench/results/scan_lab-<UTC time>.json``. Not a test: run it by hand as root::

    sudo python3 bench/scan_lab.py [--count N] [--no-nmap] [--runs 3] [--nmap-host-timeout 120s]

Issue 14's speed goal (a 30-device site on two segments, one routed, identified in <= 5 s) is
``--count 30 --no-nmap --runs 3``: 20 Hikvision/Dahua-made units and 10 others, 12 of them behind
the router; the best run's wall time and the maker/type/model scores are printed. ``--checkout
DIR`` scans with another checkout's scan.py (e.g. ``git worktree add /tmp/main main``) in the same
lab, for a before/after in one sitting.

nmap's service scan has no overall bound against a device that drips bytes for ever (it sat on
the lab's drip devices for 15+ minutes), so nmap runs with ``--host-timeout`` (default 120 s);
hosts it gives up on count as not identified.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET  # our own nmap's XML, not device input
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camsweep.config import DEFAULT_PORTS
from camsweep.lab import Lab, load_profiles
from camsweep.lab.profiles import site_mix

SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")
SERVICE_TABLES = ("http", "rtsp", "wsd", "sadp", "dhip", "ssdp", "mdns", "onvif")
RESTRICTED = ("hikvision", "dahua")
TARGET_SECONDS = 5.0  # issue 14: a 30-device site in <= 5 s


def norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def loosely_equal(got: Any, want: Any) -> bool:
    a, b = norm(got), norm(want)
    return bool(a and b) and (a == b or a in b or b in a)


def maker_class(maker: str | None) -> str:
    return maker if maker in RESTRICTED else "neither"


# What a unit says about its kind in its answers, per lab truth type. A unit whose answers contain
# its model number reveals its type too (the model families are catalogue facts); otherwise one of
# these statements must be in an answer, and it must be the statement of the unit's *true* type (a
# hostile profile announcing "NetworkVideoTransmitter" does not reveal a camera it is not).
TYPE_STATEMENTS = {
    "camera": (r"NetworkVideoTransmitter", r"type/video_encoder", r"IP Camera\(", r'"DeviceClass"\s*:\s*"(?:IPC|SD)"',
               r"<deviceType>IP(?:Camera|Dome|Zoom)</deviceType>"),
    "nvr": (r"NetworkVideoStorage", r"DNVRS-Webs", r'"DeviceClass"\s*:\s*"NVR"', r"<deviceType>NVR</deviceType>"),
    "dvr": (r'"DeviceClass"\s*:\s*"(?:XVR|HCVR|DVR|MHDX)"', r"<deviceType>DVR</deviceType>"),
    "intercom": (r'"DeviceClass"\s*:\s*"VT[OH]"', r"<deviceType>VIS</deviceType>"),
    "access_control": (r'"DeviceClass"\s*:\s*"BSC"', r"<deviceType>ACS</deviceType>"),
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def answers_text(profile: dict[str, Any]) -> str:
    """Everything the emulated unit sends: its service tables (and body files), not [device]/[truth]."""
    parts = _strings({k: v for k, v in profile.items() if k in SERVICE_TABLES})
    base = Path(profile.get("base_dir") or ".")
    for route in (r for table in profile.get("http", ()) for r in table.get("routes", ())):
        if route.get("body_file"):
            parts.append((base / route["body_file"]).read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def revealed(profile: dict[str, Any]) -> dict[str, bool]:
    """Whether the unit's own answers reveal its model and its type (see TYPE_STATEMENTS)."""
    truth, text = profile.get("truth", {}), answers_text(profile)
    model = bool(truth.get("model")) and norm(truth["model"]) in norm(text)
    statements = TYPE_STATEMENTS.get(str(truth.get("type")), ())
    return {"model": model, "type": model or any(re.search(s, text) for s in statements)}


def commit_of(checkout: str | Path) -> str | None:
    """The commit a checkout is at, and ``+changes`` if its tree differs from it (which code a
    result measured: a bench result is evidence)."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True)
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+changes" if dirty else "")


def timed(command: list[str], *, timeout: float) -> tuple[subprocess.CompletedProcess[str], float, int | None]:
    """Run ``command``; return it, its wall time and its peak RSS in KiB (None if unknown)."""
    time_bin = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    with tempfile.NamedTemporaryFile(prefix="camsweep-bench-", suffix=".rss") as rss_file:
        wrapped = [time_bin, "-f", "%M", "-o", rss_file.name, *command] if time_bin else command
        started = time.monotonic()
        try:
            done = subprocess.run(wrapped, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired as expired:  # recorded, not fatal: the lab still comes down
            out = expired.stdout.decode(errors="replace") if isinstance(expired.stdout, bytes) else expired.stdout
            done = subprocess.CompletedProcess(wrapped, -9, out or "", f"killed after {timeout:g} s")
        wall = time.monotonic() - started
        text = Path(rss_file.name).read_text().strip().splitlines() if time_bin else []
    rss = int(text[-1]) if text and text[-1].isdigit() else None
    return done, wall, rss


def score(truth: list[dict[str, Any]], claims: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compare per-IP claims ({maker, brand, model, type}) with the lab's ground truth."""
    rows = []
    for device in truth:
        want = device["truth"]
        got = claims.get(device["ip"])
        row: dict[str, Any] = {"name": device["name"], "ip": device["ip"], "segment": device["segment"],
                               "found": got is not None, "truth": want, "claim": got,
                               "reveals": device.get("reveals", {})}
        if got is not None:
            row["maker_ok"] = maker_class(got.get("maker")) == maker_class(want.get("manufacturer"))
            for key, truth_key in (("brand", "brand"), ("model", "model"), ("type", "type")):
                if want.get(truth_key):
                    row[f"{key}_ok"] = loosely_equal(got.get(key), want[truth_key])
        rows.append(row)

    def share(rows_: list[dict[str, Any]], key: str) -> dict[str, Any]:
        scored = [r for r in rows_ if key in r]
        good = sum(1 for r in scored if r[key])
        return {"right": good, "of": len(scored)}

    def revealed_share(rows_: list[dict[str, Any]], what: str) -> dict[str, Any]:
        """Right over the units whose answers reveal ``what``; a unit not found counts as wrong."""
        shown = [r for r in rows_ if r["reveals"].get(what)]
        good = sum(1 for r in shown if r.get(f"{what}_ok"))
        return {"right": good, "of": len(shown), "share": round(good / len(shown), 3) if shown else None,
                "missed": [r["name"] for r in shown if not r.get(f"{what}_ok")]}

    restricted = [r for r in rows if r["truth"].get("manufacturer") in RESTRICTED]
    others = [r for r in rows if r["truth"].get("manufacturer") not in RESTRICTED]
    false_positive = [r["name"] for r in others if r["found"] and maker_class(r["claim"].get("maker")) != "neither"]
    return {
        "devices": len(rows),
        "found": sum(1 for r in rows if r["found"]),
        "maker": share(rows, "maker_ok"),
        "restricted_maker": share(restricted, "maker_ok"),
        "restricted_brand": share(restricted, "brand_ok"),
        "restricted_model": share(restricted, "model_ok"),
        "restricted_type": share(restricted, "type_ok"),
        "restricted_type_revealed": revealed_share(restricted, "type"),
        "restricted_model_revealed": revealed_share(restricted, "model"),
        "false_restricted": false_positive,
        "wrong": [
            {"name": r["name"], "truth": r["truth"], "claim": r["claim"]}
            for r in rows if not r["found"] or not r.get("maker_ok", False)
        ],
        "rows": rows,
    }


def camsweep_claims(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    scan = report.get("scan", report)
    claims: dict[str, dict[str, Any]] = {}
    for item in scan["devices"]:
        verdict = item["verdict"]
        claim = {"maker": verdict["manufacturer"], "brand": verdict["brand"], "model": verdict["model"],
                 "type": verdict["device_type"], "confidence": verdict["confidence_level"]}
        for ip in item["device"]["ips"]:
            claims[ip] = claim
    return claims


def nmap_claims(xml_text: str, truth: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What nmap says per host, read the way a person would: any maker/brand/model it names."""
    root = ET.fromstring(xml_text)
    texts: dict[str, list[str]] = {}
    for host in root.iter("host"):
        address = host.find("address[@addrtype='ipv4']")
        if address is None:
            continue
        ip = address.get("addr", "")
        found = texts.setdefault(ip, [])
        mac = host.find("address[@addrtype='mac']")
        if mac is not None and mac.get("vendor"):
            found.append(mac.get("vendor", ""))
        for service in host.iter("service"):
            found += [service.get(k, "") for k in ("product", "version", "extrainfo", "devicetype", "ostype")]
        for script in host.iter("script"):
            found.append(script.get("output", ""))
    for script in root.iter("script"):  # broadcast-wsdd-discover is a prescript: output names IPs
        if script.get("id") == "broadcast-wsdd-discover":
            output = script.get("output", "")
            for block in re.split(r"\n\s*(?=\d+\.\d+\.\d+\.\d+)", output):
                match = re.match(r"\s*(\d+\.\d+\.\d+\.\d+)", block)
                if match:
                    texts.setdefault(match.group(1), []).append(block)
    by_ip = {d["ip"]: d for d in truth}
    claims: dict[str, dict[str, Any]] = {}
    for ip, parts in texts.items():
        blob = " ".join(p for p in parts if p)
        low = blob.lower()
        maker = "hikvision" if "hikvision" in low else "dahua" if "dahua" in low else None
        want = by_ip.get(ip, {}).get("truth", {})
        claim: dict[str, Any] = {"maker": maker, "text": blob[:300]}
        # Credit nmap with brand/model/type whenever its text contains the right one.
        for key, truth_key in (("brand", "brand"), ("model", "model")):
            if want.get(truth_key) and norm(want[truth_key]) in norm(blob):
                claim[key] = want[truth_key]
        if want.get("type") and re.search({"camera": r"webcam|camera|ipcam", "nvr": r"\bnvr\b|network video",
                                           "dvr": r"\bdvr\b"}.get(want["type"], r"$^"), low):
            claim["type"] = want["type"]
        claims[ip] = claim
    return claims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=None,
                        help="A site of this many real devices, two Hikvision/Dahua-made for every other one, on "
                             "both segments (lab.profiles.site_mix; clones past the profiles). Default: every "
                             "profile, hostile ones included.")
    parser.add_argument("--prefix", default="cs-bench-", help="Namespace prefix of the benchmark's lab.")
    parser.add_argument("--runs", type=int, default=1, help="camsweep scans to time (the best and all are kept).")
    parser.add_argument("--checkout", default=str(ROOT),
                        help="Run scan.py of this checkout (e.g. a worktree of main, for before/after "
                             "in one sitting); the lab and the scoring are this one's.")
    parser.add_argument("--no-nmap", action="store_true", help="Skip the nmap comparison.")
    parser.add_argument("--nmap-host-timeout", default="120s",
                        help="nmap --host-timeout (its service scan never gives up on a device that drips bytes).")
    parser.add_argument("--nmap-timeout", type=float, default=1200, help="Seconds before the nmap run is killed.")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="Directory for the JSON result.")
    args = parser.parse_args()
    ports = ",".join(str(p) for p in DEFAULT_PORTS)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    profiles = site_mix(load_profiles(), args.count) if args.count else None
    with Lab(prefix=args.prefix, profiles=profiles) as lab:
        netns = ["ip", "netns", "exec", lab.scanner_namespace]
        truth = [{"name": d.name, "ip": d.ip, "segment": d.segment, "truth": dict(d.truth),
                  "reveals": revealed(d.profile.to_dict())} for d in lab.devices]
        runs = []
        report: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="camsweep-bench-") as state:
            for _ in range(max(1, args.runs)):
                lab.check_isolated()
                done, wall, rss = timed([*netns, sys.executable, str(Path(args.checkout) / "scan.py"), "scan", *SEGMENTS,
                                         "--format", "json", "--no-store", "--state-dir", state], timeout=300)
                if done.returncode not in (0, 3, 6):
                    print(done.stderr, file=sys.stderr)
                    return 1
                report = json.loads(done.stdout)
                runs.append({"wall_seconds": round(wall, 2), "peak_rss_kib": rss, "exit_code": done.returncode,
                             "partial": report["scan"]["partial"]})
        camsweep = {
            "command": f"camsweep scan {' '.join(SEGMENTS)} --format json", "checkout": args.checkout,
            "commit": commit_of(args.checkout),
            "runs": runs,
            "best_wall_seconds": min(r["wall_seconds"] for r in runs),
            "target_wall_seconds": TARGET_SECONDS,
            "score": score(truth, camsweep_claims(report)),
        }
        result: dict[str, Any] = {
            "benchmark": "scan_lab", "time": stamp, "lab_devices": len(truth),
            "lab_startup_seconds": round(lab.startup_seconds or 0.0, 2), "camsweep": camsweep,
        }
        nmap_xml = ""
        if not args.no_nmap and shutil.which("nmap"):
            lab.check_isolated()
            command = ["nmap", "-sV", "-n", "-p", ports, "--script", "broadcast-wsdd-discover",
                       "--host-timeout", args.nmap_host_timeout, "-oX", "-", *SEGMENTS]
            done, wall, rss = timed([*netns, *command], timeout=args.nmap_timeout)
            nmap_xml = done.stdout
            version = subprocess.run(["nmap", "--version"], capture_output=True, text=True).stdout.splitlines()
            result["nmap"] = {
                "command": " ".join(command), "version": version[0] if version else "?",
                "wall_seconds": round(wall, 2), "peak_rss_kib": rss, "exit_code": done.returncode,
                "score": score(truth, nmap_claims(done.stdout, truth)) if done.stdout.strip().endswith("</nmaprun>") else None,
                "hosts_given_up": sorted(set(re.findall(r"Skipping host (\S+) due to host timeout", done.stderr))),
            }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"scan_lab-{stamp}.json"
    if nmap_xml:
        (out / f"scan_lab-{stamp}-nmap.xml").write_text(nmap_xml)
    path.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("camsweep", "nmap")}
    for tool in ("camsweep", "nmap"):
        if tool in result and result[tool].get("score"):
            s = result[tool]["score"]
            summary[tool] = {
                "wall_seconds": result[tool].get("best_wall_seconds", result[tool].get("wall_seconds")),
                "peak_rss_kib": (result[tool].get("runs") or [result[tool]])[0].get("peak_rss_kib"),
                **{k: s[k] for k in ("devices", "found", "maker", "restricted_maker", "restricted_brand",
                                     "restricted_model", "restricted_type", "restricted_type_revealed",
                                     "restricted_model_revealed", "false_restricted")},
            }
    print(json.dumps(summary, indent=2))
    print(f"full result: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
