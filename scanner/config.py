"""Settings, each declared once, on its dataclass field: name, type, default, help, command-line
option, config-file key and the check of its value (``field.metadata["setting"]``, a ``Setting``).

* ``ScanConfig``: what to scan, how, and how hard (built by the CLI or by a library caller).
* ``CaptureConfig``, ``ListenConfig``: what ``scan --pcap`` reads and where ``listen`` listens.
* ``Outputs``: where a run's results go, under which policy, what makes its exit code non-zero
  and how many scans the inventory keeps (``scan``, ``listen``; the config file's ``[output]``,
  ``[policy]`` and ``[retention]``).

The click options of the commands (``scanner/cli/_settings.py``) and the keys of the config file
(``scanner/runconfig.py``) are generated from these declarations. Every value is checked by the
same code wherever it comes from -- ``Declared.convert`` for what a user typed, construction for a
library caller -- so a bad value is one line and exit 2 from the command line, the config file and
the library alike.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .errors import UsageError
from .targets import MAX_HOSTS
from .types import REPORT_FORMATS


def default_state_dir() -> Path:
    """Where camsweep keeps its state: ``$XDG_STATE_HOME/camsweep`` (``~/.local/state/camsweep``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "camsweep"


DEFAULT_PORTS = (80, 443, 554, 8000, 8080, 8443, 8899, 37777, 37778, 34567, 9010, 9020, 35000)
"""The makers' web, RTSP and SDK ports, then the consumer lines' app ports whose presence the port
rules (fingerprints/ports.toml) read as the maker's: EZVIZ 9010/9020 beside Hikvision's 8000
(RenierM26/pyEzvizApi#274), Lorex 35000 (rroller/dahua#331, #690). They cost one connect per live
host each (the sweep asks other ports only of hosts that answered), and no HTTP request
(probes/http.py NOT_HTTP). Not 5000: Dahua's old DVRIP/DHIP console port (mcw0/DahuaConsole) is
also Synology DSM's and many web apps', so its number says nothing of the maker."""
FAIL_ON = ("restricted", "new", "never")
MAX_TARGET_FILE = 1024 * 1024
"""Characters read at most from an -iL file (a typo naming a huge file is refused, not read whole)."""
DEFAULT_MAX_DATA_AGE = 180
"""Days after its as-of date at which a report warns that the restrictions (or KEV) data is old."""
MAX_PORT_RANGE = 1024
"""Ports in one ``a-b`` range at most (a typo such as ``1-65535`` is refused rather than swept)."""


@dataclass(frozen=True)
class Credential:
    """A username/password for ONVIF/HTTP, valid for one host or subnet. Never logged or output."""

    network: str  # "198.18.0.21/32", "198.18.1.0/24"
    username: str
    password: str = field(repr=False)


SNMP_AUTH = ("SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5")
SNMP_PRIV = ("AES", "AES192", "AES256", "DES", "3DES")


@dataclass(frozen=True)
class SnmpCredential:
    """How to read one SNMP agent (or any in a subnet): SNMPv2c with a community, or SNMPv3
    authPriv with a user, its authentication and privacy protocols and keys. Never logged or output."""

    network: str
    community: str = field(default="", repr=False)
    user: str = ""
    auth_protocol: str = ""
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = ""
    priv_key: str = field(default="", repr=False)

    @property
    def version(self) -> str:
        return "3" if self.user else "2c"


# ------------------------------------------------------------------------------------ declarations


@dataclass(frozen=True)
class Setting:
    """How a user gives one setting and how its value is checked: a dataclass field's metadata."""

    help: str
    cli: tuple[str, ...] = ()
    """Command-line option names (``("-i", "--interface")``), or an argument's name in capitals
    (``("TARGETS",)``); () = not on the command line."""
    key: str | None = None
    """``section.name`` in the config file; None = not in the config file."""
    check: Callable[[Any], str | None] | None = None
    """What is wrong with a value (``"must be positive, not 0"``), or None."""
    parse: Callable[[Any, Path | None], Any] | None = None
    """(user's value, the config file's folder or None) -> the field's value, for a setting whose
    user form differs from its type (ports as text or a list); raises ValueError("must ...")."""
    show: Callable[[Any], Any] | None = None
    """The field's value -> its command-line form (the option's default)."""
    read: Callable[[str], Any] | None = None
    """The user names a file holding the value (credentials): read when the run starts, not when
    the config file is loaded, so that ``report --config`` never opens a password file."""
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    """Allowed values (or a function returning them, for lists owned by a module loaded later)."""
    path: Literal["file", "dir"] | None = None
    """The value is a path; in a config file, relative to the file."""
    metavar: str | None = None
    cli_form: type | None = None
    """The command line's type when it is not the field's (ports: text)."""
    file_form: type | None = None
    """The config file's type when it is not the field's (ports, policy names: a list)."""


def setting(default: Any, help: str, **how: Any) -> Any:
    """A dataclass field declared as a setting (see ``Setting``)."""
    if isinstance(how.get("cli"), str):
        how["cli"] = (how["cli"],)
    return field(default=default, metadata={"setting": Setting(help=help, **how)})


@dataclass(frozen=True)
class Declared:
    """One setting of a settings dataclass, with what its field says (name, type, default)."""

    name: str
    kind: type
    """The field's type without ``| None``; ``tuple`` for any tuple."""
    optional: bool
    default: Any
    setting: Setting

    @property
    def label(self) -> str:
        """How the command line names it in an error: its long option, or an argument's name."""
        return max(self.setting.cli, key=len) if self.setting.cli else self.name

    @property
    def choices(self) -> tuple[str, ...]:
        choices = self.setting.choices
        return choices() if callable(choices) else choices

    @property
    def cli_form(self) -> type:
        return self.setting.cli_form or (str if self.setting.read else self.kind)

    @property
    def file_form(self) -> tuple[type, ...]:
        """The TOML types a config file may give (an int is a fine float)."""
        form = self.setting.file_form or (str if self.setting.read else self.kind)
        return {float: (int, float), tuple: (list,)}.get(form, (form,))

    @property
    def cli_default(self) -> Any:
        return self.setting.show(self.default) if self.setting.show else self.default

    def problem(self, value: Any) -> str | None:
        """What is wrong with a field value, or None: the one check every source goes through."""
        if value is None and self.optional:
            return None
        choices = self.choices
        if choices and value not in choices:
            return f"must be one of {', '.join(choices)}, not {value!r}"
        return self.setting.check(value) if self.setting.check else None

    def convert(self, raw: Any, relative_to: Path | None = None) -> Any:
        """A user's value (command line, or a config file in folder ``relative_to``) -> the field's
        value, checked. Raises ValueError with what is wrong ("must be positive, not 0")."""
        if self.setting.path and relative_to is not None and isinstance(raw, str):
            raw = _relative_to(relative_to, raw)
        if self.setting.read:
            return raw  # a path: read when the run starts
        if self.setting.parse:
            value = self.setting.parse(raw, relative_to)
        elif self.kind is tuple:
            value = tuple(str(item) for item in raw)
        elif self.kind is float:
            value = float(raw)
        else:
            value = raw
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value


def _relative_to(folder: Path, value: str) -> str:
    """Paths in the config file are relative to the file, so cron's working directory does not matter.
    A URL (a ``postgresql://`` inventory) is not a path."""
    if "://" in value:
        return value
    expanded = os.path.expanduser(value)
    return expanded if os.path.isabs(expanded) else str(folder / expanded)


@functools.cache
def declared(cls: type) -> tuple[Declared, ...]:
    """The settings of a settings dataclass, in field order."""
    hints = get_type_hints(cls)
    found = []
    for f in fields(cls):
        if "setting" not in f.metadata:
            continue
        kind, optional = hints[f.name], False
        if get_origin(kind) in (Union, types.UnionType):
            args = [a for a in get_args(kind) if a is not type(None)]
            kind, optional = args[0], len(args) < len(get_args(kind))
        kind = get_origin(kind) or kind
        found.append(Declared(f.name, kind, optional, f.default, f.metadata["setting"]))
    return tuple(found)


def check_fields(instance: Any) -> None:
    """Raise UsageError (exit 2) naming the first field whose value is wrong."""
    for item in declared(type(instance)):
        problem = item.problem(getattr(instance, item.name))
        if problem:
            raise UsageError(f"{item.name} {problem}")


# ---------------------------------------------------------------------------------------- checks


def _positive(value: float) -> str | None:
    return None if value > 0 else f"must be positive, not {value}"


def _at_least(low: int) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if value >= low else f"must be at least {low}, not {value}"

    return check


def _items(raw: str | list[Any]) -> list[str]:
    """A comma-separated command-line value or a config file's list -> its non-empty items."""
    items = raw.split(",") if isinstance(raw, str) else [str(item) for item in raw]
    return [item.strip() for item in items if item.strip()]


def parse_ports(raw: str | list[Any], _folder: Path | None = None) -> tuple[int, ...]:
    """``"80,443,8000-8010"`` (command line) or ``[80, 443, "8000-8010"]`` (config file) -> ports."""
    ports: list[int] = []
    for item in _items(raw):
        try:
            if "-" in item:
                low, high = (int(x) for x in item.split("-", 1))
                if high < low or high - low > MAX_PORT_RANGE:
                    raise ValueError
                ports.extend(range(low, high + 1))
            else:
                ports.append(int(item))
        except ValueError:
            raise ValueError(f"must be ports or ranges like 80,443,8000-8010, not {item!r}") from None
    return tuple(dict.fromkeys(ports))


def _valid_ports(ports: tuple[int, ...]) -> str | None:
    bad = [p for p in ports if not 0 < int(p) < 65536]
    if bad:
        return f"must be ports 1-65535 ({bad[0]} is out of range)"
    return None if ports else "must name at least one port"


def _valid_db(location: str) -> str | None:
    """A PostgreSQL URL must not carry a password: the command line shows it to every user (ps)
    and keeps it in shell history, and a config file is copied about. libpq reads it from its own
    places instead."""
    from .store import postgres

    if not postgres.is_url(location):
        return None
    try:
        secret = postgres.secret_in(location)
    except ValueError as exc:
        return str(exc)
    if secret:
        return (f"must not hold a {secret} (it would show in the process list and shell history): "
                "put it in ~/.pgpass, a service file (PGSERVICEFILE) or PGPASSWORD")
    return None


MAX_SITE = 100


def _valid_site(name: str) -> str | None:
    if len(name) > MAX_SITE:
        return f"must be at most {MAX_SITE} characters, not {len(name)}"
    if not all(c.isprintable() for c in name) or name != name.strip():
        return "must be printable text without leading or trailing spaces"
    return None


def _snmp_agents(raw: str | list[Any], _folder: Path | None = None) -> tuple[str, ...]:
    """``--snmp 198.18.0.1,198.18.0.4`` (command line) or a list (config file) -> agent addresses."""
    import ipaddress

    agents: list[str] = []
    for item in _items(raw):
        try:
            agents.append(str(ipaddress.IPv4Address(item)))
        except ValueError:
            raise ValueError(f"must be IPv4 addresses of SNMP agents, comma-separated, not {item!r}") from None
    return tuple(dict.fromkeys(agents))


def _valid_agents(agents: tuple[str, ...]) -> str | None:
    try:
        _snmp_agents(list(agents))
    except ValueError as exc:
        return str(exc)
    return None


def _read_credentials(path: str) -> Any:
    from .credentials import load

    return load(path)


def read_target_file(path: str) -> tuple[str, ...]:
    """Targets from a file (nmap's ``-iL``): one or more per line, ``#`` starts a comment,
    blank lines are skipped; ``-`` is standard input."""
    try:
        if path == "-":
            text = sys.stdin.read(MAX_TARGET_FILE + 1)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(MAX_TARGET_FILE + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the target file ({getattr(exc, 'strerror', None) or exc})") from None
    if len(text) > MAX_TARGET_FILE:
        raise UsageError(f"{path}: target file is over {MAX_TARGET_FILE // 1024} KiB; give CIDRs or ranges instead")
    found = tuple(word for line in text.splitlines() for word in line.partition("#")[0].split())
    if not found:
        raise UsageError(f"{path}: the target file names no target")
    return found


def _exclusions(raw: str | list[Any] | tuple[Any, ...], _folder: Path | None = None) -> tuple[str, ...]:
    """``--exclude`` given once or more, each a comma-separated list (nmap's form), or a list in
    the config file."""
    items = [raw] if isinstance(raw, str) else raw
    return tuple(part.strip() for item in items for part in str(item).split(",") if part.strip())


def _target_file(section: str, what: str) -> Any:
    """``-iL FILE`` of a command whose targets (or scope) are in ``[section]``."""
    return setting((), f"{what}: one per line, # comments, blank lines skipped ('-': stdin).",
                   cli=("-iL", "--target-file"), key=f"{section}.target_file", path="file", read=read_target_file,
                   metavar="FILE")


def _exclude(section: str) -> Any:
    """``--exclude LIST`` of a command whose targets (or scope) are in ``[section]``."""
    return setting((), "Leave out these CIDRs, ranges, hosts (comma-separated, or the option again).",
                   cli="--exclude", key=f"{section}.exclude", parse=_exclusions, metavar="LIST")


def _method_names() -> tuple[str, ...]:
    # the protocols' declarations say which methods exist (imported here: settings come first)
    from .protocols import methods

    return tuple(spec.name for spec in methods())


def _policy_names(raw: str | list[Any], _folder: Path | None = None) -> str | None:
    """Policy names as the command line gives them (comma-separated) or a config file (a list)."""
    return raw if isinstance(raw, str) else (",".join(str(name) for name in raw) or None)


def parse_date(raw: str | date, _folder: Path | None = None) -> date:
    """``YYYY-MM-DD`` -> a date (``--as-of``)."""
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValueError(f"must be a date YYYY-MM-DD, not {raw!r}") from None


def _parse_reports(raw: list[Any], relative_to: Path | None) -> tuple[tuple[str, str], ...]:
    reports = []
    for n, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or set(entry) != {"format", "path"} or not all(
                isinstance(v, str) for v in entry.values()):
            raise ValueError(f"entry {n} needs exactly 'format' and 'path' (strings)")
        path = _relative_to(relative_to, entry["path"]) if relative_to is not None else entry["path"]
        reports.append((entry["format"], path))
    return tuple(reports)


def _valid_reports(reports: tuple[tuple[str, str], ...]) -> str | None:
    for n, (fmt, _) in enumerate(reports, 1):
        if fmt not in REPORT_FORMATS:
            return f"entry {n}: unknown format {fmt!r} (valid: {', '.join(REPORT_FORMATS)})"
    return None


# -------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ScanConfig:
    """What to scan, how, and how hard. Field order is the order of ``camsweep scan --help``."""

    targets: tuple[str, ...] = setting(
        (), "CIDRs, ranges like 10.0.0.5-40, hosts, host names (expanded by scanner.targets).",
        cli="TARGETS", key="scan.targets")
    target_file: tuple[str, ...] = _target_file("scan", "Also scan the targets in FILE")
    exclude: tuple[str, ...] = _exclude("scan")
    interface: str | None = setting(
        None, "Interface to scan from (default: the default route's).", cli=("-i", "--interface"),
        key="scan.interface")
    methods: tuple[str, ...] = setting(
        (), "Methods to use, e.g. 'wsd,sadp', or to leave out, e.g. '-arp' "
            f"({', '.join(_method_names())}).",
        cli="--methods", key="scan.methods", metavar="LIST")
    credentials: tuple[Credential | SnmpCredential, ...] = setting(
        (), "TOML file of ONVIF and SNMP credentials per host/subnet (see below).", cli="--credentials",
        key="scan.credentials", path="file", read=_read_credentials)
    snmp: tuple[str, ...] = setting(
        (), "Read the ARP and forwarding tables of these routers/switches over SNMP (read-only; "
            "credentials from --credentials [[snmp]] tables), e.g. '10.0.0.1,10.0.0.2'.",
        cli="--snmp", key="scan.snmp", parse=_snmp_agents, check=_valid_agents, show=",".join, cli_form=str,
        file_form=list,
        metavar="HOSTS")
    ports: tuple[int, ...] = setting(
        DEFAULT_PORTS, "TCP ports to check, e.g. '80,443,8000-8010'.", cli="--ports", key="scan.ports",
        parse=parse_ports, check=_valid_ports, show=lambda ports: ",".join(map(str, ports)),
        cli_form=str, file_form=list)
    connect_timeout: float = setting(
        1.0, "Seconds per TCP connect.", cli="--connect-timeout", key="scan.connect_timeout", check=_positive)
    read_timeout: float = setting(
        2.0, "Seconds per read of a reply.", cli="--read-timeout", key="scan.read_timeout", check=_positive)
    request_timeout: float = setting(
        3.0, "Seconds for one whole request/reply (a slow-dripping device is cut off).",
        cli="--request-timeout", key="scan.request_timeout", check=_positive)
    host_timeout: float = setting(
        8.0, "Seconds at most per host.", cli="--host-timeout", key="scan.host_timeout", check=_positive)
    listen_window: float = setting(
        2.5, "Seconds at most to listen for multicast/broadcast discovery answers (a round ends "
             "earlier once answers have stopped arriving).", cli="--listen",
        key="scan.listen", check=_positive)
    concurrency: int = setting(
        256, "Probe tasks at once.", cli="--concurrency", key="scan.concurrency", check=_at_least(1))
    per_host: int = setting(
        3, "Connections open to one device at a time, at most (politeness).", cli="--per-host",
        key="scan.per_host", check=_at_least(1))
    rate: int = setting(
        1000, "Packets per second at most, all probes together.", cli="--rate", key="scan.rate", check=_at_least(1))
    allow_public: bool = setting(
        False, "Allow public (non-private) target ranges.", cli="--allow-public", key="scan.allow_public")
    probe_strays: bool = setting(
        False, "Also probe devices outside the targets that answered discovery on the local segment "
        "(private addresses only; reaching them may need an address in their subnet).",
        cli="--probe-strays", key="scan.probe_strays")
    # For library callers only (no option, no config key): limits the CLI keeps fixed.
    max_body: int = setting(256 * 1024, "Bytes read at most from any one reply body.", check=_at_least(1))
    max_hosts: int = setting(
        MAX_HOSTS, "Refuse target sets covering more addresses than this (clear error, nothing sent).",
        check=_at_least(1))
    max_requests: int = setting(
        4, "Politeness: HTTP requests per host beyond / on each open web port (redirects, maker pages).",
        check=_at_least(0))
    snmp_max_rows: int = setting(
        10_000, "Rows read at most from any one SNMP table (a bigger table is cut, with a note).",
        check=_at_least(1))

    def __post_init__(self) -> None:
        check_fields(self)

    def credential_for(self, ip: str) -> Credential | None:
        """Most specific ONVIF/HTTP credential whose network contains ``ip``."""
        return _most_specific(ip, [c for c in self.credentials if isinstance(c, Credential)])

    def snmp_credential_for(self, ip: str) -> SnmpCredential | None:
        """Most specific SNMP credential whose network contains ``ip``."""
        return _most_specific(ip, [c for c in self.credentials if isinstance(c, SnmpCredential)])


def _most_specific(ip: str, credentials: list[Any]) -> Any:
    import ipaddress

    addr = ipaddress.ip_address(ip)
    best, best_len = None, -1
    for cred in credentials:
        net = ipaddress.ip_network(cred.network, strict=False)
        if addr in net and net.prefixlen > best_len:
            best, best_len = cred, net.prefixlen
    return best


@dataclass(frozen=True)
class CaptureConfig:
    """``scan --pcap``: a capture file read instead of scanning. The hosts it keeps are the
    ScanConfig's targets, ``-iL`` and ``--exclude``; nothing else of ScanConfig applies."""

    pcap: str | None = setting(
        None, "Analyse this capture (pcap/pcapng) offline instead of scanning: nothing is sent; TARGETS, -iL "
              "and --exclude, if given, keep only those hosts.", cli="--pcap", key="scan.pcap", path="file",
        metavar="FILE")


@dataclass(frozen=True)
class ListenConfig:
    """``camsweep listen``: where to listen, for how long, and which hosts to keep (``[listen]``)."""

    interface: str | None = setting(
        None, "Interface to listen on (needs root).", cli=("-i", "--interface"), key="listen.interface")
    duration: float = setting(
        60.0, "Seconds to listen.", cli=("-d", "--duration"), key="listen.duration", check=_positive)
    only: tuple[str, ...] = setting(
        (), "Keep only hosts in these networks, ranges or addresses (repeatable).", cli="--only",
        key="listen.only", metavar="CIDR")
    target_file: tuple[str, ...] = _target_file("listen", "Keep only the hosts in FILE")
    exclude: tuple[str, ...] = _exclude("listen")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class Outputs:
    """Where a run's results go and what makes its exit code non-zero (``scan``, ``listen``)."""

    fmt: str = setting(
        "table", "table (devices + remediation list), json (full evidence + findings), csv (every "
                 "device), jsonl (one JSON object per device), cyclonedx (CycloneDX 1.6 hardware BOM), "
                 "html (single-file report).", cli="--format", choices=REPORT_FORMATS)
    output: str | None = setting(
        None, "Write the report to this file (atomically).", cli=("-o", "--output"), path="file")
    all_hosts: bool = setting(
        False, "List every host that answered in the device table, not only those with maker evidence.",
        cli="--all")
    db_path: str | None = setting(
        None, "Inventory: an SQLite file (default: $XDG_STATE_HOME/camsweep/inventory.sqlite) or a "
              "postgresql:// URL (password from ~/.pgpass, a service file or PGPASSWORD; never in the URL).",
        cli="--db", key="output.db", path="file", check=_valid_db)
    site: str = setting(
        "", "Site name the scan is stored under (one inventory, many sites); history, diff and report "
            "read that site.", cli="--site", key="scan.site", check=_valid_site)
    operator: str = setting(
        "", "Who runs the scan, recorded with it and shown in every report (default: the login name "
            "behind sudo).", cli="--operator", key="scan.operator", check=_valid_site)
    no_store: bool = setting(False, "Do not store this result in the inventory.", cli="--no-store")
    policy: str | None = setting(
        None, "Who you are: policies to apply, comma-separated (default: none, which lists the instruments "
              "naming each device's maker without duties or deadlines). `camsweep restrictions` lists them.",
        cli="--policy", key="policy.names", parse=_policy_names, file_form=list)
    fail_on: str = setting(
        "restricted", "Exit 3 when restricted devices are found (without a policy: Hikvision/Dahua-made "
                      "devices); with `new`, exit 4 only for those no earlier scan had seen.",
        cli="--fail-on", key="policy.fail_on", choices=FAIL_ON)
    as_of: date | None = setting(  # noqa: RUF009 - setting() is a dataclasses.field, not a shared default
        None, "Judge deadlines, and the data's age, at this date (YYYY-MM-DD; default: the day the scan ended).",
        cli="--as-of", parse=parse_date, cli_form=str, metavar="DATE")
    max_data_age: int = setting(
        DEFAULT_MAX_DATA_AGE, "Warn in the report when the restrictions or KEV data is older than this many days.",
        cli="--max-data-age", key="policy.max_data_age", check=_at_least(1), metavar="DAYS")
    state_dir: str | None = setting(
        None, "Where last-scan.json goes (default: $XDG_STATE_HOME/camsweep).", cli="--state-dir",
        key="output.state_dir", path="dir")
    reports: tuple[tuple[str, str], ...] = setting(
        (), "Reports written atomically after each run: { format, path } tables.", key="output.reports",
        parse=_parse_reports, check=_valid_reports)
    keep_scans: int | None = setting(
        None, "Stored scans kept in the inventory; older ones are pruned.", key="retention.keep_scans",
        check=_at_least(1))
    quiet: bool = False
    """Unattended (config file): nothing on stdout; report files only. Not a setting of its own."""
    keep_last_scan: bool = False
    """Keep the result as last-scan.json in ``state_dir`` (for ``explain``): ``scan`` does. Not a setting."""

    def __post_init__(self) -> None:
        check_fields(self)


def _syslog_target(value: str) -> str | None:
    # the alert sinks' own parser, imported only when a value is checked
    from .alerts import _syslog_problem

    return _syslog_problem(value)


def _webhook_url(value: str) -> str | None:
    from .alerts import check_webhook_url

    return check_webhook_url(value)


def _read_token(path: str) -> Any:
    from .alerts import read_token

    return read_token(path)


@dataclass(frozen=True)
class WatchConfig:
    """What ``camsweep watch`` listens on, how often it stores a snapshot, and where its alerts go
    (the config file's ``[watch]``; the policy, inventory and site are ``Outputs``')."""

    interface: str | None = setting(
        None, "Interface to listen on (needs CAP_NET_RAW).", cli=("-i", "--interface"), key="watch.interface")
    snapshot_interval: float = setting(
        900.0, "Seconds between snapshots of what was heard, stored in the inventory.",
        cli="--snapshot-interval", key="watch.snapshot_interval", check=_positive, metavar="SECONDS")
    syslog: str | None = setting(
        None, "Also send alerts to syslog (RFC 5424): a Unix socket such as /dev/log, udp://host:514 or "
              "tcp://host:514.", cli="--syslog", key="watch.syslog", check=_syslog_target, metavar="TARGET")
    webhook_url: str | None = setting(
        None, "POST each alert (JSON) to this URL. Config file only: such URLs often carry a secret, "
              "which a command line shows to every user.", key="watch.webhook_url", check=_webhook_url)
    webhook_token: str | None = setting(
        None, "File whose first line is a bearer token sent with each webhook POST (chmod 600).",
        key="watch.webhook_token_file", path="file", read=_read_token)
    jsonl: bool = setting(True, "Alerts as JSON lines on stdout (journald keeps a service's stdout).",
                          key="watch.jsonl")

    def __post_init__(self) -> None:
        check_fields(self)
