"""SNMP collection (``--snmp HOST,...``): the ARP and forwarding tables of routers and switches.

Only read requests are sent (GET and GETBULK; never a SET), SNMPv2c or SNMPv3 authPriv as the
credentials file's ``[[snmp]]`` entry covering the agent says (``scanner/credentials.py``). Every
table is read column by column with GETBULK, bounded in rows (``snmp_max_rows`` per column) and
in time (``host_timeout`` per agent, ``read_timeout`` per request); the agents are read at once,
during discovery. What the tables say becomes observations (``protocols/snmp.py``): an IP->MAC
link from a router fills in a routed host's MAC (and so its OUI), a MAC a switch learnt on a
port becomes a device known by MAC, switch, port and VLAN. An agent that does not answer or
refuses the credentials (wrong community, wrong v3 key) is one note; the scan goes on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Iterable
from typing import Any

from ..config import ScanConfig, SnmpCredential
from ..errors import ScanError, UsageError
from ..protocols import snmp as codec
from ..protocols.snmp import Agent, Row
from . import Probe, ProbeContext, register

log = logging.getLogger("camsweep")

BULK = 25
"""Rows asked per GETBULK: small enough for one unfragmented UDP reply from any agent."""
RETRIES = 1

_AUTH = {"MD5": "USM_AUTH_HMAC96_MD5", "SHA": "USM_AUTH_HMAC96_SHA", "SHA224": "USM_AUTH_HMAC128_SHA224",
         "SHA256": "USM_AUTH_HMAC192_SHA256", "SHA384": "USM_AUTH_HMAC256_SHA384",
         "SHA512": "USM_AUTH_HMAC384_SHA512"}
# AES192/AES256 as net-snmp and most agents key them (the Blumenthal draft's key extension).
_PRIV = {"DES": "USM_PRIV_CBC56_DES", "3DES": "USM_PRIV_CBC168_3DES", "AES": "USM_PRIV_CFB128_AES",
         "AES192": "USM_PRIV_CFB192_AES_BLUMENTHAL", "AES256": "USM_PRIV_CFB256_AES_BLUMENTHAL"}


class AgentError(Exception):
    """One agent could not be read: the message is the note's (no secret in it)."""


def _printable(text: str, limit: int = 100) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


@register
class SnmpProbe(Probe):
    spec = codec.SPEC
    description = "ARP and forwarding tables of the routers/switches given to --snmp (read-only SNMP)"

    @classmethod
    def plan_notes(cls, config: ScanConfig) -> list[str]:
        """Refuse (before anything is sent) an agent no credential covers or a public one."""
        for agent in config.snmp:
            if not config.allow_public and not ipaddress.ip_address(agent).is_private:
                raise UsageError(f"--snmp agent {agent} is a public address; add --allow-public to read it")
            if config.snmp_credential_for(agent) is None:
                raise UsageError(f"--snmp agent {agent}: no [[snmp]] entry of the --credentials file covers it")
        return []

    @classmethod
    def asked_for_by(cls, config: ScanConfig) -> str | None:
        return "--snmp" if config.snmp else None

    def discover(self, ctx: ProbeContext) -> None:
        if not self.config.snmp:
            return
        results = asyncio.run(self._read_all(ctx))
        failures = []
        for agent, outcome in zip(self.config.snmp, results):
            if isinstance(outcome, AgentError):
                failures.append(f"{agent}: {outcome}")
            elif isinstance(outcome, BaseException):
                failures.append(f"{agent}: {type(outcome).__name__}: {outcome}")
        if failures:
            raise ScanError("; ".join(failures))

    async def _read_all(self, ctx: ProbeContext) -> list[Any]:
        return await asyncio.gather(*(self._read(ctx, agent) for agent in self.config.snmp),
                                    return_exceptions=True)

    async def _read(self, ctx: ProbeContext, ip: str) -> None:
        cfg = self.config
        credential = cfg.snmp_credential_for(ip)
        assert credential is not None  # plan_notes refused an uncovered agent
        session = _Session(ip, credential, cfg, ctx)
        try:
            await self._collect(ctx, session)
        finally:
            session.close()

    async def _collect(self, ctx: ProbeContext, session: _Session) -> None:
        ip = session.ip
        await session.open()
        values = await session.get(codec.SYSTEM)
        agent = codec.agent_from(values, ip)
        ctx.emit(codec.system_observation(agent))
        said = [f"snmp: read {agent.ip}" + (f" ({_printable(agent.name, 64)})" if agent.name else "")
                + (f", {_printable(agent.descr)}" if agent.descr else "")]
        try:
            for table in codec.ARP_TABLES:
                rows = await session.table(table, codec.ARP_TABLES[table])
                if rows:
                    found = codec.arp_observations(agent, table, rows)
                    for observation in found:
                        ctx.emit(observation)
                    said.append(f"{len(found)} ARP entr{'y' if len(found) == 1 else 'ies'} ({table})")
                    break
            for table in codec.FORWARDING:
                rows = await session.table(table, codec.FORWARDING[table])
                if rows:
                    extra = [codec.DOT1D_BASE_PORT_IF_INDEX, codec.IF_NAME]
                    if table == "dot1qTpFdbTable":
                        extra.append(codec.DOT1Q_VLAN_FDB_ID)
                    for column in extra:
                        rows += await session.walk(column)
                    found = codec.forwarding_observations(agent, table, rows)
                    for observation in found:
                        ctx.emit(observation)
                    said.append(f"{len(found)} forwarding entr{'y' if len(found) == 1 else 'ies'} ({table})")
                    break
        finally:
            if len(said) == 1:
                said.append("no ARP or forwarding table")
            ctx.note(f"{said[0]}: {', '.join(said[1:])}")
            for cut in session.cuts:
                ctx.note(f"snmp: {ip}: {cut}")


class _Session:
    """One agent's reads: its engine, credentials and bounds (rows per column, time per agent)."""

    def __init__(self, ip: str, credential: SnmpCredential, cfg: ScanConfig, ctx: ProbeContext) -> None:
        self.ip = ip
        self.credential = credential
        self.cfg = cfg
        self.ctx = ctx
        self.deadline = time.monotonic() + cfg.host_timeout
        self.cuts: list[str] = []
        self.hlapi: Any = None
        self.engine: Any = None
        self.auth: Any = None
        self.target: Any = None

    async def open(self) -> None:
        # Lazy: pysnmp is slow to import and only --snmp needs it.
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        self.hlapi = hlapi
        self.engine = hlapi.SnmpEngine()
        cred = self.credential
        if cred.version == "2c":
            self.auth = hlapi.CommunityData(cred.community, mpModel=1)
        else:
            self.auth = hlapi.UsmUserData(
                cred.user, authKey=cred.auth_key, privKey=cred.priv_key,
                authProtocol=getattr(hlapi, _AUTH[cred.auth_protocol]),
                privProtocol=getattr(hlapi, _PRIV[cred.priv_protocol]))
        self.target = await hlapi.UdpTransportTarget.create(
            (self.ip, 161), timeout=self.cfg.read_timeout, retries=RETRIES)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close_dispatcher()

    async def _request(self, command: Any, *args: Any) -> list[tuple[Any, Any]]:
        """One request; raises AgentError for no reply, a refusal or an error status."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or self.ctx.cancelled.is_set():
            raise TimeoutError
        await asyncio.get_running_loop().run_in_executor(None, self.ctx.wait_rate)
        hlapi = self.hlapi
        try:
            error, status, _index, var_binds = await asyncio.wait_for(
                command(self.engine, self.auth, self.target, hlapi.ContextData(), *args, lookupMib=False),
                timeout=remaining)
        except asyncio.TimeoutError:
            raise TimeoutError from None
        if error:
            raise AgentError(_explain(str(error), self.credential, self.cfg))
        if status:
            raise AgentError(f"the agent answered {status.prettyPrint()}")
        return list(var_binds)

    async def get(self, oids: Iterable[tuple[int, ...]]) -> dict[tuple[int, ...], object]:
        hlapi = self.hlapi
        try:
            binds = await self._request(hlapi.get_cmd, *(hlapi.ObjectType(hlapi.ObjectIdentity(codec.oid_text(o)))
                                                         for o in oids))
        except TimeoutError:
            raise AgentError(f"no answer within {self.cfg.host_timeout:g} s") from None
        return {tuple(name): _value(value) for name, value in binds}

    async def table(self, name: str, columns: tuple[tuple[int, ...], ...]) -> list[Row]:
        """The columns of one table; the second and later only if the first has rows."""
        rows = await self.walk(columns[0], name)
        if rows:
            for column in columns[1:]:
                rows += await self.walk(column, name)
        return rows

    async def walk(self, column: tuple[int, ...], table: str = "") -> list[Row]:
        """Every row under ``column``, up to ``snmp_max_rows`` and the agent's time limit."""
        from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

        hlapi = self.hlapi
        limit = self.cfg.snmp_max_rows
        rows: list[Row] = []
        start = column
        label = table or codec.oid_text(column)
        while True:
            if len(rows) >= limit:
                self.cuts.append(f"{label} cut at {limit} rows (snmp_max_rows)")
                return rows
            try:
                binds = await self._request(
                    hlapi.bulk_cmd, 0, min(BULK, limit - len(rows)),
                    hlapi.ObjectType(hlapi.ObjectIdentity(codec.oid_text(start))))
            except TimeoutError:
                self.cuts.append(f"reading {label} stopped after {self.cfg.host_timeout:g} s "
                                 f"(host time limit), {len(rows)} rows read")
                return rows
            for name, value in binds:
                oid = tuple(name)
                if (oid[:len(column)] != column or oid <= start
                        or isinstance(value, (EndOfMibView, NoSuchObject, NoSuchInstance))):
                    return rows  # past the column, the end of the MIB, or a non-increasing OID
                rows.append((oid, _value(value)))
                start = oid
            if not binds:
                return rows


def _value(value: Any) -> object:
    """A pysnmp value as the codec takes it: bytes for OCTET STRINGs, int for numbers."""
    if hasattr(value, "asOctets"):
        return bytes(value.asOctets())
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _explain(indication: str, credential: SnmpCredential, cfg: ScanConfig) -> str:
    """pysnmp's error indication, said so that a user knows what to check (never the secret)."""
    text = indication.lower()
    if "timeout" in text or "no snmp response" in text:
        why = ("wrong community, or no SNMP agent there" if credential.version == "2c"
               else "no SNMP agent there, or it drops this user")
        return f"no answer to {RETRIES + 1} tries of {cfg.read_timeout:g} s ({why})"
    if "digest" in text or "authenticat" in text:
        return "SNMPv3 authentication failed (wrong auth key or auth protocol)"
    if "unknown" in text and "user" in text:
        return f"SNMPv3 user {credential.user!r} unknown to the agent"
    if "cipher" in text or "decrypt" in text:
        return "SNMPv3 decryption failed (wrong priv key or priv protocol)"
    return f"SNMP error: {indication}"
