"""Single-file HTML report: no external resources, inline CSS, inline SVG charts, a little inline JS.

What a reader gets: summary figures; bar charts of devices by maker, brand and type; one sortable,
filterable table of every device with its status, action, deadline and (expandable) the evidence
behind its verdict; the devices that need a manual check, apart; the instruments and KEV entries
referred to; and the scan manifest (who, when, which networks and methods, which data versions).

Everything a device supplied (model, hostname, banner, rule values) is escaped with
``html.escape``; the machine-readable copy embedded in a ``<script type="application/json">`` has
``<``, ``>``, ``&`` and U+2028/U+2029 escaped as well, so no device text can close the script or
the page's markup. The filter, status and sort can be preset from the URL fragment
(``report.html#q=dahua&status=restricted&sort=ip&dir=desc``) so a link can point at a view.
"""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from camsweep import __version__
from camsweep.findings import Assessment, Finding, Status
from camsweep.jsonio import dumps
from camsweep.types import RESTRICTED_MAKER_NAMES

from .text import clean

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


def script_json(data: Any) -> str:
    """JSON safe to embed inside a <script> element."""
    text = dumps(data, sort_keys=True)  # U+2028/U+2029 (and lone surrogates) are escaped there
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(raw, escaped)
    return text


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _ip_sort(ip: str) -> str:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "9" + ip
    return f"{addr.version}{int(addr):039d}"


# --------------------------------------------------------------------------- charts


def bar_chart(title: str, counts: Iterable[tuple[str, int]], colours: dict[str, str] | None = None, chart_id: str = "") -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    items = list(counts)
    width, label_w, bar_h, gap = 420, 150, 18, 6
    top = 8
    height = top + max(1, len(items)) * (bar_h + gap) + 4
    biggest = max((n for _, n in items), default=1) or 1
    parts = [
        (
            f'<figure class="chart" id="{e(chart_id)}"><figcaption>{e(title)}</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">'
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


COLUMNS = [
    ("priority", "Prio", "num"),
    ("status", "Status", "text"),
    ("ip", "IP / subnet", "text"),
    ("mac", "MAC", "text"),
    ("hostname", "Host name", "text"),
    ("brand", "Brand (maker)", "text"),
    ("type", "Type", "text"),
    ("model", "Model", "text"),
    ("firmware", "Firmware", "text"),
    ("confidence", "Confidence", "num"),
    ("kev", "Known exploited", "text"),
    ("action", "Action", "text"),
    ("deadline", "Deadline", "text"),
    ("instruments", "Falls under", "text"),
    ("evidence", "Evidence", "text"),
]


def _evidence_block(f: Finding) -> str:
    rows = "".join(
        f"<tr><td>{e(h.rule_id)}</td><td>{e(h.tier)}</td><td>{e(h.field)}</td><td class=\"val\">{e(h.value, 300)}</td>"
        f"<td>{e(h.probe)}</td><td>{e(RESTRICTED_MAKER_NAMES.get(h.maker or '', h.maker or ''))}</td></tr>"
        for h in f.evidence
    )
    parts = [f'<details class="evidence"><summary>{len(f.evidence)} rule hit(s)</summary>']
    parts.append(f'<p class="why">{e(f.why, 1000)}</p>')
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
    if rows:
        parts.append(
            "<table class=\"hits\"><thead><tr><th>rule</th><th>tier</th><th>field</th><th>value</th>"
            f"<th>probe</th><th>maker</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if f.conflicts:
        parts.append("<p><b>Conflicts:</b></p><ul>" + "".join(f"<li>{e(c)}</li>" for c in f.conflicts) + "</ul>")
    if f.manual_reasons:
        parts.append("<p><b>Why a manual check:</b></p><ul>" + "".join(f"<li>{e(r)}</li>" for r in f.manual_reasons) + "</ul>")
    if f.instruments:
        parts.append(f"<p><b>Instruments naming the maker ({len(f.instruments)}), by jurisdiction:</b></p><ul class=\"insts\">")
        for jurisdiction, matches in f.by_jurisdiction().items():
            items = []
            for m in matches:
                duty = "; ".join(d.kind for d in m.duties)
                state = "" if m.state == "in force" else f" [{m.state}]"
                items.append(f"<b>{e(m.label)}</b>{e(state)} {e(m.name)}{f' <small>(binds you: {e(duty)})</small>' if duty else ''}"
                             f"<br><small>{e(m.why, 1500)}</small>")
            parts.append(f"<li>{e(jurisdiction)}<ul><li>" + "</li><li>".join(items) + "</li></ul></li>")
        parts.append("</ul>")
    if f.kev:
        parts.append("<p><b>Known exploited vulnerabilities:</b></p><ul>")
        for k in f.kev:
            parts.append(
                f"<li><b>{e(k.cve.id)}</b> {e(k.state.value)}: {e(k.reason, 500)} "
                f"(added to KEV {e(k.cve.date_added.isoformat())}, due {e(k.cve.due_date.isoformat())}; "
                f"fixed in: {e(k.cve.fixed_in or 'see vendor advisory')})</li>"
            )
        parts.append("</ul>")
    if f.notes:
        parts.append("<ul class=\"notes\">" + "".join(f"<li>{e(n)}</li>" for n in f.notes) + "</ul>")
    parts.append("</details>")
    return "".join(parts)


def _instrument_cell(f: Finding) -> str:
    """The binding instruments (or, without a duty, every one) per jurisdiction; ids in the tooltip."""
    shown = f.binding or f.instruments
    if not shown:
        return ""
    if len(shown) <= 4:
        return " ".join(f'<span class="inst">{e(m.label)}</span>' for m in shown)
    per: dict[str, int] = {}
    for m in shown:
        per[m.jurisdiction] = per.get(m.jurisdiction, 0) + 1
    ids = ", ".join(m.label for m in shown)
    return f'<span title="{e(ids)}">' + " ".join(
        f'<span class="inst">{e(j)}{f" ×{n}" if n > 1 else ""}</span>' for j, n in per.items()
    ) + "</span>"


def _row(f: Finding) -> str:
    loc = f.location
    deadlines = f.deadlines
    first = min((a.deadline.first_day.isoformat() for a in deadlines if a.deadline), default="")
    cells: list[tuple[str, str]] = [
        (f"{f.priority}", f'<span class="prio p{f.priority}" title="{e(f.priority_reason)}">{f.priority}</span>'),
        (f.status.value, f'<span class="status s-{f.status.value}">{e(STATUS_LABELS[f.status])}</span>'),
        (_ip_sort(loc.ip), "<br>".join(e(ip) for ip in loc.ips) + (f"<br><small>{e(loc.subnet)}</small>" if loc.subnet else "")),
        (loc.mac, "<br>".join(e(m) for m in loc.macs)),
        (loc.hostname.lower(), "<br>".join(e(h) for h in loc.hostnames)),
        (f.brand_vs_maker.lower(), e(f.brand_vs_maker)),
        (f.device_type, e(f.device_type)),
        ((f.model or "").lower(), e(f.model or "")),
        (f.firmware or "", e(f.firmware or "")),
        (f"{f.confidence:.4f}", f"{e(f.confidence_level)} {f.confidence:.2f}"),
        (" ".join(k.cve.id for k in f.kev), "<br>".join(f"{e(k.cve.id)} <small>({e(k.state.value)})</small>" for k in f.kev)),
        ("; ".join(a.kind for a in f.actions), "<br>".join(f"{e(a.kind)} <small>({e(', '.join(a.instruments))})</small>"
                                                          for a in f.actions)
         + "".join(f'<br><small class="muted">recommended: {e(r.id)}</small>' for r in f.recommendations)),
        # Each deadline with its own instrument; sorting uses the earliest day of any of them.
        (first or "9999", "<br>".join(
            f"{e(a.deadline)} <small>({e(', '.join(a.instruments))})</small>"
            + (' <span class="overdue">overdue</span>' if a.overdue else "") for a in deadlines if a.deadline)),
        (" ".join(m.id for m in f.instruments), _instrument_cell(f)),
        (str(len(f.evidence)), _evidence_block(f)),
    ]
    tds = "".join(f'<td data-v="{e(sort)}">{shown}</td>' for sort, shown in cells)
    return f'<tr class="device" data-status="{e(f.status.value)}" data-key="{e(f.key)}">{tds}</tr>'


def _device_table(assessment: Assessment) -> str:
    head = "".join(
        f'<th data-key="{key}" data-type="{kind}" tabindex="0" aria-sort="none">{label}</th>' for key, label, kind in COLUMNS
    )
    body = "\n".join(_row(f) for f in assessment.findings)
    options = "".join(
        f'<option value="{s.value}">{e(STATUS_LABELS[s])}</option>' for s in Status
    )
    total = len(assessment.findings)
    return (
        '<section id="devices-section"><h2>Devices</h2>'
        '<div class="controls"><label>Filter <input id="filter" type="search" placeholder="IP, model, rule id, instrument…" autocomplete="off"></label> '
        f'<label>Status <select id="status-filter"><option value="">any</option>{options}</select></label> '
        f'<span id="shown" aria-live="polite">Showing {total} of {total} devices</span></div>'
        f'<div class="scroll"><table id="devices"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'
        "<p class=\"muted\">Click a column heading to sort. The view can be preset in the address: "
        "<code>#q=text&amp;status=restricted&amp;sort=ip&amp;dir=desc</code>.</p></section>"
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


def _instruments(assessment: Assessment) -> str:
    from .restrictions_doc import citations_text, covers_text, dates_text, duties_text

    if not assessment.instruments:
        return ""
    audiences = frozenset(assessment.audiences)
    rows = "".join(
        f"<tr><td><b>{e(i.label)}</b></td><td>{e(i.jurisdiction)}</td><td>{e(i.title)}<br><small>{e(i.explanation)}</small></td>"
        f"<td>{e(i.force)}</td><td>{e(', '.join(i.binds))}</td><td>{e(covers_text(i))}</td>"
        f"<td>{e(duties_text(i, audiences, assessment.evaluated_on))}</td><td>{e(dates_text(i))}</td>"
        f"<td>{e(i.verification)}{(' – ' + e(i.verification_note)) if i.verification_note else ''}</td>"
        f"<td><small>{e(citations_text(i))}</small></td></tr>"
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
        '<table><thead><tr><th>CVE</th><th>product</th><th>what</th><th>added</th><th>due</th><th>required action</th>'
        f"<th>fixed in</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


DATA_LABELS = {
    "fingerprints": "Fingerprint DB",
    "fingerprints_as_of": "Fingerprint DB as of",
    "fingerprint_rules": "Fingerprint rules",
    "oui": "OUI data",
}


def _manifest(assessment: Assessment) -> str:
    result = assessment.result
    versions = assessment.data_versions
    items = [
        ("Operator", assessment.operator or "(not recorded)"),
        ("Mode", result.mode),
        ("Scan started", _when(result.started)),
        ("Scan finished", _when(result.finished)),
        ("Networks / inputs", ", ".join(result.targets) or "(none recorded)"),
        ("Methods", ", ".join(result.methods) or "(none recorded)"),
        ("Policy", assessment.policy_label),
        ("Judged at", assessment.evaluated_on.isoformat() if assessment.evaluated_on else "?"),
        ("Restrictions data", f"{versions.get('restrictions_version', '?')} (as of {versions.get('restrictions_as_of', '?')})"),
        ("KEV data", f"{versions.get('kev_version', '?')} (as of {versions.get('kev_as_of', '?')})"),
    ]
    shown = {"restrictions_version", "restrictions_as_of", "kev_version", "kev_as_of"}
    items += [(DATA_LABELS.get(key, f"Data: {key}"), value) for key, value in sorted(versions.items()) if key not in shown]
    items.append(("Report by", f"camsweep {__version__}"))
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v, 4000)}</dd>" for k, v in items)
    notes = "".join(f"<li>{e(n, 1000)}</li>" for n in result.notes)
    notes_html = f"<h3>Notes</h3><ul>{notes}</ul>" if notes else ""
    return f'<section id="manifest"><h2>Scan manifest</h2><dl>{rows}</dl>{notes_html}</section>'


# --------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d2327;--muted:#5f6b73;--line:#d8dee2;--bg:#fff;--head:#f3f5f6}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:16px 24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted,small{color:var(--muted)}code{background:var(--head);padding:0 3px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid var(--line);border-left:5px solid #90a4ae;border-radius:4px;padding:8px 14px;min-width:150px}
.card .num{display:block;font-size:26px;font-weight:600}.card .lbl{color:var(--muted)}
.card.bad{border-left-color:#c62828}.card.warn{border-left-color:#f9a825}.card.ok{border-left-color:#2e7d32}
.partial{background:#fff3cd;padding:6px 10px;border:1px solid #f0d58c}
.charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}.chart{margin:0;border:1px solid var(--line);border-radius:4px;padding:8px}
.chart figcaption{font-weight:600;margin-bottom:4px}.chart svg text{font-size:12px;fill:var(--fg)}
.controls{display:flex;gap:14px;align-items:center;margin:6px 0 10px;flex-wrap:wrap}.controls input{width:280px}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
#devices{font-size:13px}#devices td{overflow-wrap:break-word;max-width:22em}
#devices td:nth-child(5),#devices td:nth-child(8),#devices td:nth-child(9){overflow-wrap:anywhere}
#devices td:last-child{max-width:none}#devices td:nth-child(12){min-width:11em}
#devices td:nth-child(3),#devices td:nth-child(4),#devices td:nth-child(7),#devices td:nth-child(11),#devices td:nth-child(13){white-space:nowrap}
th{background:var(--head);position:sticky;top:0}#devices th{cursor:pointer;white-space:nowrap}
#devices th[aria-sort=ascending]::after{content:" ▲"}#devices th[aria-sort=descending]::after{content:" ▼"}
tr.device[data-status=restricted]{background:#fff5f5}tr.device[data-status=manual-check]{background:#fffbea}
.prio{display:inline-block;min-width:1.6em;text-align:center;border-radius:3px;color:#fff;background:#90a4ae;font-weight:600}
.prio.p1{background:#b71c1c}.prio.p2{background:#e65100}.prio.p3{background:#f9a825;color:#000}.prio.p4{background:#546e7a}
.status{white-space:nowrap}.s-restricted{color:#b71c1c;font-weight:600}.s-manual-check{color:#8a6d00;font-weight:600}.s-clear{color:#2e7d32}
.inst{display:inline-block;background:#eceff1;border-radius:3px;padding:0 4px;margin:1px}
.overdue{color:#fff;background:#b71c1c;border-radius:3px;padding:0 4px;font-size:11px}
details.evidence summary{cursor:pointer;color:#1565c0}details.evidence{min-width:9em}details.evidence[open]{min-width:36em}
table.hits td.val{font-family:ui-monospace,monospace;word-break:break-all;max-width:360px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dt{font-weight:600}dd{margin:0}
@media print{.controls{display:none}details.evidence{display:block}}
"""

JS = r"""
(function(){
  "use strict";
  var table=document.getElementById("devices");
  if(!table){return;}
  var tbody=table.tBodies[0], heads=table.tHead.rows[0].cells;
  var filter=document.getElementById("filter"), status=document.getElementById("status-filter");
  var shown=document.getElementById("shown");
  var rows=Array.prototype.slice.call(tbody.rows);
  var state={q:"",status:"",sort:"",dir:"asc"};
  function colIndex(key){for(var i=0;i<heads.length;i++){if(heads[i].getAttribute("data-key")===key){return i;}}return -1;}
  function apply(){
    var q=state.q.toLowerCase(), n=0;
    rows.forEach(function(r){
      var ok=(!state.status||r.getAttribute("data-status")===state.status)&&(!q||r.textContent.toLowerCase().indexOf(q)!==-1);
      r.hidden=!ok; if(ok){n++;}
    });
    shown.textContent="Showing "+n+" of "+rows.length+" devices";
    var idx=colIndex(state.sort);
    for(var i=0;i<heads.length;i++){heads[i].setAttribute("aria-sort",i===idx?(state.dir==="desc"?"descending":"ascending"):"none");}
    if(idx>=0){
      var num=heads[idx].getAttribute("data-type")==="num", sign=state.dir==="desc"?-1:1;
      var sorted=rows.slice().sort(function(a,b){
        var x=a.cells[idx].getAttribute("data-v"), y=b.cells[idx].getAttribute("data-v"), c;
        if(num){c=parseFloat(x)-parseFloat(y);}else{c=x<y?-1:(x>y?1:0);}
        return c*sign || (rows.indexOf(a)-rows.indexOf(b));
      });
      sorted.forEach(function(r){tbody.appendChild(r);});
    }
    document.body.setAttribute("data-view",JSON.stringify(state));
  }
  function save(){
    var p=new URLSearchParams();
    ["q","status","sort","dir"].forEach(function(k){if(state[k]&&!(k==="dir"&&!state.sort)){p.set(k,state[k]);}});
    var h=p.toString();
    if(history.replaceState){history.replaceState(null,"",h?"#"+h:location.pathname+location.search);}
  }
  function load(){
    var p=new URLSearchParams(location.hash.replace(/^#/,""));
    state.q=p.get("q")||""; state.status=p.get("status")||""; state.sort=p.get("sort")||""; state.dir=p.get("dir")==="desc"?"desc":"asc";
    filter.value=state.q; status.value=state.status;
    apply();
  }
  filter.addEventListener("input",function(){state.q=filter.value;apply();save();});
  status.addEventListener("change",function(){state.status=status.value;apply();save();});
  Array.prototype.forEach.call(heads,function(th){
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
    embedded = {
        "report_version": 1,
        "policies": list(assessment.policies),
        "data_versions": dict(versions),
        "counts": assessment.counts(),
        "findings": [f.to_dict() for f in assessment.findings],
    }
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
            f'<script type="application/json" id="camsweep-data">{script_json(embedded)}</script>',
            f"<script>{JS}</script>",
            "</body></html>\n",
        ]
    )
