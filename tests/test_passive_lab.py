"""Passive discovery in the lab's chatty mode, and the shipped example capture.

The lab tests bring up their own chatty lab (``Lab(chatter=True)``, namespaces ``cs-p<pid>-``,
torn down at the end of the module) and, in one listening window:

* run tcpdump on the scanner namespace's eth0 while ``camsweep listen -i eth0`` runs there;
* check the capture holds nothing sent by the scanner (``listen`` sends no packet at all);
* check ``listen`` and ``analyse_capture`` of the recorded capture identify the devices that
  revealed enough, with the same verdicts as an active ``camsweep scan`` of the same lab.

No timing assertions: devices announce every ``PERIOD`` seconds and the window spans many
periods, so no single packet has to arrive; every wait is bounded.

``test_example_capture_*`` analyse ``examples/lab-capture.pcap`` offline (no root), everywhere.
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from camsweep.lab import SHIPPED_PROFILES, load_profiles
from camsweep.lab.chatter import dhcp_request, hello_from_probe_match
from camsweep.passive import analyse_capture
from camsweep.passive.capture import LINKTYPE_ETHERNET, open_capture
from camsweep.types import RESTRICTED_MAKERS

from tests.conftest import PATIENT, SCAN_BOUND
from tests.schema_check import report_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lab-capture.pcap"
SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")
PERIOD = 2.0
LISTEN_SECONDS = 24.0  # twelve rounds of chatter
BOUND = 180  # seconds: any subprocess is killed (and the test fails) beyond this


def _norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


# -- offline: the shipped example capture ------------------------------------------------------

EXAMPLE_VERDICTS = {
    # ip: (profile, manufacturer, model or None when the capture does not reveal it)
    "198.18.0.22": ("hik-ds-2cd2722fwd-izs", "hikvision", "DS-2CD2722FWD-IZS"),
    "198.18.0.30": ("hik-ds-7608nxi-i2-nvr", "hikvision", "DS-7608NXI-I2/8P/S"),  # fragmented SADP reply
    "198.18.0.41": ("truvision-tvn-1104", "hikvision", "TVN-1104"),
    "198.18.0.50": ("dahua-ipc-hdw1431t1-s4", "dahua", "IPC-HDW1431T1-S4"),
    "198.18.0.51": ("dahua-nvr2108-4ks3", "dahua", "DHI-NVR2108-4KS3"),
    "198.18.0.60": ("amcrest-ip2m-841b", "dahua", "IP2M-841B"),
    "198.18.1.21": ("hik-ds-2cd3955fwd-iws", "hikvision", None),
}
"""What ``analyse_capture(examples/lab-capture.pcap)`` must say (README "Passive discovery")."""


def test_example_capture_is_small_and_identifies_its_devices() -> None:
    assert EXAMPLE.stat().st_size < 1_000_000
    result = analyse_capture(str(EXAMPLE))
    assert not result.partial and result.mode == "pcap"
    by_ip = {item.device.ip: item for item in result.devices}
    truth = {p.name: p.truth for p in load_profiles(SHIPPED_PROFILES)}
    for ip, (profile, manufacturer, model) in EXAMPLE_VERDICTS.items():
        verdict = by_ip[ip].verdict
        assert truth[profile]["manufacturer"] == manufacturer  # the table agrees with the lab's truth
        assert verdict.manufacturer.value == manufacturer, (profile, verdict)
        if model:
            assert _norm(model) in _norm(truth[profile].get("model")) or _norm(truth[profile].get("model")) in _norm(model)
            assert _norm(verdict.model) == _norm(model), (profile, verdict.model)
    # the non-restricted devices are seen but not called Hikvision/Dahua
    for ip in ("198.18.0.70", "198.18.0.90", "198.18.0.91"):
        assert by_ip[ip].verdict.manufacturer.value not in RESTRICTED_MAKERS


def test_example_capture_holds_every_chatter_kind_and_nothing_from_the_scanner() -> None:
    kinds = {o.kind.value for item in analyse_capture(str(EXAMPLE)).devices for o in item.device.observations}
    assert kinds >= {"sadp_reply", "dhip_reply", "onvif_scopes", "mdns_record", "ssdp_reply", "dhcp_options",
                     "http_response", "rtsp_banner", "tls_certificate", "open_port"}
    frames = _frames(EXAMPLE)
    assert not [f for f in frames if _sent_by(f, "198.18.0.2", None)]


# -- offline: fragmented discovery replies ------------------------------------------------------

def _fragmented_sadp(tmp_path: Path, order: list[int] | None = None, drop: int | None = None) -> Path:
    from scapy.layers.inet import IP, UDP, fragment
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    reply = (ROOT / "tests" / "fixtures" / "replies" / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()
    reply = reply + b" " * max(0, 3000 - len(reply))  # larger than one frame, like Hikvision's replies
    datagram = IP(src="198.18.0.20", dst="239.255.255.250", id=77) / UDP(sport=37020, dport=37020) / reply
    pieces = [Ether(src="58:50:ed:00:00:01", dst="01:00:5e:7f:ff:fa") / f for f in fragment(datagram, 1480)]
    assert len(pieces) == 3
    chosen = [pieces[i] for i in (order or range(len(pieces))) if i != drop]
    path = tmp_path / "fragments.pcap"
    wrpcap(str(path), chosen)
    return path


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_fragmented_sadp_reply_is_reassembled_in_any_order(tmp_path: Path, order: list[int]) -> None:
    result = analyse_capture(str(_fragmented_sadp(tmp_path, order)))
    (item,) = result.devices
    sadp = [o for o in item.device.observations if o.kind.value == "sadp_reply"]
    assert sadp and sadp[0].problem is None
    assert item.verdict.manufacturer.value == "hikvision" and _norm(item.verdict.model) == _norm("DS-2CD2385G1-I")


def test_a_lost_fragment_gives_no_half_reply(tmp_path: Path) -> None:
    result = analyse_capture(str(_fragmented_sadp(tmp_path, drop=1)))
    assert not [o for item in result.devices for o in item.device.observations if o.kind.value == "sadp_reply"]


def test_defragmenter_memory_is_bounded() -> None:
    from camsweep.passive.decode import Defragmenter

    defrag = Defragmenter()
    for ident in range(10 * Defragmenter.MAX_DATAGRAMS):
        assert defrag.add((b"\x01" * 4, b"\x02" * 4, ident, 17), 0, True, b"x" * 100) is None
    assert len(defrag._pending) == Defragmenter.MAX_DATAGRAMS
    assert defrag.add((b"a", b"b", 1, 17), 65_000, False, b"y" * 1000) is None  # beyond 64 KiB: refused


# -- offline: chatter message builders ---------------------------------------------------------

def test_hello_built_from_a_probe_match_is_a_hello_the_parser_reads() -> None:
    from camsweep.protocols import wsd

    profile = next(p for p in load_profiles(SHIPPED_PROFILES) if p.name == "dahua-ipc-hdw1431t1-s4")
    assert profile.wsd is not None
    hello = hello_from_probe_match(profile.wsd["probe_match"])
    assert "ProbeMatch" not in hello and "RelatesTo" not in hello
    obs = wsd.parse_message(hello.replace("{", "").replace("}", ""), probe="passive")
    assert obs.fields["onvif.message_type"] == "Hello"
    assert "onvif.types" in obs.fields


def test_dhcp_request_carries_mac_address_and_host_name() -> None:
    from camsweep.protocols import dhcp

    obs = dhcp.parse_packet(dhcp_request("58:50:ed:12:34:56", "198.18.0.20", "DS-2CD2043G2-I"), probe="passive")
    assert obs.problem is None and obs.mac == "58:50:ed:12:34:56"
    assert "DS-2CD2043G2-I" in json.dumps(obs.fields)


# -- capture helpers ---------------------------------------------------------------------------

def _frames(path: Path) -> list[bytes]:
    with open_capture(str(path)) as capture:
        frames = [frame for _, linktype, frame in capture.frames() if linktype == LINKTYPE_ETHERNET]
        assert capture.problem is None
    return frames


def _ipv4(frame: bytes) -> tuple[str, str] | None:
    if frame[12:14] != b"\x08\x00" or len(frame) < 34:
        return None
    return socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])


def _arp(frame: bytes) -> tuple[int, str, str] | None:
    """(operation, sender IP, target IP) of an ARP frame."""
    if frame[12:14] != b"\x08\x06" or len(frame) < 42:
        return None
    return int.from_bytes(frame[20:22], "big"), socket.inet_ntoa(frame[28:32]), socket.inet_ntoa(frame[38:42])


def _sent_by(frame: bytes, ip: str, mac: bytes | None) -> bool:
    ipv4, arp = _ipv4(frame), _arp(frame)
    return ((mac is not None and frame[6:12] == mac) or (ipv4 is not None and ipv4[0] == ip)
            or (arp is not None and arp[1] == ip))


def _addressed_to(frame: bytes, ip: str, mac: bytes) -> bool:
    ipv4, arp = _ipv4(frame), _arp(frame)
    return frame[0:6] == mac or (ipv4 is not None and ipv4[1] == ip) or (arp is not None and arp[2] == ip)


# -- the chatty lab ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chatty_lab(needs_root: None) -> Iterator[Any]:
    from camsweep.lab import Lab

    with Lab(prefix=f"cs-p{os.getpid()}-", chatter=True, chatter_period=PERIOD) as lab:
        yield lab


def _wait_until_listening(tcpdump: subprocess.Popen[bytes], bound: float = 60.0) -> None:
    """Block until tcpdump says it is capturing (its "listening on" line), at most ``bound`` s."""
    assert tcpdump.stderr is not None
    seen = b""
    deadline = time.monotonic() + bound
    while b"listening on" not in seen:
        ready, _, _ = select.select([tcpdump.stderr], [], [], max(0.0, deadline - time.monotonic()))
        line = tcpdump.stderr.readline() if ready else b""
        assert line, f"tcpdump did not start: {seen.decode(errors='replace')}"
        seen += line


@pytest.fixture(scope="module")
def listened(chatty_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One window: tcpdump on the scanner's eth0 while ``camsweep listen -i eth0`` runs there."""
    lab = chatty_lab
    pcap = tmp_path_factory.mktemp("passive-lab") / "scanner-eth0.pcap"
    link = json.loads(subprocess.run(["ip", "-n", lab.scanner_namespace, "-j", "link", "show", "eth0"],
                                     capture_output=True, text=True, check=True).stdout)[0]
    lab.check_isolated()
    tcpdump = subprocess.Popen(
        # -p: not promiscuous, as listen; -Z root: keep root so it can write into pytest's 0700 tmp dir
        ["ip", "netns", "exec", lab.scanner_namespace, "tcpdump", "-i", "eth0", "-p", "-n", "-U", "-Z", "root",
         "-s", "0", "-w", str(pcap)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_listening(tcpdump)
        done = lab.exec([sys.executable, str(ROOT / "scan.py"), "listen", "-i", "eth0", "-d", str(LISTEN_SECONDS),
                         "--format", "json", "--no-store"], cwd=str(ROOT), timeout=BOUND)
    finally:
        tcpdump.terminate()
        tcpdump.wait(60)
    assert done.returncode in (0, 3), done.stderr  # 3: restricted devices found
    return {"lab": lab, "pcap": pcap, "listen": report_json(done.stdout)["scan"],
            "scanner_mac": bytes.fromhex(link["address"].replace(":", "")), "scanner_ip": lab.plan.scanner_ip}


@pytest.fixture(scope="module")
def active_scan(listened: dict[str, Any]) -> dict[str, Any]:
    """``camsweep scan`` of the same lab, after the listening window (so it cannot pollute it)."""
    lab = listened["lab"]
    with tempfile.TemporaryDirectory(prefix="camsweep-passive-lab-") as tmp:
        lines = []
        for device in lab.devices:
            onvif = device.profile.onvif or {}
            if onvif.get("username") and onvif.get("password"):
                lines += ["[[credential]]", f'network = "{device.ip}"', f'username = "{onvif["username"]}"',
                          f'password = "{onvif["password"]}"', ""]
        credentials = Path(tmp) / "credentials.toml"
        credentials.write_text("\n".join(lines))
        credentials.chmod(0o600)
        done = lab.exec([sys.executable, str(ROOT / "scan.py"), "scan", *SEGMENTS, "--format", "json", "--no-store",
                         "--state-dir", str(Path(tmp) / "state"), "--credentials", str(credentials), *PATIENT],
                        cwd=str(ROOT), timeout=SCAN_BOUND)
    assert done.returncode in (0, 3), done.stderr
    return _verdicts_by_ip(report_json(done.stdout)["scan"])


def _verdicts_by_ip(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ip: item["verdict"] for item in result["devices"] for ip in item["device"]["ips"]}


def _announcers(lab: Any) -> list[Any]:
    """Segment-A Hikvision/Dahua devices that announce themselves by SADP or DHIP (JSON replies)."""
    return [d for d in lab.devices if d.segment == "A" and d.truth["manufacturer"] in RESTRICTED_MAKERS
            and (d.profile.sadp or (d.profile.dhip and "reply" in d.profile.dhip))]


def test_listen_sends_no_packet(listened: dict[str, Any]) -> None:
    """Exact: not one frame from the scanner's MAC or IP in the whole window.

    The kernel could still send on its own: IPv6 (router solicitations) is off in the lab, and
    ARP replies go out only when someone asks for the scanner's address. The chatty lab's
    client talks to devices, devices answer the client or announce to groups, so nobody asks --
    checked below too, so zero is the expected count, not luck.
    """
    frames = _frames(listened["pcap"])
    ip, mac = listened["scanner_ip"], listened["scanner_mac"]
    assert len(frames) > 100  # the capture heard the chatter
    assert [f[:42].hex() for f in frames if _sent_by(f, ip, mac)] == []
    assert [f[:42].hex() for f in frames if _addressed_to(f, ip, mac)] == []
    assert "nothing was sent" in " ".join(listened["listen"]["notes"])


def test_listen_identifies_the_chatty_devices(listened: dict[str, Any], active_scan: dict[str, Any]) -> None:
    """Every SADP/DHIP announcer: the right maker, and the active scan's model (SADP/DHIP carry it)."""
    lab = listened["lab"]
    found = _verdicts_by_ip(listened["listen"])
    expected = _announcers(lab)
    assert len(expected) >= 10
    wrong = []
    for device in expected:
        verdict = found.get(device.ip, {})
        if verdict.get("manufacturer") != device.truth["manufacturer"]:
            wrong.append((device.name, "manufacturer", verdict.get("manufacturer")))
        elif _norm(verdict.get("model")) != _norm(active_scan[device.ip]["model"]):
            wrong.append((device.name, "model", verdict.get("model"), active_scan[device.ip]["model"]))
    assert wrong == []


def test_capture_analysis_gives_the_active_scans_verdicts(listened: dict[str, Any],
                                                           active_scan: dict[str, Any]) -> None:
    lab = listened["lab"]
    passive = {item.device.ip: item.verdict for item in analyse_capture(str(listened["pcap"])).devices}
    truth = {d.ip: d for d in lab.devices}
    for device in _announcers(lab):  # everything that revealed enough is identified, model included
        assert passive[device.ip].manufacturer.value == device.truth["manufacturer"], device.name
        assert _norm(passive[device.ip].model) == _norm(active_scan[device.ip]["model"]), device.name
    compared, different = 0, []
    for ip, verdict in passive.items():
        if ip not in truth or verdict.manufacturer.value in ("unknown",):
            continue  # lab infrastructure, or too little evidence to say anything
        active = active_scan[ip]
        compared += 1
        if verdict.manufacturer.value != active["manufacturer"]:
            different.append((truth[ip].name, "manufacturer", verdict.manufacturer.value, active["manufacturer"]))
        if verdict.brand and active["brand"] and _norm(verdict.brand) != _norm(active["brand"]):
            different.append((truth[ip].name, "brand", verdict.brand, active["brand"]))
        if verdict.model and _norm(verdict.model) != _norm(active["model"]):
            different.append((truth[ip].name, "model", verdict.model, active["model"]))
    assert compared >= len(_announcers(lab))
    assert different == []


def test_cli_lab_up_passes_the_chatter_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import camsweep.cli.lab as cli_lab
    from click.testing import CliRunner

    made: list[dict[str, Any]] = []

    class FakeLab:
        def __init__(self, profiles_dir: Any, count: Any, **options: Any) -> None:
            made.append(options)
            raise SystemExit(0)  # stop before anything is built

    monkeypatch.setattr(cli_lab, "Lab", FakeLab)
    CliRunner().invoke(cli_lab.command, ["up", "--chatter", "--chatter-period", "2.5"])
    CliRunner().invoke(cli_lab.command, ["up"])
    CliRunner().invoke(cli_lab.command, ["up", "--snmp"])
    assert made == [{"chatter": True, "chatter_period": 2.5, "snmp": False},
                    {"chatter": False, "chatter_period": 5.0, "snmp": False},
                    {"chatter": False, "chatter_period": 5.0, "snmp": True}]


@pytest.mark.usefixtures("needs_root")
def test_chatty_lab_tears_down_its_client_namespace(tmp_path: Path) -> None:
    import shutil

    from camsweep.lab import Lab, check_isolated
    from camsweep.lab.netns import lab_namespaces

    shutil.copy(SHIPPED_PROFILES / "hik-ds-2cd2722fwd-izs.toml", tmp_path)
    prefix = f"cs-q{os.getpid()}-"
    with Lab(tmp_path, prefix=prefix, chatter=True, chatter_period=PERIOD) as lab:
        assert lab.client_namespace == prefix + "client"
        assert lab.client_namespace in lab_namespaces()
        state = json.loads(lab.state_file.read_text())
        assert state["chatter"] == {"period": PERIOD, "client_namespace": prefix + "client", "client_ip": "198.18.0.3"}
        routes = subprocess.run(["ip", "-n", lab.client_namespace, "route"], capture_output=True, text=True,
                                check=True).stdout
        assert "default" not in routes  # the client reaches the lab's segments only
        check_isolated(lab.client_namespace)  # raises if it could reach anything outside the lab
    assert [n for n in lab_namespaces() if n.startswith(prefix)] == []
