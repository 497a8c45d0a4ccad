"""Terminal view of the remediation list, the manual checks and the data versions (tabulate)."""

from __future__ import annotations

from camsweep.findings import Assessment, Finding
from tabulate import tabulate

from .text import clean, place

HEADERS = ["#", "prio", "IP", "MAC", "brand (maker)", "type", "model", "firmware", "instruments", "KEV", "required action",
           "deadline", "recommended"]
MANUAL_HEADERS = ["IP", "MAC", "verdict", "brand", "model", "why a manual check"]


def deadlines_text(finding: Finding) -> str:
    """Each deadline with its own instrument and precision (``2025-04 (UK-TIMELINE) OVERDUE``), never merged."""
    return "; ".join(a.deadline_text for a in finding.deadlines)


def instruments_text(finding: Finding, limit: int = 4) -> str:
    """The instruments that bind under the policy (else all that name the maker), grouped by
    jurisdiction: their ids when few (``UK: UK-WMS22, UK-TIMELINE``), else counts per jurisdiction
    (``US 18, UK 3, AU 1``; every id is in the csv, json and html reports)."""
    shown = finding.binding or finding.instruments
    if not shown:
        return "(no instrument)"
    groups: dict[str, list[str]] = {}
    for m in shown:
        groups.setdefault(m.jurisdiction, []).append(m.label)
    if len(shown) <= limit:
        return "; ".join(f"{j}: {', '.join(ids)}" for j, ids in groups.items())
    return ", ".join(f"{j} {len(ids)}" for j, ids in groups.items())


def _action(finding: Finding) -> str:
    return "; ".join(f"{a.kind} ({', '.join(a.instruments)})" + (" if applicable" if a.applies_if else "")
                     for a in finding.actions)


def _kev(finding: Finding) -> str:
    return " ".join(f"{m.cve.id}{'' if m.state.value == 'affected' else '?'}" for m in finding.kev)


def _remediation_rows(assessment: Assessment) -> list[list[str]]:
    rows = []
    for number, f in enumerate(assessment.remediation, 1):
        rows.append(
            [
                str(number),
                str(f.priority),
                clean(place(f.location.ip, f.location.mac, f.location.hostnames), 40),
                clean(f.location.mac, 17),
                clean(f.brand_vs_maker, 36),
                clean(f.device_type, 18),
                clean(f.model or "", 24),
                clean(f.firmware or "", 28),
                clean(instruments_text(f), 100),
                clean(_kev(f), 40),
                clean(_action(f), 110),
                clean(deadlines_text(f), 60),
                clean("; ".join(r.id for r in f.recommendations), 30),
            ]
        )
    return rows


def header_lines(assessment: Assessment) -> list[str]:
    """What every report says above the list: policy, data versions and date, the no-policy meaning,
    and a warning when the data is older than the configured age."""
    versions = assessment.data_versions
    when = assessment.evaluated_on.isoformat() if assessment.evaluated_on else "?"
    lines = [
        (f"camsweep remediation list -- policy {assessment.policy_label}; judged at {when}; "
         f"restrictions data {versions.get('restrictions_version', '?')} (as of {versions.get('restrictions_as_of', '?')}), "
         f"KEV as of {versions.get('kev_as_of', '?')}")
    ]
    if assessment.policy_hint:
        lines.append(assessment.policy_hint)
    lines += [f"WARNING: {w}" for w in assessment.warnings]
    return lines


def render(assessment: Assessment) -> str:
    result = assessment.result
    counts = assessment.counts()
    out: list[str] = header_lines(assessment)
    out.append("")
    rows = _remediation_rows(assessment)
    if rows:
        out.append(tabulate(rows, headers=HEADERS, tablefmt="simple"))
    else:
        out.append("No Hikvision or Dahua device found.")
    manual = assessment.manual_checks
    if manual:
        out.append("")
        out.append(f"Needs a manual check ({len(manual)}):")
        out.append(
            tabulate(
                [
                    [
                        clean(place(f.location.ip, f.location.mac, f.location.hostnames), 40),
                        clean(f.location.mac, 17),
                        clean(f"{f.maker} {f.confidence_level} {f.confidence:.2f}", 30),
                        clean(f.brand or "", 24),
                        clean(f.model or "", 24),
                        clean("; ".join(f.manual_reasons), 120),
                    ]
                    for f in manual
                ],
                headers=MANUAL_HEADERS,
                tablefmt="simple",
            )
        )
    out.append("")
    listed = "listed (no duty under the policy)" if assessment.policy_chosen else "listed (Hikvision/Dahua-made; no policy chosen)"
    out.append(
        f"{counts['devices']} device(s): {counts['restricted']} restricted, {counts['listed']} {listed}, "
        f"{counts['manual_check']} need a manual check, {counts['clear']} clear; "
        f"{counts['kev_affected']} with known-exploited firmware; {counts['overdue']} with an overdue deadline"
        + (" -- PARTIAL result" if result.partial else "")
    )
    out.append("Actions come only from the instruments the policy selects, each named; 'recommended' measures "
               "(e.g. firmware with a CISA KEV vulnerability) are advice, not duties. In full: --format csv, json or html.")
    for note in result.notes:
        out.append(f"note: {clean(note, 200)}")
    return "\n".join(out) + "\n"
