"""The ``camsweep`` command line: a thin click layer over the library.

Each command lives in its own module and is registered in ``COMMANDS``; modules are imported only
when their command runs, so ``camsweep --help`` stays fast and one command's heavy imports
(scapy, zeroconf) do not slow another.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterable
from typing import Any

import click

# jsonschema (which checks the fingerprint and restrictions data at every start) imports
# rfc3987_syntax when it is installed, and that builds a lark grammar at import: 0.5-1 s of every
# command's start on a quiet machine, for the "iri" format no camsweep schema uses (they use
# date, date-time and uuid). A None entry makes that optional import fail, as jsonschema expects.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from .. import __version__
from ..errors import CamsweepError, ExitCode, UsageError, did_you_mean

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, one-line help shown by `camsweep --help`)
    "demo": ("camsweep.cli.demo", "Try it safely (root): emulated lab up, scan, remediation list, lab down."),
    "check": ("camsweep.cli.check", "Check an asset register or purchase list for restricted devices (offline)."),
    "identify": ("camsweep.cli.identify", "Identify devices from saved observations (offline)."),
    "report": ("camsweep.cli.report", "Remediation list for a saved scan under a policy; --all-sites: the sites' roll-up."),
    "restrictions": ("camsweep.cli.restrictions", "The instruments and policies behind the remediation list (table/json/markdown)."),
    "scan": ("camsweep.cli.scan", "Scan networks and identify Hikvision/Dahua/OEM cameras, NVRs, DVRs."),
    "explain": ("camsweep.cli.explain", "Show every observation and rule hit behind one device's verdict."),
    "lab": ("camsweep.cli.lab", "Run the emulated device lab (root): up, status, exec, down."),
    "history": ("camsweep.cli.history", "List the scans stored in the inventory."),
    "import": ("camsweep.cli.imports", "Store saved scans, nmap XML reports or DHCP lease files in the inventory."),
    "diff": ("camsweep.cli.diff", "Show new, gone, not rescanned and changed devices between two scans."),
    "verify": ("camsweep.cli.verify", "Check the data files and replay every fingerprint example."),
    "listen": ("camsweep.cli.listen", "Identify devices from traffic alone; sends nothing (root)."),
    "watch": ("camsweep.cli.watch", "Listen until stopped; alert on new Hikvision/Dahua or restricted devices (root)."),
}

log = logging.getLogger("camsweep")


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        command: click.Command = getattr(module, "command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    from camsweep.reports.text import (
        SafeLogFormatter,  # messages quote device text: no raw control characters
    )

    handler.setFormatter(SafeLogFormatter("camsweep: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="camsweep")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """camsweep: find Hikvision, Dahua and OEM-rebadged cameras, NVRs and DVRs, with evidence.

    Exit codes: 0 nothing restricted found, 2 usage/config/data error, 3 restricted devices
    found, 4 new restricted devices (--fail-on new), 5 scan failed or not stored, 6 partial result.
    """
    setup_logging(verbose, quiet)
    ctx.ensure_object(dict)


def echo(text: str, nl: bool = True) -> None:
    """Print rendered output on stdout; every command's output goes through here (see for_terminal).

    ``Styled`` text (a terminal report in colour) was made terminal-safe piece by piece as it was
    laid out, around its own colour sequences, and is printed as it is."""
    from camsweep.reports.text import Styled, for_terminal

    if isinstance(text, Styled):
        click.echo(text, nl=nl, color=True)
    else:
        click.echo(for_terminal(text), nl=nl)


def echo_notes(notes: Iterable[str]) -> None:
    """The result's notes, each once, on stderr (the terminal report leaves them out)."""
    from camsweep.reports.text import clean

    for note in notes:
        click.echo(f"note: {clean(note, 400)}", err=True)


def terminal_view(*, devices: bool = False, all_hosts: bool = False) -> Any:
    """How a table printed on stdout will be read: the terminal's width (``COLUMNS``, else the
    terminal's own) and colour when stdout is a terminal (not with ``NO_COLOR`` or ``TERM=dumb``);
    no width and no colour when it is piped. Notes go to stderr (``echo_notes``)."""
    import os
    import shutil

    from camsweep.reports.terminal import View

    tty = sys.stdout.isatty()
    colour = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    return View(width=shutil.get_terminal_size().columns if tty else None, colour=colour, notes=False,
                devices=devices, all_hosts=all_hosts)


def fail(error: CamsweepError) -> None:
    """Report a camsweep error as one line on stderr and exit with its code."""
    from camsweep.reports.text import escape_controls  # messages may quote file content

    click.echo(f"camsweep: error: {escape_controls(str(error))}", err=True)
    sys.exit(error.exit_code)


class Choice(click.Choice):  # type: ignore[type-arg]
    """click's Choice, whose refusal names the valid values and the closest one."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            valid = [str(c) for c in self.choices]
            self.fail(f"{value!r} is not one of {', '.join(valid)}{did_you_mean(str(value), valid)}", param, ctx)


_NO_ARGS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())
"""What click (8.2 on) raises for a group called without a command: its message is the help."""


def _usage_line(error: click.UsageError) -> str:
    """A click usage error as one line (click prints a usage block, a hint and the error)."""
    command = error.ctx.command_path if error.ctx is not None else "camsweep"
    message = error.format_message().rstrip(".")
    if isinstance(error, click.BadParameter):
        return message
    return f"{message} (see '{command} --help')"


def main(argv: list[str] | None = None) -> Any:
    try:
        # standalone_mode=False: click's own usage errors reach the handler below (one line,
        # like every camsweep error) instead of click's usage block.
        code = cli.main(args=argv, prog_name="camsweep", standalone_mode=False)
    except CamsweepError as error:
        fail(error)
    except click.UsageError as error:
        if isinstance(error, _NO_ARGS_HELP):  # `camsweep` or `camsweep lab` alone: the help, as click shows it
            error.show()
            sys.exit(error.exit_code)
        fail(UsageError(_usage_line(error)))
    except click.ClickException as error:  # e.g. a file click could not open
        fail(UsageError(error.format_message()))
    except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort

        click.echo("camsweep: interrupted", err=True)
        sys.exit(ExitCode.PARTIAL)
    # A command returns only when it succeeded (exit codes leave through sys.exit); --help and
    # --version return click's code.
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
