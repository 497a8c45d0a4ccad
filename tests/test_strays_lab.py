"""Strays (issue 15 item 1): units on segment A's wire but outside the scan's targets -- a
Hikvision camera at its factory address 192.168.1.64, a Dahua at 192.168.1.108, a Hikvision unit
with no address that answers from 0.0.0.0 -- answer SADP/DHIP to the makers' groups. They are
reported (the two with addresses also announce themselves by gratuitous ARP, which the ARP
sweep hears), marked ``outside targets (seen on the local segment)``, identified from what they
sent, and sent nothing more; with ``--probe-strays`` the private ones are probed.

"Sent nothing more" is checked on the devices' side: the TCP segments each stray's own network
namespace received (``Tcp: InSegs`` of its /proc/net/snmp). The scanner is given an address in the
stray subnet (as an installer would), so the strays *could* be reached: not probing them is
camsweep's choice, not the network's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camsweep.models import OUTSIDE_TARGETS
from tests.conftest import ROOT, SCAN_BOUND
from tests.schema_check import report_json

STRAYS = ROOT / "scanner" / "lab" / "profiles" / "strays"
SEGMENT_A = "198.18.0.0/24"


@pytest.fixture(scope="module")
def stray_lab(needs_root: None) -> Iterator[Any]:
    from camsweep.lab import Lab

    with Lab(STRAYS, prefix=f"cs-y{os.getpid()}-") as lab:
        subprocess.run(["ip", "-n", lab.scanner_namespace, "addr", "add", "192.168.1.2/24", "dev", "eth0"], check=True)
        yield lab


def tcp_segments_received(namespace: str) -> int:
    """``Tcp: InSegs`` of a namespace: every TCP segment that reached its stack, to any port."""
    text = subprocess.run(["ip", "netns", "exec", namespace, "cat", "/proc/net/snmp"], capture_output=True,
                          text=True, check=True).stdout
    names, values = [line.split()[1:] for line in text.splitlines() if line.startswith("Tcp:")]
    return int(dict(zip(names, values))["InSegs"])


def scan(lab: Any, *extra: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Scan segment A; the report and the TCP segments each stray received during the scan."""
    before = {d.name: tcp_segments_received(d.namespace) for d in lab.devices}
    with tempfile.TemporaryDirectory(prefix="camsweep-strays-") as tmp:
        done = lab.exec([sys.executable, str(ROOT / "scan.py"), "scan", SEGMENT_A, "--format", "json", "--no-store",
                         "--state-dir", str(Path(tmp) / "state"), *extra],
                        cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True)
    assert done.returncode in (0, 3), done.stderr
    after = {d.name: tcp_segments_received(d.namespace) for d in lab.devices}
    return report_json(done.stdout), {name: after[name] - before[name] for name in before}


def by_name(lab: Any, report: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each stray's device and finding, found by its MAC."""
    findings = {f["key"]: f for f in report["findings"]}
    found = {}
    for device in lab.devices:
        item = next(d for d in report["scan"]["devices"] if device.mac in d["device"]["macs"])
        found[device.name] = (item, findings[item["device"]["key"]])
    return found


def test_strays_are_reported_identified_and_not_probed(stray_lab: Any) -> None:
    report, segments = scan(stray_lab)
    found = by_name(stray_lab, report)
    for device in stray_lab.devices:
        item, finding = found[device.name]
        assert item["device"]["outside_targets"] is True, device.name
        assert finding["location"]["outside_targets"] is True
        assert any(note.startswith(OUTSIDE_TARGETS) for note in finding["notes"]), finding["notes"]
        assert item["verdict"]["manufacturer"] == device.truth["manufacturer"], device.name
        assert item["verdict"]["model"] == device.truth["model"], device.name
        assert segments[device.name] == 0, f"{device.name} received {segments[device.name]} TCP segment(s)"
        probes = {o["probe"] for o in item["device"]["observations"]}
        assert probes <= {"sadp", "dhip", "arp"}, (device.name, probes)  # arp: its gratuitous ARP
        if device.ip != "0.0.0.0":
            assert any(o["raw"].startswith("gratuitous ARP:") for o in item["device"]["observations"]), device.name
    unconfigured = found["hik-unconfigured-0-0-0-0"][0]["device"]
    assert unconfigured["ips"] == [] and unconfigured["key"] == "58:50:ed:1f:e4:00"
    assert found["hik-stray-192-168-1-64"][0]["device"]["ips"] == ["192.168.1.64"]
    assert found["dahua-stray-192-168-1-108"][0]["device"]["ips"] == ["192.168.1.108"]
    assert any("outside the targets answered discovery" in note for note in report["scan"]["notes"])


def test_probe_strays_probes_the_private_ones(stray_lab: Any) -> None:
    report, segments = scan(stray_lab, "--probe-strays")
    found = by_name(stray_lab, report)
    hik, _ = found["hik-stray-192-168-1-64"]
    assert hik["device"]["outside_targets"] is True
    assert segments["hik-stray-192-168-1-64"] > 0
    assert 80 in hik["device"]["open_ports"]
    assert any(o["probe"] == "http" for o in hik["device"]["observations"])
    assert segments["hik-unconfigured-0-0-0-0"] == 0  # no address: nothing to probe




def test_listen_knows_the_unit_without_an_address_by_its_mac(needs_root: None) -> None:
    """``listen`` on a chatty lab of the strays (they send their SADP/DHIP replies to the makers'
    groups, as when any tool on the site searches): every unit is listed and identified, the one
    without an address by its MAC, as the scan lists it."""
    from camsweep.lab import Lab

    with Lab(STRAYS, prefix=f"cs-w{os.getpid()}-", chatter=True, chatter_period=1.0) as lab:
        done = lab.exec([sys.executable, str(ROOT / "scan.py"), "listen", "-i", "eth0", "-d", "6",
                         "--format", "json", "--no-store"],
                        cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True)
        assert done.returncode in (0, 3), done.stderr
        found = by_name(lab, report_json(done.stdout))
        for device in lab.devices:
            item, _ = found[device.name]
            assert item["verdict"]["manufacturer"] == device.truth["manufacturer"], device.name
            assert item["verdict"]["model"] == device.truth["model"], device.name
        unconfigured = found["hik-unconfigured-0-0-0-0"][0]["device"]
        assert unconfigured["ips"] == [] and unconfigured["key"] == "58:50:ed:1f:e4:00"
