#!/usr/bin/env python3
"""Record ``examples/lab-capture.pcap``: a few seconds of a chatty lab, heard from the scanner's port.

Needs root (it brings up a small lab of the profiles in ``PROFILES`` in its own ``cs-ex-``
namespaces, and tears it down on exit). Nothing leaves the lab: tcpdump runs inside the lab's
scanner namespace, which sends nothing.

    sudo python3 examples/record_lab_capture.py [--seconds 8] [--output examples/lab-capture.pcap]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILES = [
    "hik-ds-2cd2722fwd-izs",    # SADP + mDNS
    "hik-ds-7608nxi-i2-nvr",    # NVR: SADP, HTTPS certificate
    "truvision-tvn-1104",       # Hikvision OEM
    "dahua-ipc-hdw1431t1-s4",   # DHIP + WS-Discovery
    "dahua-nvr2108-4ks3",       # Dahua NVR
    "amcrest-ip2m-841b",        # Dahua OEM
    "axis-m3058-plve",          # not restricted: mDNS
    "synology-ds216plus2",      # not a camera: SSDP
    "workstation-linux",        # a PC: DHCP only
    "hik-ds-2cd3955fwd-iws",    # segment B: only what the client's routed traffic shows
]
PERIOD = 2.0


def record(output: Path, seconds: float, profiles: list[str] = PROFILES, prefix: str = "cs-ex-") -> None:
    """Bring up a chatty lab of ``profiles``, capture ``seconds`` on the scanner's eth0, tear down."""
    from camsweep.lab import SHIPPED_PROFILES, Lab

    with tempfile.TemporaryDirectory(prefix="camsweep-example-") as tmp:
        for name in profiles:
            shutil.copy(SHIPPED_PROFILES / f"{name}.toml", tmp)
        with Lab(tmp, prefix=prefix, chatter=True, chatter_period=PERIOD) as lab:
            # -p: no promiscuous mode (the lab floods segment A anyway); -U: write each packet; -Z root: no
            # privilege drop, so the output may go anywhere root can write
            tcpdump = subprocess.Popen(
                ["ip", "netns", "exec", lab.scanner_namespace, "tcpdump", "-i", "eth0", "-p", "-n", "-U", "-Z", "root",
                 "-s", "0", "-w", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                assert tcpdump.stderr is not None
                seen = b""
                while b"listening on" not in seen:  # tcpdump's "listening on eth0" line: capturing
                    ready, _, _ = select.select([tcpdump.stderr], [], [], 30.0)
                    line = tcpdump.stderr.readline() if ready else b""
                    if not line:
                        raise SystemExit(f"tcpdump did not start: {seen.decode(errors='replace')}")
                    seen += line
                time.sleep(seconds)
            finally:
                tcpdump.terminate()
                tcpdump.wait(30)
    os.chmod(output, 0o644)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--output", type=Path, default=ROOT / "examples" / "lab-capture.pcap")
    args = parser.parse_args()
    record(args.output, args.seconds)
    print(f"{args.output}: {args.output.stat().st_size} bytes")


if __name__ == "__main__":
    main()
