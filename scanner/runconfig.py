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

    [watch]                         # camsweep watch (README "Continuous monitoring")
    interface = "eth1"
    snapshot_interval = 900
    syslog = "/dev/log"
    webhook_url = "https://alerts.example/hook"
    webhook_token_file = "/etc/camsweep/webhook.token"

The keys are generated from the settings declared in ``scanner/config.py`` (``ScanConfig`` for
``[scan]``, ``Outputs`` for the rest), and every value is checked by the same code as the command
line's options; a typo'd key is named with the closest valid one. Paths are relative to the file.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Declared, Outputs, ScanConfig, WatchConfig, declared
from .errors import ConfigError, ScanError

SETTINGS = (ScanConfig, Outputs, WatchConfig)
"""The settings dataclasses whose declared keys make up the config file."""


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
    """A checked config file: field name -> value, per settings dataclass (only the keys given)."""

    path: str
    scan: Mapping[str, Any] = field(default_factory=dict)
    """ScanConfig fields; ``credentials`` is the path of the credentials file, read when the scan starts."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """Outputs fields ([output], [policy], [retention])."""
    watch: Mapping[str, Any] = field(default_factory=dict)
    """WatchConfig fields ([watch], read by ``camsweep watch`` only)."""


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
    return RunConfig(path=path, scan=values[ScanConfig], outputs=values[Outputs], watch=values[WatchConfig])


class RunLock:
    """An exclusive lock so that two scheduled runs never overlap (``flock`` on a lock file)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
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
            raise ScanError(f"another camsweep run holds {self.path}; not starting a second one") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
