"""The SNMP codec on real recorded walks: ARP tables of real agents, a real switch's forwarding tables.

* ``recorded/linux-full-walk.snmprec`` and ``recorded/winxp-full-walk.snmprec``: full walks of a
  Linux host (net-snmp) and a Windows XP host, recorded by snmpsim's author and shipped in the
  snmpsim package (``snmpsim/data/recorded/``, snmpsim 1.2.2 on PyPI; a test extra). The Linux walk
  holds both ARP tables (``ipNetToPhysicalTable`` and the legacy ``ipNetToMediaTable``), the
  Windows one only the legacy table.
* ``camsweep/lab/snmp/dlink-dgs-3612g.snmpwalk``: a real D-Link DGS-3612G switch's BRIDGE-MIB and
  Q-BRIDGE-MIB walk, lines copied from OpenNMS's Enlinkd test data (``scanner/lab/snmp/SOURCE.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from camsweep.lab.snmpd import WALK
from camsweep.models import ArtefactKind
from camsweep.protocols import snmp
from tests.environment import unavailable

Row = tuple[tuple[int, ...], object]


def _snmpsim_file(name: str) -> Path:
    try:
        import snmpsim
    except ImportError:
        unavailable("snmpsim is not installed (the test extra: pip install '.[test]')")
    return Path(snmpsim.__file__).parent / "data" / "recorded" / name


def read_snmprec(path: Path) -> list[Row]:
    """snmpsim's ``OID|TAG|VALUE`` lines: 4x/64x hex strings, 2/65/66/67/70 numbers, others text."""
    rows: list[Row] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        oid, tag, value = line.split("|", 2)
        key = tuple(int(part) for part in oid.split("."))
        if tag.endswith("x"):
            rows.append((key, bytes.fromhex(value)))
        elif tag in ("2", "65", "66", "67", "70"):
            rows.append((key, int(value)))
        else:
            rows.append((key, value.encode()))
    return rows


def read_snmpwalk(path: Path) -> list[Row]:
    """net-snmp ``snmpwalk -On`` lines: ``.OID = TYPE: value``."""
    rows: list[Row] = []
    for line in path.read_text(encoding="ascii").splitlines():
        match = re.match(r"^\.([\d.]+) = ([\w-]+): ?(.*)$", line)
        assert match, line
        oid, kind, value = match.groups()
        key = tuple(int(part) for part in oid.split("."))
        if kind == "Hex-STRING":
            rows.append((key, bytes.fromhex(value)))
        elif kind == "STRING":
            rows.append((key, value.strip('"').encode()))
        else:
            rows.append((key, int(value)))
    return rows


def _system(rows: list[Row], ip: str) -> snmp.Agent:
    return snmp.agent_from({oid: value for oid, value in rows if oid in snmp.SYSTEM}, ip)


def test_linux_agent_arp_table_gives_the_ip_to_mac_link() -> None:
    rows = read_snmprec(_snmpsim_file("linux-full-walk.snmprec"))
    agent = _system(rows, "192.0.2.1")
    assert agent.name == "tt" and agent.descr.startswith("Linux cray 2.6.21.5-smp")
    for table in snmp.ARP_TABLES:  # the same entry in the newer and the legacy table
        [entry] = snmp.arp_observations(agent, table, rows)
        assert entry.kind is ArtefactKind.MAC_ADDRESS
        assert (entry.ip, entry.mac) == ("195.218.254.97", "00:0e:84:9f:9c:19")
        assert entry.fields["mac.oui"] == "000E84"
        assert entry.fields["snmp.agent"] == "192.0.2.1 (tt)"
        assert entry.fields["snmp.table"] == table
        assert entry.fields["snmp.if_index"] == "2"
        assert "192.0.2.1 (tt)" in (entry.raw or "")


def test_windows_agent_legacy_arp_table() -> None:
    rows = read_snmprec(_snmpsim_file("winxp-full-walk.snmprec"))
    agent = _system(rows, "192.0.2.2")
    assert snmp.arp_observations(agent, "ipNetToPhysicalTable", rows) == []  # XP has only the legacy one
    found = {(o.ip, o.mac) for o in snmp.arp_observations(agent, "ipNetToMediaTable", rows)}
    assert found == {("192.168.1.1", "48:5b:39:3a:bb:68"), ("192.168.1.2", "b8:8d:12:0f:4f:a4")}


def test_invalid_and_incomplete_arp_entries_are_left_out() -> None:
    phys, kind = snmp.IP_NET_TO_MEDIA
    rows: list[Row] = [
        (phys + (2, 10, 0, 0, 1), bytes.fromhex("00112233aabb")), (kind + (2, 10, 0, 0, 1), 2),  # invalid(2)
        (phys + (2, 10, 0, 0, 2), b""),                                 # incomplete: no MAC yet
        (phys + (2, 10, 0, 0), bytes.fromhex("00112233aabc")),          # short index
        (phys + (2, 10, 0, 0, 300), bytes.fromhex("00112233aabd")),     # not an address
        (phys + (2, 10, 0, 0, 5), "00:11:22:33:aa:be"),                 # wrong value type
    ]
    assert snmp.arp_observations(snmp.Agent("192.0.2.3"), "ipNetToMediaTable", rows) == []


def test_switch_bridge_table_gives_mac_and_port() -> None:
    rows = read_snmpwalk(WALK)
    agent = _system(rows, "192.0.2.4")
    assert agent.descr == "DGS-3612G Gigabit Ethernet Switch" and agent.name == ""
    found = snmp.forwarding_observations(agent, "dot1dTpFdbTable", rows)
    assert len(found) == 11  # every learned(3) entry of the table
    by_mac = {o.mac: o for o in found}
    entry = by_mac["00:0d:ed:6e:0e:59"]
    assert entry.kind is ArtefactKind.FORWARDING_ENTRY and entry.ip is None
    # bridge port 7 is ifIndex 7 (dot1dBasePortIfIndex); the walk holds no ifName
    assert entry.fields["snmp.port"] == "ifIndex 7"
    assert "snmp.vlan" not in entry.fields  # the plain bridge table knows no VLAN
    assert entry.fields["snmp.fdb_status"] == "learned"
    assert entry.fields["snmp.agent"] == "192.0.2.4"
    assert by_mac["00:26:5a:bd:0b:0c"].fields["snmp.port"] == "ifIndex 10"


def test_switch_vlan_table_gives_mac_port_and_vlan() -> None:
    rows = read_snmpwalk(WALK)
    found = snmp.forwarding_observations(_system(rows, "192.0.2.4"), "dot1qTpFdbTable", rows)
    assert len(found) == 77
    places = {(o.mac, o.fields["snmp.vlan"], o.fields["snmp.port"]) for o in found}
    # one MAC learnt in two VLANs on the same port is two entries
    assert ("00:0d:ed:6e:0e:59", "1", "ifIndex 7") in places
    assert ("00:0d:ed:6e:0e:59", "66", "ifIndex 7") in places
    assert ("bc:ae:c5:1d:c7:7a", "6", "ifIndex 12") in places


def test_switch_own_and_invalid_entries_are_left_out_and_names_are_used() -> None:
    port, status = snmp.DOT1D_TP_FDB
    mac = (0, 30, 88, 163, 47, 205)
    rows: list[Row] = [
        (port + mac, 0), (status + mac, 4),                                  # self(4): the switch's own
        (port + (0, 1, 2, 3, 4, 5), 3), (status + (0, 1, 2, 3, 4, 5), 2),    # invalid(2)
        (port + (0, 1, 2, 3, 4, 6), 3), (status + (0, 1, 2, 3, 4, 6), 3),    # learned on bridge port 3
        (port + (0, 1, 2, 3, 4), 3),                                         # not a MAC
        (snmp.DOT1D_BASE_PORT_IF_INDEX + (3,), 10103),
        (snmp.IF_NAME + (10103,), b"Gi1/0/3"),
    ]
    [entry] = snmp.forwarding_observations(snmp.Agent("192.0.2.5", "sw-core"), "dot1dTpFdbTable", rows)
    assert entry.mac == "00:01:02:03:04:06"
    assert entry.fields["snmp.port"] == "Gi1/0/3"
    assert entry.fields["snmp.agent"] == "192.0.2.5 (sw-core)"


def test_vlan_comes_from_the_fdb_id_map_when_the_switch_gives_one() -> None:
    port, _ = snmp.DOT1Q_TP_FDB
    rows: list[Row] = [(port + (5, 0, 1, 2, 3, 4, 7), 2), (snmp.DOT1Q_VLAN_FDB_ID + (0, 120), 5)]
    [entry] = snmp.forwarding_observations(snmp.Agent("192.0.2.6"), "dot1qTpFdbTable", rows)
    assert entry.fields["snmp.vlan"] == "120"  # FDB 5 holds VLAN 120
    assert entry.fields["snmp.port"] == "bridge port 2"  # no base-port map in the walk


def test_agent_text_is_bounded_and_never_raises() -> None:
    agent = snmp.agent_from({snmp.SYS_NAME: b"\xff\xfe" + b"x" * 5000, snmp.SYS_DESCR: 7}, "192.0.2.7")
    observation = snmp.system_observation(agent)
    assert observation.fields["snmp.sys_name"].startswith("\ufffd")
    assert len(observation.fields["snmp.sys_name"]) <= 4096
    assert "snmp.sys_descr" not in observation.fields  # not text: left out


@pytest.mark.parametrize(("indication", "said"), [
    ("requestTimedOut", "no answer to 2 tries of 2 s (wrong community, or no SNMP agent there)"),
    ("wrongDigest", "SNMPv3 authentication failed (wrong auth key or auth protocol)"),
    ("authenticationFailure", "SNMPv3 authentication failed (wrong auth key or auth protocol)"),
    ("unknownUserName", "SNMPv3 user 'audit' unknown to the agent"),
    ("decryptionError", "SNMPv3 decryption failed (wrong priv key or priv protocol)"),
    ("unsupportedSecurityLevel", "SNMP error: Unsupported SNMP security level"),
])
def test_agent_refusals_are_said_plainly_and_without_secrets(indication: str, said: str) -> None:
    """pysnmp's own error indications (``pysnmp.proto.errind``), as a user reads them in the notes."""
    from pysnmp.proto import errind

    from camsweep.config import ScanConfig, SnmpCredential
    from camsweep.probes.snmp import _explain

    credential = SnmpCredential("192.0.2.0/24", user="audit", auth_protocol="SHA", auth_key="s3cr3t-auth",
                                priv_protocol="AES", priv_key="s3cr3t-priv")
    if indication == "requestTimedOut":
        credential = SnmpCredential("192.0.2.0/24", community="s3cr3t-community")
    text = _explain(str(getattr(errind, indication)), credential, ScanConfig())
    assert text == said and "s3cr3t" not in text
