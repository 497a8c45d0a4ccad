"""Click parameters generated from the settings' declarations (``scanner/config.py``), and the
values a user gave for them: on the command line (wins), else in the config file (``--config``,
or one found by search), whose run lock a config run holds.

A command never declares a setting's option by hand: its name, type, default and help come from
the dataclass field, so the command line, the config file and the library cannot drift apart.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import click

from .. import runconfig
from ..config import Declared, Outputs, declared
from ..errors import UsageError
from ..savedscan import check_state_dir
from . import Choice

F = TypeVar("F", bound=Callable[..., Any])


def options(cls: type, names: Iterable[str] | None = None, **overrides: dict[str, Any]) -> Callable[[F], F]:
    """Click parameters for the settings of ``cls`` that have a command-line form, in field order
    (or those ``names``, in that order). ``overrides`` holds, per setting, the click keywords a
    command words its own way, e.g. ``interface={"required": True, "help": "..."}``."""
    available = {item.name: item for item in declared(cls) if item.setting.cli}
    chosen = [available[name] for name in names] if names is not None else list(available.values())
    unknown = set(overrides) - {item.name for item in chosen}
    if unknown:
        raise TypeError(f"overrides for settings not chosen: {', '.join(sorted(unknown))}")

    def decorate(func: F) -> F:
        for item in reversed(chosen):  # decorators apply bottom-up; help lists them top-down
            func = parameter(item, **overrides.get(item.name, {}))(func)
        return func

    return decorate


def parameter(item: Declared, **override: Any) -> Callable[[F], F]:
    """One click option (or argument, for a name in capitals) for one setting."""
    setting = item.setting
    if not setting.cli[0].startswith("-"):
        return click.argument(item.name, nargs=-1 if item.kind is tuple else 1, **override)
    keywords: dict[str, Any] = {"help": setting.help}
    form = item.cli_form
    if form is bool:
        keywords["is_flag"] = True
    else:
        if item.choices:
            keywords["type"] = Choice(item.choices)
        elif setting.path:
            keywords["type"] = click.Path(dir_okay=setting.path == "dir", file_okay=setting.path == "file")
        elif form is tuple:
            keywords["multiple"] = True
        else:
            keywords["type"] = form
        if item.cli_default not in (None, ()):
            keywords.update(default=item.cli_default, show_default=True)
        if setting.metavar:
            keywords["metavar"] = setting.metavar
    keywords.update(override)
    return click.option(*setting.cli, item.name, **keywords)


def given(cls: type, ctx: click.Context, params: dict[str, Any],
          file: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``cls``: the settings given on the command line (taken out of a
    command's ``params``), else in a config file (``file``: field name -> value, already checked
    by ``runconfig.load``); what is given nowhere keeps its field's default. A bad value on the
    command line is one UsageError line naming the option. Files named by a setting (credentials)
    are read here, when the run starts."""
    values = dict(file or {})
    for item in declared(cls):
        if item.name not in params:
            continue
        raw = params.pop(item.name)
        if ctx.get_parameter_source(item.name) is not click.core.ParameterSource.COMMANDLINE:
            continue
        try:
            values[item.name] = item.convert(raw)
        except ValueError as exc:
            raise UsageError(f"{item.label} {exc}") from None
    for item in declared(cls):
        if item.setting.read and item.name in values:
            values[item.name] = item.setting.read(values[item.name])
    return values


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False),
    help="TOML config for unattended runs ([scan], [listen], [policy], [output], [retention]; README \"Scheduled "
         "scans\"); options given here win. Without it, ~/.config/camsweep/camsweep.toml, then "
         "/etc/camsweep/camsweep.toml, is used if there. Takes the config's run lock: a second run of it exits 5.")
"""``--config FILE`` of the commands a config file drives (``scan``, ``scan --pcap``, ``listen``)."""


def load_config(path: str | None) -> runconfig.RunConfig | None:
    """The run's config: the file named, else one found by search (said on a terminal, where a
    person may not expect a file to drive the run), else None."""
    found = runconfig.find(path)
    if found is not None and found.found and sys.stderr.isatty():
        click.echo(f"camsweep: using the config file {found.path} (no --config given)", err=True)
    return found


def file_values(run_config: runconfig.RunConfig | None, cls: type) -> Mapping[str, Any] | None:
    """The config file's values for the settings of ``cls`` (None without a config)."""
    return run_config.get(cls) if run_config is not None else None


@contextlib.contextmanager
def run_lock(run_config: runconfig.RunConfig | None, outputs: Outputs) -> Iterator[None]:
    """Hold the config's run lock for the block (nothing without a config): its state directory is
    checked first (exit 2), a run of the same config already under way is exit 5."""
    if run_config is None:
        yield
        return
    folder = check_state_dir(outputs.state_dir)
    with runconfig.RunLock(runconfig.lock_path(run_config.path, folder), config=run_config.path):
        yield
