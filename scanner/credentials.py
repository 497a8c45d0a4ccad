"""The credentials file: ONVIF/HTTP logins per host or subnet (TOML).

    [[credential]]
    network = "198.18.0.0/24"     # a host ("198.18.0.21") or a subnet; the most specific wins
    username = "onvif-audit"
    password = "..."

Passwords are never logged and never written to any output; a file that group or others may
read is accepted with a warning.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
import tomllib
from pathlib import Path

from .config import Credential
from .errors import ConfigError

log = logging.getLogger("camsweep")

_KEYS = {"network", "username", "password"}


def permission_warning(path: str | Path) -> str | None:
    """A one-line warning if the file is readable by group or others, else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        return f"credentials file {path} is accessible to group/others (mode {stat.filemode(mode)}); chmod 600 it"
    return None


def load(path: str | Path) -> tuple[Credential, ...]:
    """Read and check a credentials file. Raises ConfigError with the file and entry named."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read credentials file {name}: {exc.strerror or exc}") from None
    warning = permission_warning(path)
    if warning:
        log.warning("%s", warning)
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # The parser's message names the line; it never quotes a value.
        raise ConfigError(f"credentials file {name}: not valid TOML ({exc})") from None
    unknown = set(document) - {"credential"}
    if unknown:
        raise ConfigError(f"credentials file {name}: unknown key(s) {', '.join(sorted(unknown))}; expected [[credential]] tables")
    entries = document.get("credential", [])
    if not isinstance(entries, list):
        raise ConfigError(f"credentials file {name}: 'credential' must be [[credential]] tables")
    credentials: list[Credential] = []
    for index, entry in enumerate(entries, start=1):
        where = f"credentials file {name}: credential #{index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: not a table")
        extra = set(entry) - _KEYS
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        for key in sorted(_KEYS):
            if not isinstance(entry.get(key), str) or (key != "password" and not entry[key]):
                raise ConfigError(f"{where}: '{key}' must be a non-empty string")
        try:
            network = ipaddress.ip_network(entry["network"], strict=False)
        except ValueError:
            raise ConfigError(f"{where}: network {entry['network']!r} is not an address or subnet") from None
        credentials.append(Credential(str(network), entry["username"], entry["password"]))
    if not credentials:
        log.warning("credentials file %s holds no [[credential]] entries", name)
    return tuple(credentials)
