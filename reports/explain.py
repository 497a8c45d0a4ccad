"""``camsweep explain``: one device's verdict with every rule hit, conflict and observation behind it."""

from __future__ import annotations

from tabulate import tabulate

from camsweep.jsonio import dumps
from camsweep.models import IdentifiedDevice

from .text import clean


def render_text(item: IdentifiedDevice) -> str:
    d, v = item.device, item.verdict
    lines = [
        f"device {clean(d.key)}: IP {clean(', '.join(d.ips) or '-', 200)}  MAC {clean(', '.join(d.macs) or '-', 200)}  "
        f"open ports {', '.join(map(str, d.open_ports)) or '-'}",
        # Brand, model, firmware and serial are device text: cleaned like every other value here.
        f"verdict: maker {v.manufacturer.value}, brand {clean(v.brand or '-')}, type {v.device_type.value}, "
        f"model {clean(v.model or '-')}, firmware {clean(v.firmware or '-')}, serial {clean(v.serial or '-')}",
        f"confidence: {clean(v.confidence_level)} ({v.confidence:.2f})",
    ]
    if v.summary:
        lines.append(f"summary: {clean(v.summary, 300)}")
    lines.append("")
    lines.append(f"rule hits ({len(v.hits)}):")
    if v.hits:
        # A saved scan is a file anyone may hand over: every text in it is cleaned, not only device text.
        rows = [[clean(h.rule_id), h.tier.value, f"{h.certainty:.2f}", h.maker.value if h.maker else "",
                 clean(h.brand or ""), clean(h.probe), h.seen_at.strftime("%H:%M:%S"), clean(h.field),
                 clean(h.value, 60)] for h in v.hits]
        lines.append(tabulate(rows, headers=["rule", "tier", "certainty", "maker", "brand", "probe", "time",
                                             "field", "value"], tablefmt="simple"))
    lines.append("")
    lines.append("conflicts: " + ("; ".join(clean(c, 200) for c in v.conflicts) if v.conflicts else "none"))
    if v.disagreements:  # a source that said different things over time: the newest was taken
        lines.append("changed over time: " + "; ".join(clean(c, 300) for c in v.disagreements))
    lines.append("")
    lines.append(f"observations ({len(d.observations)}):")
    for o in d.observations:
        where = f"{o.ip or '-'}" + (f":{o.port}" if o.port else "") + (f" {o.mac}" if o.mac else "")
        head = f"- {o.time:%H:%M:%S} {clean(o.probe)} {o.kind.value} {clean(where)}"
        if o.problem:  # may quote the device (a URL it sent, a parser message)
            head += f"  PROBLEM {clean(o.problem, 200)}"
        if o.truncated:
            head += "  (raw truncated)"
        lines.append(head)
        for key in sorted(o.fields):
            lines.append(f"    {clean(key)} = {clean(o.fields[key], 100)}")
        if o.problem and o.raw:
            lines.append(f"    raw: {clean(o.raw, 100)}")
    return "\n".join(lines) + "\n"


def render_json(item: IdentifiedDevice) -> str:
    return dumps(item.to_dict(), indent=2) + "\n"


RENDERERS = {"text": render_text, "json": render_json}
"""``camsweep explain --format`` choices."""
