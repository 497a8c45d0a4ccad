"""Device profiles for the lab: TOML files -> validated ``Profile`` objects (format: PROFILES.md).

Profiles stay plain data (dicts of the TOML sections) after validation: the emulator reads the
sections it serves, and replies are sent as written. Validation is strict -- an unknown key is an
error -- because a misplaced key (TOML's "keys after a table belong to it" rule) would otherwise
silently disable a service.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import DataFileError
from .netns import STRAY_NETWORK

UNCONFIGURED = "0.0.0.0"
"""A stray's ip for a unit without an address (factory state): it answers from 0.0.0.0."""


def _in_stray_network(ip: object) -> bool:
    try:
        return isinstance(ip, str) and ipaddress.IPv4Address(ip) in STRAY_NETWORK
    except ValueError:
        return False

SHIPPED_PROFILES = Path(__file__).parent / "profiles"

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")  # \Z: "$" would accept a trailing newline (ip -batch)

# section -> {key: (type(s), required)}
_STR, _INT, _BOOL, _LIST, _DICT = str, int, bool, list, dict
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "device": {
        "name": ((_STR,), True), "segment": ((_STR,), False), "mac": ((_STR,), True),
        "ip": ((_STR,), False), "hostname": ((_STR,), False), "sources": ((_LIST,), True),
        "tcp_ports": ((_LIST,), False),
    },
    "truth": {
        "manufacturer": ((_STR,), True), "brand": ((_STR,), True), "type": ((_STR,), True),
        "model": ((_STR,), False),
    },
    "http": {
        "port": ((_INT,), True), "tls": ((_BOOL,), False), "cert_subject": ((_STR,), False),
        "cert_issuer": ((_STR,), False), "routes": ((_LIST,), False), "default": ((_DICT,), False),
        "behaviour": ((_STR,), False),
    },
    "route": {
        "path": ((_STR,), True), "method": ((_STR,), False), "status": ((_INT,), False),
        "reason": ((_STR,), False), "headers": ((_LIST,), False), "body": ((_STR,), False),
        "body_file": ((_STR,), False), "auth": ((_STR,), False), "realm": ((_STR,), False),
        "challenge": ((_STR,), False), "username": ((_STR,), False), "password": ((_STR,), False),
        "unauthorized": ((_DICT,), False),
    },
    "reply": {
        "status": ((_INT,), False), "reason": ((_STR,), False), "headers": ((_LIST,), False),
        "body": ((_STR,), False), "body_file": ((_STR,), False),
    },
    "wsd": {"probe_match": ((_STR,), True), "hello": ((_STR,), False), "matches": ((_INT,), False)},
    "sadp": {"reply": ((_STR,), True)},
    "dhip": {"reply": ((_STR, _DICT), False), "raw_reply_hex": ((_STR,), False)},
    "ssdp": {
        "port": ((_INT,), False), "server": ((_STR,), True), "st": ((_STR,), True),
        "usn": ((_STR,), False), "description": ((_STR,), True),
    },
    "mdns": {
        "type": ((_STR,), True), "name": ((_STR,), True), "port": ((_INT,), True),
        "txt": ((_DICT,), False), "server": ((_STR,), False),
    },
    "onvif": {
        "port": ((_INT,), False), "username": ((_STR,), True), "password": ((_STR,), True),
        "manufacturer": ((_STR,), False), "model": ((_STR,), False),
        "firmware_version": ((_STR,), False), "serial_number": ((_STR,), False),
        "hardware_id": ((_STR,), False), "scopes": ((_LIST,), False), "replies": ((_DICT,), False),
    },
}
_TOP_LEVEL = {"device", "truth", "http", "rtsp", "wsd", "sadp", "dhip", "ssdp", "mdns", "onvif", "tcp_ports"}
_BEHAVIOURS = {"drip", "huge"}
_AUTH = {"digest", "basic"}


@dataclass(frozen=True)
class Profile:
    """One device as described by a profile file (or a clone of one)."""

    name: str
    segment: str  # "A", "B", or "S": a stray on A's wire, outside its subnet, no gateway
    mac: str  # lower-case, colon form
    ip: str | None  # None: allocate
    hostname: str
    sources: tuple[str, ...]
    truth: dict[str, str]
    tcp_ports: tuple[int, ...]
    http: tuple[dict[str, Any], ...]
    rtsp: dict[str, Any] | None
    wsd: dict[str, str] | None
    sadp: dict[str, str] | None
    dhip: dict[str, Any] | None
    ssdp: dict[str, Any] | None
    mdns: tuple[dict[str, Any], ...]
    onvif: dict[str, Any] | None
    path: str  # the file it came from
    base_dir: str = ""  # directory body_file paths are relative to
    clone_of: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored in the lab state file and returned by ``Lab.devices``."""
        return {
            "name": self.name, "segment": self.segment, "mac": self.mac, "ip": self.ip,
            "hostname": self.hostname, "sources": list(self.sources), "truth": dict(self.truth),
            "tcp_ports": list(self.tcp_ports), "http": list(self.http), "rtsp": self.rtsp,
            "wsd": self.wsd, "sadp": self.sadp, "dhip": self.dhip, "ssdp": self.ssdp,
            "mdns": list(self.mdns), "onvif": self.onvif, "path": self.path,
            "base_dir": self.base_dir, "clone_of": self.clone_of,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(
            name=data["name"], segment=data["segment"], mac=data["mac"], ip=data.get("ip"),
            hostname=data.get("hostname", ""), sources=tuple(data.get("sources", ())),
            truth=dict(data.get("truth", {})), tcp_ports=tuple(data.get("tcp_ports", ())),
            http=tuple(data.get("http", ())), rtsp=data.get("rtsp"), wsd=data.get("wsd"),
            sadp=data.get("sadp"), dhip=data.get("dhip"), ssdp=data.get("ssdp"),
            mdns=tuple(data.get("mdns", ())), onvif=data.get("onvif"), path=data.get("path", ""),
            base_dir=data.get("base_dir", ""), clone_of=data.get("clone_of"),
        )


def _check_table(path: str, where: str, table: Any, schema: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise DataFileError(path, "must be a table", where)
    spec = _SCHEMA[schema]
    for key, value in table.items():
        if key not in spec:
            hint = " (tcp_ports belongs in [device] or before the first table)" if key == "tcp_ports" else ""
            raise DataFileError(path, f"unknown key {key!r}{hint}", where)
        types, _ = spec[key]
        if not isinstance(value, types) or (int in types and isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise DataFileError(path, f"{key!r} must be {names}", where)
    for key, (_, required) in spec.items():
        if required and key not in table:
            raise DataFileError(path, f"missing required key {key!r}", where)
    return table


def _check_headers(path: str, where: str, headers: list[Any]) -> None:
    for pair in headers:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise DataFileError(path, "headers must be [name, value] pairs of strings", where)


def _check_reply(path: str, where: str, reply: dict[str, Any], schema: str, base: Path) -> None:
    _check_table(path, where, reply, schema)
    _check_headers(path, where, reply.get("headers", []))
    if "body" in reply and "body_file" in reply:
        raise DataFileError(path, "give body or body_file, not both", where)
    if "body_file" in reply:
        # The emulator runs as root and serves the file: it must lie inside the profiles' folder
        # (no absolute path, no ../, no symlink out of it).
        folder = base.resolve()
        target = (base / reply["body_file"]).resolve()
        if not target.is_relative_to(folder):
            raise DataFileError(path, f"body_file {reply['body_file']!r} is outside the profile's folder", where)
        if not target.is_file():
            raise DataFileError(path, f"body_file {reply['body_file']!r} not found", where)


def _check_port(path: str, where: str, port: Any) -> None:
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise DataFileError(path, f"bad port {port!r}", where)


def parse_profile(text: str, path: str = "<profile>") -> Profile:
    """Validate one profile's TOML text; raises ``DataFileError`` naming the file and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataFileError(path, f"not valid TOML: {error}") from None
    base = Path(path).parent
    for key in data:
        if key not in _TOP_LEVEL:
            raise DataFileError(path, f"unknown top-level key {key!r}")
    device = _check_table(path, "[device]", data.get("device"), "device")
    truth = _check_table(path, "[truth]", data.get("truth"), "truth")
    mac = device["mac"].lower().replace("-", ":")
    if not _MAC_RE.match(mac):
        raise DataFileError(path, f"bad MAC {device['mac']!r}", "[device]")
    segment = device.get("segment", "A")
    if segment not in ("A", "B", "S"):
        raise DataFileError(path, "segment must be \"A\", \"B\" or \"S\" (stray: on A's wire, outside its subnet)", "[device]")
    if segment == "S" and device.get("ip") != UNCONFIGURED and not _in_stray_network(device.get("ip")):
        raise DataFileError(path, f"a stray (segment S) needs ip in {STRAY_NETWORK} or {UNCONFIGURED}", "[device]")
    if not device["sources"] or not all(isinstance(s, str) for s in device["sources"]):
        raise DataFileError(path, "sources must be a non-empty list of strings", "[device]")
    tcp_ports = list(device.get("tcp_ports", [])) + list(data.get("tcp_ports", []))
    for port in tcp_ports:
        _check_port(path, "tcp_ports", port)

    http = data.get("http", [])
    if not isinstance(http, list):
        raise DataFileError(path, "use [[http]] (an array of tables)", "[http]")
    for index, server in enumerate(http):
        where = f"[[http]] #{index + 1}"
        _check_table(path, where, server, "http")
        _check_port(path, where, server["port"])
        if server.get("behaviour") not in (None, *_BEHAVIOURS):
            raise DataFileError(path, f"behaviour must be one of {sorted(_BEHAVIOURS)}", where)
        for route in server.get("routes", []):
            rwhere = f"{where} route {route.get('path', '?')!r}" if isinstance(route, dict) else where
            _check_reply(path, rwhere, route, "route", base)
            if route.get("auth") not in (None, *_AUTH):
                raise DataFileError(path, f"auth must be one of {sorted(_AUTH)}", rwhere)
            if "auth" in route and "realm" not in route:
                raise DataFileError(path, "auth needs a realm", rwhere)
            if "unauthorized" in route:
                _check_reply(path, rwhere + " unauthorized", route["unauthorized"], "reply", base)
        if "default" in server:
            _check_reply(path, where + " default", server["default"], "reply", base)

    http_ports = [server["port"] for server in http]
    if len(set(http_ports)) != len(http_ports):
        raise DataFileError(path, "two [[http]] tables use the same port", "[[http]]")

    rtsp = data.get("rtsp")
    if rtsp is not None:
        if not isinstance(rtsp, dict):
            raise DataFileError(path, "must be a table", "[rtsp]")
        for key, value in rtsp.items():
            if key == "port":
                _check_port(path, "[rtsp]", value)
            elif not (key.islower() and isinstance(value, str)):
                raise DataFileError(path, f"{key!r}: keys are port or lower-case method names with string templates", "[rtsp]")
        if rtsp.get("port", 554) in http_ports:
            raise DataFileError(path, "the RTSP port is also an [[http]] port", "[rtsp]")
    wsd = _check_table(path, "[wsd]", data["wsd"], "wsd") if "wsd" in data else None
    sadp = _check_table(path, "[sadp]", data["sadp"], "sadp") if "sadp" in data else None
    dhip = _check_table(path, "[dhip]", data["dhip"], "dhip") if "dhip" in data else None
    if dhip is not None:
        if ("reply" in dhip) == ("raw_reply_hex" in dhip):
            raise DataFileError(path, "give exactly one of reply or raw_reply_hex", "[dhip]")
        if "raw_reply_hex" in dhip:
            try:
                bytes.fromhex(dhip["raw_reply_hex"])
            except ValueError:
                raise DataFileError(path, "raw_reply_hex is not hex", "[dhip]") from None
    ssdp = _check_table(path, "[ssdp]", data["ssdp"], "ssdp") if "ssdp" in data else None
    mdns = data.get("mdns", [])
    if not isinstance(mdns, list):
        raise DataFileError(path, "use [[mdns]] (an array of tables)", "[mdns]")
    for index, service in enumerate(mdns):
        _check_table(path, f"[[mdns]] #{index + 1}", service, "mdns")
    onvif = _check_table(path, "[onvif]", data["onvif"], "onvif") if "onvif" in data else None

    return Profile(
        name=device["name"], segment=segment, mac=mac, ip=device.get("ip"),
        hostname=device.get("hostname", device["name"]), sources=tuple(device["sources"]),
        truth=dict(truth), tcp_ports=tuple(tcp_ports), http=tuple(http), rtsp=rtsp, wsd=wsd,
        sadp=sadp, dhip=dhip, ssdp=ssdp, mdns=tuple(mdns), onvif=onvif, path=str(path),
        base_dir=str(base),
    )


def load_profiles(directory: str | Path | None = None) -> list[Profile]:
    """All ``*.toml`` profiles in ``directory`` (default: the shipped ones), sorted by file name."""
    folder = Path(directory) if directory is not None else SHIPPED_PROFILES
    if not folder.is_dir():
        raise DataFileError(str(folder), "profiles directory not found")
    profiles = [parse_profile(p.read_text(encoding="utf-8"), str(p)) for p in sorted(folder.glob("*.toml"))]
    if not profiles:
        raise DataFileError(str(folder), "no *.toml profiles in this directory")
    seen: dict[str, str] = {}
    for profile in profiles:
        if profile.name in seen:
            raise DataFileError(profile.path, f"device name {profile.name!r} also used in {seen[profile.name]}")
        seen[profile.name] = profile.path
    return profiles


def clone_mac(mac: str, name: str, index: int) -> str:
    """Same OUI, other three octets from a hash of (name, index): deterministic across runs."""
    digest = hashlib.sha256(f"{name}#{index}".encode()).digest()
    return mac[:8] + ":" + ":".join(f"{b:02x}" for b in digest[:3])


FLOOD_PROFILES = SHIPPED_PROFILES / "floods"
"""Hostile devices that flood (thousands of datagrams per request): kept out of the default lab,
whose one emulator process they would keep too busy to answer for the other devices in time."""


def is_hostile(profile: Profile) -> bool:
    """A synthetic hostile device (``hostile-*.toml``, ``example-hostile.toml``), not a real one."""
    return Path(profile.path).stem.startswith(("hostile-", "example-hostile"))


def hostile_profiles() -> list[Profile]:
    """The hostile part of the lab: the shipped hostile profiles and the floods."""
    return [p for p in load_profiles() if is_hostile(p)] + load_profiles(FLOOD_PROFILES)


RESTRICTED_TRUTH = ("hikvision", "dahua")


def site_mix(profiles: list[Profile], count: int) -> list[Profile]:
    """A site of ``count`` real devices: two Hikvision/Dahua-made units for every other device, as
    in the independent 30-device lab of issue 14 (20 made by them, 10 not, on both segments).
    Hostile profiles are left out: they test robustness, and a site is not made of them."""
    real = [p for p in profiles if not is_hostile(p)]
    made = [p for p in real if p.truth.get("manufacturer") in RESTRICTED_TRUTH]
    other = [p for p in real if p.truth.get("manufacturer") not in RESTRICTED_TRUTH]
    wanted = -(-2 * count // 3) if other else count
    return expand(made, wanted) + expand(other, count - wanted)


def expand(profiles: list[Profile], count: int | None) -> list[Profile]:
    """``count`` devices cycling through ``profiles``; clones get fresh MACs and no fixed IP."""
    if count is None or count <= 0:
        return list(profiles)
    devices: list[Profile] = []
    used_macs = {p.mac for p in profiles}
    for position in range(count):
        base = profiles[position % len(profiles)]
        round_ = position // len(profiles)
        if round_ == 0:
            devices.append(base)
            continue
        mac = clone_mac(base.mac, base.name, round_)
        salt = 0
        while mac in used_macs:  # a 24-bit collision is unlikely but must not break ARP
            salt += 1
            mac = clone_mac(base.mac, f"{base.name}~{salt}", round_)
        used_macs.add(mac)
        devices.append(replace(base, name=f"{base.name}-{round_}", mac=mac, ip=None, clone_of=base.name))
    return devices
