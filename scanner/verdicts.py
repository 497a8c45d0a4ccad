"""Identification: fingerprint rules -> RuleHits -> one Verdict per device.

How a verdict is reached (every step is visible in ``Verdict.hits`` and ``Verdict.conflicts``):

1. **Hits.** Every rule of ``fingerprints/`` is matched (``re.search``) against every field of every
   observation of the device; observations with a ``problem`` (other than replaced unencodable text) are skipped. Three kinds of values
   are *derived* here rather than sent by a device, and have rule files of their own:

   * ``http.header_shape`` per HTTP observation: ``server=<present|absent> upper=<header names
     written wholly in upper case, wire order>`` from ``http.header.server`` and
     ``http.header_names`` -- Dahua's web server sends no Server header and upper-case
     ``CONNECTION``/``CONTENT-LENGTH`` (``http_header_shape.toml``). This is how a rule can look at
     several fields of one reply at once without a rule language.
   * ``device.ports``: the device's open TCP ports, sorted and comma-joined (``ports.toml``).
   * ``device.model``: the model settled in step 3 (``models.toml``: model family -> device type).

   Each MAC of the device is looked up in the OUI data (``scanner/oui.py``: curated prefixes, then
   the EXACT IEEE organisation name; locally administered MACs never match). Every match becomes a
   :class:`RuleHit` with the rule id, file, field, value, probe, time, tier, certainty, maker, brand
   and the values its named groups extracted (values longer than ``EXCERPT_LIMIT``, i.e. HTTP
   bodies, are kept as an excerpt around the match).

2. **Manufacturer.** Tiers are consulted strongest first: ``firmware`` (SADP/DHIP answers, ISAPI and
   RPC2 replies, realm shapes, header quirks), then ``label`` (brand text), then ``network`` (OUI).
   The first tier with maker evidence decides; within it the maker with the highest combined
   certainty wins (ties broken by name, so output is deterministic). ``weak`` hits (port sets,
   model families, UUID shapes) never decide: weak-only devices stay ``unknown``. A label decides a
   maker only for the maker's house brands and subsidiaries (``makers.toml`` relation house or
   subsidiary); an OEM relabeller's name (Amcrest, LTS, Lorex, Annke, ...) only names the brand,
   because those brands also sell other makers' units. A maker other than
   Hikvision/Dahua yields ``Manufacturer.OTHER``.

3. **Model, firmware, serial, type** come from the extracted values, preferring hits of the winning
   maker, stronger tiers and higher certainty: that picks the *source* (the rule). When that source
   said different things over time (two SADP answers in one capture, before and after a firmware
   upgrade), the newest statement wins and the others are listed in ``Verdict.disagreements``.
   The model is then matched against ``models.toml``; the device type is taken from the strongest
   hit that names one: the unit's own class (DHIP DeviceClass, ISAPI deviceType), then the model
   family, then weak maker-less hints (``DNVRS-Webs``, an ``IP Camera(...)`` realm, ONVIF
   ``NetworkVideoStorage``/``NetworkVideoTransmitter`` types and ``type/`` scopes). Port numbers
   never give a type.

4. **Brand** is the label evidence (``label``-tier hits naming a brand, then firmware rules that name
   one, such as ``Interlogix-Webs`` -> TruVision), normalised through ``makers.toml`` aliases. When a
   rule marked ``oem = true`` matched (SADP ``DetailOEMCode`` of an OEM build), the maker's own house
   brands are set aside: such a label was copied from the baseline firmware, and the brand stays
   empty unless another brand is named. An OUI
   names the brand only when the block belongs to a subsidiary or relabeller (EZVIZ, Imou, Amcrest,
   LTS, Lorex, ...) or to a non-restricted maker: a Hikvision or Dahua OUI proves who made the NIC,
   and OEM units carry it too. So a Hikvision-firmware unit with no label evidence gets ``brand =
   None`` (shown as unknown), never a guessed "Hikvision": it may be an OEM unit.

5. **Conflicts** are listed, never hidden; the verdict still follows the strongest evidence:
   firmware (or label) evidence for two different makers; a label brand that is neither the
   maker's own nor a known relabeller of that maker (label Axis + SADP reply; label Amcrest +
   Hikvision ISAPI); an OUI registered to another maker or to another maker's relabeller.

6. **Confidence** = ``1 - prod(1 - c)`` over independent evidence families of the winning maker,
   taking the highest certainty ``c`` per family (one family per discovery protocol -- all SADP
   fields are one reply -- and per HTTP/RTSP aspect: headers, realm, body...; each field's family
   is declared with its protocol, ``camsweep.protocols``). ``device.model`` hits
   are not counted (the model was already counted where it was seen). Caps: decided by label only
   <= 0.7, by OUI only <= 0.4; any conflict multiplies by 0.8. ``confidence_level``: ``high`` needs
   >= 0.8, at least two independent firmware/label families and no conflict; ``medium`` >= 0.5;
   ``low`` > 0; ``none`` otherwise.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from camsweep import fingerprints
from camsweep.fingerprints import RELATION_WORDS, FingerprintDB, Rule

from . import oui as oui_lookup
from . import protocols
from .devices import merge
from .models import (
    ArtefactKind,
    Device,
    DeviceType,
    IdentifiedDevice,
    Manufacturer,
    Observation,
    RuleHit,
    ScanResult,
    Tier,
    Verdict,
    utcnow,
)
from .types import RESTRICTED_MAKERS

log = logging.getLogger("camsweep")

__all__ = ["data_versions", "derived_fields", "identify", "identify_devices", "identify_result", "load_fingerprints"]

TIER_RANK = {Tier.FIRMWARE: 0, Tier.LABEL: 1, Tier.NETWORK: 2, Tier.WEAK: 3}
DECIDING_TIERS = (Tier.FIRMWARE, Tier.LABEL, Tier.NETWORK)
LABEL_ONLY_CAP = 0.7
OUI_ONLY_CAP = 0.4
CONFLICT_FACTOR = 0.8

# Short class codes that devices report, matched exactly (case-insensitive): ISAPI deviceType
# (ACS = access control, VIS = video intercom), DHIP DeviceClass.
_DEVICE_TYPE_CODES = {
    "ipc": DeviceType.CAMERA,
    "acs": DeviceType.ACCESS_CONTROL,
    "vis": DeviceType.INTERCOM,
    "vto": DeviceType.INTERCOM,
    "vth": DeviceType.INTERCOM,
    "nvr": DeviceType.NVR,
    "dvr": DeviceType.DVR,
    "xvr": DeviceType.DVR,
    "mhdx": DeviceType.DVR,
}
# Longer free text (Axis "PTZ Dome Network Camera", ISAPI "IPCamera"): first word found wins.
_DEVICE_TYPE_WORDS = (
    ("doorbell", DeviceType.INTERCOM),
    ("intercom", DeviceType.INTERCOM),
    ("door station", DeviceType.INTERCOM),
    ("access", DeviceType.ACCESS_CONTROL),
    ("nvr", DeviceType.NVR),
    ("dvr", DeviceType.DVR),
    ("camera", DeviceType.CAMERA),
    ("dome", DeviceType.CAMERA),
    ("ipzoom", DeviceType.CAMERA),
)


@dataclass(frozen=True, slots=True)
class _Hit:
    """A RuleHit plus the maker id behind it (RuleHit only keeps the Manufacturer enum)."""

    hit: RuleHit
    maker_id: str | None

    @property
    def sort_key(self) -> tuple[object, ...]:
        h = self.hit
        return (TIER_RANK[h.tier], -h.certainty, h.rule_id, h.field, h.value, h.seen_at.isoformat())


def _manufacturer(maker_id: str | None) -> Manufacturer | None:
    return None if maker_id is None else Manufacturer.of(maker_id)


def derived_fields(observation: Observation) -> dict[str, str]:
    """Per-observation values computed from several fields (see the module docstring, step 1)."""
    out: dict[str, str] = {}
    names = observation.fields.get("http.header_names")
    if names is not None:
        upper = [n for n in names.split("\n") if n and n.upper() == n and any(c.isalpha() for c in n)]
        server = "present" if "http.header.server" in observation.fields else "absent"
        out["http.header_shape"] = f"server={server} upper={','.join(upper)}"
    return out


def _maker_of(rule_maker: str | None, brand: str | None, db: FingerprintDB) -> str | None:
    """A rule's maker, or the maker a brand implies when the label alone may say so."""
    if rule_maker is not None:
        return rule_maker
    known = db.brand(brand)
    if known is not None and known.label_implies_maker:
        return known.maker
    return None


def _canonical_brand(name: str | None, db: FingerprintDB) -> str | None:
    if not name:
        return None
    known = db.brand(name)
    return known.name if known else name


def _rule_hit(rule: Rule, field_key: str, value: str, extracted: dict[str, str], probe: str,
              seen_at: datetime, db: FingerprintDB, port: int | None = None) -> _Hit:
    brand = _canonical_brand(extracted.get("brand"), db)
    if brand:
        extracted = {**extracted, "brand": brand}
    maker_id = _maker_of(rule.maker, brand, db)
    return _Hit(
        RuleHit(
            rule_id=rule.id,
            rule_file=rule.file,
            field=field_key,
            value=value,
            probe=probe,
            seen_at=seen_at,
            tier=rule.tier,
            certainty=rule.certainty,
            maker=_manufacturer(maker_id),
            brand=brand,
            extracted=extracted,
            description=rule.description,
            port=port,
        ),
        maker_id,
    )


EXCERPT_LIMIT = 300
"""Field values longer than this (HTTP bodies) are kept in a RuleHit as an excerpt around the match."""
_EXCERPT_CONTEXT = 80


def _excerpt(value: str, start: int, end: int) -> str:
    if len(value) <= EXCERPT_LIMIT:
        return value
    lo = max(0, start - _EXCERPT_CONTEXT)
    hi = min(len(value), end + _EXCERPT_CONTEXT, lo + EXCERPT_LIMIT)
    return ("…" if lo > 0 else "") + value[lo:hi] + ("…" if hi < len(value) else "")


def _match_field(field_key: str, value: str, probe: str, seen_at: datetime, db: FingerprintDB,
                 port: int | None = None) -> list[_Hit]:
    hits = []
    for rule in db.rules_for(field_key):
        found = rule.pattern.search(value)
        if found is not None:
            shown = _excerpt(value, found.start(), found.end())
            hits.append(_rule_hit(rule, field_key, shown, rule.extractions(found), probe, seen_at, db, port))
    return hits


def _observation_hits(observation: Observation, db: FingerprintDB) -> list[_Hit]:
    if not observation.usable:
        return []
    values = {**observation.fields, **derived_fields(observation)}
    hits: list[_Hit] = []
    for key in sorted(values):
        hits.extend(_match_field(key, values[key], observation.probe, observation.time, db, observation.port))
    return hits


def matched_rules(observation: Observation, db: FingerprintDB | None = None) -> list[Rule]:
    """The rules that one observation matches, as step 1 matches them (the HTTP probe asks the
    pages these rules name before the device is judged)."""
    db = db or load_fingerprints()
    ids = dict.fromkeys(hit.hit.rule_id for hit in _observation_hits(observation, db))  # a realm rule may hit twice
    return [db.rule(rule_id) for rule_id in ids]


def _octets(prefix: str) -> list[str]:
    return [prefix[i:i + 2] for i in range(0, 6, 2)]


def _oui_hits(device: Device, db: FingerprintDB) -> list[_Hit]:
    hits = []
    first_seen: dict[str, Observation] = {}  # one pass, not one search per MAC (issue 19)
    for o in device.observations:
        if o.mac:
            first_seen.setdefault(o.mac, o)
    # A register or hand-written record may give only a MAC prefix (``A0:FF:0C``): OUI-only evidence.
    prefixes = [o.fields["mac.oui"] for o in device.observations if not o.mac and "mac.oui" in o.fields]
    for mac in (*device.macs, *prefixes):
        found = oui_lookup.lookup(mac if ":" in mac else ":".join([*_octets(mac), "00", "00", "00"]), db)
        if found is None:
            continue
        source = first_seen.get(mac)
        entry = found.entry
        brand = _canonical_brand(entry.brand, db)
        hits.append(
            _Hit(
                RuleHit(
                    rule_id=entry.id,
                    rule_file="oui.toml",
                    field="mac.address",
                    value=mac,
                    probe=source.probe if source else "merge",
                    seen_at=source.time if source else _device_time(device),
                    tier=Tier.NETWORK,
                    certainty=entry.certainty,
                    maker=_manufacturer(entry.maker),
                    brand=brand,
                    extracted={"oui": found.prefix, "org": found.org},
                    description=f"MAC OUI {found.prefix} registered to {found.org}",
                ),
                entry.maker,
            )
        )
    return hits


def _device_time(device: Device) -> datetime:
    return max((o.time for o in device.observations), default=utcnow())


def _port_hits(device: Device, db: FingerprintDB) -> list[_Hit]:
    if not device.open_ports:
        return []
    value = ",".join(str(p) for p in sorted(device.open_ports))
    source = next((o for o in device.observations if o.kind is ArtefactKind.OPEN_PORT), None)
    probe = source.probe if source else "merge"
    return _match_field("device.ports", value, probe, _device_time(device), db)


def _combined(hits: Iterable[_Hit]) -> tuple[float, set[str]]:
    """1 - prod(1 - c) over families (max certainty per family), and the families used."""
    best: dict[str, float] = {}
    for item in hits:
        if item.hit.field == "device.model":
            continue
        fam = protocols.family(item.hit.field)
        best[fam] = max(best.get(fam, 0.0), item.hit.certainty)
    return 1.0 - math.prod(1.0 - c for c in best.values()), set(best)


def _decide_maker(hits: Sequence[_Hit]) -> tuple[str | None, Tier | None, dict[str, float]]:
    for tier in DECIDING_TIERS:
        by_maker: dict[str, list[_Hit]] = defaultdict(list)
        for item in hits:
            if item.hit.tier is tier and item.maker_id is not None and item.hit.field != "device.model":
                by_maker[item.maker_id].append(item)
        if by_maker:
            scores = {maker: _combined(items)[0] for maker, items in by_maker.items()}
            winner = min(scores, key=lambda m: (-scores[m], m))
            return winner, tier, scores
    return None, None, {}


def _pick(hits: Sequence[_Hit], key: str, maker_id: str | None) -> tuple[str | None, str | None]:
    """The value of ``key`` (model, firmware, serial) and, when its source said different things
    over time, one sentence listing them (step 3: the newest statement of the best source wins)."""
    candidates = [h for h in hits if key in h.hit.extracted]
    if not candidates:
        return None, None
    candidates.sort(key=lambda h: (0 if h.maker_id in (maker_id, None) else 1, *h.sort_key))
    rule_id = candidates[0].hit.rule_id
    said: dict[str, _Hit] = {}  # value -> its newest hit, from the winning rule only
    for item in candidates:
        if item.hit.rule_id == rule_id:
            value = item.hit.extracted[key]
            if value not in said or item.hit.seen_at > said[value].hit.seen_at:
                said[value] = item
    order = sorted(said.values(), key=lambda h: h.hit.seen_at, reverse=True)
    newest = order[0].hit
    if len(order) == 1:
        return newest.extracted[key], None
    older = "; ".join(f"{h.hit.extracted[key]} ({_when(h.hit)})" for h in order[1:])
    return newest.extracted[key], (
        f"{key}: {newest.extracted[key]} ({_when(newest)}) is the newest of {len(order)} values "
        f"{rule_id} saw; older: {older}"
    )


def _when(hit: RuleHit) -> str:
    return f"{hit.field} via {hit.probe}, {hit.seen_at.isoformat(timespec='seconds')}"


def _device_type(text: str) -> DeviceType | None:
    try:
        return DeviceType(text)
    except ValueError:
        pass
    lowered = text.lower()
    if lowered in _DEVICE_TYPE_CODES:
        return _DEVICE_TYPE_CODES[lowered]
    for word, kind in _DEVICE_TYPE_WORDS:
        if word in lowered:
            return kind
    return None


def _pick_type(hits: Sequence[_Hit], maker_id: str | None) -> DeviceType:
    candidates = [h for h in hits if "device_type" in h.hit.extracted]
    # Only hits naming another, decided maker step back: with no maker decided, a model family
    # (which names its maker) still outranks a maker-less hint such as the ONVIF types.
    candidates.sort(key=lambda h: (1 if maker_id and h.maker_id not in (maker_id, None) else 0, *h.sort_key))
    for item in candidates:
        kind = _device_type(item.hit.extracted["device_type"])
        if kind is not None:
            return kind
    return DeviceType.UNKNOWN


def _maker_name(maker_id: str | None, db: FingerprintDB) -> str:
    maker = db.maker(maker_id)
    return maker.name if maker else (maker_id or "unknown")


def _oem_statement(hits: Sequence[_Hit], maker_id: str | None, db: FingerprintDB) -> RuleHit | None:
    """The first hit of the winning maker whose rule says the unit is an OEM build (``oem = true``)."""
    oem_rules = {rule.id for rule in db.rules if rule.oem}
    return next((h.hit for h in hits if h.hit.rule_id in oem_rules and h.maker_id == maker_id), None)


def _house_brand(brand: str | None, maker_id: str | None, db: FingerprintDB) -> bool:
    known = db.brand(brand)
    relation = known.relation_to(maker_id) if known is not None and maker_id else None
    return relation is not None and relation.relation == "house"


def _pick_brand(hits: Sequence[_Hit], maker_id: str | None, db: FingerprintDB) -> str | None:
    if _oem_statement(hits, maker_id, db) is not None:
        # The firmware says it is an OEM build: a label naming the maker's own brand was copied
        # from the baseline firmware, not read off the box. Another brand may still be named.
        hits = [h for h in hits if not _house_brand(h.hit.brand, maker_id, db)]
    stated = [h for h in hits if h.hit.brand and h.hit.tier in (Tier.LABEL, Tier.FIRMWARE)]
    stated.sort(key=lambda h: (0 if h.hit.tier is Tier.LABEL else 1, -h.hit.certainty, h.hit.rule_id, h.hit.value))
    if stated:
        return stated[0].hit.brand
    for item in sorted((h for h in hits if h.hit.brand and h.hit.tier is Tier.NETWORK), key=lambda h: h.sort_key):
        known = db.brand(item.hit.brand)
        if known is None:
            continue
        names_label = not any(r.relation == "house" and r.maker in RESTRICTED_MAKERS for r in known.relations)
        if names_label and (maker_id is None or maker_id in known.makers or item.maker_id == maker_id):
            return known.name
    return None


def _conflicts(hits: Sequence[_Hit], maker_id: str | None, tier: Tier | None, db: FingerprintDB) -> list[str]:
    if maker_id is None or tier is None:
        return []
    winner = _maker_name(maker_id, db)
    out: list[str] = []
    # Same-tier (and stronger-than-network) evidence naming another maker.
    others: dict[tuple[Tier, str], list[str]] = defaultdict(list)
    for item in hits:
        h = item.hit
        if h.field == "device.model" or h.tier is Tier.WEAK or item.maker_id in (None, maker_id):
            continue
        if h.tier in (Tier.FIRMWARE, Tier.LABEL):
            others[(h.tier, item.maker_id)].append(h.rule_id)
    mine = sorted({h.hit.rule_id for h in hits if h.maker_id == maker_id and h.hit.tier is tier})
    for (other_tier, other), rules in sorted(others.items(), key=lambda kv: (TIER_RANK[kv[0][0]], kv[0][1])):
        out.append(
            f"{other_tier.value} evidence for {_maker_name(other, db)} ({', '.join(sorted(set(rules)))}) "
            f"contradicts {tier.value} evidence for {winner} ({', '.join(mine)})"
        )
    # Label brands that are neither the maker's own nor a known relabeller of it.
    seen_brands: set[str] = set()
    for item in hits:
        h = item.hit
        if not h.brand or h.tier not in (Tier.LABEL, Tier.FIRMWARE) or h.brand in seen_brands:
            continue
        known = db.brand(h.brand)
        if known is None or maker_id in known.makers:
            continue
        if item.maker_id not in (None, maker_id):
            continue  # already reported above as evidence for another maker
        seen_brands.add(h.brand)
        relation = f"a {known.relation} brand of {_maker_name(known.maker, db)}"
        out.append(f"label {h.brand} ({h.rule_id}; {relation}) is not a brand known to sell {winner} units")
    # An OUI registered to another maker, or to another maker's relabeller.
    for item in hits:
        h = item.hit
        if h.tier is not Tier.NETWORK:
            continue
        brand = db.brand(h.brand)
        owner = item.maker_id or (brand.maker if brand else None)
        if owner is None or owner == maker_id or (item.maker_id is None and brand and maker_id in brand.makers):
            continue
        org = h.extracted.get("org", h.rule_id)
        out.append(f"MAC {h.value} has OUI {h.extracted.get('oui', '')} registered to {org} "
                   f"({_maker_name(owner, db)} side) but the {tier.value} evidence says {winner}")
    return out


def _level(confidence: float, families: set[str], conflicts: Sequence[str]) -> str:
    if confidence >= 0.8 and len(families) >= 2 and not conflicts:
        return "high"
    if confidence >= 0.5:
        return "medium"
    if confidence > 0:
        return "low"
    return "none"


def _family_list(hits: Iterable[_Hit]) -> str:
    seen: list[str] = []
    for item in hits:
        name = protocols.family_name(item.hit.field)
        if name not in seen:
            seen.append(name)
    return ", ".join(seen)


def _summary(hits: Sequence[_Hit], maker_id: str | None, tier: Tier | None, brand: str | None,
             conflicts: Sequence[str], db: FingerprintDB) -> str:
    oui_hits = [h for h in hits if h.hit.tier is Tier.NETWORK]
    oui_text = ""
    if oui_hits:
        first = oui_hits[0].hit
        oui_text = f"MAC OUI {first.extracted.get('org', first.rule_id)}"
    known_brand = db.brand(brand)
    if maker_id is None:
        weak = [h for h in hits if h.hit.tier is Tier.WEAK and h.hit.maker is not None]
        restricted = [m for m in known_brand.makers if m in RESTRICTED_MAKERS] if known_brand is not None else []
        if brand and restricted:
            text = (f"{brand} label only ({_family_list(h for h in hits if h.hit.brand)}): {brand} has sold units "
                    f"made by {'/'.join(_maker_name(m, db) for m in restricted)} and by others; needs protocol evidence")
        elif brand:
            text = f"{brand} label only; maker not identified"
        elif weak:
            text = "Maker not identified; only weak hints (" + "; ".join(
                f"{h.hit.description}" for h in weak[:3]) + ")"
        else:
            text = "No identifying evidence"
        return _sentence(text + (f"; {oui_text}" if oui_text else ""))
    name = _maker_name(maker_id, db)
    deciding = [h for h in hits if h.maker_id == maker_id and h.hit.tier is tier and h.hit.field != "device.model"]
    if tier is Tier.FIRMWARE:
        text = f"{name} firmware ({_family_list(deciding)})"
    elif tier is Tier.LABEL:
        text = f"{name} by label only ({_family_list(deciding)})"
    else:
        text = f"{name} by MAC OUI only ({oui_text or 'OUI'}); no protocol evidence"
        oui_text = ""
    if brand:
        relation = known_brand.relation_to(maker_id) if known_brand is not None else None
        if relation is not None and relation.relation in RELATION_WORDS:
            words = RELATION_WORDS[relation.relation].format(brand=brand, maker=name)
            text += f" under the {brand} label ({words})"
        elif brand != name:
            text += f" under the {brand} label"
    elif (oem := _oem_statement(hits, maker_id, db)) is not None:
        text += f"; an OEM unit ({oem.field} {oem.value}), brand unknown"
    elif tier is Tier.FIRMWARE and maker_id in RESTRICTED_MAKERS:
        text += "; no label evidence, brand unknown (could be an OEM unit)"
    if oui_text:
        text += f"; {oui_text}"
    if conflicts:
        text += f"; {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''} listed"
    return _sentence(text)


def _sentence(text: str) -> str:
    return text.rstrip(". ") + "."


def load_fingerprints(directory: str | None = None) -> FingerprintDB:
    """The fingerprint DB (the packaged one, cached, or ``directory``'s), its rules checked against
    the field keys the protocols declare: a rule on a key nothing emits is a DataFileError."""
    return fingerprints.load(directory, declared=protocols.declares)


def _distinct(hits: list[_Hit]) -> list[_Hit]:
    """Repeated identical hits count once (the newest is kept): the same rule on the same value from
    the same probe and port is one piece of evidence, however often a device repeats it (a device
    answering one WS-Discovery probe thousands of times made thousands of hits)."""
    kept: dict[tuple[str, str, str, str, int | None], _Hit] = {}
    for item in hits:
        hit = item.hit
        key = (hit.rule_id, hit.field, hit.value, hit.probe, hit.port)
        held = kept.get(key)
        if held is None or hit.seen_at > held.hit.seen_at:
            kept[key] = item
    return list(kept.values())


def identify(device: Device, db: FingerprintDB | None = None) -> Verdict:
    """The verdict for one merged device (see the module docstring for the method)."""
    db = db or load_fingerprints()
    hits: list[_Hit] = []
    for observation in device.observations:
        hits.extend(_observation_hits(observation, db))
    hits = _distinct(hits)
    hits.extend(_port_hits(device, db))
    hits.extend(_oui_hits(device, db))
    hits.sort(key=lambda h: h.sort_key)

    maker_id, tier, _scores = _decide_maker(hits)
    model, model_changed = _pick(hits, "model", maker_id)
    if model:
        model_hits = _match_field("device.model", model, "verdict", _device_time(device), db)
        hits.extend(model_hits)
        hits.sort(key=lambda h: h.sort_key)
    firmware, firmware_changed = _pick(hits, "firmware", maker_id)
    serial, serial_changed = _pick(hits, "serial", maker_id)
    disagreements = tuple(d for d in (model_changed, firmware_changed, serial_changed) if d)
    device_type = _pick_type(hits, maker_id)
    brand = _pick_brand(hits, maker_id, db)
    conflicts = _conflicts(hits, maker_id, tier, db)

    families: set[str] = set()
    if maker_id is None:
        confidence = 0.0
    else:
        confidence, _ = _combined(h for h in hits if h.maker_id == maker_id)
        _, families = _combined(h for h in hits if h.maker_id == maker_id and h.hit.tier in (Tier.FIRMWARE, Tier.LABEL))
        if tier is Tier.LABEL:
            confidence = min(confidence, LABEL_ONLY_CAP)
        elif tier is Tier.NETWORK:
            confidence = min(confidence, OUI_ONLY_CAP)
        if conflicts:
            confidence *= CONFLICT_FACTOR
    confidence = round(confidence, 4)
    return Verdict(
        manufacturer=_manufacturer(maker_id) or Manufacturer.UNKNOWN,
        brand=brand,
        device_type=device_type,
        model=model,
        firmware=firmware,
        serial=serial,
        confidence=confidence,
        confidence_level=_level(confidence, families, conflicts),
        hits=tuple(h.hit for h in hits),
        conflicts=tuple(conflicts),
        disagreements=disagreements,
        summary=_summary(hits, maker_id, tier, brand, conflicts, db),
    )


def identify_devices(devices: Iterable[Device], db: FingerprintDB | None = None) -> list[IdentifiedDevice]:
    db = db or load_fingerprints()
    return [IdentifiedDevice(device, identify(device, db)) for device in devices]


def data_versions(db: FingerprintDB) -> dict[str, str]:
    """What data produced the verdicts: fingerprint DB version/date and the IEEE OUI snapshot."""
    return {
        "fingerprints": db.version,
        "fingerprints_as_of": db.as_of.isoformat(),
        "fingerprint_rules": str(len(db.rules)),
        "oui": oui_lookup.snapshot(db),
    }


def identify_result(
    observations: Iterable[Observation],
    *,
    targets: Sequence[str] = (),
    db: FingerprintDB | None = None,
    mode: str = "identify",
    started: datetime | None = None,
    partial: bool = False,
    notes: Sequence[str] = (),
    methods: Sequence[str] = (),
    extra_versions: Mapping[str, str] | None = None,
) -> ScanResult:
    """Merge observations into devices, identify each, and wrap it all in a ScanResult."""
    started = started or utcnow()
    db = db or load_fingerprints()
    devices = identify_devices(merge(observations), db)
    versions = data_versions(db)
    versions.update(extra_versions or {})
    return ScanResult(
        started=started,
        finished=utcnow(),
        devices=tuple(devices),
        targets=tuple(targets),
        methods=tuple(methods),
        partial=partial,
        notes=tuple(notes),
        data_versions=versions,
        mode=mode,
    )
