"""The restrictions data: which instruments name Hikvision/Dahua, and their known-exploited CVEs.

``fingerprints/restrictions.toml`` holds the instruments (laws, rules, orders, lists) and the named
policies that select them; ``fingerprints/kev.toml`` the makers' CVEs in CISA's KEV catalog with
the affected firmware ranges. :func:`load` reads and validates both (JSON Schema plus the checks a
schema cannot express: unique ids, known makers, policies naming real instruments, regexes that
compile, ranges that parse); anything wrong raises :class:`DataFileError` naming file and entry.

:func:`kev_status` answers "is this firmware in the affected range of this CVE?", the part of a
finding that says *firmware V5.4.1 build 160525 is in the affected range of CVE-2021-36260*.
"""

from __future__ import annotations

import enum
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema

from .errors import DataFileError
from .fingerprints._db import DATA_DIR
from .types import RESTRICTED_MAKERS

log = logging.getLogger("camsweep")

RESTRICTIONS_FILE = DATA_DIR / "restrictions.toml"
KEV_FILE = DATA_DIR / "kev.toml"

EFFECTS = ("device", "informational")
ACTIONS = ("replace", "report", "isolate", "stop-procurement", "document", "none")
VERIFICATION_WORDS = {"V": "verified", "S": "secondary sources only", "U": "unverified"}

_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"
_FULL_DATE = r"^\d{4}-\d{2}-\d{2}$"

_STR = {"type": "string", "minLength": 1}
_STRS = {"type": "array", "items": _STR}

INSTRUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id", "jurisdiction", "authority", "name", "reference", "announced", "effective", "binds",
        "makers", "entities", "subsidiaries", "oem", "effect", "action", "remediation",
        "verification", "citations",
    ],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Z][A-Z0-9-]+$"},
        "jurisdiction": _STR,
        "authority": _STR,
        "name": _STR,
        "reference": _STR,
        "announced": {"type": "string", "pattern": _DATE},
        "effective": {"type": "string", "pattern": _DATE},
        "binds": _STR,
        "makers": {"type": "array", "minItems": 1, "items": {"enum": list(RESTRICTED_MAKERS)}},
        "entities": {**_STRS, "minItems": 1},
        "subsidiaries": {"type": "boolean"},
        "oem": {"oneOf": [{"type": "boolean"}, {"const": "unclear"}]},
        "purpose_limited": {"type": "boolean"},
        "effect": {"enum": list(EFFECTS)},
        "action": {"enum": list(ACTIONS)},
        "remediation": _STR,
        "deadline": {"type": "string", "pattern": _FULL_DATE},
        "deadline_text": _STR,
        "verification": {"enum": list(VERIFICATION_WORDS)},
        "verification_note": _STR,
        "citations": {**_STRS, "minItems": 1},
    },
}

RESTRICTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "as_of", "makers", "instrument", "policy"],
    "additionalProperties": False,
    "properties": {
        "version": _STR,
        "as_of": {"type": "string", "pattern": _FULL_DATE},
        "sources_current_to": {"type": "string", "pattern": _DATE},
        "makers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                m: {
                    "type": "object",
                    "required": ["name", "group_brands"],
                    "additionalProperties": False,
                    "properties": {"name": _STR, "legal_names": _STRS, "group_brands": _STRS, "oem_brands": _STRS},
                }
                for m in RESTRICTED_MAKERS
            },
        },
        "instrument": {"type": "array", "minItems": 1, "items": INSTRUMENT_SCHEMA},
        "policy": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "description", "instruments"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": r"^[a-z][a-z0-9-]*$"},
                    "description": _STR,
                    "instruments": {**_STRS, "minItems": 1},
                },
            },
        },
    },
}

AFFECTED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["label", "makers"],
    "additionalProperties": False,
    "properties": {
        "label": _STR,
        "makers": {"type": "array", "minItems": 1, "items": {"enum": list(RESTRICTED_MAKERS)}},
        "brands": _STRS,
        "models": _STRS,
        "build_before": {"type": "string", "pattern": _FULL_DATE},
        "version_from": _STR,
        "version_to": _STR,
        "fixed": {**_STRS, "minItems": 1},
    },
    "dependentRequired": {"version_from": ["version_to"], "version_to": ["version_from"]},
}

KEV_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "as_of", "cve"],
    "additionalProperties": False,
    "properties": {
        "version": _STR,
        "as_of": {"type": "string", "pattern": _FULL_DATE},
        "catalog": _STR,
        "due_date_binds": _STR,
        "cve": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": [
                    "id", "vendor", "product", "title", "date_added", "due_date", "required_action",
                    "verification", "citations", "affected",
                ],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": r"^CVE-\d{4}-\d{4,}$"},
                    "vendor": _STR,
                    "product": _STR,
                    "title": _STR,
                    "cwe": _STR,
                    "cvss": {"type": "number", "minimum": 0, "maximum": 10},
                    "date_added": {"type": "string", "pattern": _FULL_DATE},
                    "due_date": {"type": "string", "pattern": _FULL_DATE},
                    "required_action": _STR,
                    "fixed_in": _STR,
                    "verification": {"enum": list(VERIFICATION_WORDS)},
                    "verification_note": _STR,
                    "citations": {**_STRS, "minItems": 1},
                    "affected": {"type": "array", "minItems": 1, "items": AFFECTED_SCHEMA},
                },
            },
        },
    },
}


def verified_label(instrument_id: str, verification: str) -> str:
    """``US-889-A``, or ``UK-TIMELINE (S)`` when the instrument is not verified in its source."""
    return instrument_id if verification == "V" else f"{instrument_id} ({verification})"


# --------------------------------------------------------------------------- firmware versions


@dataclass(frozen=True, slots=True)
class Firmware:
    """A firmware string taken apart: version numbers, build date, branch (for same-line compares)."""

    text: str
    numbers: tuple[int, ...] | None
    build: date | None
    branch: str | None

    def describe(self) -> str:
        return self.text


_VERSION_RE = re.compile(r"(?<![\w.])[Vv]?(\d+(?:\.\d+)+)")
_BUILD_PATTERNS = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})"),  # Dahua "Build Date: 2021-03-01"
    re.compile(r"(?i)(?<![a-z])b(?:uild)?[\s:_]*(\d{2})(\d{2})(\d{2})\b"),  # Hikvision "build 210628", "b160530", "Build201224"
    re.compile(r"(?i)\.R\.(\d{4})(\d{2})(\d{2})\b"),  # Amcrest/Dahua "...R.20200217"
    re.compile(r"(?i)\.R\.(\d{2})(\d{2})(\d{2})\b"),  # "...R.200316"
    re.compile(r"_(\d{2})(\d{2})(\d{2})$"),  # "V5.5.800_210628"
)


def parse_firmware(text: str | None) -> Firmware | None:
    """Take a firmware string as devices report it apart; None for empty input.

    >>> parse_firmware("V5.4.1 build 160525").numbers
    (5, 4, 1)
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    match = _VERSION_RE.search(text)
    numbers = tuple(int(n) for n in match.group(1).split(".")) if match else None
    build: date | None = None
    for pattern in _BUILD_PATTERNS:
        found = pattern.search(text)
        if not found:
            continue
        year, month, day = (int(g) for g in found.groups())
        if year < 100:
            year += 2000
        try:
            build = date(year, month, day)
        except ValueError:
            continue
        break
    head = re.sub(r"^[Vv]", "", re.split(r"[,\s_]", text)[0])
    parts = head.split(".")
    branch = ".".join(parts[:3]).lower() if len(parts) >= 3 else None
    return Firmware(text=text, numbers=numbers, build=build, branch=branch)


# --------------------------------------------------------------------------- typed data


@dataclass(frozen=True, slots=True)
class Instrument:
    id: str
    jurisdiction: str
    authority: str
    name: str
    reference: str
    announced: str
    effective: str
    binds: str
    makers: tuple[str, ...]
    entities: tuple[str, ...]
    subsidiaries: bool
    oem: bool | str
    purpose_limited: bool
    effect: str
    action: str
    remediation: str
    deadline: date | None
    deadline_text: str | None
    verification: str
    verification_note: str | None
    citations: tuple[str, ...]

    @property
    def binding(self) -> bool:
        """True when the instrument creates a duty about devices (not just context)."""
        return self.effect == "device"

    def label(self) -> str:
        """Short label for tables: id, plus the verification mark when it is not V."""
        return verified_label(self.id, self.verification)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "authority": self.authority,
            "name": self.name,
            "reference": self.reference,
            "announced": self.announced,
            "effective": self.effective,
            "binds": self.binds,
            "makers": list(self.makers),
            "entities": list(self.entities),
            "subsidiaries": self.subsidiaries,
            "oem": self.oem,
            "purpose_limited": self.purpose_limited,
            "effect": self.effect,
            "action": self.action,
            "remediation": self.remediation,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_text": self.deadline_text,
            "verification": self.verification,
            "verification_note": self.verification_note,
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    description: str
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AffectedGroup:
    label: str
    makers: tuple[str, ...]
    brands: tuple[str, ...]
    models: tuple[re.Pattern[str], ...]
    build_before: date | None
    version_from: Firmware | None
    version_to: Firmware | None
    fixed: tuple[Firmware, ...]


@dataclass(frozen=True, slots=True)
class KevEntry:
    id: str
    vendor: str
    product: str
    title: str
    date_added: date
    due_date: date
    required_action: str
    fixed_in: str | None
    verification: str
    verification_note: str | None
    citations: tuple[str, ...]
    affected: tuple[AffectedGroup, ...]
    cvss: float | None = None
    cwe: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "product": self.product,
            "title": self.title,
            "cwe": self.cwe,
            "cvss": self.cvss,
            "date_added": self.date_added.isoformat(),
            "due_date": self.due_date.isoformat(),
            "required_action": self.required_action,
            "fixed_in": self.fixed_in,
            "verification": self.verification,
            "verification_note": self.verification_note,
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class RestrictionsData:
    version: str
    as_of: str
    instruments: tuple[Instrument, ...]
    policies: tuple[Policy, ...]
    group_brands: Mapping[str, tuple[str, ...]]
    oem_brands: Mapping[str, tuple[str, ...]]
    kev: tuple[KevEntry, ...]
    kev_version: str
    kev_as_of: str
    kev_catalog: str
    sources_current_to: str | None = None

    def instrument(self, instrument_id: str) -> Instrument:
        for item in self.instruments:
            if item.id == instrument_id:
                return item
        raise KeyError(instrument_id)

    def versions(self) -> dict[str, str]:
        """The data versions every report carries."""
        versions = {
            "restrictions_version": self.version,
            "restrictions_as_of": self.as_of,
            "kev_version": self.kev_version,
            "kev_as_of": self.kev_as_of,
        }
        if self.sources_current_to:
            versions["restrictions_sources_current_to"] = self.sources_current_to
        return versions

    def is_group_brand(self, maker: str, brand: str | None) -> bool:
        """True when ``brand`` is the maker's own (or a subsidiary's) brand, i.e. not an OEM label."""
        if not brand:
            return True
        wanted = brand.strip().casefold()
        return any(wanted == b.casefold() for b in self.group_brands.get(maker, ()))

    def makers_behind_brand(self, brand: str | None) -> tuple[str, ...]:
        """Makers whose group or OEM brand lists contain ``brand`` (case-insensitive)."""
        if not brand:
            return ()
        wanted = brand.strip().casefold()
        return tuple(
            maker
            for maker in RESTRICTED_MAKERS
            if any(wanted == b.casefold() for b in self.group_brands.get(maker, ()) + self.oem_brands.get(maker, ()))
        )


# --------------------------------------------------------------------------- loading


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise DataFileError(str(path), f"cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise DataFileError(str(path), f"not valid TOML: {error}") from None


def _validate(path: Path, data: dict[str, Any], schema: dict[str, Any], list_key: str) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    where = list(error.absolute_path)
    entry = None
    if len(where) >= 2 and where[0] == list_key and isinstance(where[1], int):
        item = data[list_key][where[1]]
        entry = str(item.get("id") or item.get("name") or f"{list_key}[{where[1]}]") if isinstance(item, dict) else None
        where = where[2:]
    field_path = ".".join(str(p) for p in where)
    raise DataFileError(str(path), f"{field_path + ': ' if field_path else ''}{error.message}", entry=entry)


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _compile(path: Path, entry: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise DataFileError(str(path), f"model pattern {pattern!r} does not compile: {error}", entry=entry) from None


def _full_date(path: Path, entry: str, text: str) -> date:
    try:
        return _date(text)
    except ValueError:
        raise DataFileError(str(path), f"{text!r} is not a real date", entry=entry) from None


def _firmware(path: Path, entry: str, text: str, need_build: bool = True) -> Firmware:
    parsed = parse_firmware(text)
    if parsed is None or parsed.numbers is None or (need_build and parsed.build is None):
        raise DataFileError(str(path), f"cannot read version and build date from {text!r}", entry=entry)
    return parsed


def load_restrictions(path: Path) -> tuple[dict[str, Any], tuple[Instrument, ...], tuple[Policy, ...]]:
    data = _read_toml(path)
    _validate(path, data, RESTRICTIONS_SCHEMA, "instrument")
    seen: set[str] = set()
    instruments = []
    for raw in data["instrument"]:
        if raw["id"] in seen:
            raise DataFileError(str(path), "duplicate instrument id", entry=raw["id"])
        seen.add(raw["id"])
        deadline = _full_date(path, raw["id"], raw["deadline"]) if "deadline" in raw else None
        for key in ("announced", "effective"):
            text = raw[key]
            if len(text) == 10:
                _full_date(path, raw["id"], text)
        instruments.append(
            Instrument(
                id=raw["id"],
                jurisdiction=raw["jurisdiction"],
                authority=raw["authority"],
                name=raw["name"],
                reference=raw["reference"],
                announced=raw["announced"],
                effective=raw["effective"],
                binds=raw["binds"],
                makers=tuple(raw["makers"]),
                entities=tuple(raw["entities"]),
                subsidiaries=raw["subsidiaries"],
                oem=raw["oem"],
                purpose_limited=bool(raw.get("purpose_limited", False)),
                effect=raw["effect"],
                action=raw["action"],
                remediation=raw["remediation"],
                deadline=deadline,
                deadline_text=raw.get("deadline_text"),
                verification=raw["verification"],
                verification_note=raw.get("verification_note"),
                citations=tuple(raw["citations"]),
            )
        )
    policies = []
    names: set[str] = set()
    for raw in data["policy"]:
        if raw["name"] in names or raw["name"] == "all":
            raise DataFileError(str(path), "duplicate or reserved policy name", entry=raw["name"])
        names.add(raw["name"])
        for ref in raw["instruments"]:
            if ref not in seen:
                raise DataFileError(str(path), f"names unknown instrument {ref!r}", entry=raw["name"])
        policies.append(Policy(raw["name"], raw["description"], tuple(raw["instruments"])))
    return data, tuple(instruments), tuple(policies)


def load_kev(path: Path) -> tuple[dict[str, Any], tuple[KevEntry, ...]]:
    data = _read_toml(path)
    _validate(path, data, KEV_SCHEMA, "cve")
    entries = []
    seen: set[str] = set()
    for raw in data["cve"]:
        cve_id = raw["id"]
        if cve_id in seen:
            raise DataFileError(str(path), "duplicate CVE id", entry=cve_id)
        seen.add(cve_id)
        groups = []
        for group in raw["affected"]:
            ways = [k for k in ("build_before", "version_from", "fixed") if k in group]
            if len(ways) > 1:
                raise DataFileError(
                    str(path), f"affected group {group['label']!r} mixes {', '.join(ways)}; use one", entry=cve_id
                )
            groups.append(
                AffectedGroup(
                    label=group["label"],
                    makers=tuple(group["makers"]),
                    brands=tuple(group.get("brands", ())),
                    models=tuple(_compile(path, cve_id, p) for p in group.get("models", ())),
                    build_before=_full_date(path, cve_id, group["build_before"]) if "build_before" in group else None,
                    version_from=_firmware(path, cve_id, group["version_from"]) if "version_from" in group else None,
                    version_to=_firmware(path, cve_id, group["version_to"]) if "version_to" in group else None,
                    fixed=tuple(_firmware(path, cve_id, f) for f in group.get("fixed", ())),
                )
            )
        added = _full_date(path, cve_id, raw["date_added"])
        due = _full_date(path, cve_id, raw["due_date"])
        if due < added:
            raise DataFileError(str(path), "due_date is before date_added", entry=cve_id)
        entries.append(
            KevEntry(
                id=cve_id,
                vendor=raw["vendor"],
                product=raw["product"],
                title=raw["title"],
                date_added=added,
                due_date=due,
                required_action=raw["required_action"],
                fixed_in=raw.get("fixed_in"),
                verification=raw["verification"],
                verification_note=raw.get("verification_note"),
                citations=tuple(raw["citations"]),
                affected=tuple(groups),
                cvss=raw.get("cvss"),
                cwe=raw.get("cwe"),
            )
        )
    return data, tuple(entries)


def load(restrictions_path: Path | str | None = None, kev_path: Path | str | None = None) -> RestrictionsData:
    """Read and validate both data files (the packaged ones unless paths are given)."""
    r_path = Path(restrictions_path) if restrictions_path else RESTRICTIONS_FILE
    k_path = Path(kev_path) if kev_path else KEV_FILE
    raw, instruments, policies = load_restrictions(r_path)
    kev_raw, kev = load_kev(k_path)
    log.debug("loaded %d instruments, %d policies, %d KEV entries", len(instruments), len(policies), len(kev))
    return RestrictionsData(
        version=raw["version"],
        as_of=raw["as_of"],
        instruments=instruments,
        policies=policies,
        group_brands={m: tuple(v.get("group_brands", ())) for m, v in raw["makers"].items()},
        oem_brands={m: tuple(v.get("oem_brands", ())) for m, v in raw["makers"].items()},
        kev=kev,
        kev_version=kev_raw["version"],
        kev_as_of=kev_raw["as_of"],
        kev_catalog=kev_raw.get("catalog", "CISA KEV"),
        sources_current_to=raw.get("sources_current_to"),
    )


# --------------------------------------------------------------------------- KEV matching


class KevState(str, enum.Enum):
    AFFECTED = "affected"
    POSSIBLE = "possibly affected"
    NOT_AFFECTED = "not affected"


@dataclass(frozen=True, slots=True)
class KevMatch:
    """The answer for one CVE and one device: state, the group it matched and why."""

    cve: KevEntry
    state: KevState
    group: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "cve": self.cve.id,
            "state": self.state.value,
            "group": self.group,
            "reason": self.reason,
            "date_added": self.cve.date_added.isoformat(),
            "due_date": self.cve.due_date.isoformat(),
            "required_action": self.cve.required_action,
            "fixed_in": self.cve.fixed_in,
            "verification": self.cve.verification,
        }


def _version_key(fw: Firmware) -> tuple[tuple[int, ...], date]:
    return (fw.numbers or (), fw.build or date.min)


def _group_state(group: AffectedGroup, fw: Firmware | None) -> tuple[KevState, str]:
    if fw is None:
        return KevState.POSSIBLE, "firmware version not seen"
    if group.build_before is not None:
        if fw.build is None:
            return KevState.POSSIBLE, f"firmware {fw.text}: build date not seen (affected if built before {group.build_before})"
        if fw.build < group.build_before:
            return KevState.AFFECTED, f"firmware {fw.text} (built {fw.build}) was built before {group.build_before}"
        return KevState.NOT_AFFECTED, f"firmware {fw.text} (built {fw.build}) is on or after {group.build_before}"
    if group.version_from is not None and group.version_to is not None:
        low, high = group.version_from, group.version_to
        if fw.numbers is None:
            return KevState.POSSIBLE, f"cannot read a version number from {fw.text!r}"
        span = f"{low.text} - {high.text}"
        if fw.build is None:
            # Without a build date only a version strictly inside the range is certain.
            if (low.numbers or ()) < fw.numbers < (high.numbers or ()):
                return KevState.AFFECTED, f"firmware {fw.text} is in the affected range {span}"
            if fw.numbers in (low.numbers, high.numbers):
                return KevState.POSSIBLE, f"firmware {fw.text} is at the edge of {span} and its build date was not seen"
            return KevState.NOT_AFFECTED, f"firmware {fw.text} is outside {span}"
        if _version_key(low) <= _version_key(fw) <= _version_key(high):
            return KevState.AFFECTED, f"firmware {fw.text} is in the affected range {span}"
        return KevState.NOT_AFFECTED, f"firmware {fw.text} is outside {span}"
    if group.fixed:
        for fixed in group.fixed:
            if fw.branch and fw.branch == fixed.branch:
                if fw.build is None:
                    return KevState.POSSIBLE, f"firmware {fw.text}: build date not seen (fixed in {fixed.text})"
                if fixed.build and fw.build < fixed.build:
                    return KevState.AFFECTED, f"firmware {fw.text} is older than the fix {fixed.text}"
                return KevState.NOT_AFFECTED, f"firmware {fw.text} is at or after the fix {fixed.text}"
        return KevState.NOT_AFFECTED, f"firmware {fw.text} is on none of the affected branches"
    return KevState.POSSIBLE, "the source gives no firmware range for this group"


_ORDER = {KevState.AFFECTED: 0, KevState.POSSIBLE: 1, KevState.NOT_AFFECTED: 2}


def kev_status(
    entry: KevEntry, maker: str, model: str | None, firmware: str | None, brand: str | None = None
) -> KevMatch | None:
    """Whether a device with this maker/model/firmware falls in ``entry``'s affected range.

    None when no affected group covers the device at all (other maker, brand or model family).
    A group that lists models needs a model to match; without a model the device cannot be placed.
    """
    fw = parse_firmware(firmware)
    best: KevMatch | None = None
    for group in entry.affected:
        if maker not in group.makers:
            continue
        if group.brands and not (brand and any(brand.casefold() == b.casefold() for b in group.brands)):
            continue
        if group.models and not (model and any(p.match(model.strip()) for p in group.models)):
            continue
        state, reason = _group_state(group, fw)
        match = KevMatch(entry, state, group.label, reason)
        if best is None or _ORDER[state] < _ORDER[best.state]:
            best = match
    return best


def kev_matches(
    data: RestrictionsData, maker: str, model: str | None, firmware: str | None, brand: str | None = None
) -> tuple[KevMatch, ...]:
    """Every KEV entry whose affected products include the device, affected ones first."""
    found = [m for e in data.kev if (m := kev_status(e, maker, model, firmware, brand)) is not None]
    return tuple(sorted(found, key=lambda m: (_ORDER[m.state], m.cve.id)))
