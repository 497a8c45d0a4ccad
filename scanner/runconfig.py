"""The TOML config file for unattended runs (``camsweep scan --config FILE``, e.g. from cron).

Example (README "Scheduled scans")::

    [scan]
    targets = ["10.20.0.0/22", "10.20.8.0/24"]
    interface = "eth1"
    methods = ["-arp"]
    credentials = "/etc/camsweep/credentials.toml"

    [policy]
    names = ["us-federal"]
    fail_on = "restricted"          # or "new", "never"

    [output]
    db = "/var/lib/camsweep/inventory.sqlite"
    reports = [
      { format = "html", path = "/var/www/camsweep/latest.html" },
      { format = "csv",  path = "/var/lib/camsweep/remediation.csv" },
    ]

    [retention]
    keep_scans = 90

    [listen]                        # camsweep listen --config FILE
    interface = "eth1"
    duration = 300

    [watch]                         # camsweep watch (README "Continuous monitoring")
    interface = "eth1"
    snapshot_interval = 900
    syslog = "/dev/log"
    webhook_url = "https://alerts.example/hook"
    webhook_token_file = "/etc/camsweep/webhook.token"

The keys are generated from the settings declared in ``scanner/config.py`` (``SETTINGS``: each
key's section is in its declaration, so a new section is a new settings dataclass here, nothing
else), and every value is checked by the same code as the command line's options; a typo'd key is
named with the closest valid one. Paths are relative to the file.

Without ``--config``, ``find`` looks for the user's file, then the system's (``search_path``). A
run driven by a config holds that config's lock (``lock_path``) for as long as it runs.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import CaptureConfig, Declared, ListenConfig, Outputs, ScanConfig, WatchConfig, declared
from .errors import ConfigError, ScanError

SETTINGS: tuple[type, ...] = (ScanConfig, CaptureConfig, ListenConfig, Outputs, WatchConfig)
"""The settings dataclasses whose declared keys make up the config file."""

SEARCH_ENV = "CAMSWEEP_CONFIG_PATH"
SYSTEM_CONFIG = "/etc/camsweep/camsweep.toml"


def schema() -> dict[str, dict[str, tuple[type, Declared]]]:
    """section -> key -> (settings dataclass, the setting the key sets), from the declarations."""
    sections: dict[str, dict[str, tuple[type, Declared]]] = {}
    for cls in SETTINGS:
        for item in declared(cls):
            if item.setting.key:
                section, key = item.setting.key.split(".", 1)
                sections.setdefault(section, {})[key] = (cls, item)
    return sections


@dataclass(frozen=True)
class RunConfig:
    """A checked config file: per settings dataclass, field name -> value (only the keys given)."""

    path: str
    values: Mapping[type, Mapping[str, Any]] = field(default_factory=dict)
    """ScanConfig's ``credentials`` and ``target_file`` are paths here: read when the run starts."""
    found: bool = False
    """Found by ``find``'s search, not named with --config."""

    def get(self, cls: type) -> Mapping[str, Any]:
        return self.values.get(cls, {})

    @property
    def scan(self) -> Mapping[str, Any]:
        return self.get(ScanConfig)

    @property
    def outputs(self) -> Mapping[str, Any]:
        """Outputs fields ([output], [policy], [retention])."""
        return self.get(Outputs)


def _unknown(path: str, where: str, key: str, valid: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(sorted(valid))})"
    return ConfigError(f"{path}: unknown key '{where}{key}'{hint}")


def load(path: str) -> RunConfig:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    sections = schema()
    folder = Path(path).resolve().parent
    values: dict[type, dict[str, Any]] = {cls: {} for cls in SETTINGS}
    for section, body in data.items():
        if section not in sections:
            raise _unknown(path, "", section, list(sections))
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: '{section}' must be a table ([{section}])")
        for key, value in body.items():
            if key not in sections[section]:
                raise _unknown(path, f"{section}.", key, list(sections[section]))
            owner, item = sections[section][key]
            expected = item.file_form
            if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
                names = "/".join(t.__name__ for t in expected)
                raise ConfigError(f"{path}: '{section}.{key}' must be {names}, not {type(value).__name__}")
            try:
                converted = item.convert(value, relative_to=folder)
            except ValueError as exc:
                raise ConfigError(f"{path}: '{section}.{key}' {exc}") from None
            values[owner][item.name] = converted
    return RunConfig(path=path, values={cls: found for cls, found in values.items() if found})


def search_path() -> tuple[Path, ...]:
    """Where ``find`` looks when no config is named, first found wins: the user's file
    (``$XDG_CONFIG_HOME/camsweep/camsweep.toml``, by default ``~/.config/...``), then the system's
    (``/etc/camsweep/camsweep.toml``). ``$CAMSWEEP_CONFIG_PATH``, colon-separated files, replaces
    the list; set but empty, nothing is searched (the tests' conftest does that)."""
    if SEARCH_ENV in os.environ:
        return tuple(Path(item) for item in os.environ[SEARCH_ENV].split(":") if item)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "camsweep" / "camsweep.toml", Path(SYSTEM_CONFIG)


def find(path: str | None) -> RunConfig | None:
    """The config of a run: the file named (``--config``), else the first of ``search_path()``
    that exists, else None. A found file that cannot be read or is wrong is an error like a
    named one (a site's config is never skipped silently), saying it was found by search."""
    if path:
        return load(path)
    for candidate in search_path():
        if candidate.exists():
            try:
                return replace(load(str(candidate)), found=True)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (found because no --config was given; {SEARCH_ENV}= searches "
                                  "none)") from None
    return None


def lock_path(config: str, state_dir: str | os.PathLike[str]) -> Path:
    """The run lock of one config file, in the state directory, named after the file's real path:
    two sites' configs run side by side, the same config started twice finds its own lock."""
    real = os.path.realpath(config)
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(real).stem)[:40]
    return Path(state_dir) / f"run-{stem}-{digest}.lock"


class RunLock:
    """An exclusive lock so that two scheduled runs never overlap (``flock`` on a lock file)."""

    def __init__(self, path: str | os.PathLike[str], config: str | None = None) -> None:
        self.path = Path(path)
        self.config = config
        """The config file whose runs the lock keeps apart (named in the refusal)."""
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # O_NOFOLLOW: the lock is truncated and written, so a planted symlink must not
            # redirect that (as root) to another file.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ScanError(f"{self.path}: cannot open the run lock: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            of = f" of {self.config}" if self.config else ""
            raise ScanError(f"another camsweep run{of} holds {self.path}; not starting a second one") from None
        os.ftruncate(fd, 0)
        os.write(fd, "".join(f"{line}\n" for line in (os.getpid(), self.config) if line).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
