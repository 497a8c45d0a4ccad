"""The single-file HTML report, checked statically and in a real headless Chromium.

The browser tests load the report from file:// only (no network), through the DevTools protocol on
a pipe (tests/chromium.py), and look at what a person would see: the summary figures, the device
rows, hostile device text shown as text (never markup, never run), the filter/sort script driven
through the URL fragment (``#q=...&status=...&sort=...&dir=...``), the page measured at 1280 and
390 pixels wide, and the page printed to PDF on A4 and Letter and read back with ``pdftotext``.
Chromium and poppler-utils are installed by .ci/run; without them these tests skip locally, and
fail in CI.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from camsweep import restrictions
from camsweep.findings import Status, evaluate
from camsweep.reports import render_report
from camsweep.reports.html_doc import JS
from camsweep.savedscan import write_atomic

from tests.chromium import Browser, find_chromium
from tests.test_findings import (
    HOSTILE_HOST,
    HOSTILE_MODEL,
    sample_devices,
    sample_result,
)

DATA = restrictions.load()


# --------------------------------------------------------------------------- a small DOM reader


@dataclass
class Row:
    attrs: dict[str, str | None]
    cells: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs

    @property
    def ip(self) -> str:
        return self.cells[3].split("·")[0].split()[0] if self.cells[3] else ""


class Page(HTMLParser):
    """Collects device rows (cell text), element counts, ids' text and every attribute seen."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.tags: dict[str, int] = {}
        self.attributes: list[tuple[str, str, str | None]] = []
        self.by_id: dict[str, str] = {}
        self.body_attrs: dict[str, str | None] = {}
        self._row: Row | None = None
        self._cell: list[str] | None = None
        self._depth = 0
        self._ids: list[tuple[str, int]] = []
        self._id_text: dict[str, list[str]] = {}
        self._script: list[str] | None = None
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.feed(text)
        self.close()
        self.by_id = {k: "".join(v).strip() for k, v in self._id_text.items()}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attributes += [(tag, k, v) for k, v in attrs]
        if tag == "body":
            self.body_attrs = a
        if tag == "tr" and (a.get("class") or "") == "device":
            self._row = Row(a)
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None and self._cell is None:
            self._cell = []
            self._depth = 0
        elif tag == "td" and self._cell is not None:
            self._depth += 1
        if tag in ("br", "span") and self._cell is not None:
            self._cell.append(" ")
        if tag == "script":
            self._script = []
            self._script_attrs = a
        if a.get("id"):
            self._ids.append((a["id"] or "", 0))
            self._id_text[a["id"] or ""] = []
        self._ids = [(i, d + 1) for i, d in self._ids]

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            if self._depth == 0:
                assert self._row is not None
                self._row.cells.append(" ".join("".join(self._cell).split()))
                self._cell = None
            else:
                self._depth -= 1
        elif tag == "tr" and self._row is not None and self._cell is None:
            self._row = None
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script_attrs, "".join(self._script)))
            self._script = None
        self._ids = [(i, d - 1) for i, d in self._ids if d - 1 > 0]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._script is not None:
            self._script.append(data)
        for ident, _ in self._ids:
            self._id_text[ident].append(data)

    def visible(self) -> list[Row]:
        return [r for r in self.rows if not r.hidden]


# --------------------------------------------------------------------------- static checks


@pytest.fixture(scope="module")
def html_text() -> str:
    return render_report(evaluate(sample_result(), "uk-sensitive-sites", data=DATA, operator="alice"), "html")


def test_no_external_resources(html_text):
    page = Page(html_text)
    for tag in ("img", "link", "iframe", "object", "embed", "base", "form"):
        assert page.tags.get(tag, 0) == 0, tag
    for tag, name, value in page.attributes:
        assert name not in ("src", "action", "srcset"), (tag, name, value)
        # Links only within the page (device rows to the instruments they fall under) or, from the
        # packaged data, to a citation's web page; nothing is ever loaded by the page itself.
        assert name != "href" or (tag == "a" and (value or "").startswith(("#inst-", "https://", "http://"))), (tag, value)
        assert not name.startswith("on"), (tag, name)
        if name == "style":
            assert "url(" not in (value or "")
    assert "url(" not in html_text.split("<style>")[1].split("</style>")[0]
    assert "@import" not in html_text


def test_only_the_report_script_may_run(html_text):
    page = Page(html_text)
    assert [attrs for attrs, _ in page.scripts] == [{}]  # one script, the page's own; no embedded data
    digest = "sha256-" + base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html_text).group(1)
    assert f"script-src '{digest}'" in csp and "default-src 'none'" in csp
    assert page.scripts[0][1] == JS


def test_device_text_is_escaped(html_text):
    assert HOSTILE_MODEL not in html_text and HOSTILE_HOST not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html_text
    page = Page(html_text)
    hostile = next(r for r in page.rows if r.ip == "198.18.0.90")
    assert HOSTILE_MODEL in hostile.cells and HOSTILE_HOST in hostile.cells[3]


def test_manifest_and_summary(html_text):
    page = Page(html_text)
    assert page.by_id["count-devices"].startswith("9") and page.by_id["count-restricted"].startswith("5")
    assert page.by_id["count-manual-check"].startswith("2") and page.by_id["count-kev-affected"].startswith("2")
    assert page.by_id["count-overdue"].startswith("5")
    manifest = page.by_id["manifest"]
    for expected in ("Operatoralice", "198.18.0.0/24, 198.18.1.0/24", "arp, sadp, dhip, http", "Policyuk-sensitive-sites",
                     "Judged at2026-11-20", f"{DATA.version} (as of {DATA.as_of})", "KEV data2026.11.25 (as of 2026-08-22)",
                     "OUI data2024-06-01", "Fingerprint DB2026.11.25", "2026-11-20T09:00:00+00:00"):
        assert expected in manifest, expected
    devices = page.by_id["devices"]
    assert "Lorex (made by Dahua, OEM)" in devices
    # Each deadline with its instrument, the month as the source gives it; recommendations apart.
    assert "2025-04 (UK-TIMELINE) overdue" in devices and "recommended: update-firmware" in devices
    assert "low confidence (0.30)" in page.by_id["manual"]
    instruments = page.by_id["instruments"]
    assert "UK-TIMELINE" in instruments and "2025-04 (month)" in instruments and "US-889-B" not in instruments
    assert "CVE-2021-36260" in page.by_id["kev"]


def test_without_a_policy_no_deadline_and_the_hint():
    text = render_report(evaluate(sample_result(), data=DATA), "html")
    page = Page(text)
    assert "No policy chosen" in page.by_id["no-policy"] and "--policy NAME" in page.by_id["no-policy"]
    assert '<span class="overdue">' not in text and page.by_id["count-overdue"].startswith("0")
    assert "Policynone" in page.by_id["manifest"]


def test_charts_count_makers_brands_types(html_text):
    page = Page(html_text)
    maker = page.by_id["chart-maker"]
    assert "Hikvision4" in maker.replace(" ", "") and "Dahua3" in maker.replace(" ", "")
    assert "camera6" in page.by_id["chart-type"].replace(" ", "")
    assert "Lorex1" in page.by_id["chart-brand"].replace(" ", "")


def _site(count: int):
    """``count`` devices cloned from the sample ones, each with its own key and address."""
    base = sample_devices()
    items = []
    for n in range(count):
        item = base[n % len(base)]
        device = replace(item.device, key=f"clone-{n}", ips=(f"198.18.{2 + n // 250}.{n % 250}",))
        items.append(replace(item, device=device))
    return sample_result(items)


def test_size_grows_with_devices_not_with_instruments():
    # No policy: each device lists every instrument naming its maker (the largest report).
    assessment = evaluate(_site(40), None, data=DATA)
    page = render_report(assessment, "html")
    # Each instrument's texts once, in its table, however many devices fall under it.
    assert len(assessment.instruments) > 20
    for instrument in assessment.instruments:
        assert page.count(html.escape(instrument.explanation, quote=True)) == 1, instrument.id
    # Per device, the page grows by its row and details (links to the instruments, not their texts):
    # well under the 5,000 bytes a device that the 10 MB goal for 2,000 devices allows.
    small = len(render_report(evaluate(_site(10), None, data=DATA), "html"))
    assert (len(page) - small) / 30 < 4000


def test_citations_are_links_with_their_retrieval_dates(html_text):
    assessment = evaluate(sample_result(), "uk-sensitive-sites", data=DATA)
    section = html_text.split('<section id="instruments">')[1].split("</section>")[0]
    cited = [c for i in assessment.instruments for c in i.citations]
    assert cited and any(c.url for c in cited)
    for citation in cited:
        if citation.url:
            assert f'<a href="{html.escape(citation.url, quote=True)}" rel="noopener noreferrer">' in section
    assert section.count("retrieved ") == len(cited)
    assert {f"retrieved {c.retrieved.isoformat()}" for c in cited} <= set(re.findall(r"retrieved \d{4}-\d{2}-\d{2}", section))


def test_summary_counts_possibly_affected_firmware():
    first = sample_devices()[0]
    unknown_build = replace(first, verdict=replace(first.verdict, firmware="V5.5.0"))  # no build date: possibly
    assessment = evaluate(sample_result([unknown_build]), None, data=DATA)
    assert assessment.findings[0].kev and not assessment.findings[0].kev_affected
    page = Page(render_report(assessment, "html"))
    assert page.by_id["count-kev-possible"].startswith("1") and page.by_id["count-kev-affected"].startswith("0")


def test_empty_report_renders():
    page = Page(render_report(evaluate(sample_result([]), data=DATA), "html"))
    assert page.rows == [] and page.by_id["count-devices"].startswith("0")


# --------------------------------------------------------------------------- real browser


needs_browser = pytest.mark.skipif(
    (find_chromium() is None or shutil.which("pdftotext") is None) and not os.environ.get("CI"),
    reason="chromium or pdftotext not installed (CI installs both via .ci/run)",
)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, html_text) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    write_atomic(path, html_text)
    return path


@pytest.fixture(scope="module")
def browser():
    with Browser() as running:
        yield running


def dom(browser: Browser, report: Path, fragment: str = "", width: int = 1280) -> Page:
    browser.open(report, width=width, fragment=fragment)
    return Page(browser.evaluate("document.documentElement.outerHTML"))


@needs_browser
def test_browser_shows_summary_rows_and_escaped_text(report_file, browser):
    page = dom(browser, report_file)
    assert page.by_id["shown"] == "Showing 9 of 9 devices"  # the script ran
    assert page.by_id["count-devices"].startswith("9") and page.by_id["count-restricted"].startswith("5")
    assert [r.ip for r in page.visible()][:2] == ["198.18.0.21", "198.18.1.41"]
    assert len(page.visible()) == 9
    hostile = next(r for r in page.rows if r.ip == "198.18.0.90")
    assert HOSTILE_MODEL in hostile.cells and HOSTILE_HOST in hostile.cells[3]
    # Nothing the device said became markup: no <img>, no handler attribute, only the page's script.
    assert page.tags.get("img", 0) == 0
    assert not [a for a in page.attributes if a[1].startswith("on")]
    assert page.tags["script"] == 1
    assert json.loads(page.body_attrs["data-view"] or "{}") == {"q": "", "status": "", "sort": "", "dir": "asc"}


@needs_browser
def test_browser_filter_from_fragment(report_file, browser):
    page = dom(browser, report_file, "q=lorex")
    assert [r.ip for r in page.visible()] == ["198.18.1.40"]
    assert page.by_id["shown"] == "Showing 1 of 9 devices"
    # Filtering also searches the details row: a rule id finds its devices.
    page = dom(browser, report_file, "q=sadp-probematch")
    assert sorted(r.ip for r in page.visible()) == ["198.18.0.21", "198.18.0.90"]


@needs_browser
def test_browser_status_filter_and_sort(report_file, browser):
    page = dom(browser, report_file, "status=manual-check&sort=ip&dir=desc")
    assert [r.ip for r in page.visible()] == ["198.18.1.50", "198.18.0.60"]
    assert page.by_id["shown"] == "Showing 2 of 9 devices"
    assert all(r.attrs["data-status"] == "manual-check" for r in page.visible())
    page = dom(browser, report_file, "sort=ip")
    ips = [r.ip for r in page.visible()]
    assert ips == sorted(ips, key=lambda ip: tuple(int(p) for p in ip.split(".")))
    page = dom(browser, report_file, "sort=confidence&dir=desc")
    confidences = [float(r.cells[7].split()[-1]) for r in page.visible()]
    assert confidences == sorted(confidences, reverse=True)
    # Each details row travels with its device when the table is sorted.
    pairs = browser.evaluate(
        "Array.from(document.querySelectorAll('#devices tr.device')).every(r => r.nextElementSibling.id"
        " === r.querySelector('button.tg').getAttribute('aria-controls'))"
    )
    assert pairs is True


@needs_browser
def test_details_row_opens_and_lists_each_hit_once_with_its_port(report_file, browser):
    browser.open(report_file)
    first = "document.querySelector('#devices tr.device')"
    assert browser.evaluate(f"{first}.nextElementSibling.hidden") is True
    browser.evaluate(f"{first}.querySelector('button.tg').click()")
    assert browser.evaluate(f"{first}.nextElementSibling.hidden") is False
    assert browser.evaluate(f"{first}.querySelector('button.tg').getAttribute('aria-expanded')") == "true"
    hits = browser.evaluate(
        f"Array.from({first}.nextElementSibling.querySelectorAll('table.hits tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent))"
    )
    keys = [(rule, field, value) for rule, _, field, value, _, _ in hits]
    assert len(keys) == len(set(keys)) and ("sadp-probematch", "sadp.xml_root", "ProbeMatch") in keys


def _overflowing(browser: Browser, width: int, selector: str) -> list[str]:
    """Elements matching ``selector`` whose right edge is past the viewport (outside scroll boxes)."""
    found: list[str] = browser.evaluate(
        f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
        f".filter(e => e.getBoundingClientRect().right > {width} + 0.5 && !e.closest('.scroll'))"
        ".map(e => e.tagName + '.' + e.className + '#' + e.id)"
    )
    return found


@needs_browser
def test_device_table_needs_no_horizontal_scroll_at_1280(report_file, browser):
    browser.open(report_file, width=1280)
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
    assert browser.evaluate("document.getElementById('devices').getBoundingClientRect().right") <= 1280
    assert _overflowing(browser, 1280, "#devices *") == []
    # No model, firmware or date is broken over two lines (a browser breaks after a hyphen).
    heights = browser.evaluate(
        "Array.from(document.querySelectorAll('#devices tr.device td:nth-child(6) span.nb'))"
        ".map(s => s.getClientRects().length)"
    )
    assert heights and set(heights) == {1}


@needs_browser
def test_charts_and_page_fit_a_phone_at_390(report_file, browser):
    browser.open(report_file, width=390, height=844)
    boxes = browser.evaluate(
        "Array.from(document.querySelectorAll('.chart, .chart svg')).map(e => e.getBoundingClientRect().right)"
    )
    assert len(boxes) == 6 and max(boxes) <= 390
    assert _overflowing(browser, 390, "body *") == []
    assert browser.evaluate("document.documentElement.scrollWidth") <= 390
    # The bars are drawn at a readable size, not shrunk to nothing.
    assert browser.evaluate("document.querySelector('#chart-maker svg').getBoundingClientRect().width") >= 300


@needs_browser
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printed_pdf_carries_every_restricted_device(report_file, browser, tmp_path, paper):
    browser.open(report_file, width=1280)
    pdf = browser.print_pdf(tmp_path / "report.pdf", paper)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=120).stdout
    flat = " ".join(text.split())  # a value may wrap onto the next printed line
    assessment = evaluate(sample_result(), "uk-sensitive-sites", data=DATA, operator="alice")  # as html_text
    restricted = [f for f in assessment.findings if f.status is Status.RESTRICTED]
    assert len(restricted) == 5 and all(f.deadlines for f in restricted)
    for f in restricted:
        wanted = [f.model, f.firmware, *(a.kind for a in f.actions), *(str(a.deadline) for a in f.deadlines),
                  *(label for a in f.actions for label in a.instruments), *(m.label for m in f.binding)]
        missing = [value for value in wanted if value and " ".join(value.split()) not in flat]
        assert missing == [], (f.location.ip, missing)


@needs_browser
def test_browser_screenshot(report_file, browser, tmp_path):
    browser.open(report_file, width=1280, height=1000)
    data = browser.screenshot(tmp_path / "report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1000)
    assert len(data) > 20_000  # a rendered page, not a blank image


def test_long_tails_are_grouped_in_charts():
    from camsweep.reports.html_doc import _counts

    counts = _counts([f"brand{i:02d}" for i in range(20)] + ["big"] * 3, top=5)
    assert counts[0] == ("big", 3) and counts[-1] == ("17 others", 17) and len(counts) == 5
