"""The restrictions data: which instruments name Hikvision/Dahua, whom they bind, what they require.

``fingerprints/restrictions.toml`` holds the instruments (laws, rules, orders, directives, lists,
decisions), each with whom it binds (audience ids), what it covers, the duties it imposes, its legal
force, its dates with their precision, its citations and how it was verified; the audiences,
vocabularies and wording the findings use; and the policies that select instruments by the audiences
they bind. ``fingerprints/kev.toml`` holds the makers' CVEs in CISA's KEV catalog with the affected
firmware ranges. Which brands are whose comes from ``fingerprints/makers.toml`` (one place for
maker-brand relations, each with its sources).

:func:`load` reads and validates all of it: a JSON Schema for the shapes, then the checks a schema
cannot express (a day that is not a real date, a value more precise than its precision says, a
deadline on a duty that is no duty about devices, an audience nobody declared, a citation without
URL or retrieval date on an instrument read in its primary source, a wiki cited, a policy naming an
unknown audience, ...). Anything wrong raises :class:`DataFileError` naming the file and the entry.

:func:`kev_status` answers "is this firmware in the affected range of this CVE?", the part of a
finding that says *firmware V5.4.1 build 160525 is in the affected range of CVE-2021-36260*.
"""

from __future__ import annotations

import calendar
import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .errors import DataFileError
from .fingerprints import Brand, MakersData, is_wiki, load_makers
from .fingerprints._db import DATA_DIR, check_data_file
from .types import RESTRICTED_MAKERS, DeviceType, read_data_toml

log = logging.getLogger("camsweep")

RESTRICTIONS_FILE = DATA_DIR / "restrictions.toml"
KEV_FILE = DATA_DIR / "kev.toml"
MAKERS_FILE = DATA_DIR / "makers.toml"

VERIFICATION = ("primary", "secondary-only")
"""How an instrument was read: in its official text (or an official reprint), or in secondary sources only."""
VERIFICATION_WORDS = {"V": "verified", "S": "secondary sources only", "U": "unverified"}
"""The KEV data's marks (kev.toml)."""
PRECISIONS = ("day", "month", "year")
DATE_KEYS = ("announced", "effective", "ended", "completed", "comments_due")
"""The dates an instrument may give; only a duty's ``deadline`` is ever a date something is due by."""
RECOMMENDATION_WHEN = ("kev-affected", "kev-possible")
KEV_COVERS = "kev-vulnerabilities"
"""The covers kind of instruments about known-exploited vulnerabilities (CISA's directives): they
reach a device through its KEV matches, not through its maker."""
REMEDIATION = "remediation"
NO_AUDIENCE = "none"
NO_DUTY = "none"
REQUIRED_WORDING = (
    "own_unit", "oem_unit", "oem_reach_true", "oem_reach_unclear", "subsidiary_reach_unclear", "named_products", "named_products_match",
    "named_products_unknown", "not_yet_in_force", "no_policy", "no_instrument", "secondary_only",
)

_FULL_DATE = r"^\d{4}-\d{2}-\d{2}$"
_VALUE_BY_PRECISION = {"day": re.compile(_FULL_DATE), "month": re.compile(r"^\d{4}-\d{2}$"), "year": re.compile(r"^\d{4}$")}

_STR = {"type": "string", "minLength": 1}
_STRS = {"type": "array", "items": _STR}
_ID = r"^[a-z][a-z0-9-]*$"

PRECISE_DATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["value", "precision", "what"],
    "additionalProperties": False,
    "properties": {
        "value": {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"},
        "precision": {"enum": list(PRECISIONS)},
        "what": _STR,
    },
}
CITATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text", "identifiers", "retrieved", "primary"],
    "additionalProperties": False,
    "properties": {
        "text": _STR,
        "identifiers": _STRS,
        "url": {"type": "string", "pattern": r"^https?://\S+$"},
        "retrieved": {"type": "string", "pattern": _FULL_DATE},
        "primary": {"type": "boolean"},
    },
}
DUTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["binds", "kind", "text"],
    "additionalProperties": False,
    "properties": {
        "binds": {**_STRS, "minItems": 1},
        "kind": _STR,
        "text": _STR,
        "action": _STR,
        "condition": _STR,
        "deadline": PRECISE_DATE_SCHEMA,
        "kev_due_date": {"type": "boolean"},
    },
}
INSTRUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id", "jurisdiction", "authority", "title", "force", "makers", "covers", "covers_oem", "covered_entities",
        "explanation", "announced", "verification", "citations", "duty",
    ],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Z][A-Z0-9-]+$"},
        "jurisdiction": _STR,
        "authority": _STR,
        "title": _STR,
        "force": _STR,
        "makers": {"type": "array", "items": {"enum": list(RESTRICTED_MAKERS)}, "uniqueItems": True},
        "covers": _STR,
        "covers_oem": {"oneOf": [{"type": "boolean"}, {"const": "unclear"}]},
        "covered_entities": {**_STRS, "minItems": 1},
        "covered_products": _STR,
        "product_models": {**_STRS, "minItems": 1},
        "product_brands": {**_STRS, "minItems": 1},
        "explanation": _STR,
        **{key: PRECISE_DATE_SCHEMA for key in DATE_KEYS},
        "superseded_by": _STR,
        "verification": {"enum": list(VERIFICATION)},
        "verification_note": _STR,
        "quote": _STR,
        "citations": {"type": "array", "minItems": 1, "items": CITATION_SCHEMA},
        "duty": {"type": "array", "minItems": 1, "items": DUTY_SCHEMA},
    },
}
_DESCRIBED = {"type": "object", "required": ["description"], "additionalProperties": False,
              "properties": {"description": _STR}}
RESTRICTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "version", "as_of", "makers", "force", "covers", "duty_kind", "audience", "wording", "instrument", "policy",
    ],
    "additionalProperties": False,
    "properties": {
        "version": _STR,
        "as_of": {"type": "string", "pattern": _FULL_DATE},
        "makers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                m: {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {"name": _STR, "legal_names": _STRS},
                }
                for m in RESTRICTED_MAKERS
            },
        },
        "force": {"type": "object", "minProperties": 1, "additionalProperties": _DESCRIBED},
        "covers": {
            "type": "object",
            "required": [KEV_COVERS, "named-products"],
            "additionalProperties": {
                "type": "object", "required": ["description", "reach"], "additionalProperties": False,
                "properties": {"description": _STR, "reach": _STR},
            },
        },
        "duty_kind": {
            "type": "object",
            "required": [NO_DUTY, REMEDIATION],
            "additionalProperties": {
                "type": "object", "required": ["description", "restricts"], "additionalProperties": False,
                "properties": {"description": _STR, "restricts": {"type": "boolean"}},
            },
        },
        "audience": {"type": "object", "required": [NO_AUDIENCE], "additionalProperties": _DESCRIBED},
        "wording": {"type": "object", "required": list(REQUIRED_WORDING), "additionalProperties": _STR},
        "note": {
            "type": "array",
            "items": {
                "type": "object", "required": ["device_types", "instruments", "text", "source"],
                "additionalProperties": False,
                "properties": {
                    "device_types": {"type": "array", "minItems": 1, "items": {"enum": [t.value for t in DeviceType]}},
                    "instruments": {**_STRS, "minItems": 1},
                    "text": _STR,
                    "source": _STR,
                },
            },
        },
        "recommendation": {
            "type": "array",
            "items": {
                "type": "object", "required": ["id", "when", "text", "source"], "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": _ID},
                    "when": {"enum": list(RECOMMENDATION_WHEN)},
                    "text": _STR,
                    "source": _STR,
                },
            },
        },
        "instrument": {"type": "array", "minItems": 1, "items": INSTRUMENT_SCHEMA},
        "policy": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "who", "audiences"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": _ID},
                    "who": _STR,
                    "audiences": {**_STRS, "minItems": 1, "uniqueItems": True},
                },
            },
        },
        "retired_policies": {"type": "object", "additionalProperties": _STR},
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
    """``US-889-A``, or ``UK-DHSC (S)`` when the entry was not read in its primary source.

    Instruments say ``primary``/``secondary-only``; KEV entries ``V``/``S``/``U``."""
    mark = {"primary": "", "secondary-only": "S", "V": ""}.get(verification, verification)
    return f"{instrument_id} ({mark})" if mark else instrument_id


# --------------------------------------------------------------------------- dates with precision


@dataclass(frozen=True, slots=True)
class PreciseDate:
    """A date as its source gives it: ``2025-04`` is April 2025, never a made-up 30 April.

    A month- or year-precision deadline is past only once the whole month or year has ended.
    """

    value: str
    precision: str
    what: str = ""

    @property
    def first_day(self) -> date:
        parts = [int(p) for p in self.value.split("-")]
        return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)

    @property
    def last_day(self) -> date:
        parts = [int(p) for p in self.value.split("-")]
        if self.precision == "day":
            return date(*parts)
        if self.precision == "month":
            return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
        return date(parts[0], 12, 31)

    def past(self, day: date) -> bool:
        """True when ``day`` falls after the whole period (so a deadline has passed)."""
        return day > self.last_day

    def __str__(self) -> str:
        return self.value

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "precision": self.precision, "what": self.what}

    @classmethod
    def parse(cls, raw: Mapping[str, str], path: Path, entry: str, key: str) -> PreciseDate:
        value, precision = raw["value"], raw["precision"]
        if not _VALUE_BY_PRECISION[precision].match(value):
            raise DataFileError(str(path), f"{key}: {value!r} does not have {precision} precision "
                                "(YYYY-MM-DD, YYYY-MM or YYYY)", entry=entry)
        made = cls(value, precision, raw.get("what", ""))
        try:
            valid = made.first_day <= made.last_day  # computing both days checks that they exist
        except ValueError:
            valid = False
        if not valid:
            raise DataFileError(str(path), f"{key}: {value!r} is not a real date", entry=entry) from None
        return made


# --------------------------------------------------------------------------- typed data


@dataclass(frozen=True, slots=True)
class Citation:
    text: str
    identifiers: tuple[str, ...]
    retrieved: date
    primary: bool
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "identifiers": list(self.identifiers), "url": self.url,
                "retrieved": self.retrieved.isoformat(), "primary": self.primary}


@dataclass(frozen=True, slots=True)
class Duty:
    """What an instrument requires of whom: the audiences it binds, the kind of duty and its words."""

    binds: tuple[str, ...]
    kind: str
    text: str
    restricts: bool
    """The duty concerns the bound party's own devices (buying, keeping, using, reporting, patching)."""
    action: str | None = None
    condition: str | None = None
    deadline: PreciseDate | None = None
    kev_due_date: bool = False
    """The deadline is each KEV entry's due date (CISA BOD 22-01)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "binds": list(self.binds), "kind": self.kind, "text": self.text, "restricts": self.restricts,
            "action": self.action, "condition": self.condition,
            "deadline": self.deadline.to_dict() if self.deadline else None, "kev_due_date": self.kev_due_date,
        }


class InForce(str, enum.Enum):
    """Whether an instrument is in force at a given date."""

    IN_FORCE = "in force"
    NOT_YET = "not yet in force"
    ENDED = "no longer in force"


@dataclass(frozen=True, slots=True)
class Instrument:
    id: str
    jurisdiction: str
    authority: str
    title: str
    force: str
    makers: tuple[str, ...]
    covers: str
    covers_oem: bool | str
    covered_entities: tuple[str, ...]
    explanation: str
    dates: Mapping[str, PreciseDate]
    duties: tuple[Duty, ...]
    verification: str
    citations: tuple[Citation, ...]
    covered_products: str | None = None
    product_models: tuple[re.Pattern[str], ...] = ()
    product_brands: tuple[str, ...] = ()
    superseded_by: str | None = None
    verification_note: str | None = None
    quote: str | None = None

    @property
    def name(self) -> str:
        return self.title

    @property
    def label(self) -> str:
        """Short label for tables: the id, marked ``(S)`` when read in secondary sources only."""
        return verified_label(self.id, self.verification)

    @property
    def binds(self) -> tuple[str, ...]:
        """Every audience some duty binds (``none`` for a list that binds nobody)."""
        return tuple(dict.fromkeys(a for d in self.duties for a in d.binds))

    @property
    def kev_based(self) -> bool:
        return self.covers == KEV_COVERS

    @property
    def restricts(self) -> bool:
        """Some duty concerns devices (the rest are lists, export, investment or marketing rules)."""
        return any(d.restricts for d in self.duties)

    def duties_for(self, audiences: frozenset[str] | set[str]) -> tuple[Duty, ...]:
        return tuple(d for d in self.duties if audiences & set(d.binds))

    def in_force(self, day: date) -> InForce:
        """In force from its ``effective`` date (else ``announced``) until its ``ended`` date.

        A start known only to the month or year counts from the first day of that period, an end
        only after the whole period: when the source does not say, the instrument is shown.
        """
        start = self.dates.get("effective") or self.dates.get("announced")
        end = self.dates.get("ended")
        if start is not None and day < start.first_day:
            return InForce.NOT_YET
        if end is not None and end.past(day):
            return InForce.ENDED
        return InForce.IN_FORCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "authority": self.authority,
            "title": self.title,
            "force": self.force,
            "makers": list(self.makers),
            "covers": self.covers,
            "covers_oem": self.covers_oem,
            "covered_entities": list(self.covered_entities),
            "covered_products": self.covered_products,
            "product_models": [p.pattern for p in self.product_models],
            "product_brands": list(self.product_brands),
            "explanation": self.explanation,
            "dates": {key: value.to_dict() for key, value in self.dates.items()},
            "duties": [d.to_dict() for d in self.duties],
            "superseded_by": self.superseded_by,
            "verification": self.verification,
            "verification_note": self.verification_note,
            "quote": self.quote,
            "citations": [c.to_dict() for c in self.citations],
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """Who the user is: the audiences that select the instruments binding them."""

    name: str
    who: str
    audiences: tuple[str, ...]

    @property
    def description(self) -> str:
        return self.who


@dataclass(frozen=True, slots=True)
class Recommendation:
    id: str
    when: str
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class Note:
    device_types: tuple[str, ...]
    instruments: tuple[str, ...]
    text: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The data's words for legal force, coverage, duty kinds and audiences, each with its meaning."""

    force: Mapping[str, str]
    covers: Mapping[str, str]
    reach: Mapping[str, str]
    duty_kinds: Mapping[str, str]
    audiences: Mapping[str, str]


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
    as_of: date
    makers: Mapping[str, str]
    """Display name of each restricted maker id."""
    instruments: tuple[Instrument, ...]
    policies: tuple[Policy, ...]
    vocabulary: Vocabulary
    wording: Mapping[str, str]
    notes: tuple[Note, ...]
    recommendations: tuple[Recommendation, ...]
    retired_policies: Mapping[str, str]
    brands: MakersData
    """``makers.toml``: which brands are whose (the one place maker-brand relations live)."""
    kev: tuple[KevEntry, ...]
    kev_version: str
    kev_as_of: date
    kev_catalog: str

    def instrument(self, instrument_id: str) -> Instrument:
        for item in self.instruments:
            if item.id == instrument_id:
                return item
        raise KeyError(instrument_id)

    def policy(self, name: str) -> Policy:
        for item in self.policies:
            if item.name == name:
                return item
        raise KeyError(name)

    def versions(self) -> dict[str, str]:
        """The data versions every report carries."""
        return {
            "restrictions_version": self.version,
            "restrictions_as_of": self.as_of.isoformat(),
            "kev_version": self.kev_version,
            "kev_as_of": self.kev_as_of.isoformat(),
        }

    def stale(self, day: date, max_age_days: int) -> tuple[str, ...]:
        """One warning per data file older than ``max_age_days`` at ``day``."""
        warnings = []
        for what, as_of in (("restrictions data", self.as_of), ("KEV data", self.kev_as_of)):
            age = (day - as_of).days
            if age > max_age_days:
                warnings.append(f"the {what} is {age} days old at {day.isoformat()} (as of {as_of.isoformat()}; "
                                f"warned above {max_age_days} days): instruments or entries may have changed since")
        return tuple(warnings)

    def word(self, key: str, **values: str) -> str:
        return self.wording[key].format(**values)

    def maker_name(self, maker: str) -> str:
        return self.makers.get(maker, maker)

    def brand(self, name: str | None) -> Brand | None:
        return self.brands.brand(name)

    def is_group_brand(self, maker: str, brand: str | None) -> bool:
        """True when ``brand`` is the maker's own or its group's (a unit under it is not an OEM unit)."""
        if not brand:
            return True
        known = self.brand(brand)
        return known is not None and known.in_group_of(maker)


# --------------------------------------------------------------------------- loading


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


def _citation(path: Path, entry: str, raw: Mapping[str, Any], verification: str, as_of: date) -> Citation:
    url = raw.get("url")
    for text in (raw["text"], url or ""):
        if is_wiki(text):
            raise DataFileError(str(path), f"a wiki is not a source: {text!r}", entry=entry)
    if url is None and verification == "primary":
        raise DataFileError(str(path), f"citation {raw['text']!r} has no url: only an instrument read in "
                            "secondary sources only may cite what it cannot link", entry=entry)
    retrieved = _full_date(path, entry, raw["retrieved"])
    if retrieved > as_of:
        raise DataFileError(str(path), f"citation retrieved {retrieved} after the data's as_of {as_of}", entry=entry)
    return Citation(raw["text"], tuple(raw["identifiers"]), retrieved, raw["primary"], url)


def _duty(path: Path, entry: str, raw: Mapping[str, Any], kinds: Mapping[str, Any], audiences: Mapping[str, Any],
          covers: str) -> Duty:
    kind = raw["kind"]
    if kind not in kinds:
        raise DataFileError(str(path), f"duty kind {kind!r} is not a [duty_kind] (valid: {', '.join(kinds)})", entry=entry)
    restricts = bool(kinds[kind]["restricts"])
    for audience in raw["binds"]:
        if audience not in audiences:
            raise DataFileError(str(path), f"binds unknown audience {audience!r} (declare it in [audience.{audience}])",
                                entry=entry)
    if NO_AUDIENCE in raw["binds"] and (kind != NO_DUTY or len(raw["binds"]) > 1):
        raise DataFileError(str(path), "a duty that binds 'none' is of kind 'none' and binds nobody else", entry=entry)
    if restricts and "action" not in raw:
        raise DataFileError(str(path), f"a {kind} duty needs the action it requires", entry=entry)
    if not restricts and "action" in raw:
        raise DataFileError(str(path), f"a {kind} duty concerns no device: it may not carry an action", entry=entry)
    deadline = PreciseDate.parse(raw["deadline"], path, entry, "deadline") if "deadline" in raw else None
    if deadline is not None and not restricts:
        raise DataFileError(str(path), f"a {kind} duty concerns no device: it may not set a deadline", entry=entry)
    kev_due = bool(raw.get("kev_due_date", False))
    if kev_due and (kind != REMEDIATION or covers != KEV_COVERS or deadline is not None):
        raise DataFileError(str(path), "kev_due_date belongs to a remediation duty of a kev-vulnerabilities "
                            "instrument without a deadline of its own", entry=entry)
    return Duty(tuple(raw["binds"]), kind, raw["text"], restricts, raw.get("action"), raw.get("condition"),
                deadline, kev_due)


def _instrument(path: Path, raw: Mapping[str, Any], data: Mapping[str, Any], as_of: date) -> Instrument:
    entry = raw["id"]
    if raw["force"] not in data["force"]:
        raise DataFileError(str(path), f"force {raw['force']!r} is not a [force] (valid: {', '.join(data['force'])})",
                            entry=entry)
    covers = raw["covers"]
    if covers not in data["covers"]:
        raise DataFileError(str(path), f"covers {covers!r} is not a [covers] (valid: {', '.join(data['covers'])})",
                            entry=entry)
    if (covers == "named-products") != ("covered_products" in raw):
        raise DataFileError(str(path), "covered_products is given exactly when covers = 'named-products'", entry=entry)
    if ("product_models" in raw or "product_brands" in raw) and covers != "named-products":
        raise DataFileError(str(path), "product_models/product_brands belong to a named-products instrument", entry=entry)
    if covers == KEV_COVERS and raw["makers"]:
        raise DataFileError(str(path), "a kev-vulnerabilities instrument names no maker (it reaches devices "
                            "through their KEV matches)", entry=entry)
    for maker in raw["makers"]:
        if maker not in data["makers"]:
            raise DataFileError(str(path), f"maker {maker!r} has no [makers.{maker}] table", entry=entry)
    dates = {key: PreciseDate.parse(raw[key], path, entry, key) for key in DATE_KEYS if key in raw}
    start = dates.get("effective") or dates["announced"]
    if "ended" in dates and dates["ended"].last_day < start.first_day:
        raise DataFileError(str(path), "ended before it came into force", entry=entry)
    duties = tuple(_duty(path, entry, d, data["duty_kind"], data["audience"], covers) for d in raw["duty"])
    if raw["force"] in ("list", "proposal", "ruling", "none") and any(d.restricts for d in duties):
        raise DataFileError(str(path), f"a {raw['force']} imposes no duty about devices", entry=entry)
    citations = tuple(_citation(path, entry, c, raw["verification"], as_of) for c in raw["citations"])
    if raw["verification"] == "primary" and not any(c.primary for c in citations):
        raise DataFileError(str(path), "verification is 'primary' but no citation is a primary source", entry=entry)
    return Instrument(
        id=entry,
        jurisdiction=raw["jurisdiction"],
        authority=raw["authority"],
        title=raw["title"],
        force=raw["force"],
        makers=tuple(raw["makers"]),
        covers=covers,
        covers_oem=raw["covers_oem"],
        covered_entities=tuple(raw["covered_entities"]),
        explanation=raw["explanation"],
        dates=dates,
        duties=duties,
        verification=raw["verification"],
        citations=citations,
        covered_products=raw.get("covered_products"),
        product_models=tuple(_compile(path, entry, p) for p in raw.get("product_models", ())),
        product_brands=tuple(raw.get("product_brands", ())),
        superseded_by=raw.get("superseded_by"),
        verification_note=raw.get("verification_note"),
        quote=raw.get("quote"),
    )


def load_restrictions(path: Path) -> tuple[dict[str, Any], tuple[Instrument, ...], tuple[Policy, ...]]:
    data = read_data_toml(path)
    check_data_file(path, data, RESTRICTIONS_SCHEMA, ("instrument", "policy", "note", "recommendation"))
    as_of = _full_date(path, "as_of", data["as_of"])
    instruments: list[Instrument] = []
    seen: set[str] = set()
    for raw in data["instrument"]:
        if raw["id"] in seen:
            raise DataFileError(str(path), "duplicate instrument id", entry=raw["id"])
        seen.add(raw["id"])
        instruments.append(_instrument(path, raw, data, as_of))
    for item in instruments:
        if item.superseded_by is not None and item.superseded_by not in seen:
            raise DataFileError(str(path), f"superseded_by names unknown instrument {item.superseded_by!r}", entry=item.id)
    policies: list[Policy] = []
    names: set[str] = set()
    retired = data.get("retired_policies", {})
    for raw in data["policy"]:
        if raw["name"] in names or raw["name"] in retired:
            raise DataFileError(str(path), "duplicate or retired policy name", entry=raw["name"])
        names.add(raw["name"])
        for audience in raw["audiences"]:
            if audience not in data["audience"] or audience == NO_AUDIENCE:
                raise DataFileError(str(path), f"names unknown audience {audience!r}", entry=raw["name"])
        policies.append(Policy(raw["name"], raw["who"], tuple(raw["audiences"])))
    used = {a for i in instruments for a in i.binds} | {a for p in policies for a in p.audiences}
    for audience in data["audience"]:
        if audience not in used:
            raise DataFileError(str(path), "declared but bound by no instrument and chosen by no policy",
                                entry=f"audience.{audience}")
    for note in data.get("note", ()):
        if is_wiki(note["source"]):
            raise DataFileError(str(path), "a wiki is not a source", entry=note["text"][:40])
        for ref in note["instruments"]:
            if ref not in seen:
                raise DataFileError(str(path), f"note names unknown instrument {ref!r}", entry=note["text"][:40])
    return data, tuple(instruments), tuple(policies)


def load_kev(path: Path) -> tuple[dict[str, Any], tuple[KevEntry, ...]]:
    data = read_data_toml(path)
    check_data_file(path, data, KEV_SCHEMA, ("cve",))
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


def load(
    restrictions_path: Path | str | None = None,
    kev_path: Path | str | None = None,
    makers_path: Path | str | None = None,
) -> RestrictionsData:
    """Read and validate the data files (the packaged ones unless paths are given)."""
    r_path = Path(restrictions_path) if restrictions_path else RESTRICTIONS_FILE
    k_path = Path(kev_path) if kev_path else KEV_FILE
    raw, instruments, policies = load_restrictions(r_path)
    kev_raw, kev = load_kev(k_path)
    brands = load_makers(str(makers_path) if makers_path else None)
    log.debug("loaded %d instruments, %d policies, %d KEV entries", len(instruments), len(policies), len(kev))
    return RestrictionsData(
        version=raw["version"],
        as_of=_date(raw["as_of"]),
        makers={m: v["name"] for m, v in raw["makers"].items()},
        instruments=instruments,
        policies=policies,
        vocabulary=Vocabulary(
            force={k: v["description"] for k, v in raw["force"].items()},
            covers={k: v["description"] for k, v in raw["covers"].items()},
            reach={k: v["reach"] for k, v in raw["covers"].items()},
            duty_kinds={k: v["description"] for k, v in raw["duty_kind"].items()},
            audiences={k: v["description"] for k, v in raw["audience"].items()},
        ),
        wording=dict(raw["wording"]),
        notes=tuple(Note(tuple(n["device_types"]), tuple(n["instruments"]), n["text"], n["source"])
                    for n in raw.get("note", ())),
        recommendations=tuple(Recommendation(r["id"], r["when"], r["text"], r["source"])
                              for r in raw.get("recommendation", ())),
        retired_policies=dict(raw.get("retired_policies", {})),
        brands=brands,
        kev=kev,
        kev_version=kev_raw["version"],
        kev_as_of=_full_date(k_path, "as_of", kev_raw["as_of"]),
        kev_catalog=kev_raw.get("catalog", "CISA KEV"),
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
