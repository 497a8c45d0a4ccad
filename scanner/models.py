"""The data that flows through camsweep: observations -> devices -> verdicts.

Every class here is a frozen dataclass with ``to_dict``/``from_dict`` so that a scan can be saved
as JSON and read back identically (``SCHEMA_VERSION`` versions that JSON).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass, field as _field
from datetime import datetime, timezone
from typing import Any, Mapping

from .jsonio import Reader, quote

# The shared enums live in camsweep.types (the data package uses them too); re-exported here.
from .types import ArtefactKind, DeviceType, Manufacturer, Tier

SCHEMA_VERSION = 1
"""Version of the JSON form of observations, devices and verdicts. Bump on incompatible change."""

RAW_LIMIT = 16 * 1024
"""Characters of a raw artefact kept in an Observation; longer artefacts are cut and flagged."""

FIELD_LIMIT = 4 * 1024
"""Characters of one parsed field value kept."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


_MAC_RE = re.compile(r"^[0-9a-f]{2}([:\-.]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.I)


def normalize_mac(value: str | None) -> str | None:
    """``AA-BB-CC-DD-EE-FF``/``aabb.ccdd.eeff``/... -> ``aa:bb:cc:dd:ee:ff``; None if not a MAC."""
    if not value:
        return None
    text = value.strip().lower()
    hexdigits = re.sub(r"[^0-9a-f]", "", text)
    if len(hexdigits) != 12 or not re.fullmatch(r"[0-9a-f:\-. ]+", text):
        return None
    if hexdigits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


def normalize_oui(value: str | None) -> str | None:
    """A MAC prefix ``A0:FF:0C``/``a0-ff-0c``/``A0FF0C`` -> ``A0FF0C``; None if not exactly 3 octets."""
    text = (value or "").strip()
    if not re.fullmatch(r"[0-9A-Fa-f]{2}(?:[:\-.]?[0-9A-Fa-f]{2}){2}", text):
        return None
    return re.sub(r"[^0-9A-Fa-f]", "", text).upper()


def normalize_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


_UNENCODABLE = re.compile("[\ud800-\udfff]")
"""Code points UTF-8 cannot encode: surrogates, which JSON escapes (``"\\ud800"``) and
surrogateescape decoding let into a str. Every other code point encodes."""


def encodable(text: str) -> tuple[str, int]:
    """``text`` with every code point UTF-8 cannot encode replaced by U+FFFD, and how many were."""
    if text.isascii() or not _UNENCODABLE.search(text):
        return text, 0
    return _UNENCODABLE.subn("\ufffd", text)


def bound(text: str | None, limit: int = RAW_LIMIT) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit]


UNENCODABLE_TEXT = "unencodable-text:"
"""How ``Observation.problem`` starts when only text UTF-8 cannot encode was replaced."""

LIBRARY_WARNING = "library-warning:"
"""How ``Observation.problem`` starts when a parsing library warned about the input (kept out of
stderr, e.g. cryptography on a certificate whose CN exceeds RFC 5280's bound) but parsed it."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing one probe saw about one host.

    ``fields`` holds the values parsed from the artefact under dotted keys (``http.header.server``,
    ``sadp.serial``, ...; the full list is in fingerprints/README.md). Fingerprint rules match on those
    keys. ``raw`` keeps the artefact itself, cut to ``RAW_LIMIT`` characters (``truncated`` says so).
    ``problem`` records input that was bad (garbage, oversize, XML bomb, ...): such an observation
    is kept as evidence of what happened but carries no fields. The one exception is text that
    UTF-8 cannot encode (a lone surrogate from a JSON escape): every source of observations (codecs,
    captures, short form, saved files) comes through here, so it is replaced by U+FFFD here, once,
    the fields are kept, and ``problem`` says ``unencodable-text: N code point(s) replaced`` --
    otherwise writing the scan as JSON or into SQLite would fail on it.
    """

    probe: str
    kind: ArtefactKind
    time: datetime
    ip: str | None = None
    mac: str | None = None
    port: int | None = None
    raw: str | None = None
    fields: Mapping[str, str] = _field(default_factory=dict)
    truncated: bool = False
    problem: str | None = None

    def __post_init__(self) -> None:
        # Nearly every observation is plain ASCII, which UTF-8 always encodes: one pass of
        # str.isascii() over the text settles it without building a closure or new fields.
        if all(text is None or (isinstance(text, str) and text.isascii())
               for text in (self.probe, self.ip, self.mac, self.raw, self.problem)) and all(
                isinstance(k, str) and k.isascii() and isinstance(v, str) and v.isascii()
                for k, v in self.fields.items()):
            return
        replaced = 0

        def clean(text: object) -> object:
            nonlocal replaced
            if not isinstance(text, str):
                return text
            text, count = encodable(text)
            replaced += count
            return text

        for name in ("probe", "ip", "mac", "raw", "problem"):
            value = getattr(self, name)
            cleaned = clean(value)
            if cleaned is not value:
                object.__setattr__(self, name, cleaned)
        fields = None
        if any(not (isinstance(k, str) and k.isascii() and isinstance(v, str) and v.isascii())
               for k, v in self.fields.items()):
            fields = {clean(k): clean(v) for k, v in self.fields.items()}
        if replaced == 0:
            return
        if fields is not None:
            object.__setattr__(self, "fields", fields)
        note = f"{UNENCODABLE_TEXT} {replaced} code point(s) replaced"
        object.__setattr__(self, "problem", f"{self.problem}; {note}" if self.problem else note)

    @property
    def usable(self) -> bool:
        """True when the fields are evidence: no problem, or only unencodable text replaced or a
        library's warning recorded.

        A replaced lone surrogate does not make the rest of a reply untrue (a DHIP answer whose
        model carries one still says Dahua firmware), nor does an over-long certificate name make
        the certificate's other names untrue, so such an observation still counts.
        """
        return self.problem is None or self.problem.startswith((UNENCODABLE_TEXT, LIBRARY_WARNING))

    @classmethod
    def make(
        cls,
        probe: str,
        kind: ArtefactKind,
        *,
        ip: str | None = None,
        mac: str | None = None,
        port: int | None = None,
        raw: str | bytes | None = None,
        fields: Mapping[str, Any] | None = None,
        problem: str | None = None,
        time: datetime | None = None,
    ) -> "Observation":
        """Build an observation, normalising addresses and bounding raw text and field values."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        truncated = raw is not None and len(raw) > RAW_LIMIT
        clean: dict[str, str] = {}
        for key, value in (fields or {}).items():
            if value is None or value == "":
                continue
            clean[key] = bound(str(value), FIELD_LIMIT) or ""
        return cls(
            probe=probe,
            kind=ArtefactKind(kind),
            time=time or utcnow(),
            ip=normalize_ip(ip),
            mac=normalize_mac(mac),
            port=port,
            raw=bound(raw),
            fields=clean,
            truncated=truncated,
            problem=problem,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "kind": self.kind.value,
            "time": self.time.isoformat(),
            "ip": self.ip,
            "mac": self.mac,
            "port": self.port,
            "raw": self.raw,
            "fields": dict(self.fields),
            "truncated": self.truncated,
            "problem": self.problem,
        }

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | Reader") -> "Observation":
        """Read one saved observation; a malformed one raises InputFileError (see ``Reader``)."""
        r = _reader(data)
        return cls(
            probe=r.text("probe"),
            kind=r.choice("kind", ArtefactKind),
            time=r.moment("time"),
            ip=r.converted("ip", normalize_ip, "an IP address"),
            mac=r.converted("mac", normalize_mac, "a MAC address"),
            port=r.opt_integer("port", 0, 65535),
            raw=r.opt_text("raw"),
            fields=r.text_map("fields"),
            truncated=r.flag("truncated", False),
            problem=r.opt_text("problem"),
        )


OUTSIDE_TARGETS = "outside targets (seen on the local segment)"
"""How every output marks a device with ``Device.outside_targets``."""


@dataclass(frozen=True, slots=True)
class Device:
    """Observations merged per host: by MAC where known, else by IP."""

    key: str
    macs: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    hostnames: tuple[str, ...] = ()
    open_ports: tuple[int, ...] = ()
    observations: tuple[Observation, ...] = ()
    outside_targets: bool = False
    """It answered camsweep's multicast/broadcast discovery from an address outside the scan's
    targets (or from 0.0.0.0): identified from what it sent, not probed (``OUTSIDE_TARGETS``)."""

    @property
    def mac(self) -> str | None:
        return self.macs[0] if self.macs else None

    @property
    def ip(self) -> str | None:
        return self.ips[0] if self.ips else None

    @property
    def switch_ports(self) -> tuple[str, ...]:
        """Where switches' forwarding tables (``--snmp``) saw this device, ``<agent> port <port>
        VLAN <vlan>``: how a device known only by its MAC is found on site."""
        seen: dict[str, None] = {}
        for o in self.observations:
            if o.kind is ArtefactKind.FORWARDING_ENTRY and o.fields.get("snmp.port"):
                vlan = o.fields.get("snmp.vlan")
                seen[f"{o.fields.get('snmp.agent', '?')} port {o.fields['snmp.port']}" + (f" VLAN {vlan}" if vlan else "")] = None
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "macs": list(self.macs),
            "ips": list(self.ips),
            "hostnames": list(self.hostnames),
            "open_ports": list(self.open_ports),
            "observations": [o.to_dict() for o in self.observations],
            "outside_targets": self.outside_targets,
        }

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | Reader") -> "Device":
        r = _reader(data)
        return cls(
            key=r.text("key"),
            macs=r.texts("macs", normalize_mac, "a MAC address"),
            ips=r.texts("ips", normalize_ip, "an IP address"),
            hostnames=r.texts("hostnames"),
            open_ports=r.integers("open_ports", 0, 65535),
            observations=tuple(Observation.from_dict(o) for o in r.children("observations")),
            outside_targets=r.flag("outside_targets", False),
        )


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One fingerprint rule that fired, with the evidence it used."""

    rule_id: str
    rule_file: str
    field: str
    value: str
    probe: str
    seen_at: datetime
    tier: Tier
    certainty: float
    maker: Manufacturer | None = None
    brand: str | None = None
    extracted: Mapping[str, str] = _field(default_factory=dict)
    description: str = ""
    port: int | None = None
    """The port of the observation the value came from (None for MAC, port-set and derived hits)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_file": self.rule_file,
            "field": self.field,
            "value": self.value,
            "probe": self.probe,
            "port": self.port,
            "seen_at": self.seen_at.isoformat(),
            "tier": self.tier.value,
            "certainty": self.certainty,
            "maker": self.maker.value if self.maker else None,
            "brand": self.brand,
            "extracted": dict(self.extracted),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | Reader") -> "RuleHit":
        r = _reader(data)
        return cls(
            rule_id=r.text("rule_id"),
            rule_file=r.text("rule_file"),
            field=r.text("field"),
            value=r.text("value"),
            probe=r.text("probe"),
            seen_at=r.moment("seen_at"),
            tier=r.choice("tier", Tier),
            certainty=r.number("certainty", 0.0, 1.0),
            maker=r.choice("maker", Manufacturer) if r.data.get("maker") else None,
            brand=r.opt_text("brand"),
            extracted=r.text_map("extracted"),
            description=r.text("description", ""),
            port=r.opt_integer("port", 0, 65535),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What camsweep concludes about one device, and why.

    ``manufacturer`` is who made the hardware; ``brand`` is the name on the label (they differ for
    OEM units). ``confidence`` is in [0, 1] and ``confidence_level`` is its word form; both follow
    from ``hits`` (the ``camsweep.verdicts`` docstring says how). ``conflicts`` lists evidence that disagrees about the
    maker or brand; ``disagreements`` lists a model, firmware or serial that one source stated
    differently over time (the newest was taken: a firmware upgrade seen in one capture).
    """

    manufacturer: Manufacturer = Manufacturer.UNKNOWN
    brand: str | None = None
    device_type: DeviceType = DeviceType.UNKNOWN
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    confidence: float = 0.0
    confidence_level: str = "none"
    hits: tuple[RuleHit, ...] = ()
    conflicts: tuple[str, ...] = ()
    summary: str = ""
    disagreements: tuple[str, ...] = ()  # last: verdicts are also built positionally

    @property
    def is_restricted_maker(self) -> bool:
        return self.manufacturer.restricted

    def to_dict(self) -> dict[str, Any]:
        return {
            "manufacturer": self.manufacturer.value,
            "brand": self.brand,
            "device_type": self.device_type.value,
            "model": self.model,
            "firmware": self.firmware,
            "serial": self.serial,
            "confidence": round(self.confidence, 4),
            "confidence_level": self.confidence_level,
            "hits": [h.to_dict() for h in self.hits],
            "conflicts": list(self.conflicts),
            "disagreements": list(self.disagreements),
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | Reader") -> "Verdict":
        r = _reader(data)
        return cls(
            manufacturer=r.choice("manufacturer", Manufacturer, Manufacturer.UNKNOWN),
            brand=r.opt_text("brand"),
            device_type=r.choice("device_type", DeviceType, DeviceType.UNKNOWN),
            model=r.opt_text("model"),
            firmware=r.opt_text("firmware"),
            serial=r.opt_text("serial"),
            confidence=r.number("confidence", 0.0, 1.0, 0.0),
            confidence_level=r.text("confidence_level", "none"),
            hits=tuple(RuleHit.from_dict(h) for h in r.children("hits")),
            conflicts=r.texts("conflicts"),
            disagreements=r.texts("disagreements"),
            summary=r.text("summary", ""),
        )


@dataclass(frozen=True, slots=True)
class IdentifiedDevice:
    """A device together with the verdict about it."""

    device: Device
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device.to_dict(), "verdict": self.verdict.to_dict()}

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | Reader") -> "IdentifiedDevice":
        r = _reader(data)
        return cls(Device.from_dict(r.child("device")), Verdict.from_dict(r.child("verdict")))


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything one scan (or one offline ``identify`` run) produced.

    ``partial`` is True when the run was interrupted or an input was only partly readable;
    ``notes`` says why, and which methods were skipped.
    """

    started: datetime
    finished: datetime
    devices: tuple[IdentifiedDevice, ...] = ()
    targets: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    partial: bool = False
    notes: tuple[str, ...] = ()
    data_versions: Mapping[str, str] = _field(default_factory=dict)
    mode: str = "scan"
    # The audit trail, recorded when the scan runs (scanner/audit.py ``at_scan_time``); a scan
    # saved before these existed reads back with them empty.
    operator: str = ""
    """Who ran it: ``--operator``, else the login name behind sudo."""
    scan_id: str = _field(default_factory=lambda: str(uuid.uuid4()))
    """A UUID naming this scan wherever it goes (exports, copies, other inventories); a saved scan
    from before it existed gets one derived from its times and mode, the same on every read."""
    site: str = ""
    """The site it was made at (``--site``, config ``[scan] site``): the inventory tracks devices per site."""
    scanner_host: str = ""
    """Host name of the machine that ran the scan."""
    interface: str = ""
    """Interface scanned from or listened on ("" for a capture file)."""
    interface_addresses: tuple[str, ...] = ()
    """That interface's addresses when the scan ran (``198.18.0.2/24``)."""
    tool_version: str = ""
    """camsweep version that ran it."""
    capture: str = ""
    """The capture file a ``--pcap`` result was read from (as given)."""
    scope: tuple[str, ...] = ()
    """The networks an active scan's targets expanded to (CIDRs); empty for passive results."""
    addresses: int = 0
    """How many addresses the scope covers (what was scanned); 0 for passive results."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "scan_id": self.scan_id,
            "mode": self.mode,
            "operator": self.operator,
            "site": self.site,
            "scanner_host": self.scanner_host,
            "interface": self.interface,
            "interface_addresses": list(self.interface_addresses),
            "tool_version": self.tool_version,
            "capture": self.capture,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "targets": list(self.targets),
            "scope": list(self.scope),
            "addresses": self.addresses,
            "methods": list(self.methods),
            "partial": self.partial,
            "notes": list(self.notes),
            "data_versions": dict(self.data_versions),
            "devices": [d.to_dict() for d in self.devices],
        }

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | Reader") -> "ScanResult":
        """Read a saved scan, checking every value's type and range: a malformed file raises
        InputFileError naming the place (callers add the file's name), never another exception."""
        from .errors import SchemaVersionError

        r = _reader(data)
        version = r.data.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:  # True == 1 is not a version
            raise SchemaVersionError(
                f"scan result has schema_version {quote(version)}; this camsweep reads {SCHEMA_VERSION}"
            )
        started, finished, mode = r.moment("started"), r.moment("finished"), r.text("mode", "scan")
        return cls(
            started=started,
            finished=finished,
            devices=tuple(IdentifiedDevice.from_dict(d) for d in r.children("devices")),
            targets=r.texts("targets"),
            methods=r.texts("methods"),
            partial=r.flag("partial", False),
            notes=r.texts("notes"),
            data_versions=r.text_map("data_versions"),
            mode=mode,
            operator=r.text("operator", ""),
            scan_id=r.converted("scan_id", _uuid, "a UUID") or _derived_id(started, finished, mode),
            site=r.text("site", ""),
            scanner_host=r.text("scanner_host", ""),
            interface=r.text("interface", ""),
            interface_addresses=r.texts("interface_addresses"),
            tool_version=r.text("tool_version", ""),
            capture=r.text("capture", ""),
            scope=r.texts("scope"),
            addresses=r.integer("addresses", 0, 2**32, 0),
        )


def _derived_id(started: datetime, finished: datetime, mode: str) -> str:
    """The scan id of a scan saved before scan ids existed: the same on every read."""
    # A saved mode may hold a lone surrogate (a JSON escape); uuid5 hashes the name as UTF-8.
    name = encodable(f"camsweep:{started.isoformat()}/{finished.isoformat()}/{mode}")[0]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _uuid(text: str | None) -> str | None:
    try:
        return str(uuid.UUID(text or ""))
    except ValueError:
        return None


def _reader(data: "Mapping[str, Any] | Reader") -> Reader:
    return data if isinstance(data, Reader) else Reader(data)
