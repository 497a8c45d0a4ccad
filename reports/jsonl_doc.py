"""JSON Lines: one JSON object per device, one device per line (``device-record`` schema).

For SIEMs and data tools that read a stream: each line stands alone (the scan's id, time, site,
operator, policy and data versions ride on every record), so a consumer can take any line, and a
report of many devices is never one document to load whole.
"""

from __future__ import annotations

from camsweep.findings import Assessment
from camsweep.jsonio import dumps

from .records import record, scan_facts


def render(assessment: Assessment) -> str:
    facts = scan_facts(assessment)
    return "".join(dumps(record(assessment, f, facts)) + "\n" for f in assessment.findings)
