"""SNMP tables of routers and switches -> observations (the reading itself: ``probes/snmp.py``).

A router's ARP table (IP-MIB ``ipNetToPhysicalTable``, legacy ``ipNetToMediaTable``) links every
routed host's IP to its MAC: the MAC the scanner cannot see behind a router, and so its OUI. A
switch's forwarding table (Q-BRIDGE-MIB ``dot1qTpFdbTable`` per VLAN, else BRIDGE-MIB
``dot1dTpFdbTable``) lists every MAC it learnt per port, even of hosts no IP route reaches. The
probe hands this module what it walked, as ``(OID, value)`` rows (OIDs as integer tuples; values
``bytes`` for OCTET STRINGs, ``int`` for numbers); every observation made here names the agent
that reported it. Rows of the wrong shape (a short index, a MAC that is not six octets, a value of
another type) are skipped: an agent's table is device input like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models import ArtefactKind, Observation
from .arp import mac_fields
from ._spec import Field, ProtocolSpec

__all__ = [
    "ARP_TABLES",
    "FORWARDING",
    "SPEC",
    "SYSTEM",
    "Agent",
    "Row",
    "arp_observations",
    "forwarding_observations",
    "oid_text",
    "system_observation",
]

Oid = tuple[int, ...]
Row = tuple[Oid, object]
"""One walked row: the OID and its value (``bytes``, ``int`` or ``str``)."""

SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYSTEM = (SYS_DESCR, SYS_NAME)
"""The scalars read from every agent (one GET)."""

# IP-MIB (RFC 4293): ipNetToPhysicalPhysAddress / ipNetToPhysicalType, index ifIndex.addrType.len.addr
IP_NET_TO_PHYSICAL = ((1, 3, 6, 1, 2, 1, 4, 35, 1, 4), (1, 3, 6, 1, 2, 1, 4, 35, 1, 6))
# RFC 1213 ipNetToMediaPhysAddress / ipNetToMediaType, index ifIndex.a.b.c.d
IP_NET_TO_MEDIA = ((1, 3, 6, 1, 2, 1, 4, 22, 1, 2), (1, 3, 6, 1, 2, 1, 4, 22, 1, 4))
ARP_TABLES = {"ipNetToPhysicalTable": IP_NET_TO_PHYSICAL, "ipNetToMediaTable": IP_NET_TO_MEDIA}
"""ARP tables, newest first: the legacy one is read only when the first is empty. Each is
(physical-address column, type column)."""

DOT1Q_TP_FDB = ((1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 2), (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 3))
DOT1D_TP_FDB = ((1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 2), (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 3))
DOT1D_BASE_PORT_IF_INDEX: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2)
DOT1Q_VLAN_FDB_ID: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 2, 1, 3)
IF_NAME: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
FORWARDING = {"dot1qTpFdbTable": DOT1Q_TP_FDB, "dot1dTpFdbTable": DOT1D_TP_FDB}
"""Forwarding tables, VLAN-aware first: the plain bridge table is read only when the first is
empty. Each is (port column, status column); the port-to-name maps are read only when one has rows."""

_INVALID_ARP = 2  # ipNetToPhysicalType / ipNetToMediaType invalid(2): an entry being removed
_FDB_SKIPPED = {2: "invalid", 4: "self", 5: "mgmt"}  # the switch's own or dead entries
_FDB_STATUS = {1: "other", 3: "learned"}


@dataclass(frozen=True, slots=True)
class Agent:
    """The SNMP agent a table came from: its address and what it says it is."""

    ip: str
    name: str = ""
    descr: str = ""

    @property
    def label(self) -> str:
        """``198.18.0.1 (lab-router)``: how evidence names the agent."""
        return f"{self.ip} ({self.name})" if self.name else self.ip


def oid_text(oid: Sequence[int]) -> str:
    return ".".join(map(str, oid))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else ""


def _mac(value: object) -> str | None:
    if isinstance(value, bytes) and len(value) == 6:
        return ":".join(f"{b:02x}" for b in value)
    return None


def _mac_from_index(index: Sequence[int]) -> str | None:
    if len(index) != 6 or not all(0 <= part <= 255 for part in index):
        return None
    return ":".join(f"{part:02x}" for part in index)


def _column(rows: Iterable[Row], column: Oid) -> dict[Oid, object]:
    """The rows under ``column``, keyed by their index (the OID after the column)."""
    width = len(column)
    return {oid[width:]: value for oid, value in rows if oid[:width] == column and len(oid) > width}


def _ints(rows: Iterable[Row], column: Oid) -> dict[Oid, int]:
    return {index: value for index, value in _column(rows, column).items()
            if isinstance(value, int) and not isinstance(value, bool)}


def system_observation(agent: Agent, time: datetime | None = None) -> Observation:
    """What the agent says it is (``sysName``, ``sysDescr``), placed at its own address."""
    return Observation.make(
        "snmp", ArtefactKind.SNMP_SYSTEM, ip=agent.ip, time=time,
        raw=f"sysName.0 = {agent.name}\nsysDescr.0 = {agent.descr}",
        fields={"snmp.agent": agent.label, "snmp.sys_name": agent.name, "snmp.sys_descr": agent.descr})


def agent_from(values: Mapping[Oid, object], ip: str) -> Agent:
    """An ``Agent`` from the GET of ``SYSTEM``."""
    return Agent(ip, _text(values.get(SYS_NAME)).strip(), _text(values.get(SYS_DESCR)).strip())


def _ipv4_from_index(table: str, index: Oid) -> tuple[int, str] | None:
    """(ifIndex, IPv4 address) from an ARP table row's index, or None (IPv6, malformed)."""
    if table == "ipNetToPhysicalTable":
        # ifIndex . InetAddressType (1 = ipv4) . length (4) . four octets
        if len(index) != 7 or index[1] != 1 or index[2] != 4:
            return None
        octets = index[3:]
    else:
        if len(index) != 5:
            return None
        octets = index[1:]
    if not all(0 <= part <= 255 for part in octets):
        return None
    return index[0], ".".join(map(str, octets))


def arp_observations(agent: Agent, table: str, rows: Sequence[Row],
                     time: datetime | None = None) -> list[Observation]:
    """One MAC_ADDRESS observation per IPv4 entry of an ARP table: the IP->MAC link the router
    holds. Invalid entries (type 2) and addresses that are not MACs (incomplete entries) are left out."""
    phys_column, type_column = ARP_TABLES[table]
    types = _ints(rows, type_column)
    found: list[Observation] = []
    for index, value in _column(rows, phys_column).items():
        where = _ipv4_from_index(table, index)
        mac = _mac(value)
        if where is None or mac is None or types.get(index) == _INVALID_ARP:
            continue
        if_index, ip = where
        found.append(Observation.make(
            "snmp", ArtefactKind.MAC_ADDRESS, ip=ip, mac=mac, time=time,
            raw=f"{table} {oid_text(phys_column + index)} = {mac} (from {agent.label})",
            fields={**mac_fields(mac), "snmp.agent": agent.label, "snmp.table": table,
                    "snmp.if_index": str(if_index)}))
    return found


def _port_names(rows: Sequence[Row]) -> dict[int, str]:
    """Bridge port -> interface name (``dot1dBasePortIfIndex`` then ``ifName``)."""
    names = {index[0]: _text(value).strip() for index, value in _column(rows, IF_NAME).items() if len(index) == 1}
    ports: dict[int, str] = {}
    for index, if_index in _ints(rows, DOT1D_BASE_PORT_IF_INDEX).items():
        if len(index) == 1:
            ports[index[0]] = names.get(if_index) or f"ifIndex {if_index}"
    return ports


def _vlans(rows: Sequence[Row]) -> dict[int, int]:
    """FDB id -> VLAN (``dot1qVlanFdbId``, index TimeMark.VlanIndex). Switches that do not say use
    the VLAN id as the FDB id, the common case the caller falls back to."""
    vlans: dict[int, int] = {}
    for index, fdb_id in _ints(rows, DOT1Q_VLAN_FDB_ID).items():
        if len(index) == 2:
            vlans.setdefault(fdb_id, index[1])
    return vlans


def forwarding_observations(agent: Agent, table: str, rows: Sequence[Row],
                            time: datetime | None = None) -> list[Observation]:
    """One FORWARDING_ENTRY observation per MAC a switch learnt on a port (its own MACs and
    invalid entries left out), known by MAC, switch, port and (Q-BRIDGE) VLAN. ``rows`` holds
    the table's port and status columns and, where read, the port-name and VLAN maps."""
    port_column, status_column = FORWARDING[table]
    statuses = _ints(rows, status_column)
    names = _port_names(rows)
    vlans = _vlans(rows) if table == "dot1qTpFdbTable" else {}
    found: list[Observation] = []
    for index, port in _ints(rows, port_column).items():
        status = statuses.get(index)
        if status in _FDB_SKIPPED:
            continue
        if table == "dot1qTpFdbTable":
            fdb_id, mac = (index[0], _mac_from_index(index[1:])) if index else (0, None)
            vlan = str(vlans.get(fdb_id, fdb_id))
        else:
            mac, vlan = _mac_from_index(index), ""
        if mac is None:
            continue
        where = names.get(port) or (f"bridge port {port}" if port > 0 else "")
        found.append(Observation.make(
            "snmp", ArtefactKind.FORWARDING_ENTRY, mac=mac, time=time,
            raw=f"{table} {oid_text(port_column + index)} = {port} (from {agent.label})",
            fields={**mac_fields(mac), "snmp.agent": agent.label, "snmp.table": table, "snmp.port": where,
                    "snmp.vlan": vlan, "snmp.fdb_status": _FDB_STATUS.get(status or 0, "")}))
    return found


SPEC = ProtocolSpec(
    name="snmp",
    title="SNMP tables of a router or switch (`--snmp`)",
    order=115,
    udp=(161,),
    families={"snmp": "SNMP tables"},
    fields={
        "snmp.agent": Field("snmp", "the agent that reported it: `IP (sysName)`"),
        "snmp.sys_name": Field("snmp", "the agent's `sysName`"),
        "snmp.sys_descr": Field("snmp", "the agent's `sysDescr`"),
        "snmp.table": Field("snmp", "the table read (`ipNetToPhysicalTable`, `dot1qTpFdbTable`, ...)"),
        "snmp.if_index": Field("snmp", "ARP entry: the router interface (`ifIndex`)"),
        "snmp.port": Field("snmp", "forwarding entry: the switch port (`ifName`, else bridge port)"),
        "snmp.vlan": Field("snmp", "forwarding entry: the VLAN (Q-BRIDGE-MIB only)"),
        "snmp.fdb_status": Field("snmp", "forwarding entry: `learned` or `other`"),
    },
)
