"""Findings: each identified device checked against the restrictions data and the chosen policy.

For every device this module answers: which instruments does it fall under and why (the verdict
and its evidence), how urgent is it (known-exploited firmware on a covered device first), what to
do (replace, isolate onto a restricted VLAN, update firmware, document an exemption) and by when,
and where it is (IP, MAC, hostname, subnet).

A device is one of:

* ``restricted``   a confident Hikvision/Dahua verdict and at least one instrument that creates a
                   duty about devices applies under the chosen policy;
* ``listed``       a confident Hikvision/Dahua verdict, but the chosen policy only names the maker
                   in informational instruments (export/investment lists, ...) or not at all;
* ``manual-check`` the verdict is uncertain (low confidence, conflicting evidence, MAC OUI only,
                   a brand known to relabel Hikvision/Dahua products without maker evidence):
                   listed apart, never dropped;
* ``clear``        nothing points to Hikvision or Dahua.

Everything here is pure: :func:`assess` takes a ScanResult and returns an :class:`Assessment`.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .models import (
    DeviceType,
    IdentifiedDevice,
    Manufacturer,
    RuleHit,
    ScanResult,
    Tier,
    Verdict,
)
from .policy import Selection
from .restrictions import Instrument, KevMatch, KevState, RestrictionsData, kev_matches, verified_label
from .types import RESTRICTED_MAKER_NAMES

PURPOSES = (
    "public safety, security of government facilities, physical security surveillance of critical "
    "infrastructure or other national security purposes"
)

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


class Action(str, enum.Enum):
    UPDATE_FIRMWARE = "update firmware"
    ISOLATE = "isolate onto a restricted VLAN"
    REPLACE = "replace"
    REPORT = "report"
    DOCUMENT_EXEMPTION = "document an exemption"
    DOCUMENT = "document in the inventory"
    CHECK = "check manually"


@dataclass(frozen=True, slots=True)
class Location:
    ips: tuple[str, ...]
    macs: tuple[str, ...]
    hostnames: tuple[str, ...]
    subnet: str | None

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
        return {"ips": list(self.ips), "macs": list(self.macs), "hostnames": list(self.hostnames), "subnet": self.subnet}


@dataclass(frozen=True, slots=True)
class InstrumentMatch:
    """One instrument a device falls under, and why."""

    id: str
    jurisdiction: str
    name: str
    binding: bool
    action: str
    why: str
    verification: str
    deadline: date | None = None
    deadline_text: str | None = None
    purpose_limited: bool = False
    reach: str = ""
    """For an OEM unit: how the instrument reaches it ("" for the maker's own brands)."""

    @property
    def label(self) -> str:
        return verified_label(self.id, self.verification)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "name": self.name,
            "binding": self.binding,
            "action": self.action,
            "why": self.why,
            "verification": self.verification,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_text": self.deadline_text,
            "purpose_limited": self.purpose_limited,
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
    """What camsweep says about one device under the chosen policy."""

    key: str
    status: Status
    priority: int
    """1 most urgent. 1: covered device with known-exploited firmware; 2: covered camera/recorder,
    high confidence, or firmware possibly exploited; 3: other covered devices; 4: listed only;
    5: manual checks; 9: clear."""
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
    informational: tuple[InstrumentMatch, ...] = ()
    kev: tuple[KevMatch, ...] = ()
    actions: tuple[Action, ...] = ()
    action_text: str = ""
    deadline: date | None = None
    deadline_source: str | None = None
    deadline_texts: tuple[str, ...] = ()
    overdue: bool = False
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
            "informational": [m.to_dict() for m in self.informational],
            "kev": [m.to_dict() for m in self.kev],
            "actions": [a.value for a in self.actions],
            "action_text": self.action_text,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_source": self.deadline_source,
            "deadline_texts": list(self.deadline_texts),
            "overdue": self.overdue,
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
    findings: tuple[Finding, ...]
    data_versions: dict[str, str] = field(default_factory=dict)
    operator: str | None = None
    """Who ran the scan/report (for the manifest); set by the CLI."""
    instruments: tuple[Instrument, ...] = ()
    """The instruments some finding refers to (full text, dates and citations for the reports)."""
    seen: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """First and last time each device (by finding key) was seen in the inventory, set by the CLI
    from the stored scans; a device it does not know was seen only in this scan (``seen_span``)."""

    def seen_span(self, finding: Finding) -> tuple[datetime, datetime]:
        """When ``finding``'s device was first and last seen (this scan's start when not known)."""
        return self.seen.get(finding.key) or (self.result.started, self.result.started)

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

    def counts(self) -> dict[str, int]:
        return {
            "devices": len(self.findings),
            "restricted": self.restricted_count,
            "listed": len(self._with(Status.LISTED)),
            "manual_check": len(self.manual_checks),
            "clear": len(self.clear),
            "kev_affected": sum(1 for f in self.findings if f.kev_affected),
            "kev_possible": sum(1 for f in self.findings if f.kev and not f.kev_affected),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "policies": list(self.policies),
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
    behind = data.makers_behind_brand(verdict.brand)
    if behind and (verdict.manufacturer is Manufacturer.UNKNOWN or _uncertain_level(verdict)):
        reasons.append(
            f"brand {verdict.brand!r} is known to sell {'/'.join(RESTRICTED_MAKER_NAMES[m] for m in behind)}-made "
            "products, and no firmware evidence settled who made this unit"
        )
        pointing = pointing or list(behind)
    return reasons, (pointing[0] if pointing else None)


def _instrument_why(instrument: Instrument, maker: str, brand: str | None, oem_unit: bool, how: str) -> str:
    name = RESTRICTED_MAKER_NAMES[maker]
    who = f"{brand} unit produced by {name}" if oem_unit else f"{name} equipment"
    subs = " (or a subsidiary/affiliate)" if instrument.subsidiaries else ""
    text = f"{who}; {instrument.id} covers equipment of {name}{subs}"
    if oem_unit:
        text += f"; {how}"
    if instrument.purpose_limited:
        text += f"; applies where the device is used for {PURPOSES}"
    if instrument.verification != "V":
        text += f"; data verification {instrument.verification}"
        if instrument.verification_note:
            text += f" ({instrument.verification_note})"
    return text


def _match_instruments(
    selection: Selection, maker: str, brand: str | None, oem_unit: bool
) -> tuple[list[InstrumentMatch], list[InstrumentMatch]]:
    binding: list[InstrumentMatch] = []
    informational: list[InstrumentMatch] = []
    for instrument in selection.instruments:
        if maker not in instrument.makers:
            continue
        if oem_unit and instrument.oem is False:
            continue  # names the maker's own products only
        if oem_unit and instrument.oem == "unclear":
            how = "whether it reaches relabelled (OEM) equipment is unclear"
        elif oem_unit:
            how = "it reaches equipment produced by a covered entity under another brand"
        else:
            how = ""
        match = InstrumentMatch(
            id=instrument.id,
            jurisdiction=instrument.jurisdiction,
            name=instrument.name,
            binding=instrument.binding,
            action=instrument.action,
            why=_instrument_why(instrument, maker, brand, oem_unit, how),
            verification=instrument.verification,
            deadline=instrument.deadline,
            deadline_text=instrument.deadline_text,
            purpose_limited=instrument.purpose_limited,
            reach=how,
        )
        (binding if instrument.binding else informational).append(match)
    return binding, informational


def _actions(binding: list[InstrumentMatch], kev: tuple[KevMatch, ...], status: Status) -> tuple[Action, ...]:
    actions: list[Action] = []
    if status is Status.MANUAL_CHECK:
        actions.append(Action.CHECK)
    if any(m.state is KevState.AFFECTED for m in kev):
        actions += [Action.UPDATE_FIRMWARE, Action.ISOLATE]
    elif any(m.state is KevState.POSSIBLE for m in kev):
        actions.append(Action.UPDATE_FIRMWARE)
    kinds = {m.action for m in binding}
    if "replace" in kinds:
        actions.append(Action.REPLACE)
    if "isolate" in kinds or (binding and "replace" not in kinds):
        actions.append(Action.ISOLATE)
    if "report" in kinds:
        actions.append(Action.REPORT)
    duties = [m for m in binding if m.action in ("replace", "report")]
    if duties and all(m.purpose_limited for m in duties):
        # Every removal/report duty applies only to equipment used for the covered purposes.
        actions.append(Action.DOCUMENT_EXEMPTION)
    if status is Status.LISTED or (binding and not kinds & {"replace", "report", "isolate"}):
        actions.append(Action.DOCUMENT)
    return tuple(dict.fromkeys(actions))


def _action_text(actions: tuple[Action, ...], binding: list[InstrumentMatch], kev: tuple[KevMatch, ...]) -> str:
    parts: list[str] = []
    affected = [m.cve.id for m in kev if m.state is KevState.AFFECTED]
    possible = [m.cve.id for m in kev if m.state is KevState.POSSIBLE]
    for action in actions:
        if action is Action.UPDATE_FIRMWARE:
            if affected:
                parts.append(f"update firmware now ({', '.join(affected)} known exploited)")
            else:
                parts.append(f"check firmware and update ({', '.join(possible)} possibly affected)")
        elif action is Action.ISOLATE:
            parts.append("isolate onto a restricted VLAN" + (" until updated" if affected else ""))
        elif action is Action.REPLACE:
            ids = [m.label for m in binding if m.action == "replace"]
            parts.append(f"replace ({', '.join(ids)})")
        elif action is Action.REPORT:
            ids = [m.label for m in binding if m.action == "report"]
            parts.append(f"report ({', '.join(ids)})")
        elif action is Action.DOCUMENT_EXEMPTION:
            parts.append(f"or document an exemption if not used for {PURPOSES}")
        elif action is Action.DOCUMENT:
            parts.append("document in the inventory; do not buy more or renew")
        elif action is Action.CHECK:
            parts.append("check manually (label, firmware, who manufactured it)")
    return "; ".join(parts)


def _deadline(
    binding: list[InstrumentMatch], kev: tuple[KevMatch, ...], selection: Selection
) -> tuple[date | None, str | None, tuple[str, ...]]:
    candidates: list[tuple[date, str]] = [(m.deadline, m.label) for m in binding if m.deadline]
    # KEV due dates bind US federal civilian agencies (BOD 22-01): count them for those policies.
    if {"all", "us-federal"} & set(selection.names):
        candidates += [(m.cve.due_date, f"{m.cve.id} KEV due date (BOD 22-01)") for m in kev if m.state is KevState.AFFECTED]
    texts = tuple(f"{m.label}: {m.deadline_text}" for m in binding if m.deadline_text)
    if not candidates:
        return None, None, texts
    when, source = min(candidates)
    return when, source, texts


def _priority(status: Status, kev: tuple[KevMatch, ...], verdict: Verdict) -> tuple[int, str]:
    affected = [m.cve.id for m in kev if m.state is KevState.AFFECTED]
    possible = [m.cve.id for m in kev if m.state is KevState.POSSIBLE]
    if status is Status.CLEAR:
        return 9, "nothing points to Hikvision or Dahua"
    if status is Status.MANUAL_CHECK:
        return 5, "uncertain verdict: check by hand"
    if affected:
        return 1, f"known-exploited firmware ({', '.join(affected)})"
    if status is Status.LISTED:
        return 4, "maker named only by informational instruments under this policy"
    level = (verdict.confidence_level or "").lower()
    if possible:
        return 2, f"firmware possibly in a known-exploited range ({', '.join(possible)})"
    if verdict.device_type in _SURVEILLANCE and (level == "high" or (level not in _KNOWN_LEVELS and verdict.confidence >= 0.8)):
        return 2, f"covered {verdict.device_type.value}, {level or 'high'} confidence"
    return 3, f"covered {verdict.device_type.value}, {level or 'medium'} confidence"


def assess_device(
    item: IdentifiedDevice,
    data: RestrictionsData,
    selection: Selection,
    targets: Iterable[str] = (),
    today: date | None = None,
) -> Finding:
    """The finding for one device (see the module docstring for the statuses)."""
    device, verdict = item.device, item.verdict
    location = Location(
        ips=tuple(device.ips),
        macs=tuple(device.macs),
        hostnames=tuple(device.hostnames),
        subnet=_subnet(device.ip, targets),
    )
    reasons, concern = _manual_reasons(verdict, data)
    if verdict.is_restricted_maker:
        maker = verdict.manufacturer.value
        status = Status.MANUAL_CHECK if reasons else Status.RESTRICTED
    else:
        maker = verdict.manufacturer.value
        status = Status.MANUAL_CHECK if reasons else Status.CLEAR
    subject = maker if verdict.is_restricted_maker else concern
    oem_unit = bool(subject) and not data.is_group_brand(subject or "", verdict.brand)
    binding: list[InstrumentMatch] = []
    informational: list[InstrumentMatch] = []
    kev: tuple[KevMatch, ...] = ()
    if subject:
        binding, informational = _match_instruments(selection, subject, verdict.brand, oem_unit)
        kev = tuple(
            m for m in kev_matches(data, subject, verdict.model, verdict.firmware, verdict.brand)
            if m.state is not KevState.NOT_AFFECTED
        )
    if status is Status.RESTRICTED and not binding:
        status = Status.LISTED
    priority, priority_reason = _priority(status, kev, verdict)
    deadline_texts: tuple[str, ...]
    if status is Status.CLEAR:
        actions: tuple[Action, ...] = ()
        action_text = ""
        deadline, deadline_source, deadline_texts = None, None, ()
    elif status is Status.MANUAL_CHECK:
        # Nothing is due until a person confirms the maker; say what would follow if they do.
        actions = _actions([], kev, status)
        action_text = _action_text(actions, [], kev)
        if_confirmed = _actions(binding, (), Status.RESTRICTED if binding else Status.LISTED)
        if subject and if_confirmed:
            action_text += f"; if confirmed as {RESTRICTED_MAKER_NAMES[subject]}: " + _action_text(if_confirmed, binding, ())
        deadline, deadline_source, deadline_texts = None, None, ()
    else:
        actions = _actions(binding, kev, status)
        action_text = _action_text(actions, binding, kev)
        deadline, deadline_source, deadline_texts = _deadline(binding, kev, selection)
    notes: list[str] = []
    if subject and verdict.device_type in (DeviceType.NVR, DeviceType.DVR):
        notes.append(
            "whether recorders count as video surveillance equipment under section 889 is disputed "
            "(Dahua told the FCC they do not; IPVM, distributors treat them as covered)"
        )
    if subject and oem_unit and verdict.brand and verdict.brand.casefold() == "lorex":
        notes.append("Lorex was Dahua-owned 2018-2023 only: whether this unit was produced by Dahua depends on when it was made")
    evidence = _evidence(verdict)
    why = _why(verdict, subject, evidence, oem_unit)
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
        instruments=tuple(binding),
        informational=tuple(informational),
        kev=kev,
        actions=actions,
        action_text=action_text,
        deadline=deadline,
        deadline_source=deadline_source,
        deadline_texts=deadline_texts,
        overdue=bool(deadline and today and deadline < today),
        why=why,
        evidence=evidence,
        conflicts=tuple(verdict.conflicts),
        manual_reasons=tuple(reasons),
        notes=tuple(notes),
        summary=verdict.summary,
    )


def _why(verdict: Verdict, subject: str | None, evidence: tuple[Evidence, ...], oem_unit: bool) -> str:
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
) -> Assessment:
    """Findings for every device in ``result``, most urgent first.

    ``today`` marks deadlines already past as overdue; it defaults to the day the scan finished so
    that the same scan file always gives the same report.
    """
    day = today or result.finished.date()
    findings = [assess_device(item, data, selection, result.targets, day) for item in result.devices]
    versions = dict(result.data_versions)
    versions.update(data.versions())
    used = {m.id for f in findings for m in f.instruments + f.informational}
    return Assessment(
        result=result,
        policies=selection.names,
        findings=tuple(sorted(findings, key=_sort_key)),
        data_versions=versions,
        operator=operator,
        instruments=tuple(i for i in selection.instruments if i.id in used),
    )


def evaluate(
    result: ScanResult,
    policies: str | Iterable[str] | None = None,
    *,
    data: RestrictionsData | None = None,
    operator: str | None = None,
) -> Assessment:
    """Convenience for callers (CLI ``scan``/``report``): load the packaged data, pick the policies
    (``"us-federal,uk-gov"``, a list, or None for ``all``) and assess ``result``."""
    from . import policy as policy_module
    from .restrictions import load

    loaded = data or load()
    return assess(result, loaded, policy_module.select(loaded, policies), operator=operator)
