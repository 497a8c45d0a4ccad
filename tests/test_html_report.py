"""The single-file HTML report, checked statically and in a real headless Chromium.

The browser tests load the report from file:// only (no network) with ``--dump-dom`` and look at
what a person would see: the summary figures, the device rows, hostile device text shown as text
(never markup, never run), and the filter/sort script driven through the URL fragment
(``#q=...&status=...&sort=...&dir=...``), which the page reads on load. Chromium is installed by
.ci/run; without it these tests skip locally, and fail in CI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from camsweep.reports import render_report
from camsweep.savedscan import write_atomic
from camsweep.reports.html_doc import JS, script_json
from camsweep import restrictions
from camsweep.findings import evaluate
from tests.test_findings import HOSTILE_HOST, HOSTILE_MODEL, sample_result

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
        return self.cells[2].split()[0] if self.cells[2] else ""


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
        if tag == "tr" and "device" in (a.get("class") or ""):
            self._row = Row(a)
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None and self._cell is None:
            self._cell = []
            self._depth = 0
        elif tag == "td" and self._cell is not None:
            self._depth += 1
        if tag == "br" and self._cell is not None:
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
        assert name not in ("src", "href", "action", "srcset"), (tag, name, value)
        assert not name.startswith("on"), (tag, name)
        if name == "style":
            assert "url(" not in (value or "")
    assert "url(" not in html_text.split("<style>")[1].split("</style>")[0]
    assert "@import" not in html_text


def test_only_the_report_script_may_run(html_text):
    page = Page(html_text)
    kinds = [attrs.get("type") for attrs, _ in page.scripts]
    assert kinds == ["application/json", None]
    digest = "sha256-" + base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html_text).group(1)
    assert f"script-src '{digest}'" in csp and "default-src 'none'" in csp
    assert page.scripts[1][1] == JS


def test_device_text_is_escaped(html_text):
    assert HOSTILE_MODEL not in html_text and HOSTILE_HOST not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html_text
    page = Page(html_text)
    hostile = next(r for r in page.rows if r.ip == "198.18.0.90")
    assert HOSTILE_MODEL in hostile.cells and HOSTILE_HOST in hostile.cells


def test_embedded_json_cannot_break_out(html_text):
    blob = html_text.split('<script type="application/json" id="camsweep-data">')[1].split("</script>")[0]
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in blob
    data = json.loads(blob)
    assert data["data_versions"]["restrictions_version"] == DATA.version
    model = next(f["model"] for f in data["findings"] if f["location"]["ips"] == ["198.18.0.90"])
    assert model == HOSTILE_MODEL
    assert script_json({"x": "</script>\u2028&"}) == '{"x": "\\u003c/script\\u003e\\u2028\\u0026"}'


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


def test_empty_report_renders():
    page = Page(render_report(evaluate(sample_result([]), data=DATA), "html"))
    assert page.rows == [] and page.by_id["count-devices"].startswith("0")


# --------------------------------------------------------------------------- real browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium not installed (CI installs it via .ci/run)"
)


def _chromium_args(profile: Path) -> list[str]:
    assert CHROMIUM, "chromium must be installed in CI (.ci/run)"
    return [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        "--disable-default-apps", f"--user-data-dir={profile}",
    ]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, html_text) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    write_atomic(path, html_text)
    return path


def dump_dom(report: Path, tmp_path: Path, fragment: str = "") -> Page:
    url = report.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = subprocess.run(
        _chromium_args(tmp_path / "profile") + ["--dump-dom", url], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout
    return Page(done.stdout)


@needs_browser
def test_browser_shows_summary_rows_and_escaped_text(report_file, tmp_path):
    page = dump_dom(report_file, tmp_path)
    assert page.by_id["shown"] == "Showing 9 of 9 devices"  # the script ran
    assert page.by_id["count-devices"].startswith("9") and page.by_id["count-restricted"].startswith("5")
    assert [r.ip for r in page.visible()][:2] == ["198.18.0.21", "198.18.1.41"]
    assert len(page.visible()) == 9
    hostile = next(r for r in page.rows if r.ip == "198.18.0.90")
    assert HOSTILE_MODEL in hostile.cells and HOSTILE_HOST in hostile.cells
    # Nothing the device said became markup: no <img>, no handler attribute, only the two own scripts.
    assert page.tags.get("img", 0) == 0
    assert not [a for a in page.attributes if a[1].startswith("on")]
    assert page.tags["script"] == 2
    assert json.loads(page.body_attrs["data-view"] or "{}") == {"q": "", "status": "", "sort": "", "dir": "asc"}


@needs_browser
def test_browser_filter_from_fragment(report_file, tmp_path):
    page = dump_dom(report_file, tmp_path, "q=lorex")
    assert [r.ip for r in page.visible()] == ["198.18.1.40"]
    assert page.by_id["shown"] == "Showing 1 of 9 devices"
    # Filtering also searches the evidence: a rule id finds its devices.
    page = dump_dom(report_file, tmp_path, "q=sadp-probematch")
    assert sorted(r.ip for r in page.visible()) == ["198.18.0.21", "198.18.0.90"]


@needs_browser
def test_browser_status_filter_and_sort(report_file, tmp_path):
    page = dump_dom(report_file, tmp_path, "status=manual-check&sort=ip&dir=desc")
    assert [r.ip for r in page.visible()] == ["198.18.1.50", "198.18.0.60"]
    assert page.by_id["shown"] == "Showing 2 of 9 devices"
    assert all(r.attrs["data-status"] == "manual-check" for r in page.visible())
    page = dump_dom(report_file, tmp_path, "sort=ip")
    ips = [r.ip for r in page.visible()]
    assert ips == sorted(ips, key=lambda ip: tuple(int(p) for p in ip.split(".")))
    page = dump_dom(report_file, tmp_path, "sort=confidence&dir=desc")
    confidences = [float(r.cells[9].split()[-1]) for r in page.visible()]
    assert confidences == sorted(confidences, reverse=True)


@needs_browser
def test_browser_screenshot(report_file, tmp_path):
    shot = tmp_path / "report.png"
    done = subprocess.run(
        _chromium_args(tmp_path / "profile") + ["--window-size=1600,1400", f"--screenshot={shot}", report_file.resolve().as_uri()],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1600, 1400)
    assert len(data) > 20_000  # a rendered page, not a blank image


def test_long_tails_are_grouped_in_charts():
    from camsweep.reports.html_doc import _counts

    counts = _counts([f"brand{i:02d}" for i in range(20)] + ["big"] * 3, top=5)
    assert counts[0] == ("big", 3) and counts[-1] == ("17 others", 17) and len(counts) == 5
