"""Single-file HTML report: no external resources, inline CSS, inline SVG charts, a little inline JS.

What a reader gets: summary figures; bar charts of devices by maker, brand and type; one sortable,
filterable table of every device with its status, model, firmware, required action, deadline and
the instruments it falls under, with a details row per device (the evidence behind its verdict,
each distinct rule hit once with its ports; KEV reasons; why a manual check); the devices that
need a manual check, apart; each instrument and KEV entry referred to, once, with its sources; and
the scan manifest (site, who, from which host and interface, when, which networks and methods,
which camsweep and data versions, when the report was generated, and the evidence's SHA-256). The page fits a
1280-pixel window without scrolling sideways; below 900 pixels and in print each device is a block
of labelled values, so a printout (A4 or Letter) carries every value of every row shown.

The page grows with the devices, not with devices × instruments: instrument texts appear once, in
their table, and device rows link to them. The machine-readable forms are the json, jsonl and
cyclonedx formats; the page embeds no copy of them.

Everything a device supplied (model, hostname, banner, rule values) is escaped with
``html.escape``, so no device text can become markup. The filter, status and sort can be preset
from the URL fragment (``report.html#q=dahua&status=restricted&sort=ip&dir=desc``) so a link can
point at a view.
"""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from camsweep.audit import manifest
from camsweep.findings import Assessment, Finding, Status
from camsweep.types import RESTRICTED_MAKER_NAMES

from .records import distinct_evidence
from .text import clean

if TYPE_CHECKING:  # the renderer only reads the data objects it is handed (tests/test_boundaries.py)
    from camsweep.restrictions import Citation

STATUS_LABELS = {
    Status.RESTRICTED: "restricted",
    Status.LISTED: "listed (no duty)",
    Status.MANUAL_CHECK: "needs a manual check",
    Status.CLEAR: "clear",
}
# Chart colours of the restricted makers, given in the order restrictions.toml lists them.
MAKER_PALETTE = ("#c62828", "#ef6c00", "#ad1457", "#6a1b9a")
OTHER_COLOUR = "#607d8b"


def e(value: object, limit: int = 2000) -> str:
    """Device text made safe for HTML: control/bidi characters replaced, then escaped."""
    return html.escape(clean("" if value is None else value, limit), quote=True)


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _ip_sort(ip: str) -> str:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "9" + ip
    return f"{addr.version}{int(addr):0{10 if addr.version == 4 else 39}d}"  # the version first: v4 before v6


# --------------------------------------------------------------------------- charts


def bar_chart(title: str, counts: Iterable[tuple[str, int]], colours: dict[str, str] | None = None, chart_id: str = "") -> str:
    """A horizontal bar chart as inline SVG (labels escaped) that scales down to the width it has."""
    items = list(counts)
    width, label_w, bar_h, gap = 420, 150, 18, 6
    top = 8
    height = top + max(1, len(items)) * (bar_h + gap) + 4
    biggest = max((n for _, n in items), default=1) or 1
    parts = [
        (
            f'<figure class="chart" id="{e(chart_id)}"><figcaption>{e(title)}</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">'
        )
    ]
    if not items:
        parts.append(f'<text x="4" y="{top + 12}" class="muted">no devices</text>')
    for index, (label, count) in enumerate(items):
        y = top + index * (bar_h + gap)
        length = max(2, int((width - label_w - 40) * count / biggest))
        colour = (colours or {}).get(label, OTHER_COLOUR)
        parts.append(
            f'<g class="bar"><text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{e(label, 24)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" fill="{colour}" rx="2"></rect>'
            f'<text x="{label_w + length + 4}" y="{y + 13}" class="count">{count}</text></g>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _counts(values: Iterable[str], top: int = 12) -> list[tuple[str, int]]:
    """Counts, largest first; beyond ``top`` entries the rest are summed into one bar."""
    ranked = sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) <= top:
        return ranked
    rest = ranked[top - 1 :]
    return ranked[: top - 1] + [(f"{len(rest)} others", sum(n for _, n in rest))]


# --------------------------------------------------------------------------- device table

# One row per device with what a reader acts on; everything else (why, evidence, KEV reasons,
# conflicts) in a details row under it that the first cell's button opens. Narrow screens and
# print lay each device out as a block, each value after its column name (CSS), so nothing is
# ever cut off at the page's edge.
COLUMNS = [
    ("", "", ""),
    ("priority", "Prio", "num"),
    ("status", "Status", "text"),
    ("ip", "Device", "text"),
    ("brand", "Brand (maker), type", "text"),
    ("model", "Model", "text"),
    ("firmware", "Firmware", "text"),
    ("confidence", "Confidence", "num"),
    ("kev", "Known exploited", "text"),
    ("action", "Required action", "text"),
    ("deadline", "Deadline", "text"),
    ("instruments", "Falls under", "text"),
]
VALUE_LIMIT = 60
"""Characters of a device value (model, firmware, host name) shown in the device row; the details
row and the other formats have it whole. Keeps one hostile value from widening the table."""


_HYPHENATED = re.compile(r"[^\s<>&]*-[^\s<>&]*")


def t(value: object, limit: int = VALUE_LIMIT) -> str:
    """``e(value)`` with each hyphenated word (``DS-2CD2143G2-I``, ``2021-12-31``, ``CVE-2021-36260``)
    kept on one line: browsers break lines after a hyphen, which cuts model names and dates in two
    (and a printout's text with them). Words past 40 characters may still break."""
    return _HYPHENATED.sub(lambda m: f'<span class="nb">{m.group()}</span>' if len(m.group()) <= 40 else m.group(),
                           e(value, limit))


def lines(*parts: str) -> str:
    """Several values in one cell: one per line in the table, one after another (`` · ``) where
    each device is a block of text (narrow screens, print)."""
    return "".join(f'<span class="l">{part}</span>' for part in parts if part)


def anchor(instrument_id: str) -> str:
    return "inst-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in instrument_id)


def _instrument_links(matches: Iterable[Any]) -> str:
    return " ".join(f'<a href="#{anchor(m.id)}">{e(m.label)}</a>' for m in matches)


def _hits(f: Finding) -> str:
    rows = "".join(
        f"<tr><td>{e(h.evidence.rule_id)}</td><td>{e(h.evidence.tier)}</td><td>{e(h.evidence.field)}</td>"
        f'<td class="val">{e(h.evidence.value, 300)}</td><td>{", ".join(str(p) for p in h.ports)}</td>'
        f"<td>{e(h.evidence.probe)}</td></tr>"
        for h in distinct_evidence(f)
    )
    if not rows:
        return ""
    return (
        '<table class="hits"><thead><tr><th>rule</th><th>tier</th><th>field</th><th>value</th><th>port</th>'
        f"<th>probe</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _details(f: Finding) -> str:
    parts = [f'<p class="why">{e(f.why, 1000)}</p>']
    loc = f.location
    where = [*loc.ips, *loc.macs, *loc.hostnames]
    parts.append(f"<p><b>Addresses:</b> {e(' '.join(where), 1000)}" + (f" · subnet {e(loc.subnet)}" if loc.subnet else "")
                 + (f" · <b>{e(loc.scope_text)}</b>" if loc.scope_text else "")
                 + (f" · switch port {e('; '.join(loc.switch_ports), 1000)}" if loc.switch_ports else "")
                 + (f" · serial {e(f.serial, 200)}" if f.serial else "") + "</p>")
    if f.action_text:
        parts.append(f"<p><b>Required:</b> {e(f.action_text, 4000)}</p>")
    for a in f.actions + f.if_confirmed:
        if a.condition:
            parts.append(f"<p class=\"muted\"><small>{e(', '.join(a.instruments))} applies only: {e(a.condition, 1000)}</small></p>")
    if f.recommendations:
        parts.append("<p><b>Recommended (no instrument requires it):</b></p><ul>" + "".join(
            f"<li>{e(r.text)} <small>(source: {e(r.source)})</small></li>" for r in f.recommendations) + "</ul>")
    if f.summary:
        parts.append(f"<p>{e(f.summary, 1000)}</p>")
    if f.kev:
        parts.append("<ul>" + "".join(f"<li><b>{e(k.cve.id)}</b> {e(k.state.value)}: {e(k.reason, 500)}</li>" for k in f.kev) + "</ul>")
    if f.manual_reasons:
        parts.append("<p><b>Why a manual check:</b></p><ul>" + "".join(f"<li>{e(r)}</li>" for r in f.manual_reasons) + "</ul>")
    if f.conflicts:
        parts.append("<p><b>Conflicts:</b></p><ul>" + "".join(f"<li>{e(c)}</li>" for c in f.conflicts) + "</ul>")
    # The instruments are in the row (links to their texts, once in the report) and the duties in
    # "Required"; here only what the row cannot say: an instrument not in force at the date judged.
    waiting = [m for m in f.instruments if m.state != "in force"]
    if waiting:
        parts.append("<p><b>Not in force on the date judged:</b> " + " ".join(
            f'<a href="#{anchor(m.id)}">{e(m.label)}</a> [{e(m.state)}]' for m in waiting) + "</p>")
    reach = sorted({m.reach for m in f.instruments if m.reach})
    if reach:
        parts.append(f"<p><b>Made by the maker, sold under another brand:</b> {e('; '.join(reach))}</p>")
    if f.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in f.notes) + "</ul>")
    parts.append(_hits(f))
    return "".join(parts)


def _row(number: int, f: Finding) -> str:
    loc = f.location
    deadlines = [a for a in f.deadlines if a.deadline]
    first = min((a.deadline.first_day.isoformat() for a in deadlines if a.deadline), default="")
    device = lines(f"<b>{e(loc.ip)}</b>" if loc.ip else "", e(loc.mac), t(loc.hostname),
                   f'<small class="outside">{e(loc.scope_text)}</small>' if loc.scope_text else "",
                   *(f"<small>{e(port, 200)}</small>" for port in loc.switch_ports[:2]))
    # The instruments that bind under the policy, else (no policy, no duty) all that name the maker,
    # by jurisdiction.
    groups: dict[str, list[Any]] = {}
    for match in f.binding or f.instruments:
        groups.setdefault(match.jurisdiction, []).append(match)
    falls = lines(*(f"{e(j)}: {_instrument_links(ms)}" for j, ms in groups.items()))
    cells: list[tuple[str | None, str]] = [
        (None, f'<button type="button" class="tg" aria-expanded="false" aria-controls="m{number}" title="details">▸</button>'),
        (f"{f.priority}", f'<span class="prio p{f.priority}" title="{e(f.priority_reason)}">{f.priority}</span>'),
        (f.status.value, f'<span class="status s-{f.status.value}">{e(STATUS_LABELS[f.status])}</span>'),
        (_ip_sort(loc.ip), device),
        (f.brand_vs_maker.lower(), lines(e(f.brand_vs_maker), f"<small>{e(f.device_type)}</small>")),
        (None, t(f.model or "")),
        (None, t(f.firmware or "")),
        (f"{f.confidence:.4f}", f"{e(f.confidence_level)} {f.confidence:.2f}"),
        (None, lines(*(f"{t(k.cve.id)} <small>({e(k.state.value)})</small>" for k in f.kev))),
        (None, lines(*(f"{e(a.kind)} <small>({t(', '.join(a.instruments))})</small>" for a in f.actions),
                     *(f'<small class="muted">recommended: {e(r.id)}</small>' for r in f.recommendations))),
        # Each deadline with its own instrument, never merged; sorting uses the earliest day of any.
        (first or "9999", lines(*(f"{t(a.deadline)} <small>({t(', '.join(a.instruments))})</small>"
                                  + (' <span class="overdue">overdue</span>' if a.overdue else "") for a in deadlines))),
        (None, falls),
    ]
    # A sort value only where the shown text does not sort right by itself.
    tds = "".join(f'<td data-v="{e(sort)}">{shown}</td>' if sort is not None else f"<td>{shown}</td>" for sort, shown in cells)
    return (
        f'<tr class="device" data-status="{e(f.status.value)}">{tds}</tr>'
        f'<tr class="more" id="m{number}" hidden><td colspan="{len(COLUMNS)}">{_details(f)}</td></tr>'
    )


def _device_table(assessment: Assessment) -> str:
    head = "".join(
        f'<th data-key="{key}" data-type="{kind}" tabindex="0" aria-sort="none">{label}</th>' if key else '<th><span class="sr">details</span></th>'
        for key, label, kind in COLUMNS
    )
    body = "\n".join(_row(n, f) for n, f in enumerate(assessment.findings, 1))
    options = "".join(
        f'<option value="{s.value}">{e(STATUS_LABELS[s])}</option>' for s in Status
    )
    total = len(assessment.findings)
    return (
        '<section id="devices-section"><h2>Devices</h2>'
        '<div class="controls"><label>Filter <input id="filter" type="search" placeholder="IP, model, rule id, instrument…" autocomplete="off"></label> '
        f'<label>Status <select id="status-filter"><option value="">any</option>{options}</select></label> '
        f'<span id="shown" aria-live="polite">Showing {total} of {total} devices</span></div>'
        f'<table id="devices"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'
        "<p class=\"muted\">▸ opens a device's evidence and reasons. Click a column heading to sort. The view can be preset "
        "in the address: <code>#q=text&amp;status=restricted&amp;sort=ip&amp;dir=desc</code>; printing prints the rows shown.</p></section>"
    )


# --------------------------------------------------------------------------- other sections


def _summary(assessment: Assessment) -> str:
    counts = assessment.counts()
    cards = [
        ("devices", "devices found", ""),
        ("restricted", "restricted under the policy", "bad"),
        ("listed", "listed (no duty under the policy)" if assessment.policy_chosen else "Hikvision/Dahua-made (no policy chosen)", "warn"),
        ("manual_check", "need a manual check", "warn"),
        ("clear", "clear", "ok"),
        ("kev_affected", "with known-exploited firmware", "bad"),
        ("kev_possible", "possibly in a known-exploited range", "warn"),
        ("overdue", "with an overdue deadline", "bad"),
    ]
    html_cards = "".join(
        f'<div class="card {cls}" id="count-{key.replace("_", "-")}"><span class="num">{counts[key]}</span>'
        f'<span class="lbl">{label}</span></div>'
        for key, label, cls in cards
    )
    partial = '<p class="partial">PARTIAL result: the scan was interrupted or an input was only partly readable.</p>' if assessment.result.partial else ""
    hint = f'<p class="partial" id="no-policy">{e(assessment.policy_hint)}</p>' if assessment.policy_hint else ""
    warnings = "".join(f'<p class="partial warning">WARNING: {e(w)}</p>' for w in assessment.warnings)
    return f'<section id="summary"><h2>Summary</h2><div class="cards">{html_cards}</div>{partial}{hint}{warnings}</section>'


def _charts(assessment: Assessment) -> str:
    findings = assessment.findings
    makers = _counts(RESTRICTED_MAKER_NAMES.get(f.maker, f.maker) for f in findings)
    colours = {name: MAKER_PALETTE[i % len(MAKER_PALETTE)] for i, name in enumerate(RESTRICTED_MAKER_NAMES.values())}
    brands = _counts(f.brand or "(none)" for f in findings)
    types = _counts(f.device_type for f in findings)
    return (
        '<section id="charts"><h2>Devices by maker, brand and type</h2><div class="charts">'
        + bar_chart("By maker (who built it)", makers, colours, "chart-maker")
        + bar_chart("By brand (name on the label)", brands, None, "chart-brand")
        + bar_chart("By device type", types, None, "chart-type")
        + "</div></section>"
    )


def _manual(assessment: Assessment) -> str:
    manual = assessment.manual_checks
    if not manual:
        return '<section id="manual"><h2>Needs a manual check</h2><p>None: every verdict was clear enough.</p></section>'
    items = "".join(
        f'<li><b>{e(f.location.ip or f.key)}</b> {e(f.location.mac)} — {e(f.brand_vs_maker)} {e(f.model or "")}: '
        f'{e("; ".join(f.manual_reasons), 1500)}</li>'
        for f in manual
    )
    return (
        f'<section id="manual"><h2>Needs a manual check ({len(manual)})</h2>'
        "<p>These verdicts are uncertain (low confidence, conflicting evidence, MAC OUI only, or a brand "
        f"that relabels Hikvision/Dahua products). Check the label and firmware by hand.</p><ul>{items}</ul></section>"
    )


def _citation(citation: Citation) -> str:
    """A source as a link (packaged data, http(s) only) with its identifiers and retrieval date."""
    head = e(", ".join(citation.identifiers) or citation.text)
    if citation.url and citation.url.startswith(("https://", "http://")):
        head = f'<a href="{e(citation.url)}" rel="noopener noreferrer">{head}</a>'
    kind = "primary" if citation.primary else "secondary"
    return f"{head} <small>({kind}, retrieved {citation.retrieved.isoformat()})</small>"


def _instruments(assessment: Assessment) -> str:
    """Each instrument once, whatever the number of devices under it: devices link here."""
    from .restrictions_doc import covers_text, dates_text, duties_text

    if not assessment.instruments:
        return ""
    audiences = frozenset(assessment.audiences)
    rows = "".join(
        f'<tr id="{anchor(i.id)}"><td><b>{e(i.label)}</b></td><td>{e(i.jurisdiction)}</td><td>{e(i.title)}<br><small>{e(i.explanation)}</small></td>'
        f"<td>{e(i.force)}</td><td>{e(', '.join(i.binds))}</td><td>{e(covers_text(i))}</td>"
        f"<td>{e(duties_text(i, audiences, assessment.evaluated_on))}</td><td>{e(dates_text(i))}</td>"
        f"<td>{e(i.verification)}{(' – ' + e(i.verification_note)) if i.verification_note else ''}</td>"
        f"<td><ul class=\"cites\">{''.join(f'<li>{_citation(c)}</li>' for c in i.citations)}</ul></td></tr>"
        for i in assessment.instruments
    )
    return (
        '<section id="instruments"><h2>Instruments referred to</h2>'
        "<p class=\"muted\">Verification: primary = read in the official text; secondary-only = read in news or "
        "law-firm reports only (marked (S) elsewhere). Duties marked * bind the chosen policy; dates keep the "
        "precision of their source (a month deadline is past only after that month).</p>"
        '<div class="scroll"><table><thead><tr><th>id</th><th>where</th><th>instrument</th><th>force</th><th>binds</th>'
        "<th>covers</th><th>duties</th><th>dates</th><th>verification</th><th>sources</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def _kev(assessment: Assessment) -> str:
    entries = {k.cve.id: k.cve for f in assessment.findings for k in f.kev}
    if not entries:
        return ""
    rows = "".join(
        f"<tr><td><b>{e(c.id)}</b></td><td>{e(c.vendor)} {e(c.product)}</td><td>{e(c.title)}</td>"
        f"<td>{e(c.date_added.isoformat())}</td><td>{e(c.due_date.isoformat())}</td><td>{e(c.required_action)}</td>"
        f"<td>{e(c.fixed_in or '')}</td></tr>"
        for c in sorted(entries.values(), key=lambda c: c.id)
    )
    return (
        '<section id="kev"><h2>Known exploited vulnerabilities (CISA KEV)</h2>'
        "<p class=\"muted\">Due dates as the catalog gives them; they bind only where a selected instrument "
        "(a CISA directive for federal civilian agencies) makes them a duty.</p>"
        '<div class="scroll"><table><thead><tr><th>CVE</th><th>product</th><th>what</th><th>added</th><th>due</th><th>required action</th>'
        f"<th>fixed in</th></tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


DATA_LABELS = {
    "fingerprints": "Fingerprint DB",
    "fingerprints_as_of": "Fingerprint DB as of",
    "fingerprint_rules": "Fingerprint rules",
    "oui": "OUI data",
}


def _manifest(assessment: Assessment) -> str:
    result = assessment.result
    made = manifest(assessment)
    versions = made.data_versions
    where = made.interface + (f" ({', '.join(made.interface_addresses)})" if made.interface_addresses else "")
    items = [
        ("Site", made.site or "(not recorded)"),
        ("Operator", made.operator or "(not recorded)"),
        ("Scanner host", made.scanner_host or "(not recorded)"),
        ("Interface", where or "(none: offline source)"),
        *([("Capture", made.capture)] if made.capture else []),
        ("Mode", result.mode),
        ("Scan started", _when(made.scan_started)),
        ("Scan finished", _when(made.scan_finished)),
        ("Networks / inputs", ", ".join(result.targets) or "(none recorded)"),
        ("Methods", ", ".join(result.methods) or "(none recorded)"),
        ("Scanned with", f"camsweep {made.tool_version or '(not recorded)'}"),
        ("Policy", assessment.policy_label),
        ("Judged at", assessment.evaluated_on.isoformat() if assessment.evaluated_on else "?"),
        ("Restrictions data", f"{versions.get('restrictions_version', '?')} (as of {versions.get('restrictions_as_of', '?')})"),
        ("KEV data", f"{versions.get('kev_version', '?')} (as of {versions.get('kev_as_of', '?')})"),
    ]
    shown = {"restrictions_version", "restrictions_as_of", "kev_version", "kev_as_of"}
    items += [(DATA_LABELS.get(key, f"Data: {key}"), value) for key, value in sorted(versions.items()) if key not in shown]
    items += [
        ("Report generated", f"{_when(made.generated)} by camsweep {made.report_tool_version}"),
        ("Evidence SHA-256", made.evidence_sha256),
    ]
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v, 4000)}</dd>" for k, v in items)
    notes = "".join(f"<li>{e(n, 1000)}</li>" for n in result.notes)
    notes_html = f"<h3>Notes</h3><ul>{notes}</ul>" if notes else ""
    return (f'<section id="manifest"><h2>Scan manifest</h2><dl>{rows}</dl>'
            '<p>The evidence SHA-256 is that of the canonical JSON of the scan this report was '
            'rendered from; README "Audit trail" shows how to recompute it from the JSON report or the '
            f'stored scan.</p>{notes_html}</section>')


# --------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d2327;--muted:#5f6b73;--line:#d8dee2;--bg:#fff;--head:#f3f5f6}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:16px 24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted,small{color:var(--muted)}code{background:var(--head);padding:0 3px}a{color:#1565c0}
[hidden]{display:none!important}.nb{white-space:nowrap}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}.card{border:1px solid var(--line);border-left:5px solid #90a4ae;border-radius:4px;padding:8px 12px}
.card .num{display:block;font-size:26px;font-weight:600}.card .lbl{color:var(--muted)}
.card.bad{border-left-color:#c62828}.card.warn{border-left-color:#f9a825}.card.ok{border-left-color:#2e7d32}
.partial{background:#fff3cd;padding:6px 10px;border:1px solid #f0d58c}
.charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.chart{margin:0;border:1px solid var(--line);border-radius:4px;padding:8px;flex:1 1 340px;min-width:0;max-width:440px}
.chart svg{display:block;width:100%;height:auto}
.chart figcaption{font-weight:600;margin-bottom:4px}.chart svg text{font-size:12px;fill:var(--fg)}
.controls{display:flex;gap:14px;align-items:center;margin:6px 0 10px;flex-wrap:wrap}.controls input{width:280px;max-width:100%}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
th{background:var(--head)}
#devices{font-size:13px}#devices th{cursor:pointer;position:sticky;top:0}
#devices td{overflow-wrap:break-word}#devices .l{display:block}
#devices td:nth-child(4),#devices td:nth-child(6),#devices td:nth-child(7){overflow-wrap:anywhere}#devices td:nth-child(6){max-width:12em}#devices td:nth-child(7){max-width:11em}
#devices td:nth-child(10){min-width:9em}#devices td:nth-child(12){min-width:13em}
#devices th[aria-sort=ascending]::after{content:" ▲"}#devices th[aria-sort=descending]::after{content:" ▼"}
tr.device[data-status=restricted]{background:#fff5f5}tr.device[data-status=manual-check]{background:#fffbea}
tr.more>td{background:#fafbfc;padding:6px 12px 10px 34px}tr.more p{margin:4px 0}tr.more ul{margin:2px 0 6px}
.tg{border:0;background:none;cursor:pointer;font-size:14px;color:#1565c0;padding:0 4px}.tg[aria-expanded=true]{transform:rotate(90deg)}
.prio{display:inline-block;min-width:1.6em;text-align:center;border-radius:3px;color:#fff;background:#90a4ae;font-weight:600}
.prio.p1{background:#b71c1c}.prio.p2{background:#e65100}.prio.p3{background:#f9a825;color:#000}.prio.p4{background:#546e7a}
.s-restricted{color:#b71c1c;font-weight:600}.s-manual-check{color:#8a6d00;font-weight:600}.s-clear{color:#2e7d32}
#devices a{display:inline-block;background:#eceff1;border-radius:3px;padding:0 4px;margin:1px;color:inherit;text-decoration:none;white-space:nowrap}
.overdue{color:#fff;background:#b71c1c;border-radius:3px;padding:0 4px;font-size:11px}
table.hits{display:block;overflow-x:auto;width:auto;max-width:100%}table.hits td.val{font-family:ui-monospace,monospace;word-break:break-all;max-width:420px}
ul.cites{margin:0;padding-left:16px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
@media (max-width:900px),print{
 #devices thead{display:none}#devices,#devices tbody{display:block}
 #devices tr.device{display:block;border-top:1px solid var(--line);padding:4px 0;break-inside:avoid}
 #devices tr.device>td{display:inline;border:0;padding:0 14px 0 0;line-height:1.6}
 #devices .l+.l::before{content:" · "}
 #devices .l{display:inline}#devices tr.device>td:nth-child(n+4)::before{color:var(--muted);font-size:11px}
 #devices tr.device>td:nth-child(6)::before{content:"Model: "}#devices tr.device>td:nth-child(7)::before{content:"Firmware: "}
 #devices tr.device>td:nth-child(8)::before{content:"Confidence: "}#devices tr.device>td:nth-child(9)::before{content:"Known exploited: "}
 #devices tr.device>td:nth-child(10)::before{content:"Required action: "}#devices tr.device>td:nth-child(11)::before{content:"Deadline: "}
 #devices tr.device>td:nth-child(12)::before{content:"Falls under: "}
 #devices tr.device>td:empty{display:none}
 #devices tr.more{display:block}#devices tr.more>td{display:block;border:0}
}
@media print{body{padding:0;font-size:11px}.controls,.tg,#devices tr.more{display:none}a{color:inherit;text-decoration:none}
 .chart{break-inside:avoid}.scroll{overflow:visible}@page{margin:12mm}}
"""

JS = r"""
(function(){
  "use strict";
  var table=document.getElementById("devices");
  if(!table){return;}
  var tbody=table.tBodies[0], heads=table.tHead.rows[0].cells;
  var filter=document.getElementById("filter"), status=document.getElementById("status-filter");
  var shown=document.getElementById("shown");
  var rows=Array.prototype.slice.call(tbody.querySelectorAll("tr.device"));
  var order=new Map(), text=new Map();
  rows.forEach(function(r,i){order.set(r,i); text.set(r,(r.textContent+" "+r.nextElementSibling.textContent).toLowerCase());});
  var state={q:"",status:"",sort:"",dir:"asc"};
  function colIndex(key){for(var i=0;i<heads.length;i++){if(heads[i].getAttribute("data-key")===key){return i;}}return -1;}
  function cellValue(r,idx){var c=r.cells[idx]; return c.hasAttribute("data-v")?c.getAttribute("data-v"):c.textContent.toLowerCase();}
  function open(r,yes){var more=r.nextElementSibling, b=r.querySelector("button.tg"); more.hidden=!yes; b.setAttribute("aria-expanded",yes?"true":"false");}
  function apply(){
    var q=state.q.toLowerCase(), n=0;
    rows.forEach(function(r){
      var ok=(!state.status||r.getAttribute("data-status")===state.status)&&(!q||text.get(r).indexOf(q)!==-1);
      r.hidden=!ok; if(!ok){open(r,false);} else {n++;}
    });
    shown.textContent="Showing "+n+" of "+rows.length+" devices";
    var idx=colIndex(state.sort);
    for(var i=0;i<heads.length;i++){if(heads[i].hasAttribute("data-key")){heads[i].setAttribute("aria-sort",i===idx?(state.dir==="desc"?"descending":"ascending"):"none");}}
    var sorted=rows.slice();
    if(idx>=0){
      var num=heads[idx].getAttribute("data-type")==="num", sign=state.dir==="desc"?-1:1;
      sorted.sort(function(a,b){
        var x=cellValue(a,idx), y=cellValue(b,idx), c;
        if(num){c=parseFloat(x)-parseFloat(y);}else{c=x<y?-1:(x>y?1:0);}
        return c*sign || (order.get(a)-order.get(b));
      });
    }
    var frag=document.createDocumentFragment();
    sorted.forEach(function(r){var more=r.nextElementSibling; frag.appendChild(r); frag.appendChild(more);});
    tbody.appendChild(frag);
    document.body.setAttribute("data-view",JSON.stringify(state));
  }
  function save(){
    var p=new URLSearchParams();
    ["q","status","sort","dir"].forEach(function(k){if(state[k]&&!(k==="dir"&&!state.sort)){p.set(k,state[k]);}});
    var h=p.toString();
    if(history.replaceState){history.replaceState(null,"",h?"#"+h:location.pathname+location.search);}
  }
  function load(){
    if(/^#inst-/.test(location.hash)){return;}
    var p=new URLSearchParams(location.hash.replace(/^#/,""));
    state.q=p.get("q")||""; state.status=p.get("status")||""; state.sort=p.get("sort")||""; state.dir=p.get("dir")==="desc"?"desc":"asc";
    filter.value=state.q; status.value=state.status;
    apply();
  }
  filter.addEventListener("input",function(){state.q=filter.value;apply();save();});
  status.addEventListener("change",function(){state.status=status.value;apply();save();});
  tbody.addEventListener("click",function(ev){
    var b=ev.target.closest("button.tg"); if(!b){return;}
    var r=b.closest("tr"); open(r,b.getAttribute("aria-expanded")!=="true");
  });
  Array.prototype.forEach.call(heads,function(th){
    if(!th.hasAttribute("data-key")){return;}
    function sortBy(){var k=th.getAttribute("data-key"); if(state.sort===k){state.dir=state.dir==="asc"?"desc":"asc";}else{state.sort=k;state.dir="asc";} apply();save();}
    th.addEventListener("click",sortBy);
    th.addEventListener("keydown",function(ev){if(ev.key==="Enter"||ev.key===" "){ev.preventDefault();sortBy();}});
  });
  window.addEventListener("hashchange",load);
  load();
})();
"""


SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")


def render(assessment: Assessment) -> str:
    result = assessment.result
    versions = assessment.data_versions
    title = f"camsweep report – {_when(result.started)}"
    subtitle = (
        f"Scan {_when(result.started)} – {_when(result.finished)} · policy <b>{e(assessment.policy_label)}</b> · "
        f"judged at {e(assessment.evaluated_on.isoformat() if assessment.evaluated_on else '?')} · "
        f"restrictions data {e(versions.get('restrictions_version', '?'))} (as of {e(versions.get('restrictions_as_of', '?'))}) · "
        f"KEV as of {e(versions.get('kev_as_of', '?'))}"
    )
    return "".join(
        [
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            # Only the report's own script may run (by hash): defence in depth behind the escaping.
            (
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
                f"script-src '{SCRIPT_HASH}'; img-src data:\">"
            ),
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
            f'<header><h1>camsweep report</h1><p class="muted">{subtitle}</p></header>',
            _summary(assessment),
            _charts(assessment),
            _device_table(assessment),
            _manual(assessment),
            _instruments(assessment),
            _kev(assessment),
            _manifest(assessment),
            f"<script>{JS}</script>",
            "</body></html>\n",
        ]
    )
