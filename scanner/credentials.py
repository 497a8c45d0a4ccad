"""The credentials file: ONVIF/HTTP logins and SNMP access per host or subnet (TOML).

    [[credential]]
    network = "198.18.0.0/24"     # a host ("198.18.0.21") or a subnet; the most specific wins
    username = "onvif-audit"
    password = "..."

    [[snmp]]                      # SNMPv2c (read-only community) for the agents given to --snmp
    network = "198.18.0.1"
    community = "..."

    [[snmp]]                      # SNMPv3 authPriv
    network = "198.18.0.0/24"
    user = "camsweep"
    auth_protocol = "SHA256"      # SHA (SHA-1), SHA224, SHA256, SHA384, SHA512, MD5
    auth_key = "..."
    priv_protocol = "AES"         # AES (AES-128), AES192, AES256, DES, 3DES
    priv_key = "..."

Passwords, communities and keys are never logged and never written to any output; a file that
group or others may read is accepted with a warning.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
import tomllib
from pathlib import Path

from .config import SNMP_AUTH, SNMP_PRIV, Credential, SnmpCredential
from .errors import ConfigError

log = logging.getLogger("camsweep")

_KEYS = {"network", "username", "password"}
_SNMP_V2C = {"network", "community"}
_SNMP_V3 = {"network", "user", "auth_protocol", "auth_key", "priv_protocol", "priv_key"}


def permission_warning(path: str | Path) -> str | None:
    """A one-line warning if the file is readable by group or others, else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        return f"credentials file {path} is accessible to group/others (mode {stat.filemode(mode)}); chmod 600 it"
    return None


def load(path: str | Path) -> tuple[Credential | SnmpCredential, ...]:
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
    unknown = set(document) - {"credential", "snmp"}
    if unknown:
        raise ConfigError(f"credentials file {name}: unknown key(s) {', '.join(sorted(unknown))}; "
                          "expected [[credential]] and [[snmp]] tables")
    credentials: list[Credential | SnmpCredential] = []
    for section in ("credential", "snmp"):
        entries = document.get(section, [])
        if not isinstance(entries, list):
            raise ConfigError(f"credentials file {name}: '{section}' must be [[{section}]] tables")
        for index, entry in enumerate(entries, start=1):
            where = f"credentials file {name}: {section} #{index}"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: not a table")
            credentials.append(_credential(entry, where) if section == "credential" else _snmp(entry, where))
    if not credentials:
        log.warning("credentials file %s holds no [[credential]] or [[snmp]] entries", name)
    return tuple(credentials)


def _strings(entry: dict[str, object], keys: set[str], where: str) -> dict[str, str]:
    """The entry's ``keys`` as strings (a secret may be empty only if it is a password)."""
    extra = set(entry) - keys
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    for key in sorted(keys):
        value = entry.get(key)
        if not isinstance(value, str) or (key != "password" and not value):
            raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return {key: str(entry[key]) for key in keys}


def _network(value: str, where: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ConfigError(f"{where}: network {value!r} is not an address or subnet") from None


def _credential(entry: dict[str, object], where: str) -> Credential:
    values = _strings(entry, _KEYS, where)
    return Credential(_network(values["network"], where), values["username"], values["password"])


def _snmp(entry: dict[str, object], where: str) -> SnmpCredential:
    """An SNMPv2c (``community``) or SNMPv3 authPriv (``user`` and both protocols and keys) entry."""
    if "community" in entry and "user" in entry:
        raise ConfigError(f"{where}: give 'community' (SNMPv2c) or 'user' (SNMPv3), not both")
    if "community" in entry:
        values = _strings(entry, _SNMP_V2C, where)
        return SnmpCredential(_network(values["network"], where), community=values["community"])
    if "user" not in entry:
        raise ConfigError(f"{where}: needs 'community' (SNMPv2c) or 'user' with keys (SNMPv3 authPriv)")
    values = _strings(entry, _SNMP_V3, where)
    for key, allowed in (("auth_protocol", SNMP_AUTH), ("priv_protocol", SNMP_PRIV)):
        values[key] = values[key].upper()
        if values[key] not in allowed:
            raise ConfigError(f"{where}: '{key}' must be one of {', '.join(allowed)}")
    for key in ("auth_key", "priv_key"):
        if len(values[key]) < 8:  # RFC 3414 2.6: a passphrase of at least 8 octets
            raise ConfigError(f"{where}: '{key}' must be at least 8 characters (RFC 3414)")
    return SnmpCredential(_network(values["network"], where), user=values["user"],
                          auth_protocol=values["auth_protocol"], auth_key=values["auth_key"],
                          priv_protocol=values["priv_protocol"], priv_key=values["priv_key"])
