"""Terminal view of the remediation list, the manual checks and the data versions (tabulate)."""

from __future__ import annotations

from camsweep.findings import Assessment, Finding
from tabulate import tabulate

from .text import clean, place

HEADERS = ["#", "prio", "IP", "MAC", "brand (maker)", "type", "model", "firmware", "falls under", "KEV", "action", "deadline"]
MANUAL_HEADERS = ["IP", "MAC", "verdict", "brand", "model", "why a manual check"]


def _deadline(finding: Finding) -> str:
    if not finding.deadline:
        return ""
    source = (finding.deadline_source or "").split(" ")[0]
    return finding.deadline.isoformat() + (f" {source}" if source else "") + (" OVERDUE" if finding.overdue else "")


def _instruments(finding: Finding) -> str:
    """A few ids as they are; many (policy "all") summarised per jurisdiction: "US x9, UK x2, AU"."""
    if not finding.instruments:
        return "(informational only)"
    if len(finding.instruments) <= 3:
        return " ".join(m.label for m in finding.instruments)
    per: dict[str, int] = {}
    for m in finding.instruments:
        per[m.jurisdiction] = per.get(m.jurisdiction, 0) + 1
    return ", ".join(f"{j} x{n}" if n > 1 else j for j, n in per.items())


def _action(finding: Finding) -> str:
    words = [a.value for a in finding.actions]
    return "; ".join(words)


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
                clean(_instruments(f), 60),
                clean(_kev(f), 40),
                clean(_action(f), 70),
                _deadline(f),
            ]
        )
    return rows


def render(assessment: Assessment) -> str:
    result = assessment.result
    counts = assessment.counts()
    versions = assessment.data_versions
    out: list[str] = []
    out.append(
        f"camsweep remediation list -- policy {','.join(assessment.policies)}; "
        f"restrictions data {versions.get('restrictions_version', '?')} (as of {versions.get('restrictions_as_of', '?')}), "
        f"KEV as of {versions.get('kev_as_of', '?')}"
    )
    out.append("")
    rows = _remediation_rows(assessment)
    if rows:
        out.append(tabulate(rows, headers=HEADERS, tablefmt="simple"))
    else:
        out.append("No Hikvision or Dahua device falls under the chosen policy.")
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
    out.append(
        f"{counts['devices']} device(s): {counts['restricted']} restricted, {counts['listed']} listed (informational only), "
        f"{counts['manual_check']} need a manual check, {counts['clear']} clear; "
        f"{counts['kev_affected']} with known-exploited firmware"
        + (" -- PARTIAL result" if result.partial else "")
    )
    out.append("Actions and deadlines in full: --format csv, json or html. Choose the policy that binds you (--policy) for the deadlines that matter.")
    for note in result.notes:
        out.append(f"note: {clean(note, 200)}")
    return "\n".join(out) + "\n"
