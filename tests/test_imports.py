"""``camsweep import nmap`` and ``camsweep import dhcp``: reports written by a real nmap run inside the
lab's scanner namespace, lease files written by a real dnsmasq serving the lab's chatty devices and
public ISC/Kea lease files (each fixture's ``.source`` says how it was made), read into the
observations camsweep's own probes make, identified, stored like a scan and shown by history/diff.
Hostile files (entity bombs, oversize, not nmap) are one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from camsweep import imports
from camsweep.cli import cli
from camsweep.errors import InputFileError
from camsweep.store import open_store
from camsweep.verdicts import identify_result
from click.testing import CliRunner

from tests.schema_check import report_json

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "imports"
NMAP_SN = FIXTURES / "nmap-sn.xml"
NMAP_SV = FIXTURES / "nmap-sV.xml"
NMAP_SCRIPTS = FIXTURES / "nmap-sV-scripts.xml"
DNSMASQ = FIXTURES / "dnsmasq-lab.leases"
ISC = FIXTURES / "isc-metal-bmc.leases"
KEA = FIXTURES / "kea-metal-bmc.csv"


def devices(path: Path, reader=imports.read_nmap, mode: str = "import-nmap") -> dict[str, object]:
    read = reader(str(path))
    result = identify_result(read.observations, targets=(str(path),), mode=mode)
    return {d.device.ip: d for d in result.devices}


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def camsweep(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line (``python3 scan.py``): its one-line errors and exit codes."""
    return subprocess.run([sys.executable, str(ROOT / "scan.py"), *args], capture_output=True, text=True,
                          timeout=300, check=False, cwd=str(ROOT))


# ------------------------------------------------------------------------------------------ nmap


def test_nmap_ping_scan_gives_each_host_its_mac_and_nmaps_vendor() -> None:
    read = imports.read_nmap(str(NMAP_SN))
    macs = {o.ip: o for o in read.observations if o.kind.value == "mac_address"}
    hik = macs["198.18.0.10"]
    assert hik.mac == "58:50:ed:1f:e3:85" and hik.probe == "nmap"
    assert hik.fields["mac.oui"] == "5850ED"
    assert hik.fields["nmap.mac_vendor"] == "Hangzhou Hikvision Digital Technology"
    assert read.started is not None and read.started.year == 2026
    assert any("nmap -sn" in note for note in read.notes)  # the command nmap ran is kept
    found = devices(NMAP_SN)
    assert found["198.18.0.10"].verdict.manufacturer.value == "hikvision"  # the OUI rule judged it
    assert found["198.18.0.70"].verdict.manufacturer.value == "other"  # Axis: a negative


def test_nmap_service_scan_keeps_ports_and_banners() -> None:
    read = imports.read_nmap(str(NMAP_SV))
    ports = [o for o in read.observations if o.kind.value == "open_port"]
    assert ports, "the -sV report has open ports"
    assert all(o.fields["port.protocol"] == "tcp" for o in ports)
    assert any(o.fields.get("nmap.service") for o in ports)
    found = devices(NMAP_SV)
    assert 80 in found["198.18.0.10"].device.open_ports


def test_nmap_scripts_feed_the_probes_field_keys_so_the_same_rules_apply() -> None:
    read = imports.read_nmap(str(NMAP_SCRIPTS))
    keys = {k for o in read.observations for k in o.fields}
    assert {"http.title", "http.header.server", "rtsp.public", "tls.subject"} <= keys
    found = devices(NMAP_SCRIPTS)
    hik = found["198.18.0.21"].verdict
    assert hik.manufacturer.value == "hikvision"
    assert {h.field for h in hik.hits} - {"mac.oui", "device.ports"}, "wire evidence beyond the OUI"
    dahua = found["198.18.0.50"].verdict
    assert dahua.manufacturer.value == "dahua"


def test_nmap_import_is_stored_like_a_scan_and_history_shows_its_kind_and_file(tmp_path: Path) -> None:
    db = str(tmp_path / "inv.sqlite")
    done = CliRunner().invoke(cli, ["import", "nmap", str(NMAP_SN), "--db", db, "--format", "json",
                                     "-o", str(tmp_path / "r.json")])
    assert done.exit_code in (0, 3), done.output
    report = report_json((tmp_path / "r.json").read_text())  # the report follows its schema
    assert report["scan"]["mode"] == "import-nmap" and report["scan"]["targets"] == [str(NMAP_SN)]
    # The times are nmap's (its run took 96 s), not the moment of the import.
    assert (report["scan"]["started"], report["scan"]["finished"]) == ("2026-12-04T17:48:51+00:00",
                                                                        "2026-12-04T17:50:27+00:00")
    with open_store(db, read_only=True) as inv:
        [scan] = inv.scans()
    assert scan.mode == "import-nmap" and scan.targets == (str(NMAP_SN),)
    history = CliRunner().invoke(cli, ["history", "--db", db, "--format", "json"])
    [row] = json.loads(history.output)
    assert row["mode"] == "import-nmap" and row["source"] == str(NMAP_SN)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']>\n<nmaprun scanner="nmap"><host><address addr="&lol9;" addrtype="ipv4"/></host></nmaprun>\n'
)


@pytest.mark.parametrize("name, content, said", [
    ("laughs.xml", BILLION_LAUGHS, "declares XML entities"),
    ("xxe.xml", ('<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<nmaprun><host><hostnames><hostname name="&x;"/></hostnames></host></nmaprun>'),
     "declares XML entities"),
    ("other.xml", '<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not an nmap XML report"),
    ("text.xml", "Starting Nmap 7.93 ( https://nmap.org )\n", "not an nmap XML report"),
    ("empty.xml", "", "not an nmap XML report"),
])
def test_hostile_or_wrong_nmap_files_are_one_line_and_exit_2(tmp_path: Path, name: str, content: str, said: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFileError, match=said):
        imports.read_nmap(str(path))
    done = camsweep("import", "nmap", str(path), "--no-store")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr


def test_an_nmap_file_over_the_input_bound_is_refused_before_it_is_read(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "MAX_INPUT_BYTES", NMAP_SN.stat().st_size - 1)
    with pytest.raises(InputFileError, match="larger than"):
        imports.read_nmap(str(NMAP_SN))


def test_a_report_of_more_hosts_than_a_result_holds_keeps_the_first_and_says_so(tmp_path: Path) -> None:
    # The lab's Hikvision host of the real -sn report, repeated at 6,000 addresses (a spoofed
    # flood, or a /19 ping scan): the budget every result passes (scanner/bounds.py) applies.
    text = NMAP_SN.read_text()
    start = text.index("<host>", text.index("198.18.0.3"))
    host = text[start: text.index("</host>", start) + len("</host>")]
    hosts = "".join(host.replace("198.18.0.10", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
                    .replace("58:50:ED:1F:E3:85", f"58:50:ED:{n // 65536:02X}:{n // 256 % 256:02X}:{n % 256:02X}")
                    for n in range(6000))
    flood = tmp_path / "flood.xml"
    flood.write_text(text[:start] + hosts + text[text.index("<runstats>"):])
    read = imports.read_nmap(str(flood))
    kept = {o.ip for o in read.observations}
    assert 1000 < len(kept) < 6000 and "10.0.0.0" in kept
    assert any("not kept" in note for note in read.notes), read.notes


def test_an_interrupted_nmap_report_keeps_its_hosts_marked_partial(tmp_path: Path) -> None:
    text = NMAP_SN.read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index("198.18.0.21")])  # nmap killed mid-report: no </nmaprun>
    read = imports.read_nmap(str(cut))
    assert read.partial and any("ends early" in n for n in read.notes)
    assert {o.ip for o in read.observations} >= {"198.18.0.10"}


# ----------------------------------------------------------------------------------- DHCP leases


def test_dnsmasq_leases_of_the_lab_give_mac_ip_and_host_name() -> None:
    read = imports.read_leases(str(DNSMASQ))
    options = {o.ip: o for o in read.observations if o.kind.value == "dhcp_options"}
    assert options["198.18.0.21"].fields["dhcp.hostname"] == "DS-2CD2385G1-I"
    assert options["198.18.0.21"].mac == "58:50:ed:1f:e4:12"
    assert "198.18.0.10" not in options  # host name '*': dnsmasq knows none, nothing is made up
    found = devices(DNSMASQ, imports.read_leases, "import-dhcp")
    assert found["198.18.0.10"].device.mac == "58:50:ed:1f:e3:85"
    axis = found["198.18.0.70"].verdict  # Axis's default 'axis-<MAC>' host name: a dhcp.toml rule
    assert "dhcp-axis-hostname" in {h.rule_id for h in axis.hits} and axis.manufacturer.value == "other"
    assert found["198.18.0.21"].verdict.manufacturer.value == "hikvision"


def test_isc_leases_give_the_recorded_vendor_class() -> None:
    read = imports.read_leases(str(ISC))
    options = [o for o in read.observations if o.kind.value == "dhcp_options"]
    assert {(o.ip, o.mac, o.fields["dhcp.vendor_class"]) for o in options} == {
        ("192.168.2.27", "ac:1f:6b:35:ac:62", "udhcp 1.23.1"), ("192.168.2.30", "ac:1f:6b:35:ab:2d", "udhcp 1.23.1")}


@pytest.mark.parametrize("recorded", ['"1,3,6,15,28"', "1:3:6:f:1c", '"\\001\\003\\006\\017\\034"'])
def test_an_isc_lease_gives_the_parameter_request_list_the_server_was_told_to_record(tmp_path: Path,
                                                                                    recorded: str) -> None:
    # Constructed from the real lease above: dhcpd records option 55 only when dhcpd.conf says so
    # (`set prl = ...`), as decimal text, as dhcpd's hex for a binary value, or as escaped bytes.
    path = tmp_path / "dhcpd.leases"
    path.write_text(ISC.read_text().replace('set vendor-class-identifier = "udhcp 1.23.1";',
                                            f'set vendor-class-identifier = "udhcp 1.23.1";\n\tset prl = {recorded};', 1))
    options = [o for o in imports.read_leases(str(path)).observations if o.kind.value == "dhcp_options"]
    assert {o.fields.get("dhcp.param_list") for o in options} == {"1,3,6,15,28", None}


def test_kea_memfile_leases_give_mac_and_ip() -> None:
    read = imports.read_leases(str(KEA))
    assert {(o.ip, o.mac) for o in read.observations} == {("192.168.2.27", "ac:1f:6b:35:ac:62"),
                                                           ("192.168.2.30", "ac:1f:6b:35:ab:2d")}


@pytest.mark.parametrize("path, fmt", [(DNSMASQ, "dnsmasq"), (ISC, "isc"), (KEA, "kea")])
def test_the_lease_format_is_recognised(path: Path, fmt: str) -> None:
    assert imports.lease_format(path.read_text(), str(path)) == fmt


def test_isc_log_semantics_newest_block_wins_and_inactive_leases_are_not_clients(tmp_path: Path) -> None:
    text = ISC.read_text()
    # dhcpd appends: a later block for the same client replaces the earlier; a freed lease is no one's.
    later = text.replace("192.168.2.27", "192.168.2.99").split("}\n")[0] + "}\n"
    freed = text.split("}\n")[1].replace("binding state active", "binding state free")
    path = tmp_path / "dhcpd.leases"
    path.write_text(text + "\n" + later + freed)
    read = imports.read_leases(str(path))
    assert {(o.ip, o.mac) for o in read.observations if o.kind.value == "mac_address"} == {
        ("192.168.2.99", "ac:1f:6b:35:ac:62"), ("192.168.2.30", "ac:1f:6b:35:ab:2d")}


def test_a_bad_lease_line_is_a_note_naming_it_and_the_rest_is_read(tmp_path: Path) -> None:
    lines = DNSMASQ.read_text().splitlines()
    lines.insert(2, "1796410345 not-a-mac 198.18.0.99 x *")
    lines.insert(3, "garbage")
    path = tmp_path / "dnsmasq.leases"
    path.write_text("\n".join(lines) + "\n")
    read = imports.read_leases(str(path))
    assert any(n.startswith("dnsmasq.leases:3: lease skipped") for n in read.notes)
    assert any(n.startswith("dnsmasq.leases:4: line skipped") for n in read.notes)
    assert len({o.mac for o in read.observations}) == len(DNSMASQ.read_text().splitlines())


def test_a_file_that_is_no_lease_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n")
    done = camsweep("import", "dhcp", str(path), "--no-store")
    assert done.returncode == 2 and "--lease-format" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_lease_import_is_stored_with_its_kind_and_the_lease_format_can_be_named(tmp_path: Path) -> None:
    db = str(tmp_path / "inv.sqlite")
    done = CliRunner().invoke(cli, ["import", "dhcp", str(KEA), "--lease-format", "kea", "--db", db,
                                     "-o", str(tmp_path / "r.txt")])
    assert done.exit_code == 0, done.output
    history = CliRunner().invoke(cli, ["history", "--db", db])
    assert "import-dhcp" in history.output and "kea-metal-bmc.csv" in history.output


# ------------------------------------------------------------------------- register against wire


def test_diff_of_a_register_check_and_an_import_lists_restricted_devices_the_register_misses(tmp_path: Path) -> None:
    db = str(tmp_path / "inv.sqlite")
    register = tmp_path / "register.csv"
    # Rows 2 and 3 name the lab's Axis and a Hikvision camera by MAC (written as registers do), row
    # 4 a unit that is nowhere on the wire (matching by serial and by model and IP: test_store.py).
    register.write_text("Make,Model,MAC,IP,Location\n"
                        "Axis,M3058-PLVE,AC:CC:8E:4F:21:D8,,hall\n"
                        "Hikvision,DS-2CD2385G1-I,58-50-ED-1F-E4-12,198.18.0.21,lobby\n"
                        "Dahua,IPC-HDW1431T1-S4,,198.18.0.99,gate\n")
    assert run("check", str(register), "--db", db, "-o", str(tmp_path / "a.txt")).exit_code == 3
    assert run("import", "nmap", str(NMAP_SCRIPTS), "--db", db, "-o", str(tmp_path / "b.txt")).exit_code == 3
    done = run("diff", "--db", db, "--format", "json")
    doc = json.loads(done.output)
    assert (doc["old_mode"], doc["new_mode"]) == ("check", "import-nmap")
    assert doc["old_source"] == str(register) and doc["new_source"] == str(NMAP_SCRIPTS)
    by_what: dict[str, list[dict[str, object]]] = {}
    for change in doc["changes"]:
        by_what.setdefault(change["what"], []).append(change)
    missing = by_what["not in register"]
    restricted = [c["after"] for c in missing if c["after"]["restricted"]]
    assert restricted, "the wire holds restricted devices the register lacks"
    assert missing[: len(restricted)] == [c for c in missing if c["after"]["restricted"]]  # listed first
    missing_ips = {c["after"]["ip"] for c in missing}
    assert "198.18.0.50" in missing_ips  # the lab's Dahua camera: on the wire, not in the register
    assert not {"198.18.0.70", "198.18.0.21"} & missing_ips  # matched by MAC
    assert [c["before"]["model"] for c in by_what["not seen"]] == ["IPC-HDW1431T1-S4"]
    table = run("diff", "--db", db).output
    assert "(check of " in table and "(import-nmap of " in table and "not in register" in table


def test_a_register_ip_column_places_the_row_for_diff_and_a_bad_ip_is_a_note(tmp_path: Path) -> None:
    from camsweep import assets

    register = tmp_path / "assets.csv"
    register.write_text("Model,IP Address\nDS-2CD2385G1-I,198.18.0.21\nDS-2CD2385G1-I,198.18.0.21\n"
                        "IPC-HDW1431T1-S4,lobby\n")
    read = assets.load([str(register)])
    assert read.notes == ["assets.csv:4: IP 'lobby' is not an IP address; row read without it"]
    result = identify_result(read.observations, mode="check")
    # Two rows at one address stay two rows (a register lists units, not hosts).
    assert [(d.device.key, d.device.ips) for d in result.devices] == [
        ("record:assets.csv:2", ("198.18.0.21",)), ("record:assets.csv:3", ("198.18.0.21",)),
        ("record:assets.csv:4", ())]
