"""``--snmp`` end to end in the lab: a real ``snmpd`` in the router, a recorded switch in snmpsim.

A lab of its own (``Lab(snmp=True)``, namespace prefix ``cs-n<pid>-``) holds three devices on the
routed segment B -- a Hikvision camera, an Axis and a Hanwha camera, shipped profiles moved to
segment B -- so the scanner reaches them only through the router and sees no
MAC of theirs. The router's ``snmpd`` serves its real ARP table (the kernel's neighbour table for
segment B); the switch serves a real D-Link DGS-3612G walk (``scanner/lab/snmp/SOURCE.md``). Every
scan runs as a subprocess inside the lab's scanner namespace.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camsweep.lab.profiles import SHIPPED_PROFILES
from camsweep.lab.snmpd import COMMUNITY, V3_AUTH, V3_PRIV

from tests.conftest import SCAN_BOUND, write_credentials
from tests.schema_check import report_json

ROOT = Path(__file__).resolve().parents[1]
SEGMENT_B = "198.18.1.0/24"
# shipped profile -> its address on segment B (the two segment A ones are moved there)
# (none of them tells its MAC itself: a DHIP or SADP answer would, routed or not)
PROFILES = {"hik-ds-2cd2955fwd-is": "198.18.1.23", "axis-m3058-plve": "198.18.1.70",
            "hanwha-wisenet-ipolis": "198.18.1.71"}


@pytest.fixture(scope="module")
def snmp_lab(needs_root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from camsweep.lab import Lab

    folder = tmp_path_factory.mktemp("snmp-profiles")
    for name, address in PROFILES.items():
        text = (SHIPPED_PROFILES / f"{name}.toml").read_text(encoding="utf-8")
        text = re.sub(r"""(?m)^segment = ['"]A['"]$""", 'segment = "B"', text)
        text = re.sub(r"""(?m)^ip = ['"][\d.]+['"]$""", f'ip = "{address}"', text)
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    with Lab(folder, prefix=f"cs-n{os.getpid()}-", snmp=True) as running:
        assert {d.segment for d in running.devices} == {"B"}
        yield running


def scan(lab: Any, *args: str, credentials: str | None = None) -> dict[str, Any]:
    """``camsweep scan SEGMENT_B -i eth0 ARGS --format json`` in the scanner namespace: the result."""
    with tempfile.TemporaryDirectory(prefix="camsweep-snmp-test-") as tmp:
        extra: list[str] = []
        if credentials is not None:
            extra = ["--credentials", str(write_credentials(Path(tmp), credentials))]
        done = lab.exec([sys.executable, str(ROOT / "scan.py"), "scan", SEGMENT_B, "-i", "eth0", *args, *extra,
                         "--format", "json", "--no-store", "--state-dir", tmp],
                        cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True)
    assert done.returncode in (0, 3), done.stderr
    assert "Traceback" not in done.stderr
    for secret in (COMMUNITY, V3_AUTH[1], V3_PRIV[1], "wrong-community", "not-the-auth-key"):
        assert secret not in done.stdout and secret not in done.stderr
    return report_json(done.stdout)["scan"]


def _devices(result: dict[str, Any]) -> list[dict[str, Any]]:
    return result["devices"]


def _oui_makers(item: dict[str, Any]) -> set[str]:
    return {hit["extracted"].get("org", "") for hit in item["verdict"]["hits"] if hit["rule_file"] == "oui.toml"}


def test_routed_macs_and_oui_makers_appear_only_with_snmp(snmp_lab: Any) -> None:
    agents = snmp_lab.snmp_agents
    without = scan(snmp_lab)
    with_snmp = scan(snmp_lab, "--snmp", agents.router, credentials=agents.credentials())
    by_ip = {ip: item for item in _devices(with_snmp) for ip in item["device"]["ips"]}
    before = {ip: item for item in _devices(without) for ip in item["device"]["ips"]}
    for device in snmp_lab.devices:
        # without SNMP: found (through the router), but no MAC and no OUI evidence
        assert device.ip in before, device.name
        assert before[device.ip]["device"]["macs"] == [], device.name
        assert not _oui_makers(before[device.ip]), device.name
        # with SNMP: the router's ARP entry gives the MAC, and the OUI its registered maker
        item = by_ip[device.ip]
        assert item["device"]["macs"] == [device.mac], device.name
        assert _oui_makers(item), device.name
        [entry] = [o for o in item["device"]["observations"] if o["probe"] == "snmp"]
        assert entry["kind"] == "mac_address"
        assert entry["fields"]["snmp.agent"] == f"{agents.router} (lab-router)"
        assert entry["fields"]["snmp.table"] == "ipNetToPhysicalTable"
    hik = by_ip["198.18.1.23"]
    assert any("hikvision" in org.lower() for org in _oui_makers(hik))
    assert any(note.startswith(f"snmp: read {agents.router} (lab-router)") and "ARP entries" in note
               for note in with_snmp["notes"])
    assert not any("snmp" in note for note in without["notes"])


def test_snmpv3_authpriv_reads_the_same_arp_table(snmp_lab: Any) -> None:
    agents = snmp_lab.snmp_agents
    result = scan(snmp_lab, "--snmp", agents.router, "--methods", "snmp", credentials=agents.credentials(v3=True))
    macs = {ip: item["device"]["macs"] for item in _devices(result) for ip in item["device"]["ips"]}
    assert {d.ip: [d.mac] for d in snmp_lab.devices}.items() <= macs.items()


def test_wrong_community_and_wrong_v3_key_are_clear_notes(snmp_lab: Any) -> None:
    agents = snmp_lab.snmp_agents
    wrong = agents.credentials(v3=True, community="wrong-community", auth_key="not-the-auth-key")
    result = scan(snmp_lab, "--snmp", f"{agents.router},{agents.switch}", "--methods", "snmp,ports",
                  credentials=wrong)
    [note] = [n for n in result["notes"] if n.startswith("method snmp failed")]
    assert f"{agents.router}: SNMPv3 authentication failed (wrong auth key or auth protocol)" in note
    assert f"{agents.switch}: no answer to 2 tries of 2 s (wrong community, or no SNMP agent there)" in note
    assert not result["partial"]
    assert {d.ip for d in snmp_lab.devices} <= {ip for item in _devices(result) for ip in item["device"]["ips"]}


def test_a_switch_forwarding_table_gives_devices_known_by_mac_port_and_vlan(snmp_lab: Any) -> None:
    agents = snmp_lab.snmp_agents
    result = scan(snmp_lab, "--snmp", agents.switch, "--methods", "snmp", "--all", credentials=agents.credentials())
    by_mac = {item["device"]["key"]: item["device"] for item in _devices(result)}
    device = by_mac["00:0d:ed:6e:0e:59"]  # learnt in VLANs 1 and 66 on bridge port 7
    assert device["ips"] == []
    places = {(o["fields"]["snmp.port"], o["fields"]["snmp.vlan"]) for o in device["observations"]}
    assert places == {("ifIndex 7", "1"), ("ifIndex 7", "66")}
    assert all(o["kind"] == "forwarding_entry" and o["fields"]["snmp.agent"] == agents.switch
               for o in device["observations"])
    assert len([m for m in by_mac if ":" in m]) == 68  # 77 entries, 68 distinct MACs
    assert any(note == f"snmp: read {agents.switch}, DGS-3612G Gigabit Ethernet Switch: "
                       "77 forwarding entries (dot1qTpFdbTable)" for note in result["notes"])


def test_rows_read_from_a_table_are_bounded(snmp_lab: Any) -> None:
    agents = snmp_lab.snmp_agents
    with tempfile.TemporaryDirectory(prefix="camsweep-snmp-test-") as tmp:
        path = write_credentials(Path(tmp), agents.credentials())
        code = (
            "import json, sys\n"
            "from camsweep import ScanConfig, scan\n"
            "from camsweep.credentials import load\n"
            f"config = ScanConfig(targets=({SEGMENT_B!r},), interface='eth0', methods=('snmp',),\n"
            f"                    snmp=({agents.switch!r},), credentials=load({str(path)!r}), snmp_max_rows=30)\n"
            "result = scan(config)\n"
            "entries = [o for d in result.devices for o in d.device.observations\n"
            "           if o.kind.value == 'forwarding_entry']\n"
            "print(json.dumps({'notes': list(result.notes), 'entries': len(entries)}))\n"
        )
        done = snmp_lab.exec([sys.executable, "-c", code], cwd=str(ROOT), timeout=SCAN_BOUND,
                             capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert f"snmp: {agents.switch}: dot1qTpFdbTable cut at 30 rows (snmp_max_rows)" in out["notes"]
    assert 0 < out["entries"] <= 30
