"""Load and validate the fingerprint database (``fingerprints/*.toml``).

File kinds (all TOML, read with :mod:`tomllib`, validated against JSON schemas with jsonschema):

* ``makers.toml`` -- makers, brands with aliases and their relation to a maker, DB ``version``/``as_of``.
* ``oui.toml`` -- exact IEEE organisation names and curated prefixes mapped to makers/brands.
* every other ``*.toml`` -- a *rule file*: ``matches = "<field key>"`` and ``[[rule]]`` entries. A
  rule may carry its own ``matches`` when a file groups the fields of one reply (``sadp.toml``,
  ``dhip.toml``). Every key matched must be one some protocol emits: the caller says which keys
  are declared (``declared``; camsweep passes ``camsweep.protocols.declares``, the field keys of
  the protocol declarations, fingerprints/README.md "Field keys"), so a rule that could never fire is
  refused instead of passing its own examples.

Rule files are read in name order and rules keep their file order, so the DB order is stable.
Any problem raises :class:`camsweep.errors.DataFileError` naming the file, the rule and the problem.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from camsweep.errors import DataFileError
from camsweep.types import DeviceType, Manufacturer, Tier

from ._paths import path_problem

log = logging.getLogger("camsweep")

DATA_DIR = Path(__file__).resolve().parent

EXTRACTABLE = ("model", "firmware", "serial", "brand", "device_type")
"""Named regex groups a rule may use; their values are copied into the verdict."""

RELATIONS = ("house", "subsidiary", "affiliate", "oem", "former-subsidiary", "former-oem", "mix", "former-owner")
"""How a brand relates to a maker (``makers.toml`` explains each). What follows from each:"""
GROUP_RELATIONS = frozenset({"house", "subsidiary", "affiliate"})
"""The maker's own group: a unit under such a label is the maker's own, not an OEM unit."""
LABEL_NAMES_MAKER = frozenset({"house", "subsidiary"})
"""The label alone says who made the unit."""
BRAND_ALONE_CHECK = frozenset({"oem", "former-subsidiary", "former-oem"})
"""A unit under the label with no maker evidence needs a manual check (it may be the maker's)."""
WITH_EVIDENCE_CHECK = frozenset({"mix"})
"""A manual check only when the device's other evidence points to the maker."""
RELATION_WORDS = {
    "oem": "{brand} relabels {maker} units",
    "former-subsidiary": "{brand} was a {maker} subsidiary",
    "former-oem": "{brand} used to relabel {maker} units",
    "mix": "{brand} has sold {maker}-made units among others",
    "affiliate": "{brand} is a {maker} affiliate",
    "former-owner": "{brand} sold a product line to {maker}",
}
"""How a verdict or finding names a brand's relation to a maker (house and subsidiary need no words)."""

NOT_RULE_FILES = frozenset({"makers.toml", "oui.toml"})
"""Data files with their own schema. Other TOML files without ``rule``/``matches`` keys (the
restrictions and KEV data that scanner/findings.py reads from the same package) are skipped."""

_FIELD_KEY = r"^[a-z0-9_]+(\.[a-z0-9_\-]+)+$"
_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"

_EXAMPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["value", "source"],
    "additionalProperties": False,
    "properties": {
        "value": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 3},
        "note": {"type": "string"},
        **{name: {"type": "string"} for name in EXTRACTABLE},
    },
}
_COUNTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["value", "source"],
    "additionalProperties": False,
    "properties": {
        "value": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 3},
        "note": {"type": "string"},
    },
}
_MATCHES_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "pattern": _FIELD_KEY},
        {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "pattern": _FIELD_KEY}},
    ]
}
RULE_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["matches", "rule"],
    "additionalProperties": False,
    "properties": {
        "matches": _MATCHES_SCHEMA,
        "description": {"type": "string"},
        "rule": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "pattern", "tier", "certainty", "description", "source", "examples"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": _ID},
                    "matches": _MATCHES_SCHEMA,
                    "pattern": {"type": "string", "minLength": 1},
                    "maker": {"type": "string", "pattern": _ID},
                    "brand": {"type": "string", "minLength": 1},
                    "device_type": {"enum": [t.value for t in DeviceType]},
                    "tier": {"enum": [t.value for t in Tier]},
                    "certainty": {"type": "number", "minimum": 0, "maximum": 1},
                    "description": {"type": "string", "minLength": 3},
                    "source": {"type": "string", "minLength": 3},
                    "examples": {"type": "array", "minItems": 1, "items": _EXAMPLE_SCHEMA},
                    "counter_examples": {"type": "array", "items": _COUNTER_SCHEMA},
                    "confirm_paths": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
                    "login_path": {"type": "string"},
                    "oem": {"type": "boolean"},
                },
            },
        },
    },
}
_PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"
"""A date as precise as its source: ``2018``, ``2018-02`` or ``2018-02-06``."""
_SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text", "retrieved"],
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "minLength": 3},
        "url": {"type": "string", "pattern": r"^https?://"},
        "retrieved": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    },
}
MAKERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "as_of", "maker", "brand"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "string", "minLength": 1},
        "as_of": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "maker": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name", "source"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": _ID},
                    "name": {"type": "string"},
                    "legal_name": {"type": "string"},
                    "source": {"type": "string", "minLength": 3},
                },
            },
        },
        "brand": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "relation"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "aliases": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "relation": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["maker", "relation", "sources"],
                            "additionalProperties": False,
                            "properties": {
                                "maker": {"type": "string", "pattern": _ID},
                                "relation": {"enum": list(RELATIONS)},
                                "period": {"type": "string", "minLength": 1},
                                "since": {"type": "string", "pattern": _PARTIAL_DATE},
                                "until": {"type": "string", "pattern": _PARTIAL_DATE},
                                "note": {"type": "string", "minLength": 1},
                                "sources": {"type": "array", "minItems": 1, "items": _SOURCE_SCHEMA},
                            },
                        },
                    },
                },
            },
        },
    },
}
_ORG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "org", "certainty", "source"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": _ID},
        "org": {"type": "string", "minLength": 1},
        "maker": {"type": "string", "pattern": _ID},
        "brand": {"type": "string"},
        "certainty": {"type": "number", "minimum": 0, "maximum": 0.4},
        "source": {"type": "string", "minLength": 3},
        "examples": {"type": "array", "items": {"type": "string", "pattern": r"^[0-9A-F]{6}$"}},
    },
}
OUI_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["matches", "ieee", "org", "prefix"],
    "additionalProperties": False,
    "properties": {
        "matches": {"const": "mac.address"},
        "description": {"type": "string"},
        "ieee": {
            "type": "object",
            "required": ["netaddr_version", "snapshot"],
            "additionalProperties": False,
            "properties": {"netaddr_version": {"type": "string"}, "snapshot": {"type": "string"}},
        },
        "org": {"type": "array", "items": _ORG_SCHEMA},
        "prefix": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "prefix", "org", "certainty", "source"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": _ID},
                    "prefix": {"type": "string", "pattern": r"^[0-9A-F]{6}([0-9A-F]{1,3})?$"},
                    "org": {"type": "string"},
                    "maker": {"type": "string", "pattern": _ID},
                    "brand": {"type": "string"},
                    "certainty": {"type": "number", "minimum": 0, "maximum": 0.4},
                    "source": {"type": "string", "minLength": 3},
                },
            },
        },
        "counter_examples": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["org", "source"],
                "additionalProperties": False,
                "properties": {"org": {"type": "string"}, "prefix": {"type": "string"}, "source": {"type": "string"}},
            },
        },
    },
}


def normalise_name(text: str) -> str:
    """Brand/org comparison key: case-folded, only letters and digits (``CP_PLUS`` == ``CP PLUS``)."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


@dataclass(frozen=True, slots=True)
class Example:
    value: str
    source: str
    expect: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule:
    """One fingerprint: a regex on one field key, what it says, and the examples that test it."""

    id: str
    file: str
    fields: tuple[str, ...]
    pattern: re.Pattern[str]
    tier: Tier
    certainty: float
    description: str
    source: str
    maker: str | None = None
    brand: str | None = None
    device_type: DeviceType | None = None
    examples: tuple[Example, ...] = ()
    counter_examples: tuple[Example, ...] = ()
    confirm_paths: tuple[str, ...] = ()
    """Read-only pages the HTTP probe asks (one GET each) once this rule matched one of its replies."""
    login_path: str | None = None
    """The one page read with the user's credentials (``--credentials``) once this rule matched."""
    oem: bool = False
    """A match says the unit is an OEM build: the verdict never gives it the maker's own brand."""

    @property
    def field(self) -> str:
        return self.fields[0]

    def match(self, value: str) -> dict[str, str] | None:
        """Extractions (named groups plus fixed brand/device_type) if the rule matches, else None."""
        found = self.pattern.search(value)
        if found is None:
            return None
        return self.extractions(found)

    def extractions(self, found: re.Match[str]) -> dict[str, str]:
        """Named groups of a match plus the rule's fixed brand/device_type."""
        extracted = {k: v.strip() for k, v in found.groupdict().items() if v and v.strip()}
        if self.brand and "brand" not in extracted:
            extracted["brand"] = self.brand
        if self.device_type and "device_type" not in extracted:
            extracted["device_type"] = self.device_type.value
        return extracted


@dataclass(frozen=True, slots=True)
class Maker:
    id: str
    name: str
    source: str
    legal_name: str = ""

    @property
    def manufacturer(self) -> Manufacturer:
        """The verdict enum: a restricted maker by its id, every other maker is ``other``."""
        return Manufacturer.of(self.id)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a maker-brand relation is read: what the source says, its address, when it was read."""

    text: str
    retrieved: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class BrandRelation:
    """One relation of a brand to a maker (``makers.toml`` ``[[brand.relation]]``), with its sources."""

    maker: str
    relation: str
    sources: tuple[Source, ...]
    period: str | None = None
    note: str | None = None
    since: str | None = None
    until: str | None = None
    """When the relation began and ended, as precise as the source (``2018-02``, ``2023``)."""


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    relations: tuple[BrandRelation, ...]
    aliases: tuple[str, ...] = ()

    @property
    def maker(self) -> str:
        """The maker of the brand's first relation (its owner for a house or subsidiary brand)."""
        return self.relations[0].maker

    @property
    def relation(self) -> str:
        return self.relations[0].relation

    @property
    def makers(self) -> tuple[str, ...]:
        """Every maker the brand has a relation with."""
        return tuple(r.maker for r in self.relations)

    def relation_to(self, maker: str | None) -> BrandRelation | None:
        return next((r for r in self.relations if r.maker == maker), None)

    @property
    def owner(self) -> str | None:
        """The maker whose own brand this is when the label alone says who made the unit, else None."""
        return next((r.maker for r in self.relations if r.relation in LABEL_NAMES_MAKER), None)

    @property
    def label_implies_maker(self) -> bool:
        """Whether the label alone says who made the unit (never for OEM relabellers or mixed sourcing)."""
        return self.owner is not None

    def in_group_of(self, maker: str) -> bool:
        """Whether this is the maker's own brand or a brand of its group (not an OEM label)."""
        relation = self.relation_to(maker)
        return relation is not None and relation.relation in GROUP_RELATIONS


@dataclass(frozen=True, slots=True)
class OuiEntry:
    id: str
    org: str
    certainty: float
    source: str
    maker: str | None = None
    brand: str | None = None
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class OuiTable:
    netaddr_version: str
    snapshot: str
    orgs: Mapping[str, OuiEntry]  # normalised org name -> entry
    prefixes: tuple[OuiEntry, ...]  # longest prefix first
    counter_orgs: tuple[str, ...] = ()


@dataclass(frozen=True)
class FingerprintDB:
    """All rules, makers, brands and OUI data; ``version``/``as_of`` say which data produced a verdict."""

    directory: str
    version: str
    as_of: date
    rules: tuple[Rule, ...]
    makers: Mapping[str, Maker]
    brands: Mapping[str, Brand]  # normalised name or alias -> brand
    oui: OuiTable
    _by_field: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for key in rule.fields:
                grouped.setdefault(key, []).append(rule)
        object.__setattr__(self, "_by_field", {key: tuple(value) for key, value in grouped.items()})

    def rules_for(self, field_key: str) -> tuple[Rule, ...]:
        return self._by_field.get(field_key, ())

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_field))

    def brand(self, name: str | None) -> Brand | None:
        return self.brands.get(normalise_name(name)) if name else None

    def maker(self, maker_id: str | None) -> Maker | None:
        return self.makers.get(maker_id) if maker_id else None

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(str(path), f"invalid TOML: {exc}") from None
    except OSError as exc:
        raise DataFileError(str(path), f"cannot read: {exc.strerror or exc}") from None


def check_data_file(path: Path | str, data: Mapping[str, Any], schema: Mapping[str, Any],
                    list_keys: Sequence[str] = ()) -> None:
    """Raise ``DataFileError`` for the first way ``data`` (a decoded data file: fingerprints, makers,
    OUI, and the core's restrictions and KEV files) breaks ``schema``.

    The error names the entry: an item of one of the arrays ``list_keys`` by its ``id`` or
    ``name`` (else ``<key> #<n>``), a member of a top-level table as ``<table>.<member>``; the
    problem gives the path inside it."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    error = errors[0]
    where = list(error.absolute_path)
    entry: str | None = None
    if len(where) >= 2 and where[0] in list_keys and isinstance(where[1], int):
        item = data[where[0]][where[1]]
        named = (item.get("id") or item.get("name")) if isinstance(item, Mapping) else None
        entry = str(named or f"{where[0]} #{where[1] + 1}")
        where = where[2:]
    elif len(where) >= 2 and isinstance(data.get(str(where[0])), Mapping):
        entry = f"{where[0]}.{where[1]}"
        where = where[2:]
    location = ".".join(str(p) for p in where)
    message = ("unknown key: " if error.validator == "additionalProperties" else "") + error.message
    raise DataFileError(str(path), f"{location + ': ' if location else ''}{message}", entry=entry)


def _load_makers(path: Path) -> tuple[str, date, dict[str, Maker], dict[str, Brand]]:
    data = _read_toml(path)
    check_data_file(path, data, MAKERS_SCHEMA, ("maker", "brand"))
    makers: dict[str, Maker] = {}
    for item in data["maker"]:
        if item["id"] in makers:
            raise DataFileError(str(path), "duplicate maker id", entry=item["id"])
        makers[item["id"]] = Maker(item["id"], item["name"], item["source"], item.get("legal_name", ""))
    brands: dict[str, Brand] = {}
    for item in data["brand"]:
        brand = Brand(item["name"], tuple(_relation(path, item["name"], raw, makers) for raw in item["relation"]),
                      tuple(item.get("aliases", ())))
        if len(set(brand.makers)) != len(brand.makers):
            raise DataFileError(str(path), "two relations to the same maker", entry=item["name"])
        if sum(r.relation in LABEL_NAMES_MAKER for r in brand.relations) > 1:
            raise DataFileError(str(path), "a label can name one maker only (house/subsidiary twice)", entry=item["name"])
        for name in (brand.name, *brand.aliases):
            key = normalise_name(name)
            if key in brands and brands[key] is not brand:
                raise DataFileError(str(path), f"name or alias {name!r} used twice", entry=item["name"])
            brands[key] = brand
    try:
        as_of = date.fromisoformat(data["as_of"])
    except ValueError as exc:
        raise DataFileError(str(path), f"as_of: {exc}") from None
    return data["version"], as_of, makers, brands


def _relation(path: Path, entry: str, raw: Mapping[str, Any], makers: Mapping[str, Maker]) -> BrandRelation:
    if raw["maker"] not in makers:
        raise DataFileError(str(path), f"unknown maker {raw['maker']!r}", entry=entry)
    sources = []
    for source in raw["sources"]:
        if is_wiki(source["text"]) or is_wiki(source.get("url", "")):
            raise DataFileError(str(path), f"a wiki is not a source: {source.get('url') or source['text']!r}", entry=entry)
        try:
            date.fromisoformat(source["retrieved"])
        except ValueError:
            raise DataFileError(str(path), f"retrieved {source['retrieved']!r} is not a real date", entry=entry) from None
        sources.append(Source(source["text"], source["retrieved"], source.get("url")))
    for key in ("since", "until"):
        if key in raw:
            parts = [int(p) for p in raw[key].split("-")]
            try:
                date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
            except ValueError:
                raise DataFileError(str(path), f"{key} {raw[key]!r} is not a real date", entry=entry) from None
    if raw.get("since", "") > raw.get("until", "9999"):
        raise DataFileError(str(path), "since is after until", entry=entry)
    return BrandRelation(raw["maker"], raw["relation"], tuple(sources), raw.get("period"), raw.get("note"),
                         raw.get("since"), raw.get("until"))


_WIKI = re.compile(r"(?i)wikipedia|\bwiki\b")


def is_wiki(text: str) -> bool:
    """A wiki (anyone may edit it) is never cited as a source, in the brand or the restrictions data."""
    return bool(_WIKI.search(text))


def _check_maker_brand(path: Path, entry: str, maker: str | None, brand: str | None,
                       makers: Mapping[str, Maker], brands: Mapping[str, Brand]) -> None:
    if maker is not None and maker not in makers:
        raise DataFileError(str(path), f"unknown maker {maker!r} (not in makers.toml)", entry=entry)
    if brand is not None:
        known = brands.get(normalise_name(brand))
        if known is None:
            raise DataFileError(str(path), f"unknown brand {brand!r} (not in makers.toml)", entry=entry)
        if maker is not None and maker not in known.makers:
            raise DataFileError(str(path), f"brand {brand!r} has no relation to maker {maker!r} in makers.toml", entry=entry)


def _load_oui(path: Path, makers: Mapping[str, Maker], brands: Mapping[str, Brand]) -> tuple[OuiTable, list[str]]:
    data = _read_toml(path)
    check_data_file(path, data, OUI_SCHEMA, ("org", "prefix"))
    orgs: dict[str, OuiEntry] = {}
    ids: list[str] = []
    for item in data["org"]:
        _check_maker_brand(path, item["id"], item.get("maker"), item.get("brand"), makers, brands)
        key = normalise_name(item["org"])
        if key in orgs:
            raise DataFileError(str(path), f"organisation {item['org']!r} listed twice", entry=item["id"])
        orgs[key] = OuiEntry(item["id"], item["org"], float(item["certainty"]), item["source"],
                             item.get("maker"), item.get("brand"))
        ids.append(item["id"])
    prefixes: list[OuiEntry] = []
    for item in data["prefix"]:
        _check_maker_brand(path, item["id"], item.get("maker"), item.get("brand"), makers, brands)
        prefixes.append(OuiEntry(item["id"], item["org"], float(item["certainty"]), item["source"],
                                 item.get("maker"), item.get("brand"), item["prefix"]))
        ids.append(item["id"])
    prefixes.sort(key=lambda e: (-len(e.prefix or ""), e.prefix or ""))
    counter = tuple(normalise_name(c["org"]) for c in data.get("counter_examples", ()))
    for org in counter:
        if org in orgs:
            raise DataFileError(str(path), "an organisation is both mapped and a counter-example", entry=org)
    ieee = data["ieee"]
    return OuiTable(ieee["netaddr_version"], ieee["snapshot"], orgs, tuple(prefixes), counter), ids


def _as_tuple(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


KeyCheck = Callable[[str], bool]
"""Whether a field key is one a protocol emits (``camsweep.protocols.declares``)."""


def _load_rule_file(path: Path, makers: Mapping[str, Maker], brands: Mapping[str, Brand],
                    declared: KeyCheck) -> list[Rule]:
    data = _read_toml(path)
    if "rule" not in data and "matches" not in data:
        log.debug("fingerprints: %s is not a rule file, skipped", path.name)
        return []
    check_data_file(path, data, RULE_FILE_SCHEMA, ("rule",))
    rules: list[Rule] = []
    for item in data["rule"]:
        rule_id = item["id"]
        try:
            pattern = re.compile(item["pattern"])
        except re.error as exc:
            raise DataFileError(str(path), f"bad regex: {exc}", entry=rule_id) from None
        unknown_groups = set(pattern.groupindex) - set(EXTRACTABLE)
        if unknown_groups:
            raise DataFileError(str(path), f"unknown named group(s) {sorted(unknown_groups)}; allowed {list(EXTRACTABLE)}",
                                entry=rule_id)
        _check_maker_brand(path, rule_id, item.get("maker"), item.get("brand"), makers, brands)
        examples = tuple(
            Example(ex["value"], ex["source"], {k: ex[k] for k in EXTRACTABLE if k in ex}) for ex in item["examples"]
        )
        for example in examples:
            for key in example.expect:
                if key not in pattern.groupindex and key not in ("brand", "device_type"):
                    raise DataFileError(str(path), f"example expects {key!r} but the pattern has no such group",
                                        entry=rule_id)
        counters = tuple(Example(ex["value"], ex["source"]) for ex in item.get("counter_examples", ()))
        fields = _as_tuple(item.get("matches", data["matches"]))
        for key in fields:
            if not declared(key):
                raise DataFileError(str(path), f"matches {key!r}, a field no protocol emits (fingerprints/README.md "
                                    "\"Field keys\" lists them)", entry=rule_id)
        pages = tuple(item.get("confirm_paths", ()))
        for page in (*pages, *([item["login_path"]] if "login_path" in item else [])):
            why = path_problem(page) or (None if any(f.startswith("http.") for f in fields)
                                         else "named by a rule on no http.* field (only the HTTP probe asks pages)")
            if why:
                raise DataFileError(str(path), f"page {page!r} {why}", entry=rule_id)
        rules.append(
            Rule(
                id=rule_id,
                file=path.name,
                fields=fields,
                pattern=pattern,
                tier=Tier(item["tier"]),
                certainty=float(item["certainty"]),
                description=item["description"],
                source=item["source"],
                maker=item.get("maker"),
                brand=item.get("brand"),
                device_type=DeviceType(item["device_type"]) if "device_type" in item else None,
                examples=examples,
                counter_examples=counters,
                confirm_paths=pages,
                login_path=item.get("login_path"),
                oem=bool(item.get("oem", False)),
            )
        )
    return rules


def load_directory(directory: str | Path, declared: KeyCheck) -> FingerprintDB:
    """Read and validate every data file in ``directory`` (no cache); ``declared`` says which
    field keys rules may match."""
    root = Path(directory)
    if not root.is_dir():
        raise DataFileError(str(root), "not a directory")
    makers_path = root / "makers.toml"
    if not makers_path.is_file():
        raise DataFileError(str(makers_path), "missing (makers and brands are required)")
    version, as_of, makers, brands = _load_makers(makers_path)
    oui_path = root / "oui.toml"
    if oui_path.is_file():
        oui, ids = _load_oui(oui_path, makers, brands)
    else:
        oui, ids = OuiTable("", "", {}, ()), []
    seen: dict[str, str] = {i: oui_path.name for i in ids}
    rules: list[Rule] = []
    for path in sorted(root.glob("*.toml")):
        if path.name in NOT_RULE_FILES:
            continue
        for rule in _load_rule_file(path, makers, brands, declared):
            if rule.id in seen:
                raise DataFileError(str(path), f"duplicate rule id (also in {seen[rule.id]})", entry=rule.id)
            seen[rule.id] = path.name
            rules.append(rule)
    db = FingerprintDB(str(root), version, as_of, tuple(rules), makers, brands, oui)
    log.debug("fingerprints: %d rules from %s (version %s)", len(rules), root, version)
    return db


@dataclass(frozen=True)
class MakersData:
    """``makers.toml`` alone: the makers and the brands with their relations (no rules)."""

    path: str
    version: str
    as_of: date
    makers: Mapping[str, Maker]
    brands: Mapping[str, Brand]  # normalised name or alias -> brand

    def brand(self, name: str | None) -> Brand | None:
        return self.brands.get(normalise_name(name)) if name else None


@functools.lru_cache(maxsize=4)
def load_makers(path: str | None = None) -> MakersData:
    """The makers and brand relations of ``makers.toml`` (the packaged one unless a path is given),
    for readers that need no rules: the findings read which brands are whose from here."""
    makers_path = Path(path) if path else DATA_DIR / "makers.toml"
    version, as_of, makers, brands = _load_makers(makers_path)
    return MakersData(str(makers_path), version, as_of, makers, brands)


@functools.lru_cache(maxsize=2)
def _load_default(declared: KeyCheck) -> FingerprintDB:
    return load_directory(DATA_DIR, declared)


def load(directory: str | None = None, *, declared: KeyCheck) -> FingerprintDB:
    """The fingerprint DB: the packaged data (cached) or the files in ``directory`` (read each call).

    ``declared`` says whether a field key is one a protocol emits; a rule matching any other key
    is a DataFileError (camsweep passes ``camsweep.protocols.declares``)."""
    if directory is None:
        return _load_default(declared)
    return load_directory(directory, declared)


def iter_examples(db: FingerprintDB) -> Iterable[tuple[Rule, Example]]:
    for rule in db.rules:
        for example in rule.examples:
            yield rule, example
