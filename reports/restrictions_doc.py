"""The restrictions data as an auditor reads it before trusting a remediation list.

``render(view, fmt)`` for ``camsweep restrictions``: ``table`` (terminal), ``json``, ``markdown``
(``RESTRICTIONS.md`` is this, for the whole data and no date: a test checks the committed file).
One row per instrument: jurisdiction, force, whom it binds, what it covers, its duties (with
deadlines as the source gives them), its dates with their precision, its citations and how it was
verified; then the policies and what each selects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from camsweep.jsonio import dumps
from tabulate import tabulate

from .text import clean

if TYPE_CHECKING:  # the renderer only reads the data objects it is handed (tests/test_boundaries.py)
    from camsweep.restrictions import (
        Citation,
        Instrument,
        PreciseDate,
        RestrictionsData,
    )

FORMATS = ("table", "json", "markdown")
_DATE_WORDS = {"announced": "announced", "effective": "effective", "ended": "ended", "completed": "completed",
               "comments_due": "comments due"}


@dataclass(frozen=True)
class View:
    """What ``camsweep restrictions`` shows: the data, the instruments left by the filters, the
    policies the user named (their audiences' duties are marked), and the date it is judged at."""

    data: RestrictionsData
    instruments: tuple[Instrument, ...]
    policies: tuple[str, ...] = ()
    audiences: frozenset[str] = frozenset()
    as_of: date | None = None
    filters: tuple[str, ...] = ()


def _precise(value: PreciseDate) -> str:
    return f"{value.value} ({value.precision})"


def dates_text(instrument: Instrument) -> str:
    """``announced 2018-08-13 (day); effective 2019-08-13 (day)``."""
    return "; ".join(f"{_DATE_WORDS[key]} {_precise(value)}" for key, value in instrument.dates.items())


def covers_text(instrument: Instrument) -> str:
    oem = {True: "yes", False: "no", "unclear": "unclear"}[instrument.covers_oem]
    text = f"{instrument.covers}; OEM units: {oem}"
    if instrument.covered_products:
        text += f"; products: {instrument.covered_products}"
    return text


def duties_text(instrument: Instrument, audiences: frozenset[str] = frozenset(), as_of: date | None = None) -> str:
    """Each duty: kind, whom it binds, its deadline with precision (past at ``as_of``: PAST)."""
    parts = []
    for duty in instrument.duties:
        mark = "* " if audiences & set(duty.binds) else ""
        text = f"{mark}{duty.kind} ({', '.join(duty.binds)})"
        if duty.deadline is not None:
            text += f" by {_precise(duty.deadline)}"
            if as_of is not None and duty.deadline.past(as_of):
                text += " PAST"
        if duty.kev_due_date:
            text += " by each KEV due date"
        parts.append(text)
    return "; ".join(parts)


def _citation(citation: Citation, markdown: bool) -> str:
    ids = ", ".join(citation.identifiers)
    head = ids or citation.text
    if citation.url and markdown:
        head = f"[{head}]({citation.url})"
    elif citation.url:
        head = f"{head} <{citation.url}>"
    kind = "primary" if citation.primary else "secondary"
    return f"{head} ({kind}, retrieved {citation.retrieved.isoformat()})"


def citations_text(instrument: Instrument, markdown: bool = False) -> str:
    return "; ".join(_citation(c, markdown) for c in instrument.citations)


def verification_text(instrument: Instrument) -> str:
    return instrument.verification + (f": {instrument.verification_note}" if instrument.verification_note else "")


def _state(view: View, instrument: Instrument) -> str:
    return instrument.in_force(view.as_of).value if view.as_of else ""


def _md(text: str) -> str:
    """A Markdown table cell: no line break, no column separator."""
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(view: View) -> str:
    data = view.data
    out = [
        "# Restrictions data",
        "",
        (f"Generated from `fingerprints/restrictions.toml` (version {data.version}, as of {data.as_of.isoformat()}) "
         "by `camsweep restrictions --format markdown`; do not edit by hand (a test checks that this file is "
         "what the data gives). One row per instrument: whom it binds, what it covers, its duties, legal force, "
         "dates as the source gives them (with their precision), citations and how it was verified. "
         "A duty's deadline is the only date anything is due by; a month or year deadline is past only "
         "once that whole month or year has ended."),
        "",
        "| id | where | binds | covers | duty | force | dates | citation | verification |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i in view.instruments:
        cells = [i.id, i.jurisdiction, ", ".join(i.binds), covers_text(i), duties_text(i), i.force,
                 dates_text(i), citations_text(i, markdown=True), verification_text(i)]
        out.append("| " + " | ".join(_md(c) for c in cells) + " |")
    out += ["", "## Policies", "",
            "A policy says who you are; it selects the instruments with a duty binding its audiences.", "",
            "| policy | who | audiences | instruments |", "|---|---|---|---|"]
    for p in data.policies:
        ids = [i.id for i in data.instruments if i.duties_for(set(p.audiences))]
        out.append("| " + " | ".join(_md(c) for c in (f"`{p.name}`", p.who, ", ".join(p.audiences),
                                                          ", ".join(ids) or "(none binds it)")) + " |")
    out += ["", "## Maker–brand relations", "",
            ("From `fingerprints/makers.toml`, the one place they live (the verdicts and findings read them). "
             "`oem`, `former-subsidiary` and `former-oem` brands make a manual check on the label alone; `mix` "
             "brands only when the device's other evidence points to the maker; `former-owner` says nothing "
             "about who made a unit."), "",
            "| brand | maker | relation | when | sources |", "|---|---|---|---|---|"]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in brand_rows(data, markdown=True)]
    out += ["", "## Vocabulary", ""]
    for title, words in (("Audiences (binds)", data.vocabulary.audiences), ("Duty kinds", data.vocabulary.duty_kinds),
                         ("Legal force", data.vocabulary.force), ("Covers", data.vocabulary.covers)):
        out += [f"### {title}", ""] + [f"* `{k}`: {_md(v)}" for k, v in words.items()] + [""]
    return "\n".join(out).rstrip() + "\n"


def brand_rows(data: RestrictionsData, markdown: bool = False) -> list[list[str]]:
    """(brand, maker, relation, when, sources) for every relation to a restricted maker."""
    rows = []
    seen: set[str] = set()
    for brand in data.brands.brands.values():
        if brand.name in seen:
            continue
        seen.add(brand.name)
        for r in brand.relations:
            if r.maker not in data.makers:
                continue
            span = (f"{r.since} to {r.until}" if r.since and r.until else f"since {r.since}" if r.since
                    else f"until {r.until}" if r.until else "")
            when = "; ".join(x for x in (span, r.period) if x)
            sources = "; ".join(
                (f"[{x.text}]({x.url})" if markdown else f"{x.text} <{x.url}>") + f" (retrieved {x.retrieved})"
                if x.url else f"{x.text} (retrieved {x.retrieved})" for x in r.sources)
            rows.append([brand.name, data.maker_name(r.maker), r.relation, when, sources])
    return rows


def render_table(view: View) -> str:
    data = view.data
    when = f", judged at {view.as_of.isoformat()}" if view.as_of else ""
    out = [f"camsweep restrictions -- data {data.version} (as of {data.as_of.isoformat()}{when})"
           + (f"; {', '.join(view.filters)}" if view.filters else "")]
    headers = ["id", "where", "force", "binds", "covers", "duty", "dates", "verification", "citation"]
    if view.as_of:
        headers.insert(1, "state")
    rows = []
    for i in view.instruments:
        # The terminal shows the citations' identifiers; addresses and retrieval dates are in the
        # json and markdown formats (RESTRICTIONS.md).
        cites = "; ".join(", ".join(c.identifiers) or c.text for c in i.citations if c.primary) or \
            "; ".join(c.text for c in i.citations)
        row = [i.label, i.jurisdiction, i.force, ", ".join(i.binds), covers_text(i),
               duties_text(i, view.audiences, view.as_of), dates_text(i), i.verification, cites]
        if view.as_of:
            row.insert(1, _state(view, i))
        rows.append([clean(c, 2000) for c in row])
    if rows:
        widths = [18, 18, 10, 14, 24, 22, 30, 26, 14, 36]
        if not view.as_of:
            widths.pop(1)
        out.append(tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=widths))
    else:
        out.append("No instrument matches the filters.")
    if view.audiences:
        out.append("* a duty binding the chosen policy's audiences")
    out.append("")
    names = view.policies or tuple(p.name for p in data.policies)
    policy_rows = []
    for name in names:
        p = data.policy(name)
        ids = [i.id for i in data.instruments if i.duties_for(set(p.audiences))]
        policy_rows.append([p.name, p.who, ", ".join(p.audiences), ", ".join(ids) or "(none binds it)"])
    out.append(tabulate(policy_rows, headers=["policy", "who", "audiences", "instruments"], tablefmt="simple",
                        maxcolwidths=[22, 40, 30, 40]))
    out.append("")
    out.append("Full citations (addresses, retrieval dates) and verification notes: --format json or markdown. "
               "Choose who you are with --policy NAME on scan, listen or report; without one, reports list the "
               "instruments that name each device's maker, with no duty or deadline.")
    return "\n".join(out) + "\n"


def view_dict(view: View) -> dict[str, Any]:
    data = view.data
    instruments = []
    for i in view.instruments:
        body = i.to_dict()
        if view.as_of:
            body["state"] = _state(view, i)
            body["deadlines_past"] = [d.deadline.value for d in i.duties if d.deadline and d.deadline.past(view.as_of)]
        instruments.append(body)
    names: Iterable[str] = view.policies or [p.name for p in data.policies]
    return {
        "restrictions_version": data.version,
        "restrictions_as_of": data.as_of.isoformat(),
        "evaluated_on": view.as_of.isoformat() if view.as_of else None,
        "filters": list(view.filters),
        "instruments": instruments,
        "policies": [
            {"name": p.name, "who": p.who, "audiences": list(p.audiences),
             "instruments": [i.id for i in data.instruments if i.duties_for(set(p.audiences))]}
            for p in (data.policy(n) for n in names)
        ],
        "brands": [dict(zip(("brand", "maker", "relation", "when", "sources"), row, strict=True))
                   for row in brand_rows(data)],
        "vocabulary": {
            "audiences": dict(data.vocabulary.audiences),
            "duty_kinds": dict(data.vocabulary.duty_kinds),
            "force": dict(data.vocabulary.force),
            "covers": dict(data.vocabulary.covers),
        },
    }


def render(view: View, fmt: str) -> str:
    if fmt == "json":
        return dumps(view_dict(view), indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(view)
    return render_table(view)
