"""``Lab``: bring the emulated device lab up, use it, and always tear it down.

    with Lab(profiles_dir, count) as lab:
        lab.exec(["python3", "-c", "..."])     # runs inside cs-scanner, after check_isolated()
        lab.devices                             # LabDevice list, with ground truth

Teardown removes exactly what the lab made (its namespaces, the emulator, the state file) on
normal exit, on error, on Ctrl-C and on SIGTERM (signal handler + try/finally + atexit).
``down()`` also clears what an earlier crashed run left behind.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .._child import python_command
from ..errors import ScanError
from . import snmpd, topology
from .chatter import DEFAULT_PERIOD as CHATTER_PERIOD
from .netns import check_isolated, lab_namespaces, require_privileges, run_in_netns
from .profiles import Profile, expand, load_profiles

log = logging.getLogger("camsweep")

STATE_DIR = Path("/run/camsweep-lab")
STATE_FILE = STATE_DIR / "state.json"
READY_TIMEOUT = 300.0
NEIGH_THRESHOLDS = tuple(f"net.ipv4.neigh.default.gc_thresh{n}" for n in (1, 2, 3))
NETDEV_BACKLOG = "net.core.netdev_max_backlog"


def _sysctl(key: str) -> Path:
    """The /proc/sys file of a sysctl key (``net.core.netdev_max_backlog``)."""
    return Path("/proc/sys", key.replace(".", "/"))


@dataclass(frozen=True)
class LabDevice:
    """One emulated device as placed in the lab, with its ground truth."""

    name: str
    namespace: str
    ip: str
    mac: str
    segment: str
    truth: dict[str, str]
    profile: Profile


def emulator_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"camsweep.lab.emulator" in handle.read()
    except OSError:
        return False


def _stop_emulator(pid: int) -> None:
    """SIGTERM the emulator (only if that pid really is one), SIGKILL after 5 s."""
    if not emulator_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:  # not our child (a `lab up` from another process)
            if not emulator_alive(pid):
                return
        time.sleep(0.05)
    if emulator_alive(pid):
        os.kill(pid, signal.SIGKILL)


def state_file(prefix: str = topology.PREFIX) -> Path:
    """The state file of the lab with this namespace prefix (the default lab: state.json)."""
    tag = prefix[len(topology.PREFIX):].strip("-")
    return STATE_FILE if not tag else STATE_DIR / f"state-{tag}.json"


def read_state(prefix: str = topology.PREFIX) -> dict[str, Any] | None:
    try:
        return json.loads(state_file(prefix).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def down(prefix: str | None = None) -> list[str]:
    """Remove labs: their emulators, namespaces and state files; returns the namespaces removed.

    Without ``prefix`` (``camsweep lab down``): every ``cs-`` namespace and every lab state file,
    which also clears what a crashed run left behind. With ``prefix``: only that lab's.
    """
    require_privileges()
    files = [state_file(prefix)] if prefix else (sorted(STATE_DIR.glob("state*.json")) if STATE_DIR.is_dir() else [])
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            data = None
        pid = data.get("emulator_pid") if isinstance(data, dict) else None
        # A corrupt state file must neither stop `lab down` nor aim a signal at pid 0/1/-1.
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1:
            _stop_emulator(pid)
        agents = data.get("snmp") if isinstance(data, dict) else None
        if isinstance(agents, dict) and isinstance(agents.get("pids"), list):
            folder = agents.get("folder")
            snmpd.stop([p for p in agents["pids"] if isinstance(p, int) and not isinstance(p, bool) and p > 1],
                       Path(folder) if isinstance(folder, str) else None)
        path.unlink(missing_ok=True)
        path.with_suffix(".log").unlink(missing_ok=True)
    names = topology.Names(prefix) if prefix else None
    leftovers = [n for n in lab_namespaces() if names is None or names.owns(n)]
    topology.destroy(leftovers)
    return leftovers


class Lab:
    """The lab as a context manager (or ``up()``/``down()`` for the CLI's background mode)."""

    scanner_namespace = topology.SCANNER_NS

    def __init__(self, profiles_dir: str | Path | None = None, count: int | None = None, *,
                 prefix: str = topology.PREFIX, chatter: bool = False,
                 chatter_period: float = CHATTER_PERIOD, snmp: bool = False,
                 profiles: Sequence[Profile] | None = None,
                 neighbour_limits: tuple[int, int, int] | None = None,
                 netdev_backlog: int | None = None,
                 plan: topology.Plan | None = None, segment: str | None = None) -> None:
        """``chatter``: devices announce themselves and a client talks to them every
        ``chatter_period`` seconds (``camsweep.lab.chatter``), for passive discovery.
        ``snmp``: the router and the switch answer SNMP (``camsweep.lab.snmpd``; ``snmp_agents``
        says where and with which credentials).
        ``profiles``: serve these (e.g. ``site_mix(...)``) instead of ``count`` loaded from
        ``profiles_dir``.

        ``neighbour_limits``: (gc_thresh1, gc_thresh2, gc_thresh3) of the kernel's IPv4 neighbour
        table for this lab's run. Unlike a real network, where each host has its own table, all lab
        namespaces share the kernel's one table, and its limits are kernel-wide (not per
        namespace): the lab sets them in the root namespace when it comes up, logs that it did,
        and puts the old values back at teardown (every exit path ``down`` covers).

        ``netdev_backlog``: ``net.core.netdev_max_backlog`` for this lab's run, set and restored
        the same way. One broadcast on a segment of N lab devices is N frames queued at once on
        one CPU's backlog (a real switch copies it in hardware, each host has its own NIC); at the
        default 1,000 a 1,000-device segment drops some copies of every ARP request.

        ``plan``: the segments' subnets (default: /24s, or /22s above 240 devices on a segment),
        e.g. ``Plan("198.18.0.0/16", "198.19.0.0/24")`` for a /16 to sweep. ``segment``: put every
        device (but strays) on this segment ("A" or "B"), e.g. 1,000 devices on one /22."""
        if chatter_period <= 0:
            raise ValueError("chatter_period must be positive")
        self.profiles_dir = profiles_dir
        self.count = count
        self.profiles = list(profiles) if profiles is not None else None
        self.chatter = chatter
        self.chatter_period = chatter_period
        self.snmp = snmp
        self.snmp_agents: snmpd.Agents | None = None
        self.snmp_credentials: Path | None = None
        """A credentials file (SNMPv2c) for both agents, while the lab runs."""
        self._snmp_processes: list[subprocess.Popen[bytes]] = []
        self._snmp_folder: Path | None = None
        self.names = topology.Names(prefix)
        self.scanner_namespace = self.names.scanner
        self.client_namespace: str | None = self.names.client if chatter else None
        self.state_file = state_file(prefix)
        self.log_file = self.state_file.with_suffix(".log")
        self.devices: list[LabDevice] = []
        self.plan: topology.Plan | None = None
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._namespaces: list[str] = []
        self._previous_handlers: dict[int, Any] = {}
        self._torn_down = True
        self._keep_log = False
        self.neighbour_limits = neighbour_limits
        self.forced_plan = plan
        self.segment = segment
        self._saved_limits: dict[str, str] = {}
        self.netdev_backlog = netdev_backlog
        self._saved_backlog: str | None = None

    # -- life cycle -------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        """Build the topology and start the emulator; on any failure undo everything and raise.

        From here until ``down()`` (or ``detach()``), SIGTERM/SIGHUP and interpreter exit also
        tear the lab down.
        """
        require_privileges()
        profiles = self.profiles if self.profiles is not None else expand(load_profiles(self.profiles_dir),
                                                                          self.count)
        if self.segment is not None:
            profiles = [p if p.segment == "S" else replace(p, segment=self.segment) for p in profiles]
        plan, hosts = topology.assign(profiles, self.names, self.forced_plan,
                                      strict=self.forced_plan is None and self.segment is None)
        started = time.monotonic()
        self._torn_down = False
        self._install_handlers()
        atexit.register(self.down)
        try:
            self._set_neighbour_limits()
            self._set_backlog()
            self._namespaces = []
            topology.build(plan, hosts, self.names, self._namespaces, chatty=self.chatter)
            self.plan = plan
            self.devices = [LabDevice(h.profile.name, h.namespace, h.ip, h.profile.mac, h.profile.segment,
                                      dict(h.profile.truth), h.profile) for h in hosts]
            STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)  # the state holds the profiles' lab credentials
            self._write_state(None)
            if self.chatter:  # the client sends from the moment the emulator starts
                check_isolated(self.names.client)
            self._start_emulator()
            self._write_state(self._process.pid if self._process else None)
            if self.snmp:
                self._snmp_folder = snmpd.make_folder()
                self.snmp_agents = snmpd.start(plan, self.names, self._snmp_folder, self._snmp_processes)
                self.snmp_credentials = snmpd.write_credentials(self.snmp_agents, self._snmp_folder)
                self._write_state(self._process.pid if self._process else None)
                snmpd.fill_router_arp(self.names, plan, hosts)
            check_isolated(self.scanner_namespace)
        except BaseException:
            self.down()
            raise
        self.startup_seconds = time.monotonic() - started
        log.info("lab: %d devices up in %.1f s", len(self.devices), self.startup_seconds)

    def down(self) -> None:
        """Stop the emulator and delete this lab's namespaces and state file (idempotent)."""
        if self._torn_down:
            return
        self._torn_down = True
        atexit.unregister(self.down)
        held = self._hold_signals()
        try:
            if self._process is not None:
                _stop_emulator(self._process.pid)
                self._process = None
            snmpd.stop(self._snmp_processes, self._snmp_folder)
            self._snmp_processes, self._snmp_folder = [], None
            existing = set(lab_namespaces())
            topology.destroy([n for n in self._namespaces if n in existing])
            self.state_file.unlink(missing_ok=True)
            if not self._keep_log:  # kept when the emulator failed: the error names it
                self.log_file.unlink(missing_ok=True)
        finally:
            self._restore_neighbour_limits()  # kernel-wide: whatever else failed above
            self._restore_backlog()
            for signum, handler in held.items():
                signal.signal(signum, handler)
            self._restore_handlers()

    def detach(self) -> None:
        """Leave the lab running after this process exits (``camsweep lab up``)."""
        self._torn_down = True
        atexit.unregister(self.down)
        self._restore_handlers()

    # -- use ----------------------------------------------------------------------------------
    def exec(self, command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``command`` inside the scanner namespace (after the isolation check)."""
        check_isolated(self.scanner_namespace)
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return run_in_netns(self.scanner_namespace, list(command), **kwargs)

    def check_isolated(self) -> None:
        check_isolated(self.scanner_namespace)

    def emulator_rss_kib(self) -> int | None:
        """Resident memory of the emulator process (KiB), for the lab's measurements."""
        if self._process is None:
            return None
        try:
            for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    # -- internals ----------------------------------------------------------------------------
    def _set_neighbour_limits(self) -> None:
        if self.neighbour_limits is None:
            return
        for key, value in zip(NEIGH_THRESHOLDS, self.neighbour_limits):
            path = _sysctl(key)
            self._saved_limits[key] = path.read_text(encoding="ascii").strip()
        # gc_thresh3 first when raising, last when lowering: thresh1 <= thresh2 <= thresh3 throughout.
        order = list(zip(NEIGH_THRESHOLDS, self.neighbour_limits))
        if self.neighbour_limits[2] > int(self._saved_limits[NEIGH_THRESHOLDS[2]]):
            order.reverse()
        for key, value in order:
            _sysctl(key).write_text(str(value), encoding="ascii")
        log.warning("lab: kernel-wide neighbour table limits set to %s for this lab's run (were %s); restored at teardown",
                    "/".join(map(str, self.neighbour_limits)), "/".join(self._saved_limits.values()))

    def _set_backlog(self) -> None:
        if self.netdev_backlog is None:
            return
        path = _sysctl(NETDEV_BACKLOG)
        try:  # only the initial network namespace has it: a container with its own may not
            saved = path.read_text(encoding="ascii").strip()
            path.write_text(str(self.netdev_backlog), encoding="ascii")
        except OSError as error:
            log.warning("lab: cannot set %s (%s): a large lab segment may drop copies of its broadcasts",
                        NETDEV_BACKLOG, error.strerror or error)
            return
        self._saved_backlog = saved
        log.warning("lab: kernel-wide %s set to %d for this lab's run (was %s); restored at teardown",
                    NETDEV_BACKLOG, self.netdev_backlog, self._saved_backlog)

    def _restore_backlog(self) -> None:
        if self._saved_backlog is None:
            return
        saved, self._saved_backlog = self._saved_backlog, None
        try:
            _sysctl(NETDEV_BACKLOG).write_text(saved, encoding="ascii")
        except OSError as error:
            log.error("lab: could not restore %s to %s: %s", NETDEV_BACKLOG, saved, error)
            return
        log.info("lab: %s restored to %s", NETDEV_BACKLOG, saved)

    def _restore_neighbour_limits(self) -> None:
        if not self._saved_limits:
            return
        saved, self._saved_limits = self._saved_limits, {}
        order = list(saved.items())
        if int(saved[NEIGH_THRESHOLDS[2]]) > int(_sysctl(NEIGH_THRESHOLDS[2]).read_text()):
            order.reverse()  # raising back: thresh3 first
        for key, value in order:
            try:
                _sysctl(key).write_text(value, encoding="ascii")
            except OSError as error:
                log.error("lab: could not restore %s to %s: %s", key, value, error)
        log.info("lab: neighbour table limits restored to %s", "/".join(saved.values()))

    def _write_state(self, pid: int | None) -> None:
        assert self.plan is not None
        state = {
            "version": 1, "emulator_pid": pid, "plan": self.plan.to_dict(),
            "scanner_namespace": self.scanner_namespace, "switch_namespace": self.names.switch,
            "namespaces": self._namespaces,
            "snmp": {"pids": [p.pid for p in self._snmp_processes],
                     "folder": str(self._snmp_folder) if self._snmp_folder else None},
            "chatter": {"period": self.chatter_period, "client_namespace": self.names.client,
                        "client_ip": self.plan.client_ip} if self.chatter else None,
            "devices": [{"namespace": d.namespace, "ip": d.ip, "profile": d.profile.to_dict()} for d in self.devices],
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def _start_emulator(self) -> None:
        with open(self.log_file, "ab") as log_handle:
            # Own session: a terminal's Ctrl-C reaches us, and we stop the emulator in order.
            self._process = subprocess.Popen(
                python_command("camsweep.lab.emulator", str(self.state_file)), stdout=subprocess.PIPE,
                stderr=log_handle, stdin=subprocess.DEVNULL, start_new_session=True)
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], READY_TIMEOUT)
        line = self._process.stdout.readline() if ready else b""
        self._process.stdout.close()
        if line.strip() != b"READY":
            self._keep_log = True
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:] if self.log_file.exists() else []
            raise ScanError(f"lab emulator did not start: {' | '.join(tail) or 'no output'} (log: {self.log_file})")

    def _install_handlers(self) -> None:
        """SIGTERM/SIGHUP become SystemExit so ``finally``/``__exit__`` tear the lab down."""
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum: int, frame: object) -> None:
            raise SystemExit(128 + signum)

        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signum] = signal.signal(signum, on_signal)

    @staticmethod
    def _hold_signals() -> dict[int, Any]:
        """Ignore a second Ctrl-C/SIGTERM while tearing down, so teardown itself completes."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def _restore_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()
