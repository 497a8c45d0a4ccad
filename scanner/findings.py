"""Findings: each identified device checked against the restrictions data and the chosen policy.

For every device this module answers: which instruments name its maker and reach the unit (and why:
the verdict, its evidence, the OEM reach), which of them bind the user under the chosen policy and
what they require (each action naming its instrument, with the deadline as its source gives it),
what security measures are recommended apart from any duty (known-exploited firmware, with the
source of the advice), how urgent it is, and where the device is (IP, MAC, host name, subnet).

A device is one of:

* ``restricted``   a confident Hikvision/Dahua verdict, and an instrument selected by the policy
                   imposes a duty about it (no procurement, no use, removal, reporting, ...);
* ``listed``       a confident Hikvision/Dahua verdict, but no selected instrument imposes a duty
                   about it -- or no policy was chosen, in which case the instruments that name its
                   maker are listed, grouped by jurisdiction, with no duty, deadline or action;
* ``manual-check`` the verdict is uncertain (low confidence, conflicting evidence, MAC OUI only,
                   a brand that relabels Hikvision/Dahua products without maker evidence, or a
                   brand that sometimes sells them when other evidence points there): listed apart,
                   never dropped, with what the policy would require if it is confirmed; also a
                   register row (``camsweep check``) no rule recognised: what it is cannot be
                   decided from the register;
* ``clear``        nothing points to Hikvision or Dahua.

The legal wording (what each instrument restricts, each duty's action and condition, the notes,
the recommendations and their sources) is data, in ``fingerprints/restrictions.toml``; this module
only assembles it. Everything here is pure: :func:`assess` takes a ScanResult and returns an
:class:`Assessment`.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .config import DEFAULT_MAX_DATA_AGE
from .fingerprints import BRAND_ALONE_CHECK, RELATION_WORDS, WITH_EVIDENCE_CHECK
from .models import (
    ArtefactKind,
    DeviceType,
    OUTSIDE_TARGETS,
    IdentifiedDevice,
    Manufacturer,
    RuleHit,
    ScanResult,
    Tier,
    Verdict,
)
from .policy import Selection
from .restrictions import (
    Duty,
    InForce,
    Instrument,
    KevMatch,
    KevState,
    PreciseDate,
    RestrictionsData,
    kev_matches,
)
from .types import RESTRICTED_MAKER_NAMES

# Order in which device types are handled within one priority: recorders hold every camera's video.
_TYPE_ORDER = {
    DeviceType.NVR: 0,
    DeviceType.DVR: 1,
    DeviceType.CAMERA: 2,
    DeviceType.INTERCOM: 3,
    DeviceType.ACCESS_CONTROL: 4,
    DeviceType.OTHER: 5,
    DeviceType.UNKNOWN: 6,
}
_SURVEILLANCE = {DeviceType.CAMERA, DeviceType.NVR, DeviceType.DVR, DeviceType.INTERCOM}
_UNCERTAIN_LEVELS = {"none", "low"}
_KNOWN_LEVELS = {"none", "low", "medium", "high"}
UNCERTAIN_BELOW = 0.5
"""Confidence under which a verdict with an unfamiliar ``confidence_level`` word counts as uncertain."""


class Status(str, enum.Enum):
    RESTRICTED = "restricted"
    LISTED = "listed"
    MANUAL_CHECK = "manual-check"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Location:
    ips: tuple[str, ...]
    macs: tuple[str, ...]
    hostnames: tuple[str, ...]
    subnet: str | None
    outside_targets: bool = False
    """Seen on the local segment answering discovery from outside the targets (``Device.outside_targets``)."""
    switch_ports: tuple[str, ...] = ()
    """Switch ports (agent, port, VLAN) whose forwarding tables list it (``Device.switch_ports``)."""

    @property
    def ip(self) -> str:
        return self.ips[0] if self.ips else ""

    @property
    def mac(self) -> str:
        return self.macs[0] if self.macs else ""

    @property
    def hostname(self) -> str:
        return self.hostnames[0] if self.hostnames else ""

    def to_dict(self) -> dict[str, Any]:
        return {"ips": list(self.ips), "macs": list(self.macs), "hostnames": list(self.hostnames), "subnet": self.subnet,
                "outside_targets": self.outside_targets, "switch_ports": list(self.switch_ports)}

    @property
    def scope_text(self) -> str:
        """``OUTSIDE_TARGETS`` for a stray, else empty: what every report shows beside its address."""
        return OUTSIDE_TARGETS if self.outside_targets else ""


@dataclass(frozen=True, slots=True)
class RequiredAction:
    """What a selected instrument requires of the user about this device, and by when."""

    kind: str
    """The duty's kind (``no-procurement``, ``removal``, ``reporting``, ``remediation``, ...)."""
    text: str
    instruments: tuple[str, ...]
    """The instrument(s) that impose it, as labels (``UK-TIMELINE``, ``UK-DHSC (S)``)."""
    deadline: PreciseDate | None = None
    overdue: bool = False
    """The deadline's whole period has passed at the evaluation date."""
    condition: str | None = None
    """When the duty applies at all (a purpose limit, sensitive sites, ...)."""
    applies_if: str | None = None
    """Set when camsweep cannot tell whether the duty reaches this unit (a named-products instrument
    and a unit whose model was not seen): the action applies only if it does."""

    @property
    def deadline_text(self) -> str:
        """``2025-04 (UK-TIMELINE) OVERDUE``: the deadline as its source gives it, with its instrument."""
        if self.deadline is None:
            return ""
        return f"{self.deadline} ({', '.join(self.instruments)})" + (" OVERDUE" if self.overdue else "")

    def sentence(self) -> str:
        """The action in words, naming its instrument(s) and deadline."""
        text = f"{self.text} ({', '.join(self.instruments)})"
        if self.deadline is not None:
            text += f" by {self.deadline}" + (" - OVERDUE" if self.overdue else "")
        if self.applies_if:
            text = f"{self.applies_if}: {text}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "instruments": list(self.instruments),
            "deadline": self.deadline.to_dict() if self.deadline else None,
            "overdue": self.overdue,
            "condition": self.condition,
            "applies_if": self.applies_if,
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A security measure no selected instrument requires, with where the advice comes from."""

    id: str
    text: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "source": self.source}


@dataclass(frozen=True, slots=True)
class DutyApplied:
    """One duty of an instrument that binds the user under the chosen policy."""

    kind: str
    text: str
    restricts: bool
    condition: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "restricts": self.restricts, "condition": self.condition}


@dataclass(frozen=True, slots=True)
class InstrumentMatch:
    """One instrument that names the device's maker and reaches the unit, and why."""

    id: str
    jurisdiction: str
    name: str
    force: str
    verification: str
    label: str
    why: str
    explanation: str
    state: str = InForce.IN_FORCE.value
    duties: tuple[DutyApplied, ...] = ()
    """The duties binding the user under the chosen policy (none without a policy)."""
    reach: str = ""
    """For an OEM unit: how the instrument reaches it ("" for the maker's own brands)."""

    @property
    def binding(self) -> bool:
        """A duty about this device binds the user under the chosen policy."""
        return self.state == InForce.IN_FORCE.value and any(d.restricts for d in self.duties)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "name": self.name,
            "force": self.force,
            "verification": self.verification,
            "label": self.label,
            "why": self.why,
            "explanation": self.explanation,
            "state": self.state,
            "duties": [d.to_dict() for d in self.duties],
            "binding": self.binding,
            "reach": self.reach,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """One rule hit, in the words a report shows."""

    rule_id: str
    tier: str
    field: str
    value: str
    probe: str
    maker: str | None
    brand: str | None
    port: int | None = None

    @classmethod
    def from_hit(cls, hit: RuleHit) -> Evidence:
        return cls(
            rule_id=hit.rule_id,
            tier=hit.tier.value,
            field=hit.field,
            value=hit.value,
            probe=hit.probe,
            maker=hit.maker.value if hit.maker else None,
            brand=hit.brand,
            port=hit.port,
        )

    def short(self, limit: int = 60) -> str:
        value = self.value if len(self.value) <= limit else self.value[: limit - 1] + "…"
        return f"{self.rule_id} [{self.tier}] {self.field}={value!r}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "tier": self.tier,
            "field": self.field,
            "value": self.value,
            "probe": self.probe,
            "port": self.port,
            "maker": self.maker,
            "brand": self.brand,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """What camsweep says about one device under the chosen policy (or none)."""

    key: str
    status: Status
    priority: int
    """1 most urgent. 1: Hikvision/Dahua device with known-exploited firmware; 2: restricted
    camera/recorder at high confidence, or firmware possibly exploited; 3: other restricted
    devices; 4: listed; 5: manual checks; 9: clear."""
    priority_reason: str
    location: Location
    maker: str
    brand: str | None
    oem_unit: bool
    device_type: str
    model: str | None
    firmware: str | None
    serial: str | None
    confidence: float
    confidence_level: str
    instruments: tuple[InstrumentMatch, ...] = ()
    """Under a policy: the selected instruments that reach the device. Without one: every
    instrument that names its maker and reaches the unit (in force at the evaluation date)."""
    kev: tuple[KevMatch, ...] = ()
    actions: tuple[RequiredAction, ...] = ()
    """Required by selected instruments, each naming them; empty without a policy."""
    if_confirmed: tuple[RequiredAction, ...] = ()
    """For a manual check: what the policy would require if the maker is confirmed."""
    recommendations: tuple[Recommendation, ...] = ()
    why: str = ""
    evidence: tuple[Evidence, ...] = ()
    conflicts: tuple[str, ...] = ()
    manual_reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    summary: str = ""

    @property
    def maker_label(self) -> str:
        return RESTRICTED_MAKER_NAMES.get(self.maker, self.maker)

    @property
    def brand_vs_maker(self) -> str:
        """"HiLook (Hikvision)", "Lorex (made by Dahua, OEM)", "Hikvision"."""
        maker = self.maker_label
        if not self.brand or self.brand.casefold() == maker.casefold():
            return maker
        if self.maker not in RESTRICTED_MAKER_NAMES:
            return f"{self.brand} (maker {maker})"
        return f"{self.brand} (made by {maker}, OEM)" if self.oem_unit else f"{self.brand} ({maker})"

    @property
    def kev_affected(self) -> tuple[KevMatch, ...]:
        return tuple(m for m in self.kev if m.state is KevState.AFFECTED)

    @property
    def binding(self) -> tuple[InstrumentMatch, ...]:
        """The instruments that impose a duty about this device under the policy."""
        return tuple(m for m in self.instruments if m.binding)

    @property
    def deadlines(self) -> tuple[RequiredAction, ...]:
        """The actions that carry a deadline, each with its own instrument: never merged into one."""
        return tuple(a for a in self.actions if a.deadline is not None)

    @property
    def overdue(self) -> bool:
        return any(a.overdue for a in self.actions)

    @property
    def action_text(self) -> str:
        """Every required action in words (or, for a manual check, what to check and what would follow)."""
        if self.status is Status.MANUAL_CHECK:
            text = "check manually (label, firmware, who manufactured it)"
            if self.if_confirmed:
                name = RESTRICTED_MAKER_NAMES.get(self.maker, "the maker the evidence points to")
                text += f"; if confirmed as {name}: " + "; ".join(a.sentence() for a in self.if_confirmed)
            return text
        return "; ".join(a.sentence() for a in self.actions)

    def by_jurisdiction(self) -> dict[str, tuple[InstrumentMatch, ...]]:
        """The instruments grouped by jurisdiction, in data order."""
        groups: dict[str, list[InstrumentMatch]] = {}
        for match in self.instruments:
            groups.setdefault(match.jurisdiction, []).append(match)
        return {j: tuple(ms) for j, ms in groups.items()}

    def evidence_summary(self, limit: int = 3) -> str:
        parts = [e.short() for e in self.evidence[:limit]]
        more = len(self.evidence) - limit
        return "; ".join(parts) + (f"; +{more} more" if more > 0 else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status.value,
            "priority": self.priority,
            "priority_reason": self.priority_reason,
            "location": self.location.to_dict(),
            "maker": self.maker,
            "brand": self.brand,
            "oem_unit": self.oem_unit,
            "device_type": self.device_type,
            "model": self.model,
            "firmware": self.firmware,
            "serial": self.serial,
            "confidence": round(self.confidence, 4),
            "confidence_level": self.confidence_level,
            "instruments": [m.to_dict() for m in self.instruments],
            "kev": [m.to_dict() for m in self.kev],
            "actions": [a.to_dict() for a in self.actions],
            "if_confirmed": [a.to_dict() for a in self.if_confirmed],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "overdue": self.overdue,
            "action_text": self.action_text,
            "why": self.why,
            "evidence": [e.to_dict() for e in self.evidence],
            "conflicts": list(self.conflicts),
            "manual_reasons": list(self.manual_reasons),
            "notes": list(self.notes),
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    """A scan result, the policy it was judged against, and a finding for every device."""

    result: ScanResult
    policies: tuple[str, ...]
    """The chosen policies; () when none was chosen."""
    findings: tuple[Finding, ...]
    data_versions: dict[str, str] = field(default_factory=dict)
    operator: str | None = None
    """Who ran the scan/report (for the manifest); set by the CLI."""
    instruments: tuple[Instrument, ...] = ()
    """The instruments some finding refers to (full text, dates and citations for the reports)."""
    evaluated_on: date | None = None
    """The date deadlines and the data's age were judged at (``--as-of``, else the scan's end)."""
    warnings: tuple[str, ...] = ()
    """Said above every report: the restrictions or KEV data is older than the configured age."""
    policy_hint: str | None = None
    """Without a policy: what that means and how to choose one (from the data's wording)."""
    audiences: tuple[str, ...] = ()
    seen: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """First and last time each device (by finding key) was seen in the inventory, set by the CLI
    from the stored scans; a device it does not know was seen only in this scan (``seen_span``)."""

    def seen_span(self, finding: Finding) -> tuple[datetime, datetime]:
        """When ``finding``'s device was first and last seen (this scan's start when not known)."""
        return self.seen.get(finding.key) or (self.result.started, self.result.started)

    @property
    def policy_chosen(self) -> bool:
        return bool(self.policies)

    @property
    def policy_label(self) -> str:
        return ",".join(self.policies) if self.policies else "none"

    def _with(self, *statuses: Status) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status in statuses)

    @property
    def remediation(self) -> tuple[Finding, ...]:
        """Restricted and listed devices, most urgent first: the remediation list."""
        return self._with(Status.RESTRICTED, Status.LISTED)

    @property
    def manual_checks(self) -> tuple[Finding, ...]:
        return self._with(Status.MANUAL_CHECK)

    @property
    def clear(self) -> tuple[Finding, ...]:
        return self._with(Status.CLEAR)

    @property
    def restricted_count(self) -> int:
        return len(self._with(Status.RESTRICTED))

    @property
    def flagged(self) -> tuple[Finding, ...]:
        """What exit code 3 and the inventory's "restricted" mark stand for: under a policy the
        restricted devices; without one, every confidently Hikvision/Dahua-made device (listed), so
        that a scheduled run without a policy still signals them."""
        return self._with(Status.RESTRICTED) if self.policy_chosen else self._with(Status.LISTED)

    def counts(self) -> dict[str, int]:
        return {
            "devices": len(self.findings),
            "restricted": self.restricted_count,
            "listed": len(self._with(Status.LISTED)),
            "manual_check": len(self.manual_checks),
            "clear": len(self.clear),
            "kev_affected": sum(1 for f in self.findings if f.kev_affected),
            "kev_possible": sum(1 for f in self.findings if f.kev and not f.kev_affected),
            "overdue": sum(1 for f in self.findings if f.overdue),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "policies": list(self.policies),
            "policy_chosen": self.policy_chosen,
            "audiences": list(self.audiences),
            "policy_hint": self.policy_hint,
            "evaluated_on": self.evaluated_on.isoformat() if self.evaluated_on else None,
            "warnings": list(self.warnings),
            "operator": self.operator,
            "data_versions": dict(self.data_versions),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "instruments": [i.to_dict() for i in self.instruments],
        }


# --------------------------------------------------------------------------- helpers


def _subnet(ip: str | None, targets: Iterable[str]) -> str | None:
    """The scan target network holding ``ip`` (most specific), else its /24 (/64 for IPv6)."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    best: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    for target in targets:
        try:
            net = ipaddress.ip_network(target.strip(), strict=False)
        except ValueError:
            continue
        wider = best is not None and net.prefixlen <= best.prefixlen
        if addr.version == net.version and addr in net and net.num_addresses > 1 and not wider:
            best = net
    if best is None:
        best = ipaddress.ip_network(f"{ip}/{24 if addr.version == 4 else 64}", strict=False)
    return str(best)


def _evidence(verdict: Verdict) -> tuple[Evidence, ...]:
    order = {Tier.FIRMWARE: 0, Tier.LABEL: 1, Tier.NETWORK: 2, Tier.WEAK: 3}
    hits = sorted(verdict.hits, key=lambda h: (order.get(h.tier, 9), -h.certainty, h.rule_id))
    return tuple(Evidence.from_hit(h) for h in hits)


def _uncertain_level(verdict: Verdict) -> bool:
    level = (verdict.confidence_level or "").lower()
    if level in _KNOWN_LEVELS:
        return level in _UNCERTAIN_LEVELS
    return verdict.confidence < UNCERTAIN_BELOW


def _manual_reasons(verdict: Verdict, data: RestrictionsData) -> tuple[list[str], str | None]:
    """Why this verdict needs a person to look, and which maker it may concern (None = none)."""
    reasons: list[str] = []
    maker = verdict.manufacturer.value
    if verdict.is_restricted_maker:
        if verdict.conflicts:
            reasons.append("conflicting evidence: " + "; ".join(verdict.conflicts))
        if _uncertain_level(verdict):
            reasons.append(f"{verdict.confidence_level or 'low'} confidence ({verdict.confidence:.2f})")
        maker_hits = [h for h in verdict.hits if h.maker == verdict.manufacturer]
        if maker_hits and all(h.tier in (Tier.NETWORK, Tier.WEAK) for h in maker_hits):
            reasons.append(
                f"only {'/'.join(sorted({h.tier.value for h in maker_hits}))}-tier evidence "
                f"(e.g. the MAC OUI) points to {RESTRICTED_MAKER_NAMES[maker]}: NIC vendors and OEMs share OUIs"
            )
        elif not maker_hits and not verdict.hits:
            reasons.append(f"no rule hit backs the {RESTRICTED_MAKER_NAMES[maker]} verdict")
        return reasons, maker
    # Not a Hikvision/Dahua verdict: does anything still point there?
    pointing: list[str] = sorted({h.maker.value for h in verdict.hits if h.maker and h.maker.restricted})
    if pointing:
        ids = ", ".join(sorted({h.rule_id for h in verdict.hits if h.maker and h.maker.value in pointing}))
        reasons.append(
            f"evidence for {'/'.join(RESTRICTED_MAKER_NAMES[m] for m in pointing)} ({ids}) but the verdict is "
            f"{verdict.manufacturer.value}"
        )
    if verdict.conflicts and pointing:
        reasons.append("conflicting evidence: " + "; ".join(verdict.conflicts))
    known = data.brand(verdict.brand)
    if known is not None and (verdict.manufacturer is Manufacturer.UNKNOWN or _uncertain_level(verdict)):
        # A relabeller's name alone is a reason to look; a brand that only sometimes sells the
        # maker's products is one only when the device's other evidence already points there.
        behind = [r for r in known.relations if r.maker in RESTRICTED_MAKER_NAMES and (
            r.relation in BRAND_ALONE_CHECK or (r.relation in WITH_EVIDENCE_CHECK and r.maker in pointing))]
        if behind:
            words = "; ".join(RELATION_WORDS[r.relation].format(brand=verdict.brand, maker=RESTRICTED_MAKER_NAMES[r.maker])
                              for r in behind)
            reasons.append(f"brand {verdict.brand!r}: {words}, and no firmware evidence settled who made this unit")
            pointing = pointing or [r.maker for r in behind]
    return reasons, (pointing[0] if pointing else None)


@dataclass(frozen=True, slots=True)
class _Unit:
    """What the instrument matching needs to know about the device."""

    maker: str
    brand: str | None
    oem_unit: bool
    model: str | None
    kev: tuple[KevMatch, ...]
    group_relation: str | None = None
    """``subsidiary`` or ``affiliate`` when the label is a brand of a company in the maker's group
    (EZVIZ, Imou): the unit was produced by that company, not by the maker itself."""


_GROUP_REACH = {
    "makers-subsidiaries-affiliates": {"subsidiary": True, "affiliate": True},
    "makers-and-subsidiaries": {"subsidiary": True, "affiliate": None},
    "country-of-origin": {"subsidiary": True, "affiliate": True},
    "listed-entities": {"subsidiary": False, "affiliate": False},
}
"""Whether an instrument of each ``covers`` kind reaches a product of the maker's subsidiary or
affiliate: True, False, or None (unclear: the text names the maker and says nothing of its group).
Instruments not listed here (all products of the named makers) leave it unclear."""


def _group_reach(instrument: Instrument, unit: _Unit) -> bool | None:
    if unit.group_relation is None or instrument.kev_based or instrument.covers == "named-products":
        return True
    return _GROUP_REACH.get(instrument.covers, {}).get(unit.group_relation)


def _named_products(instrument: Instrument, unit: _Unit) -> bool | None:
    """Whether the unit is one of the products a named-products instrument names (None: cannot tell)."""
    if instrument.covers != "named-products":
        return True
    if instrument.product_brands and unit.brand:
        if not any(unit.brand.casefold() == b.casefold() for b in instrument.product_brands):
            return False
        if not instrument.product_models:
            return True
    if instrument.product_models and unit.model:
        return any(p.match(unit.model.strip()) for p in instrument.product_models)
    return None


def _why(instrument: Instrument, unit: _Unit, data: RestrictionsData, products: bool | None, state: InForce) -> str:
    name = RESTRICTED_MAKER_NAMES[unit.maker]
    words = data.word
    if instrument.kev_based:
        affected = ", ".join(m.cve.id for m in unit.kev) or "a known-exploited vulnerability"
        text = f"{affected} in CISA's KEV catalog; {instrument.id} reaches {data.vocabulary.reach[instrument.covers]}"
    else:
        who = words("oem_unit", brand=unit.brand or "", maker=name) if unit.oem_unit else words("own_unit", maker=name)
        text = f"{who}; {instrument.id} names {data.vocabulary.reach[instrument.covers].format(maker=name)}"
    if unit.oem_unit and not instrument.kev_based:
        text += "; " + words("oem_reach_true" if instrument.covers_oem is True else "oem_reach_unclear", id=instrument.id)
    if _group_reach(instrument, unit) is None:
        text += "; " + words("subsidiary_reach_unclear", id=instrument.id, maker=name, brand=unit.brand or "")
    if products is True and instrument.covers == "named-products":
        text += "; " + words("named_products_match", id=instrument.id)
    elif products is None:
        text += "; " + words("named_products", id=instrument.id, products=instrument.covered_products or "")
    if state is InForce.NOT_YET:
        start = instrument.dates.get("effective") or instrument.dates["announced"]
        text += "; " + words("not_yet_in_force", id=instrument.id, date=str(start))
    if instrument.verification != "primary":
        text += f"; {words('secondary_only')}"
        if instrument.verification_note:
            text += f" ({instrument.verification_note})"
    return text


def _actions_of(
    instrument: Instrument, duties: tuple[Duty, ...], unit: _Unit, day: date, applies_if: str | None
) -> list[RequiredAction]:
    actions = []
    for duty in duties:
        if not duty.restricts or duty.action is None:
            continue
        if duty.kev_due_date or instrument.kev_based:
            # One action per known-exploited CVE the firmware is affected by.
            for match in unit.kev:
                if match.state is not KevState.AFFECTED:
                    continue
                deadline = (PreciseDate(match.cve.due_date.isoformat(), "day", f"KEV due date of {match.cve.id}")
                            if duty.kev_due_date else None)
                actions.append(RequiredAction(
                    duty.kind, duty.action.format(cve=match.cve.id), (instrument.label,), deadline,
                    bool(deadline and deadline.past(day)), duty.condition, applies_if))
            continue
        deadline = duty.deadline
        actions.append(RequiredAction(duty.kind, duty.action, (instrument.label,), deadline,
                                      bool(deadline and deadline.past(day)), duty.condition, applies_if))
    return actions


def _match_instruments(
    data: RestrictionsData, selection: Selection, unit: _Unit, day: date
) -> tuple[list[InstrumentMatch], list[RequiredAction]]:
    """The instruments that reach the unit and, under a policy, the actions they require."""
    matches: list[InstrumentMatch] = []
    actions: list[RequiredAction] = []
    for instrument in selection.instruments:
        if instrument.kev_based:
            # Known-exploited firmware is a duty only for the audiences a directive binds.
            if not selection.chosen or not any(m.state is KevState.AFFECTED for m in unit.kev):
                continue
        elif unit.maker not in instrument.makers:
            continue
        if unit.oem_unit and instrument.covers_oem is False:
            continue  # names the maker's own products only
        if _group_reach(instrument, unit) is False:
            continue  # names the listed entities only, not the maker's subsidiaries
        state = instrument.in_force(day)
        if state is InForce.ENDED:
            continue
        products = _named_products(instrument, unit)
        if products is False:
            continue
        duties = selection.duties(instrument)
        applies_if = (data.word("named_products_unknown", id=instrument.id, products=instrument.covered_products or "")
                      if products is None else None)
        if state is InForce.IN_FORCE:
            actions += _actions_of(instrument, duties, unit, day, applies_if)
        how = ""
        if unit.oem_unit and not instrument.kev_based:
            how = data.word("oem_reach_true" if instrument.covers_oem is True else "oem_reach_unclear", id=instrument.id)
        matches.append(InstrumentMatch(
            id=instrument.id,
            jurisdiction=instrument.jurisdiction,
            name=instrument.title,
            force=instrument.force,
            verification=instrument.verification,
            label=instrument.label,
            why=_why(instrument, unit, data, products, state),
            explanation=instrument.explanation,
            state=state.value,
            duties=tuple(DutyApplied(d.kind, d.text, d.restricts, d.condition) for d in duties),
            reach=how,
        ))
    return matches, actions


def _recommendations(data: RestrictionsData, kev: tuple[KevMatch, ...], actions: list[RequiredAction]) -> list[Recommendation]:
    """The data's recommendations that hold for this device; updating firmware is left out where a
    selected instrument already requires it (then it is an action, with its deadline)."""
    affected = [m.cve.id for m in kev if m.state is KevState.AFFECTED]
    possible = [m.cve.id for m in kev if m.state is KevState.POSSIBLE]
    required = any(a.kind == "remediation" for a in actions)
    out = []
    for item in data.recommendations:
        cves = affected if item.when == "kev-affected" else possible
        if not cves or (item.id == "update-firmware" and required):
            continue
        out.append(Recommendation(item.id, item.text.format(cves=", ".join(cves)), item.source))
    return out


def _priority(status: Status, kev: tuple[KevMatch, ...], verdict: Verdict) -> tuple[int, str]:
    affected = [m.cve.id for m in kev if m.state is KevState.AFFECTED]
    possible = [m.cve.id for m in kev if m.state is KevState.POSSIBLE]
    if status is Status.CLEAR:
        return 9, "nothing points to Hikvision or Dahua"
    if status is Status.MANUAL_CHECK:
        return 5, "uncertain verdict: check by hand"
    if affected:
        return 1, f"known-exploited firmware ({', '.join(affected)})"
    if possible:
        return 2, f"firmware possibly in a known-exploited range ({', '.join(possible)})"
    if status is Status.LISTED:
        return 4, "no selected instrument imposes a duty about it"
    level = (verdict.confidence_level or "").lower()
    if verdict.device_type in _SURVEILLANCE and (level == "high" or (level not in _KNOWN_LEVELS and verdict.confidence >= 0.8)):
        return 2, f"restricted {verdict.device_type.value}, {level or 'high'} confidence"
    return 3, f"restricted {verdict.device_type.value}, {level or 'medium'} confidence"


def _notes(data: RestrictionsData, verdict: Verdict, subject: str, matches: list[InstrumentMatch]) -> list[str]:
    ids = {m.id for m in matches}
    notes = [f"{n.text} (source: {n.source})" for n in data.notes
             if verdict.device_type.value in n.device_types and ids & set(n.instruments)]
    known = data.brand(verdict.brand)
    relation = known.relation_to(subject) if known is not None else None
    if relation is not None and relation.note:
        notes.append(relation.note)  # what the brand's relation leaves open (Lorex: when the unit was made)
    return notes


def _undecided_record(item: IdentifiedDevice) -> bool:
    """A register row with no maker or brand: unlike a host on the wire (most of which are not
    cameras at all), a row an auditor put in the register is one they need an answer for."""
    verdict = item.verdict
    return (
        verdict.manufacturer is Manufacturer.UNKNOWN
        and not verdict.brand
        and any(o.kind is ArtefactKind.ASSET_RECORD for o in item.device.observations)
    )


def assess_device(
    item: IdentifiedDevice,
    data: RestrictionsData,
    selection: Selection,
    targets: Iterable[str] = (),
    today: date | None = None,
) -> Finding:
    """The finding for one device (see the module docstring for the statuses)."""
    device, verdict = item.device, item.verdict
    day = today or date.today()
    location = Location(
        ips=tuple(device.ips),
        macs=tuple(device.macs),
        hostnames=tuple(device.hostnames),
        subnet=_subnet(device.ip, targets),
        outside_targets=device.outside_targets,
        switch_ports=device.switch_ports,
    )
    reasons, concern = _manual_reasons(verdict, data)
    if _undecided_record(item):
        reasons.append("register row: no rule recognised its make, model or serial, so what it is cannot be decided")
    maker = verdict.manufacturer.value
    if verdict.is_restricted_maker:
        status = Status.MANUAL_CHECK if reasons else Status.LISTED
    else:
        status = Status.MANUAL_CHECK if reasons else Status.CLEAR
    subject = maker if verdict.is_restricted_maker else concern
    oem_unit = bool(subject) and not data.is_group_brand(subject or "", verdict.brand)
    matches: list[InstrumentMatch] = []
    actions: list[RequiredAction] = []
    kev: tuple[KevMatch, ...] = ()
    notes: list[str] = []
    if subject:
        kev = tuple(
            m for m in kev_matches(data, subject, verdict.model, verdict.firmware, verdict.brand)
            if m.state is not KevState.NOT_AFFECTED
        )
        known = data.brand(verdict.brand)
        relation = known.relation_to(subject) if known is not None else None
        group = relation.relation if relation is not None and relation.relation in ("subsidiary", "affiliate") else None
        unit = _Unit(subject, verdict.brand, oem_unit, verdict.model, kev, group)
        matches, actions = _match_instruments(data, selection, unit, day)
        notes = _notes(data, verdict, subject, matches)
    if device.outside_targets:
        # An auditor must see it: it is on the wire, whatever the scan's targets said.
        notes.insert(0, f"{OUTSIDE_TARGETS}: it answered discovery from "
                        f"{device.ip or 'no address (0.0.0.0)'}, outside the scan's targets; identified from "
                        "what it sent (probed only with --probe-strays, and only at a private address)")
    if status is Status.LISTED and any(a.applies_if is None for a in actions):
        status = Status.RESTRICTED
    priority, priority_reason = _priority(status, kev, verdict)
    if_confirmed: tuple[RequiredAction, ...] = ()
    if status is Status.MANUAL_CHECK:
        # Nothing is due until a person confirms the maker; say what would follow if they do.
        if_confirmed, actions = tuple(actions), []
    recommendations = _recommendations(data, kev, actions) if status is not Status.CLEAR else []
    evidence = _evidence(verdict)
    return Finding(
        key=device.key,
        status=status,
        priority=priority,
        priority_reason=priority_reason,
        location=location,
        maker=maker,
        brand=verdict.brand,
        oem_unit=oem_unit,
        device_type=verdict.device_type.value,
        model=verdict.model,
        firmware=verdict.firmware,
        serial=verdict.serial,
        confidence=verdict.confidence,
        confidence_level=verdict.confidence_level,
        instruments=tuple(matches),
        kev=kev,
        actions=tuple(actions),
        if_confirmed=if_confirmed,
        recommendations=tuple(recommendations),
        why=_verdict_why(verdict, subject, evidence, oem_unit),
        evidence=evidence,
        conflicts=tuple(verdict.conflicts),
        manual_reasons=tuple(reasons),
        notes=tuple(notes),
        summary=verdict.summary,
    )


def _verdict_why(verdict: Verdict, subject: str | None, evidence: tuple[Evidence, ...], oem_unit: bool) -> str:
    if not subject:
        return verdict.summary or f"verdict: {verdict.manufacturer.value}"
    name = RESTRICTED_MAKER_NAMES[subject]
    strong = [e for e in evidence if e.maker == subject]
    tiers = sorted({e.tier for e in strong}, key=["firmware", "label", "network", "weak"].index)
    basis = f"{'/'.join(tiers)} evidence" if tiers else "no direct rule evidence"
    head = f"{verdict.manufacturer.value} verdict ({verdict.confidence_level} {verdict.confidence:.2f}) from {basis}"
    if oem_unit and verdict.brand and verdict.is_restricted_maker:
        head += f"; sold as {verdict.brand}, made by {name}"
    elif verdict.brand and not verdict.is_restricted_maker:
        head += f"; sold as {verdict.brand}, a brand that has sold {name}-made products"
    ids = ", ".join(e.rule_id for e in strong[:4]) or ", ".join(e.rule_id for e in evidence[:4])
    return head + (f": {ids}" if ids else "")


def _sort_key(finding: Finding) -> tuple[Any, ...]:
    return (
        finding.priority,
        -finding.confidence,
        _TYPE_ORDER.get(DeviceType(finding.device_type), 9),
        _ip_key(finding.location.ip),
        finding.key,
    )


def _ip_key(ip: str) -> tuple[int, int]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0)
    return (addr.version, int(addr))


def assess(
    result: ScanResult,
    data: RestrictionsData,
    selection: Selection,
    today: date | None = None,
    operator: str | None = None,
    max_data_age: int = DEFAULT_MAX_DATA_AGE,
) -> Assessment:
    """Findings for every device in ``result``, most urgent first.

    ``today`` is the date deadlines (and the data's age) are judged at; it defaults to the day the
    scan finished, so that the same scan file always gives the same report (``--as-of`` sets it).
    """
    day = today or result.finished.date()
    findings = [assess_device(item, data, selection, result.targets, day) for item in result.devices]
    versions = dict(result.data_versions)
    versions.update(data.versions())
    used = {m.id for f in findings for m in f.instruments}
    return Assessment(
        result=result,
        policies=selection.names,
        findings=tuple(sorted(findings, key=_sort_key)),
        data_versions=versions,
        operator=operator,
        instruments=tuple(i for i in data.instruments if i.id in used),
        evaluated_on=day,
        warnings=data.stale(day, max_data_age),
        policy_hint=None if selection.chosen else data.word("no_policy"),
        audiences=tuple(sorted(selection.audiences)),
    )


def evaluate(
    result: ScanResult,
    policies: str | Iterable[str] | None = None,
    *,
    data: RestrictionsData | None = None,
    operator: str | None = None,
    as_of: date | None = None,
    max_data_age: int = DEFAULT_MAX_DATA_AGE,
) -> Assessment:
    """Convenience for callers (CLI ``scan``/``report``): load the packaged data, pick the policies
    (``"us-federal,us-grant"``, a list, or None for no policy) and assess ``result`` at ``as_of``
    (default: the day the scan finished)."""
    from . import policy as policy_module
    from .restrictions import load

    loaded = data or load()
    return assess(result, loaded, policy_module.select(loaded, policies), today=as_of, operator=operator,
                  max_data_age=max_data_age)
