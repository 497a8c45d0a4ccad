"""The lab's SNMP agents, started only for ``Lab(snmp=True)`` (other labs do not pay for them).

* The router (``cs-…router``) runs net-snmp's ``snmpd`` (Debian package ``snmpd``) as a throwaway
  instance: its own config, persistent-state and log files in a temporary folder, listening on the
  router's segment A address only, read-only (``rocommunity``, ``rouser … priv``: no write access
  exists to misuse). It serves the router's real kernel tables; before a test reads them, the
  router's ARP table for segment B is filled the way a site's traffic fills it (one datagram from
  the router to each segment B host; the kernel resolves each neighbour).
* The switch (``cs-…sw``) gets a management address on segment A and serves, with snmpsim, the
  recorded walk of a real switch (``snmp/dlink-dgs-3612g.snmpwalk``; ``snmp/SOURCE.md`` says where
  it comes from and why a recording: net-snmp's BRIDGE-MIB module cannot serve a Linux bridge's
  forwarding table).

Both are stopped, and their folder removed, at the lab's teardown (``stop``); their pids are in
the lab's state file, so ``camsweep lab down`` stops them after a crash too.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScanError
from .netns import in_netns, ip, ip_batch
from .topology import Host, Names, Plan

log = logging.getLogger("camsweep")

WALK = Path(__file__).parent / "snmp" / "dlink-dgs-3612g.snmpwalk"
COMMUNITY = "lab-community-ro"
"""The lab agents' SNMPv2c community (lab-only: nothing outside the lab's namespaces can reach them)."""
V3_USER = "camsweep-lab"
V3_AUTH = ("SHA", "lab-auth-passphrase")
V3_PRIV = ("AES", "lab-priv-passphrase")
READY_TIMEOUT = 15.0
ARP_TIMEOUT = 5.0
AGENT_MARKS = (b"snmpd", b"snmpsim")
"""What a process's command line holds if it is one of these agents (checked before a signal)."""


@dataclass(frozen=True)
class Agents:
    """Where the lab's SNMP agents listen, and the credentials file that reads them."""

    router: str
    switch: str

    def credentials(self, *, v3: bool = False, community: str = COMMUNITY, auth_key: str = V3_AUTH[1]) -> str:
        """A credentials file (TOML) covering both agents: SNMPv2c, or SNMPv3 authPriv for the
        router (``v3``); ``community``/``auth_key`` let a test give a wrong one."""
        router = (f'[[snmp]]\nnetwork = "{self.router}"\nuser = "{V3_USER}"\n'
                  f'auth_protocol = "{V3_AUTH[0]}"\nauth_key = "{auth_key}"\n'
                  f'priv_protocol = "{V3_PRIV[0]}"\npriv_key = "{V3_PRIV[1]}"\n') if v3 else (
                  f'[[snmp]]\nnetwork = "{self.router}"\ncommunity = "{community}"\n')
        return router + f'\n[[snmp]]\nnetwork = "{self.switch}"\ncommunity = "{community}"\n'


def agents(plan: Plan) -> Agents:
    """The router's segment A address, and the switch's management address (.4: .2-.9 are kept
    for lab infrastructure)."""
    return Agents(plan.router_a, str(plan.net_a.network_address + 4))


def _snmpd_config(address: str) -> str:
    return (f"agentAddress udp:{address}:161\n"
            f"rocommunity {COMMUNITY} 198.18.0.0/15\n"
            f'createUser {V3_USER} {V3_AUTH[0]} "{V3_AUTH[1]}" {V3_PRIV[0]} "{V3_PRIV[1]}"\n'
            f"rouser {V3_USER} priv\n"
            "sysName lab-router\n"
            "sysLocation camsweep lab, routed segment B\n")


def make_folder() -> Path:
    """The agents' temporary folder (``stop`` removes it)."""
    return Path(tempfile.mkdtemp(prefix="camsweep-lab-snmp-"))


def start(plan: Plan, names: Names, folder: Path, processes: list[subprocess.Popen[bytes]]) -> Agents:
    """Start both agents, their files in ``folder``; ``processes`` receives each process as soon
    as it exists (so the caller can stop them on any failure, even halfway). Returns where they listen."""
    where = agents(plan)
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not os.path.exists(snmpd):
        raise ScanError("the SNMP lab needs net-snmp's snmpd (Debian: apt-get install snmpd)")
    router_dir = folder / "router"
    router_dir.mkdir(mode=0o700)
    (router_dir / "snmpd.conf").write_text(_snmpd_config(where.router), encoding="ascii")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(router_dir), MIBS="")
    process = subprocess.Popen(
        ["ip", "netns", "exec", names.router, snmpd, "-f", "-C", "-c", str(router_dir / "snmpd.conf"),
         "-Lf", str(router_dir / "snmpd.log"), "-p", str(router_dir / "snmpd.pid")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        start_new_session=True)
    processes.append(process)

    sim_dir = folder / "switch"
    (sim_dir / "data").mkdir(parents=True)
    (sim_dir / "cache").mkdir()
    shutil.copyfile(WALK, sim_dir / "data" / f"{COMMUNITY}.snmpwalk")
    ip_batch([f"addr add {where.switch}/{plan.net_a.prefixlen} dev brA"], netns=names.switch)
    code = "import sys; from snmpsim.commands.responder import main; sys.argv[0] = 'snmpsim'; sys.exit(main())"
    # As root (SNMPSIM_ALLOW_ROOT), inside the switch namespace, which holds lab addresses only:
    # snmpsim's own drop to another user cannot open its record index (dbm) there.
    with open(sim_dir / "snmpsim.log", "ab") as log_handle:
        process = subprocess.Popen(
            ["ip", "netns", "exec", names.switch, sys.executable, "-c", code,
             f"--data-dir={sim_dir / 'data'}", f"--cache-dir={sim_dir / 'cache'}",
             f"--agent-udpv4-endpoint={where.switch}:161"],
            stdin=subprocess.DEVNULL, stdout=log_handle, stderr=log_handle, start_new_session=True,
            env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"))
    processes.append(process)
    _wait_listening(names.router, where.router, processes[0].pid, folder / "router" / "snmpd.log")
    _wait_listening(names.switch, where.switch, processes[1].pid, sim_dir / "snmpsim.log")
    return where


def _wait_listening(namespace: str, address: str, pid: int, log_file: Path) -> None:
    """Wait until ``address``:161/udp is bound in ``namespace`` (bounded); name the log if not."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        listing = ip(["netns", "exec", namespace, "ss", "-Hlun", "sport", "=", ":161"], check=False) \
            if shutil.which("ss") else ""
        if f"{address}:161" in listing:
            return
        if not _alive(pid):
            break
        time.sleep(0.1)
    tail = log_file.read_text(errors="replace").strip().splitlines()[-3:] if log_file.exists() else []
    raise ScanError(f"lab SNMP agent on {address} did not start: {' | '.join(tail) or 'no log'} ({log_file})")


def write_credentials(where: Agents, folder: Path) -> Path:
    """The SNMPv2c credentials file for both agents, private (0600), in the agents' folder."""
    path = folder / "credentials.toml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(where.credentials())
    return path


def fill_router_arp(names: Names, plan: Plan, hosts: list[Host]) -> None:
    """Make the router resolve every segment B host, as traffic through it would (one UDP
    datagram to the discard port each), and wait until its neighbour table holds them (bounded)."""
    wanted = {h.ip for h in hosts if ipaddress.ip_address(h.ip) in plan.net_b}
    if not wanted:
        return
    failure: list[BaseException] = []

    def send() -> None:
        try:
            with in_netns(names.router), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for address in sorted(wanted):
                    sock.sendto(b"", (address, 9))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=send, name="lab-arp")  # setns is per thread
    worker.start()
    worker.join()
    if failure:
        raise ScanError(f"lab: filling the router's ARP table failed: {failure[0]}")
    deadline = time.monotonic() + ARP_TIMEOUT
    while time.monotonic() < deadline:
        entries = json.loads(ip(["-j", "neigh", "show", "dev", "eth1"], netns=names.router) or "[]")
        if wanted <= {e.get("dst") for e in entries if e.get("lladdr")}:
            return
        time.sleep(0.05)
    log.warning("lab: the router resolved only some segment B hosts within %.0f s", ARP_TIMEOUT)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read()
        return any(mark in command for mark in AGENT_MARKS)
    except OSError:
        return False


def stop(processes: Sequence[subprocess.Popen[bytes] | int], folder: Path | None) -> None:
    """SIGTERM the agents (only processes that really are them), SIGKILL after 5 s; remove the
    folder. ``processes``: this lab's own, or pids from a state file (``lab down`` after a crash)."""
    pids = [p if isinstance(p, int) else p.pid for p in processes]
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    for process in processes:
        pid = process if isinstance(process, int) else process.pid
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
            if not isinstance(process, int) and process.poll() is not None:
                break
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        if not isinstance(process, int):
            process.wait()  # reaped: no zombie, and the Popen knows it ended
    if folder is not None and folder.name.startswith("camsweep-lab-snmp-"):
        shutil.rmtree(folder, ignore_errors=True)
