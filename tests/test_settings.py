"""One settings schema: every setting is declared once (``scanner/config.py``) and the command line,
the config file and the library agree on its name, type, default and checks.

Nothing here touches a network: the command line is parsed (``make_context``) and the settings are
built from it exactly as ``camsweep scan`` builds them, but no scan is run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click
import pytest

from camsweep import runconfig
from camsweep.cli import listen as listen_cli
from camsweep.cli import scan as scan_cli
from camsweep.cli import watch as watch_cli
from camsweep.config import CaptureConfig, Credential, ListenConfig, Outputs, ScanConfig, WatchConfig, declared
from camsweep.cli._settings import given
from camsweep.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = '[[credential]]\nnetwork = "198.18.0.0/24"\nusername = "audit"\npassword = "s3cr3t"\n'

# Every setting with a command-line form or a config key: (config-file value as TOML, command-line
# arguments or None when the setting is file-only, the field value both must give). "{dir}" is the
# test's folder; paths in the file are relative to the file, on the command line absolute.
SAMPLES: dict[str, tuple[str, list[str] | None, Any]] = {
    "targets": ('["198.18.0.7", "198.18.1.0/24"]', ["198.18.0.7", "198.18.1.0/24"], ("198.18.0.7", "198.18.1.0/24")),
    "target_file": ('"hosts.txt"', ["-iL", "{dir}/hosts.txt"], ("198.18.2.0/24", "198.18.3.4", "198.18.3.9-12")),
    "exclude": ('["198.18.1.1", "198.18.1.8/30"]', ["--exclude", "198.18.1.1,198.18.1.8/30"],
                ("198.18.1.1", "198.18.1.8/30")),
    "interface": ('"cs-test0"', ["-i", "cs-test0"], "cs-test0"),
    "methods": ('["-arp", "-mdns"]', ["--methods", "-arp", "--methods", "-mdns"], ("-arp", "-mdns")),
    "credentials": ('"creds.toml"', ["--credentials", "{dir}/creds.toml"],
                    (Credential("198.18.0.0/24", "audit", "s3cr3t"),)),
    "snmp": ('["198.18.0.1", "198.18.0.4"]', ["--snmp", "198.18.0.1,198.18.0.4"], ("198.18.0.1", "198.18.0.4")),
    "ports": ('[81, "8000-8002"]', ["--ports", "81,8000-8002"], (81, 8000, 8001, 8002)),
    "connect_timeout": ("0.5", ["--connect-timeout", "0.5"], 0.5),
    "read_timeout": ("4", ["--read-timeout", "4"], 4.0),  # a TOML integer is a fine float
    "request_timeout": ("7.5", ["--request-timeout", "7.5"], 7.5),
    "host_timeout": ("20", ["--host-timeout", "20"], 20.0),
    "listen_window": ("1.5", ["--listen", "1.5"], 1.5),
    "concurrency": ("16", ["--concurrency", "16"], 16),
    "per_host": ("1", ["--per-host", "1"], 1),
    "rate": ("50", ["--rate", "50"], 50),
    "allow_public": ("true", ["--allow-public"], True),
    "probe_strays": ("true", ["--probe-strays"], True),
    "db_path": ('"inv.sqlite"', ["--db", "{dir}/inv.sqlite"], "{dir}/inv.sqlite"),
    "site": ('"north depot"', ["--site", "north depot"], "north depot"),
    "operator": ('"night-cron"', ["--operator", "night-cron"], "night-cron"),
    "policy": ('["us-federal", "us-grant"]', ["--policy", "us-federal,us-grant"], "us-federal,us-grant"),
    "fail_on": ('"never"', ["--fail-on", "never"], "never"),
    "max_data_age": ("90", ["--max-data-age", "90"], 90),
    "state_dir": ('"state"', ["--state-dir", "{dir}/state"], "{dir}/state"),
    "reports": ('[{ format = "csv", path = "r.csv" }]', None, (("csv", "{dir}/r.csv"),)),
    "keep_scans": ("5", None, 5),
}
FILE_ONLY = {"reports", "keep_scans"}
"""[output] reports is the file's form of --format/-o (several reports per run); [retention]
keep_scans prunes the inventory, a decision for a scheduled run, not for one command."""
COMMAND_LINE_ONLY = {"fmt", "output", "no_store", "as_of", "all_hosts"}
"""How one run prints (--format, -o, --no-store, --all): a config file names its reports instead; --as-of
judges one report at a chosen date (a scheduled run judges each scan at its own end)."""
NOT_SETTINGS = {"config_path"}
"""--config names the file itself."""

OTHER_SAMPLES: dict[type, dict[str, tuple[str, list[str] | None, Any]]] = {
    # The settings of the other sections, as SAMPLES (each section's command parses them).
    CaptureConfig: {"pcap": ('"site.pcapng"', ["--pcap", "{dir}/site.pcapng"], "{dir}/site.pcapng")},
    ListenConfig: {
        "interface": ('"cs-test0"', ["-i", "cs-test0"], "cs-test0"),
        "duration": ("30", ["-d", "30"], 30.0),
        "only": ('["198.18.0.0/24", "198.18.1.5-9"]', ["--only", "198.18.0.0/24", "--only", "198.18.1.5-9"],
                 ("198.18.0.0/24", "198.18.1.5-9")),
        "target_file": ('"hosts.txt"', ["-iL", "{dir}/hosts.txt"], ("198.18.2.0/24", "198.18.3.4", "198.18.3.9-12")),
        "exclude": ('["198.18.1.1"]', ["--exclude", "198.18.1.1"], ("198.18.1.1",)),
    },
    WatchConfig: {  # None: a file-only key (a webhook's URL and token never go on a command line)
        "interface": ('"cs-test0"', ["-i", "cs-test0"], "cs-test0"),
        "snapshot_interval": ("60", ["--snapshot-interval", "60"], 60.0),
        "syslog": ('"udp://198.18.0.9:514"', ["--syslog", "udp://198.18.0.9:514"], "udp://198.18.0.9:514"),
        "webhook_url": ('"https://hooks.example/x"', None, "https://hooks.example/x"),
        "webhook_token": ('"token"', None, "tok-1"),
        "jsonl": ("false", None, False),
    },
}
COMMANDS = {CaptureConfig: scan_cli.command, ListenConfig: listen_cli.command, WatchConfig: watch_cli.command}
"""The command whose options (and config section) build each settings class of OTHER_SAMPLES."""


def _settings() -> dict[str, tuple[type, Any]]:
    return {item.name: (cls, item) for cls in (ScanConfig, Outputs) for item in declared(cls)}


def _fill(value: Any, folder: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{dir}", str(folder))
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(v, folder) for v in value)
    return value


def build(args: list[str]) -> tuple[ScanConfig, Outputs]:
    """The settings ``camsweep scan ARGS`` would scan with (parsed, merged and checked; not run)."""
    ctx = scan_cli.command.make_context("scan", list(args))
    params = dict(ctx.params)
    config_path = params.pop("config_path")
    params.pop("pcap")
    with ctx:
        return scan_cli.settings(ctx, params, runconfig.load(config_path) if config_path else None)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    creds = tmp_path / "creds.toml"
    creds.write_text(CREDENTIALS)
    os.chmod(creds, 0o600)
    (tmp_path / "token").write_text("tok-1\n")
    (tmp_path / "hosts.txt").write_text("# site north\n198.18.2.0/24\n\n198.18.3.4   # the NVR\n  198.18.3.9-12\n")
    return tmp_path


def test_samples_cover_every_setting() -> None:
    assert set(SAMPLES) == {name for name, (_, item) in _settings().items() if item.setting.key}
    for cls in set(runconfig.SETTINGS) - {ScanConfig, Outputs}:  # a new section brings its samples
        assert set(OTHER_SAMPLES[cls]) == {item.name for item in declared(cls) if item.setting.key}, cls


@pytest.mark.parametrize("cls, name", [(cls, name) for cls, samples in OTHER_SAMPLES.items() for name in samples])
def test_another_sections_setting_is_the_same_value_in_the_file_or_on_the_command_line(
        cls: type, name: str, folder: Path) -> None:
    item = next(item for item in declared(cls) if item.name == name)
    toml, args, expected = OTHER_SAMPLES[cls][name]
    section, key = item.setting.key.split(".")
    path = folder / "camsweep.toml"
    path.write_text(f"[{section}]\n{key} = {toml}\n")
    ways = [(["--config", str(path)], runconfig.load(str(path)).get(cls))] + ([(_fill(args, folder), None)] if args else [])
    for argv, file in ways:
        ctx = COMMANDS[cls].make_context(COMMANDS[cls].name, list(argv))
        with ctx:
            assert getattr(cls(**given(cls, ctx, dict(ctx.params), file)), name) == _fill(expected, folder)


def test_every_scan_option_has_a_config_key_and_the_reverse() -> None:
    scan_settings = declared(ScanConfig)
    with_option = {item.name for item in scan_settings if item.setting.cli}
    with_key = {item.name for item in scan_settings if item.setting.key}
    assert with_option == with_key  # one-to-one: [scan] request_timeout exists, --per-host exists
    outputs = declared(Outputs)
    # [scan] holds the scan's settings, plus what is recorded with the scan (site, operator)
    recorded = {i.setting.key for i in outputs if i.setting.key and i.setting.key.startswith("scan.")}
    assert recorded == {"scan.site", "scan.operator"}
    assert {item.setting.key for item in scan_settings + declared(CaptureConfig) if item.setting.key} | recorded == {
        f"scan.{key}" for key in runconfig.schema()["scan"]}
    assert {i.name for i in outputs if i.setting.cli and not i.setting.key} == COMMAND_LINE_ONLY
    assert {i.name for i in outputs if i.setting.key and not i.setting.cli} == FILE_ONLY
    # Every parameter of `camsweep scan` is a declared setting (or names the file / the mode).
    params = {p.name for p in scan_cli.command.params}
    declared_here = with_option | {i.name for i in outputs if i.setting.cli and i.name in params}
    assert params == declared_here | NOT_SETTINGS | {"pcap"}
    assert "state_dir" in params and COMMAND_LINE_ONLY <= params


def test_option_defaults_and_types_are_the_fields() -> None:
    by_name = {**_settings(), "pcap": (CaptureConfig, declared(CaptureConfig)[0])}
    unset = scan_cli.command.make_context("scan", []).params  # what the command gets when nothing is given
    for param in scan_cli.command.params:
        if param.name in NOT_SETTINGS:
            continue
        _, item = by_name[param.name]
        value = unset[param.name]
        if isinstance(param, click.Option) and param.is_flag:
            assert item.kind is bool and value is False is item.default, param.name
        elif value in (None, ()):
            assert item.default in (None, ()), param.name
        else:  # the default --help shows, read as a user's value, is the field's default
            assert item.convert(value) == item.default, param.name
        if isinstance(param.type, click.Choice):
            assert tuple(param.type.choices) == item.choices, param.name
        elif isinstance(param.type, (click.types.FloatParamType, click.types.IntParamType)):
            kind = float if isinstance(param.type, click.types.FloatParamType) else int
            assert kind is item.kind and kind in item.file_form, param.name  # the file takes the same type
        elif isinstance(param.type, click.Path):
            assert item.setting.path and str in item.file_form, param.name


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_setting_in_the_file_or_on_the_command_line_is_the_same_value(name: str, folder: Path) -> None:
    cls, item = _settings()[name]
    toml, args, expected = SAMPLES[name]
    expected = _fill(expected, folder)
    section, key = item.setting.key.split(".")
    path = folder / "camsweep.toml"
    path.write_text(f"[{section}]\n{key} = {toml}\n")
    index = 0 if cls is ScanConfig else 1
    assert getattr(build(["--config", str(path)])[index], name) == expected
    if args is not None:
        assert getattr(build(_fill(args, folder))[index], name) == expected


def test_the_command_line_wins_over_the_file(folder: Path) -> None:
    path = folder / "camsweep.toml"
    path.write_text('[scan]\nhost_timeout = 20\nports = [81]\ntargets = ["198.18.0.7"]\n'
                    '[policy]\nfail_on = "never"\n[output]\nstate_dir = "state"\n')
    config, outputs = build(["--config", str(path), "--host-timeout", "30", "--fail-on", "new"])
    assert (config.host_timeout, config.ports, config.targets) == (30.0, (81,), ("198.18.0.7",))
    assert (outputs.fail_on, outputs.state_dir, outputs.quiet) == ("new", str(folder / "state"), True)
    config, outputs = build(["198.18.0.9"])  # no file: the fields' defaults, printed output
    assert config == ScanConfig(targets=("198.18.0.9",)) and outputs == Outputs()


def test_listen_generates_its_shared_options_from_the_same_declarations() -> None:
    params = {p.name: p for p in listen_cli.command.params}
    assert params["interface"].opts == ["-i", "--interface"]  # required, but the config file may give it
    assert params["only"].multiple and params["exclude"].multiple and params["config_path"].opts == ["--config"]
    for item in declared(Outputs):
        if item.name in ("fmt", "output", "db_path", "no_store", "policy", "fail_on"):
            assert params[item.name].help == item.setting.help


# A bad value: (setting, command-line text, config-file TOML, the field value a library caller would
# pass or None, what is wrong). The same words come from the command line, the config file and the
# library (which names the field instead of the option or key).
BAD = [
    ("connect_timeout", "0", "0", 0.0, "must be positive"),
    ("listen_window", "-1", "-1", -1.0, "must be positive"),
    ("request_timeout", "0", "0.0", 0.0, "must be positive"),
    ("concurrency", "0", "0", 0, "must be at least 1"),
    ("per_host", "0", "0", 0, "must be at least 1"),
    ("rate", "-5", "-5", -5, "must be at least 1"),
    ("ports", "70000", "[70000]", (70000,), "must be ports 1-65535 (70000 is out of range)"),
    ("ports", ",", "[]", (), "must name at least one port"),
    ("ports", "http", '["http"]', None, "must be ports or ranges like 80,443,8000-8010, not 'http'"),
    ("ports", "9-3", '["9-3"]', None, "must be ports or ranges like 80,443,8000-8010, not '9-3'"),
    ("operator", "alice\nbob", '"alice\\nbob"', None, "must be printable text without leading or trailing spaces"),
]


@pytest.mark.parametrize("name, text, toml, value, problem", BAD)
def test_a_bad_value_is_the_same_error_everywhere(name: str, text: str, toml: str, value: Any, problem: str,
                                                   tmp_path: Path) -> None:
    _, item = _settings()[name]
    with pytest.raises(UsageError) as on_cli:
        build([item.label, text, "198.18.0.7"])
    assert str(on_cli.value).startswith(f"{item.label} {problem}")
    path = tmp_path / "camsweep.toml"
    section, key = item.setting.key.split(".")
    path.write_text(f"[{section}]\n{key} = {toml}\n")
    with pytest.raises(ConfigError) as in_file:
        runconfig.load(str(path))
    assert str(in_file.value).startswith(f"{path}: '{section}.{key}' {problem}")
    if value is not None:
        with pytest.raises(UsageError, match="^" + re.escape(f"{name} {problem}")):
            ScanConfig(**{name: value})


def test_library_values_are_checked_on_construction() -> None:
    with pytest.raises(UsageError, match=r"^ports must be ports 1-65535 \(0 is out of range\)$"):
        ScanConfig(ports=(0,))
    with pytest.raises(UsageError, match="^host_timeout must be positive, not 0$"):
        ScanConfig(host_timeout=0)
    with pytest.raises(UsageError, match="^keep_scans must be at least 1, not 0$"):
        Outputs(keep_scans=0)
    with pytest.raises(UsageError, match="^fail_on must be one of restricted, new, never, not 'often'$"):
        Outputs(fail_on="often")


def test_readme_lists_every_config_key() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = re.search(r"\nKeys: (.*?)\n\n", readme, re.DOTALL)
    assert paragraph, "README's \"Scheduled scans\" lists the config file's keys in a paragraph starting 'Keys:'"
    listed = {(section, key) for section, chunk in re.findall(r"`\[(\w+)\]`((?:(?!`\[\w+\]`).)*)", paragraph.group(1), re.DOTALL)
              for key in re.findall(r"`([a-z_]+)`", chunk)}
    assert listed == {(section, key) for section, body in runconfig.schema().items() for key in body}
