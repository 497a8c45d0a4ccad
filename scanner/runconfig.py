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

Every key is checked: a typo is reported with the closest valid key.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, ScanError

_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "scan": {
        "targets": list, "interface": str, "methods": list, "ports": list, "credentials": str,
        "listen": (int, float), "connect_timeout": (int, float), "read_timeout": (int, float),
        "host_timeout": (int, float), "concurrency": int, "per_host": int, "rate": int,
        "allow_public": bool,
    },
    "policy": {"names": list, "fail_on": str},
    "output": {"db": str, "reports": list, "state_dir": str},
    "retention": {"keep_scans": int},
}
REPORT_FORMATS = ("table", "json", "csv", "html")
FAIL_ON = ("restricted", "new", "never")


@dataclass(frozen=True)
class ReportTarget:
    format: str
    path: str


@dataclass(frozen=True)
class RunConfig:
    path: str
    scan: Mapping[str, Any] = field(default_factory=dict)
    policy_names: tuple[str, ...] = ()
    fail_on: str = "restricted"
    db: str | None = None
    reports: tuple[ReportTarget, ...] = ()
    keep_scans: int | None = None


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

    for section, body in data.items():
        if section not in _SCHEMA:
            raise _unknown(path, "", section, list(_SCHEMA))
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: '{section}' must be a table ([{section}])")
        for key, value in body.items():
            if key not in _SCHEMA[section]:
                raise _unknown(path, f"{section}.", key, list(_SCHEMA[section]))
            expected = _SCHEMA[section][key]
            if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
                names = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
                raise ConfigError(f"{path}: '{section}.{key}' must be {names}, not {type(value).__name__}")

    policy = data.get("policy", {})
    fail_on = policy.get("fail_on", "restricted")
    if fail_on not in FAIL_ON:
        raise ConfigError(f"{path}: 'policy.fail_on' must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    output = data.get("output", {})
    reports = []
    for n, entry in enumerate(output.get("reports", ()), 1):
        if not isinstance(entry, dict) or set(entry) != {"format", "path"}:
            raise ConfigError(f"{path}: output.reports entry {n} needs exactly 'format' and 'path'")
        if entry["format"] not in REPORT_FORMATS:
            raise ConfigError(
                f"{path}: output.reports entry {n}: unknown format {entry['format']!r} (valid: {', '.join(REPORT_FORMATS)})"
            )
        reports.append(ReportTarget(entry["format"], _relative_to(path, entry["path"])))
    scan = dict(data.get("scan", {}))
    if "credentials" in scan:
        scan["credentials"] = _relative_to(path, scan["credentials"])
    keep = data.get("retention", {}).get("keep_scans")
    if keep is not None and keep < 1:
        raise ConfigError(f"{path}: 'retention.keep_scans' must be at least 1")
    return RunConfig(
        path=path,
        scan=scan,
        policy_names=tuple(policy.get("names", ())),
        fail_on=fail_on,
        db=_relative_to(path, output["db"]) if "db" in output else None,
        reports=tuple(reports),
        keep_scans=keep,
    )


def _relative_to(config_path: str, value: str) -> str:
    """Paths in the config are relative to the config file, so cron's cwd does not matter."""
    expanded = os.path.expanduser(value)
    return expanded if os.path.isabs(expanded) else str(Path(config_path).resolve().parent / expanded)


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
