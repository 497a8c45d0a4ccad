"""``camsweep lab up|status|exec|down``: the emulated device lab (needs root; README "The device lab")."""

from __future__ import annotations

import subprocess
import sys

import click
from tabulate import tabulate

from ..lab import Lab, check_isolated, down, read_state, require_privileges
from ..lab.lab import emulator_alive, state_file
from ..lab.netns import lab_namespaces


@click.group("lab")
def command() -> None:
    """Run emulated cameras/NVRs in network namespaces (cs-*) to try camsweep safely."""


@command.command("up")
@click.option("--profiles", "profiles_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Directory of device profiles (default: the shipped ones).")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Number of devices; profiles are cloned with fresh MACs/IPs to reach it.")
@click.option("--chatter", is_flag=True,
              help="Devices announce themselves and a client (198.18.0.3) talks to them, for `camsweep listen`.")
@click.option("--chatter-period", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="Seconds between two rounds of chatter.")
@click.option("--snmp", is_flag=True,
              help="The router and the switch answer SNMP, for `camsweep scan --snmp`.")
def up(profiles_dir: str | None, count: int | None, chatter: bool, chatter_period: float, snmp: bool) -> None:
    """Start the lab; the emulator keeps running in the background until `lab down`."""
    lab = Lab(profiles_dir, count, chatter=chatter, chatter_period=chatter_period, snmp=snmp)
    lab.up()  # tears itself down on failure
    lab.detach()
    plan = lab.plan
    assert plan is not None
    click.echo(f"lab up: {len(lab.devices)} devices in {lab.startup_seconds:.1f} s; scanner namespace "
               f"{lab.scanner_namespace} ({plan.scanner_ip}); segment A {plan.segment_a}, segment B "
               f"{plan.segment_b} via {plan.router_a}")
    if lab.snmp_agents is not None:
        click.echo(f"SNMP: router {lab.snmp_agents.router}, switch {lab.snmp_agents.switch}; try:  camsweep lab "
                   f"exec -- camsweep scan {plan.segment_b} -i eth0 --snmp {lab.snmp_agents.router},"
                   f"{lab.snmp_agents.switch} --credentials {lab.snmp_credentials}")
    click.echo("try:  camsweep lab exec -- camsweep scan ...   then:  camsweep lab down")


@command.command("status")
def status() -> None:
    """Show the running lab's devices (from its state file)."""
    state = read_state()
    namespaces = lab_namespaces()
    if state is None:
        click.echo(f"no lab running{' (leftover namespaces: run `camsweep lab down`)' if namespaces else ''}")
        return
    plan = state["plan"]
    pid = state.get("emulator_pid")
    alive = pid is not None and emulator_alive(int(pid))
    click.echo(f"scanner {state['scanner_namespace']} {plan['scanner_ip']}; segment A {plan['segment_a']}, "
               f"segment B {plan['segment_b']}; emulator pid {pid} ({'running' if alive else 'NOT running'}); "
               f"{len(namespaces)} namespaces; state {state_file()}")
    if state.get("chatter"):
        click.echo(f"chatter every {state['chatter']['period']:g} s; client {state['chatter']['client_namespace']} "
                   f"{state['chatter']['client_ip']}")
    rows = [(d["profile"]["name"], d["profile"]["segment"], d["ip"], d["profile"]["mac"],
             d["profile"]["truth"].get("manufacturer", ""), d["profile"]["truth"].get("type", ""),
             d["profile"]["truth"].get("model", "")) for d in state["devices"]]
    click.echo(tabulate(rows, headers=["device", "seg", "ip", "mac", "maker", "type", "model"]))


@command.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("cmd", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(cmd: tuple[str, ...]) -> None:
    """Run CMD inside the scanner namespace (after checking it can reach only the lab)."""
    require_privileges()
    state = read_state()
    scanner_ns = state["scanner_namespace"] if state else Lab.scanner_namespace
    check_isolated(scanner_ns)
    sys.exit(subprocess.run(["ip", "netns", "exec", scanner_ns, *cmd], check=False).returncode)


@command.command("down")
def down_() -> None:
    """Stop the lab and remove every cs-* namespace (also leftovers of a crashed run)."""
    removed = down()
    click.echo(f"lab down: removed {len(removed)} namespaces")
