"""``camsweep import dhcp`` on leases a real dnsmasq writes while it serves the lab's chatty devices.

A throwaway dnsmasq (own command line, no config file, DNS off, a lease file in a temporary folder)
runs in a small chatty lab's scanner namespace (``cs-i<pid>-``) until it has leased every device
that sends DHCP requests, is stopped, and its lease file is imported as a user would. Everything
stays in the lab's namespaces; the lab is torn down on every exit path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.environment import unavailable

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "scanner" / "lab" / "profiles"
CHATTY = {  # profile -> the host name its DHCP requests carry (scanner/lab/profiles/*.toml)
    "hik-ds-2cd2385g1-i": "DS-2CD2385G1-I",
    "dahua-ipc-hdw1431t1-s4": "6C01E93PAG6A1F4",
    "axis-m3058-plve": "axis-accc8e4f21d8",
}
LEASE_BOUND = 300.0
"""Seconds dnsmasq is given to lease every chatty device (they ask every second; it takes ~3 s)."""


@pytest.fixture
def dnsmasq() -> str:
    found = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if Path("/usr/sbin/dnsmasq").exists() else None)
    if found is None:
        unavailable("dnsmasq is not installed (Debian package dnsmasq-base)")
    return found


@pytest.mark.usefixtures("needs_root")
def test_leases_of_a_live_dnsmasq_serving_the_lab_are_imported(tmp_path: Path, dnsmasq: str) -> None:
    from camsweep.lab import Lab
    from camsweep.lab.netns import lab_namespaces

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for name in CHATTY:
        shutil.copy(PROFILES / f"{name}.toml", profiles)
    leases = tmp_path / "dnsmasq.leases"
    prefix = f"cs-i{os.getpid()}-"
    with Lab(profiles, prefix=prefix, chatter=True, chatter_period=1.0) as lab:
        macs = {d.mac.lower(): d for d in lab.devices}
        server = subprocess.Popen(
            ["ip", "netns", "exec", lab.scanner_namespace, dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null",
             "--port=0", "--interface=eth0", "--bind-interfaces", "--dhcp-authoritative",
             "--dhcp-range=198.18.0.10,198.18.0.250,255.255.255.0,1h", f"--dhcp-leasefile={leases}",
             "--pid-file=", "--user=root", "--group=root", "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + LEASE_BOUND
            while time.monotonic() < deadline and server.poll() is None:
                text = leases.read_text() if leases.exists() else ""
                if all(mac in text for mac in macs):
                    break
                time.sleep(0.5)
        finally:
            server.terminate()
            _, errors = server.communicate(timeout=30)
        assert all(mac in leases.read_text() for mac in macs), errors.decode(errors="replace")[-2000:]
    assert [n for n in lab_namespaces() if n.startswith(prefix)] == []

    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(ROOT / "scan.py"), "import", "dhcp", str(leases), "--db",
                           str(tmp_path / "inv.sqlite"), "--format", "json", "-o", str(out)],
                          check=False, capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert done.returncode in (0, 3), done.stderr
    scan = json.loads(out.read_text())["scan"]
    assert scan["mode"] == "import-dhcp" and scan["targets"] == [str(leases)]
    found = {d["device"]["macs"][0]: d for d in scan["devices"]}
    for mac, device in macs.items():
        assert found[mac]["device"]["ips"] == [device.ip]
        assert found[mac]["device"]["hostnames"] == [CHATTY[device.name]]
    axis = found[next(m for m, d in macs.items() if d.name == "axis-m3058-plve")]["verdict"]
    assert axis["manufacturer"] == "other" and "dhcp-axis-hostname" in {h["rule_id"] for h in axis["hits"]}
    hik = found[next(m for m, d in macs.items() if d.name == "hik-ds-2cd2385g1-i")]["verdict"]
    assert hik["manufacturer"] == "hikvision"
