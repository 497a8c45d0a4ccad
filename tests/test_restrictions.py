"""Restrictions data: the packaged instruments, the loader's checks, dates with precision, KEV
firmware ranges, policies, the ``camsweep restrictions`` command and RESTRICTIONS.md.

Expected facts are written from the sources (see each instrument's citations), not copied from the
code's output.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from camsweep import policy, restrictions
from camsweep.cli import main
from camsweep.errors import DataFileError, ExitCode, UsageError
from camsweep.fingerprints import load_makers
from camsweep.models import Manufacturer
from camsweep.restrictions import (
    InForce,
    KevState,
    PreciseDate,
    kev_status,
    parse_firmware,
)

DATA = restrictions.load()
KEV = {entry.id: entry for entry in DATA.kev}
ROOT = Path(__file__).resolve().parent.parent


def inst(instrument_id: str) -> restrictions.Instrument:
    return DATA.instrument(instrument_id)


# --------------------------------------------------------------------------- packaged data


def test_packaged_data_loads_with_versions():
    assert DATA.versions() == {
        "restrictions_version": DATA.version, "restrictions_as_of": DATA.as_of.isoformat(),
        "kev_version": DATA.kev_version, "kev_as_of": DATA.kev_as_of.isoformat(),
    }
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", DATA.version) and len(DATA.kev) == 5
    assert len(DATA.instruments) >= 40


def test_instruments_from_research_are_present():
    ids = {i.id for i in DATA.instruments}
    for expected in ("US-889-A", "US-889-B", "US-889-GRANT", "US-FAR-24", "US-FAR-25", "US-FAR-26", "US-FCC-CL",
                     "US-FCC-2284", "US-FCC-2571", "US-BIS-EL19", "US-VT", "US-LA", "UK-WMS22", "UK-TIMELINE",
                     "AU-DEF", "CA-ICA", "LT-PP22", "TW-EY", "IN-GFR20", "EU-EP", "UA-NACP", "US-BOD2201", "US-BOD2604"):
        assert expected in ids
    # Not instruments at all, or known only from a wiki: left out.
    assert not ids & {"CO-MS", "CO-SIA", "CO-MSI", "CO-DAHUA-US-EXIT", "US-TX", "CO-AVARN"}


def test_every_instrument_states_binds_covers_duty_force_dates_citations_verification():
    for i in DATA.instruments:
        assert i.jurisdiction and i.force in DATA.vocabulary.force and i.covers in DATA.vocabulary.covers, i.id
        assert i.binds and all(a in DATA.vocabulary.audiences for a in i.binds), i.id
        assert i.duties and all(d.kind in DATA.vocabulary.duty_kinds for d in i.duties), i.id
        assert "announced" in i.dates and all(d.precision in ("day", "month", "year") for d in i.dates.values()), i.id
        assert i.verification in ("primary", "secondary-only") and i.citations and i.explanation, i.id
        for c in i.citations:
            assert c.retrieved <= DATA.as_of and "wiki" not in (c.url or "").lower() + c.text.lower(), i.id
            if i.verification == "primary":
                assert c.url and c.url.startswith("http"), (i.id, c.text)
        if i.verification == "primary":
            assert any(c.primary for c in i.citations), i.id
        # A duty about devices says what to do; any other duty cannot set an action or a deadline.
        for d in i.duties:
            assert (d.action is not None) == d.restricts, i.id
            assert d.deadline is None or d.restricts, i.id


# --------------------------------------------------------------------------- the errors issue 12 lists


def test_dates_keep_the_precision_of_their_source():
    tw = inst("TW-EY").duties[0].deadline
    assert (tw.value, tw.precision) == ("2021", "year")  # "by the end of 2021", not 2021-12-31
    uk = inst("UK-TIMELINE").duties[0].deadline
    assert (uk.value, uk.precision) == ("2025-04", "month")  # "by April 2025", not 2025-04-30
    assert inst("UK-DHSC").dates["announced"].precision == "month"
    assert inst("US-LA").dates["announced"] == PreciseDate("2021", "year", inst("US-LA").dates["announced"].what)


def test_an_audit_date_is_no_removal_deadline():
    au = inst("AU-DEF")
    assert [(d.kind, d.deadline) for d in au.duties] == [("removal", None)]
    assert au.binds == ("au-defence",)  # Finance's electorate offices were a separate action


def test_dates_in_prose_are_date_fields_that_are_not_deadlines():
    ep = inst("EU-EP")
    assert ep.dates["completed"] == PreciseDate("2021-09-22", "day", ep.dates["completed"].what)
    assert all(d.deadline is None for d in ep.duties)
    fnprm = inst("US-FCC-FNPRM25")
    assert fnprm.dates["comments_due"].value == "2026-01-05" and fnprm.force == "proposal"
    assert [d.kind for d in fnprm.duties] == ["none"] and not fnprm.restricts


def test_instruments_bind_whom_their_text_binds():
    assert inst("US-FCC-CL").binds == ("us-fcc-subsidy-recipient",)  # not federal agency procurement
    assert inst("UK-DHSC").binds == ("uk-dhsc",)  # DHSC only, not every department
    wms = {d.binds: d for d in inst("UK-WMS22").duties}
    assert wms[("uk-central-government",)].kind == "no-network-connection"
    sites = wms[("uk-central-government-sensitive-sites",)]
    assert sites.kind == "no-procurement" and "Sensitive sites only" in sites.condition
    timeline = inst("UK-TIMELINE").duties[0]
    assert timeline.binds == ("uk-central-government-sensitive-sites",) and "Sensitive sites" in timeline.condition
    gfr = inst("IN-GFR20").duties[0]
    assert gfr.kind == "registration" and not gfr.restricts  # bidders register; nothing is banned
    ep = inst("EU-EP")
    assert ep.covers == "named-products" and "thermal" in ep.covered_products and ep.product_models
    assert inst("US-889-B").duties[0].kind == "no-use" and inst("US-889-B").duties[0].deadline is None


def test_subsidiaries_only_where_the_text_says_so():
    for instrument_id in ("US-VT", "UK-WMS22", "IN-GFR20", "US-FCC-FNPRM25"):
        assert inst(instrument_id).covers not in ("makers-subsidiaries-affiliates", "makers-and-subsidiaries"), instrument_id
    for instrument_id in ("US-889-A", "US-889-B", "US-889-GRANT", "US-FCC-CL", "US-LA"):
        assert inst(instrument_id).covers == "makers-subsidiaries-affiliates", instrument_id


def test_list_only_instruments_say_what_they_restrict_and_impose_no_device_duty():
    for instrument_id, restricts in (("US-BIS-EL19", "exports"), ("US-BIS-EL23", "exports"),
                                     ("US-EO13959", "investment"), ("US-EO14032", "investment"),
                                     ("US-DOD-1260H", "no legal consequence"), ("UA-NACP", "restricts nothing")):
        i = inst(instrument_id)
        assert not i.restricts and restricts in i.explanation.lower(), instrument_id
        assert "covers equipment" not in i.explanation


def test_citations_carry_their_identifiers():
    def identifiers(instrument_id: str) -> set[str]:
        return {x for c in inst(instrument_id).citations for x in c.identifiers}

    assert {"Docket No. 190925-0044", "RIN 0694-AH68", "FR Doc 2019-22210"} <= identifiers("US-BIS-EL19")
    assert {"FR Doc 2022-28263", "88 FR 7592", "FCC 22-84"} <= identifiers("US-FCC-2284")
    assert {"Pub. L. 117-55"} <= identifiers("US-FCC-SEA")
    bod = inst("US-BOD2201")
    assert bod.dates["announced"].value == "2021-11-03" and bod.binds == ("us-fceb-agency",)
    assert any(c.primary and c.url and "cisa.gov" in c.url for c in bod.citations)
    assert bod.dates["ended"].value == "2026-06-10" and bod.superseded_by == "US-BOD2604"


def test_both_makers_are_on_the_1260h_list_and_under_section_805():
    assert inst("US-DOD-1260H").makers == ("hikvision", "dahua") == inst("US-805").makers
    assert inst("US-805").dates["effective"].value == "2026-06-30"


def test_maker_ids_match_the_model():
    used = {m for i in DATA.instruments for m in i.makers} | {m for e in DATA.kev for g in e.affected for m in g.makers}
    assert used == {"hikvision", "dahua"} <= {m.value for m in Manufacturer}
    assert DATA.makers == {"hikvision": "Hikvision", "dahua": "Dahua"}


# --------------------------------------------------------------------------- brand relations (makers.toml)


def test_brand_relations_live_in_makers_toml_with_sources():
    makers = load_makers()
    flir = makers.brand("FLIR")
    assert flir.relation_to("dahua").relation == "former-owner"  # sold Lorex to Dahua; no relabeller
    for name in ("Panasonic", "Honeywell"):
        assert {(r.maker, r.relation) for r in makers.brand(name).relations} == {("hikvision", "mix"), ("dahua", "mix")}
    assert makers.brand("Annke").relation_to("hikvision").relation == "mix"
    assert makers.brand("IC Realtime").relation_to("dahua").relation == "mix"
    lorex = makers.brand("Lorex").relation_to("dahua")
    assert lorex.relation == "former-subsidiary" and "2018" in lorex.period and lorex.note
    assert makers.brand("LTS").relation_to("hikvision").relation == "oem"
    assert DATA.is_group_brand("hikvision", "HiLook") and DATA.is_group_brand("hikvision", "ezviz")
    assert DATA.is_group_brand("dahua", None) and DATA.is_group_brand("dahua", "Imou")
    assert not DATA.is_group_brand("dahua", "Lorex") and not DATA.is_group_brand("hikvision", "LTS")
    assert "group_brands" not in (restrictions.RESTRICTIONS_FILE.read_text(encoding="utf-8"))  # one place only


def _copy(tmp_path: Path, name: str, edit) -> Path:
    source = (restrictions.DATA_DIR / name).read_text(encoding="utf-8")
    target = tmp_path / name
    changed = edit(source)
    assert changed != source, "the edit must change the file"
    target.write_text(changed, encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda s: s.replace('sources = [{ text = "SecurityInfoWatch 2018-02-06: FLIR sold',
                             'sources = [{ text = "Wikipedia: FLIR sold', 1), "a wiki is not a source"),
        (lambda s: s.replace('relation = "former-owner"', 'relation = "reseller"', 1), "reseller"),
        (lambda s: s.replace('since = "2018-02"\nuntil = "2023"', 'since = "2018-13"\nuntil = "2023"', 1), "not a real date"),
        (lambda s: s.replace('since = "2018-02"\nuntil = "2023"', 'since = "2024"\nuntil = "2023"', 1), "since is after until"),
        (lambda s: s.replace('retrieved = "2026-12-04" },\n]\n\n[[brand]]\nname = "HiWatch"',
                             'retrieved = "2026-02-30" },\n]\n\n[[brand]]\nname = "HiWatch"', 1), "not a real date"),
    ],
)
def test_bad_brand_relations_are_refused(tmp_path, edit, problem):
    path = _copy(tmp_path, "makers.toml", edit)
    with pytest.raises(DataFileError, match=problem) as info:
        restrictions.load(makers_path=path)
    assert info.value.exit_code == ExitCode.USAGE


# --------------------------------------------------------------------------- validator


BAD = [
    # (edit, entry, problem)
    (lambda s: s.replace('value = "2019-08-13", precision = "day", what = "Part A',
                         'value = "2019-02-30", precision = "day", what = "Part A', 1), "US-889-A", "not a real date"),
    (lambda s: s.replace('deadline = { value = "2025-04", precision = "month"',
                         'deadline = { value = "2025-04-30", precision = "month"', 1), "UK-TIMELINE",
     "does not have month precision"),
    (lambda s: s.replace('deadline = { value = "2025-04", precision = "month", ', 'deadline = { value = "2025-04", ', 1),
     "UK-TIMELINE", "'precision' is a required property"),
    (lambda s: s.replace('binds = ["us-executive-agency"]\nkind = "no-procurement"',
                         'binds = ["us-executive-agencies"]\nkind = "no-procurement"', 1), "US-889-A",
     "unknown audience 'us-executive-agencies'"),
    (lambda s: s.replace('audiences = ["us-federal-grant-recipient"]', 'audiences = ["us-grantee"]', 1), "us-grant",
     "unknown audience 'us-grantee'"),
    (lambda s: s.replace('url = "http://wifcon.com/dodauth19/dod19_889.htm", retrieved = "2026-12-04", primary = true },\n  { text = "FAR interim rule, FAC 2019-05',
                         'retrieved = "2026-12-04", primary = true },\n  { text = "FAR interim rule, FAC 2019-05', 1),
     "US-889-A", "has no url"),
    (lambda s: s.replace('url = "https://regulations.justia.com/regulations/fedreg/2019/08/13/2019-17200.html", retrieved = "2026-12-04"',
                         'url = "https://en.wikipedia.org/wiki/NDAA", retrieved = "2026-12-04"', 1),
     "US-889-A", "a wiki is not a source"),
    (lambda s: s.replace('retrieved = "2026-12-04", primary = true },\n]\n[[instrument.duty]]\nbinds = ["us-executive-agency"]',
                         'retrieved = "2027-01-01", primary = true },\n]\n[[instrument.duty]]\nbinds = ["us-executive-agency"]', 1),
     "US-889-A", "after the data's as_of"),
    (lambda s: s.replace('kind = "export-licence"\ntext = "A licence is required',
                         'kind = "export-licence"\naction = "Stop buying"\ntext = "A licence is required', 1),
     "US-BIS-EL19", "may not carry an action"),
    (lambda s: s.replace('kind = "registration"\n', 'kind = "registration"\ndeadline = { value = "2021", precision = "year", what = "x" }\n', 1),
     "IN-GFR20", "may not set a deadline"),
    (lambda s: s.replace('action = "Remove it from the Defence estate (no date set)"\n', '', 1), "AU-DEF",
     "needs the action it requires"),
    (lambda s: s.replace('binds = ["none"]\nkind = "none"\ntext = "A reputational list: no legal duty."',
                         'binds = ["none"]\nkind = "removal"\ntext = "A reputational list: no legal duty."', 1),
     "UA-NACP", "binds 'none'"),
    (lambda s: s.replace('kind = "no-marketing"\ntext = "No new equipment authorisation',
                         'kind = "marketing-ban"\ntext = "No new equipment authorisation', 1), "US-FCC-2284",
     "duty kind 'marketing-ban'"),
    (lambda s: s.replace('id = "US-889-B"', 'id = "US-889-A"', 1), "US-889-A", "duplicate instrument id"),
    (lambda s: s.replace('force = "list"\nmakers = ["hikvision", "dahua"]\ncovers = "listed-entities"\ncovers_oem = false\ncovered_entities = ["Hikvision", "Dahua Technology"]',
                         'force = "law"\nmakers = ["hikvision", "dahua"]\ncovers = "listed-entities"\ncovers_oem = false\ncovered_entities = ["Hikvision", "Dahua Technology"]', 1),
     "UA-NACP", "force 'law'"),
    (lambda s: s.replace('verification = "secondary-only"\nverification_note = "the NACP page itself was not read"',
                         'verification = "primary"\nverification_note = "the NACP page itself was not read"', 1),
     "UA-NACP", "has no url"),
    (lambda s: s.replace('makers = ["hikvision"]\ncovers = "named-products"', 'makers = ["hikvison"]\ncovers = "named-products"', 1),
     "EU-EP", "hikvison"),
    (lambda s: s.replace('covered_products = "Hikvision thermal (body-temperature) cameras installed on Parliament premises"\n', '', 1),
     "EU-EP", "covered_products is given exactly when"),
    (lambda s: s.replace('[audience.co-coop]', '[audience.co-nobody]\ndescription = "x"\n[audience.co-coop]', 1),
     "audience.co-nobody", "bound by no instrument"),
    (lambda s: s.replace('binds = ["us-fceb-agency"]\nkind = "remediation"\ntext = "Remediate each vulnerability in the',
                         'binds = ["us-fceb-agency"]\nkind = "no-procurement"\ntext = "Remediate each vulnerability in the', 1),
     "US-BOD2201", "kev_due_date belongs to"),
]


def _load_kev(path: Path):
    return restrictions.load(kev_path=path)


@pytest.mark.parametrize(("edit", "entry", "problem"), BAD)
def test_bad_restrictions_data_is_rejected_with_entry(tmp_path, edit, entry, problem):
    path = _copy(tmp_path, "restrictions.toml", edit)
    with pytest.raises(DataFileError) as info:
        restrictions.load(restrictions_path=path)
    error = info.value
    assert error.path == str(path) and error.entry == entry and problem in str(error), str(error)
    assert error.exit_code == ExitCode.USAGE == 2
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("edit", "entry", "problem"),
    [
        (lambda s: s.replace("'^DS-2TB'", "'^DS-2TB('"), "CVE-2021-36260", "does not compile"),
        (lambda s: s.replace('version_from = "V4.30.210 build 201224"', 'version_from = "four point thirty"'), "CVE-2021-36260", "cannot read version"),
        (lambda s: s.replace('due_date = "2022-01-24"', 'due_date = "2021-01-24"'), "CVE-2021-36260", "before date_added"),
        (lambda s: s.replace('build_before = "2021-07-02"', 'build_before = "2021-07-02"\nfixed = ["2.1.0.R.200101"]'), "CVE-2021-36260", "mixes"),
        (lambda s: s.replace('id = "CVE-2017-7921"', 'id = "CVE-17-7921"'), "CVE-17-7921", "does not match"),
    ],
)
def test_bad_kev_data_is_rejected_with_entry(tmp_path, edit, entry, problem):
    path = _copy(tmp_path, "kev.toml", edit)
    with pytest.raises(DataFileError) as info:
        _load_kev(path)
    assert info.value.entry == entry and problem in str(info.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(DataFileError, match="cannot read"):
        restrictions.load(restrictions_path=tmp_path / "missing.toml")
    broken = tmp_path / "kev.toml"
    broken.write_text("version = \n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not valid TOML"):
        restrictions.load(kev_path=broken)
    empty = tmp_path / "restrictions.toml"
    empty.write_text('version = "1"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match="required property"):
        restrictions.load(restrictions_path=empty)


# --------------------------------------------------------------------------- dates with precision


@pytest.mark.parametrize(
    ("value", "precision", "last_ok", "first_past"),
    [
        ("2025-04-30", "day", "2025-04-30", "2025-05-01"),
        ("2025-04", "month", "2025-04-30", "2025-05-01"),  # overdue only once April has ended
        ("2024-02", "month", "2024-02-29", "2024-03-01"),  # a leap year's February
        ("2021", "year", "2021-12-31", "2022-01-01"),
    ],
)
def test_a_deadline_is_past_only_after_its_whole_period(value, precision, last_ok, first_past):
    deadline = PreciseDate(value, precision)
    assert not deadline.past(date.fromisoformat(last_ok)) and deadline.past(date.fromisoformat(first_past))
    assert str(deadline) == value


def test_in_force_between_effective_and_ended():
    assert inst("US-805").in_force(date(2026, 6, 29)) is InForce.NOT_YET
    assert inst("US-805").in_force(date(2026, 6, 30)) is InForce.IN_FORCE
    assert inst("US-BOD2201").in_force(date(2026, 6, 10)) is InForce.IN_FORCE
    assert inst("US-BOD2201").in_force(date(2026, 6, 11)) is InForce.ENDED
    assert inst("US-EO13959").in_force(date(2021, 7, 1)) is InForce.ENDED


def test_stale_data_is_warned_about():
    assert DATA.stale(DATA.as_of, 180) == ()
    warnings = DATA.stale(date(2027, 12, 1), 180)
    assert any(w.startswith(f"the restrictions data is {(date(2027, 12, 1) - DATA.as_of).days} days old") for w in warnings)


# --------------------------------------------------------------------------- firmware and KEV ranges


@pytest.mark.parametrize(
    ("text", "numbers", "build"),
    [
        ("V5.4.1 build 160525", (5, 4, 1), "2016-05-25"),
        ("V4.30.210 Build201224", (4, 30, 210), "2020-12-24"),
        ("V5.6.2build 190701", (5, 6, 2), "2019-07-01"),
        ("V5.5.800_210628", (5, 5, 800), "2021-06-28"),
        ("2.800.0000000.6.R, Build Date: 2020-03-14", (2, 800, 0, 6), "2020-03-14"),
        ("2.420.AC00.18.R.20200217", (2, 420), "2020-02-17"),
        ("V5.4.1", (5, 4, 1), None),
        ("garbage", None, None),
    ],
)
def test_parse_firmware(text, numbers, build):
    fw = parse_firmware(text)
    assert fw is not None and fw.numbers == numbers
    assert (fw.build.isoformat() if fw.build else None) == build


def test_parse_firmware_empty():
    assert parse_firmware(None) is None and parse_firmware("  ") is None


@pytest.mark.parametrize(
    ("cve", "maker", "model", "firmware", "brand", "state"),
    [
        # CVE-2021-36260, IP cameras: affected if built before 2021-06-25.
        ("CVE-2021-36260", "hikvision", "DS-2CD2143G2-I", "V5.4.1 build 160525", None, KevState.AFFECTED),
        ("CVE-2021-36260", "hikvision", "DS-2CD2143G2-I", "V5.5.800 build 210628", None, KevState.NOT_AFFECTED),
        ("CVE-2021-36260", "hikvision", "DS-2CD2143G2-I", "V5.4.1", None, KevState.POSSIBLE),
        ("CVE-2021-36260", "hikvision", "DS-2CD2143G2-I", None, None, KevState.POSSIBLE),
        ("CVE-2021-36260", "hikvision", "DS-2TD2617-10/QA", "V5.5.3 build 210701", None, KevState.AFFECTED),
        # NVR version ranges.
        ("CVE-2021-36260", "hikvision", "DS-7608NI-K1", "V4.30.210 build 210301", None, KevState.AFFECTED),
        ("CVE-2021-36260", "hikvision", "DS-7608NI-K1", "V4.30.085 build 200916", None, KevState.NOT_AFFECTED),
        ("CVE-2021-36260", "hikvision", "DS-7608NI-K1", "V4.31.000 build 210512", None, KevState.NOT_AFFECTED),
        ("CVE-2021-36260", "hikvision", "DS-7608NI-K1", "V4.30.500", None, KevState.AFFECTED),
        ("CVE-2021-36260", "hikvision", "DS-7608NI-K1", "V4.30.210", None, KevState.POSSIBLE),
        # CVE-2017-7921 ranges.
        ("CVE-2017-7921", "hikvision", "DS-2CD2032F-I", "V5.3.0 build 150513", None, KevState.AFFECTED),
        ("CVE-2017-7921", "hikvision", "DS-2CD2032F-I", "V5.4.5 build 170123", None, KevState.NOT_AFFECTED),
        # Dahua build cut-offs.
        ("CVE-2021-33044", "dahua", "IPC-HFW3441E-AS", "V2.800.0000000.16.R, Build Date: 2021-03-01", None, KevState.AFFECTED),
        ("CVE-2021-33044", "dahua", "DH-IPC-HDBW5442R-ZE", "V2.800.0000000.16.R, Build Date: 2021-08-01", None, KevState.NOT_AFFECTED),
        ("CVE-2021-33045", "dahua", "DHI-NVR5216-4KS2", "V4.001.0000000.3.R, Build Date: 2019-10-11", None, KevState.AFFECTED),
        ("CVE-2021-33045", "dahua", "VTO7541G", "V4.300.0000000.1.R, Build Date: 2022-01-01", None, KevState.POSSIBLE),
        # Amcrest (Dahua OEM): the fixed build of its own branch decides.
        ("CVE-2020-5735", "dahua", "IP2M-841", "V2.800.0000000.6.R, Build Date: 2020-03-01", "Amcrest", KevState.AFFECTED),
        ("CVE-2020-5735", "dahua", "IP2M-841", "V2.800.0000000.6.R, Build Date: 2020-03-14", "Amcrest", KevState.NOT_AFFECTED),
        ("CVE-2020-5735", "dahua", "IP2M-841", "V2.420.AC00.18.R, Build Date: 2019-11-02", "amcrest", KevState.AFFECTED),
    ],
)
def test_kev_status(cve, maker, model, firmware, brand, state):
    match = kev_status(KEV[cve], maker, model, firmware, brand)
    assert match is not None and match.state is state, match and match.reason


def test_kev_reason_names_firmware_and_range():
    match = kev_status(KEV["CVE-2021-36260"], "hikvision", "DS-7608NI-K1", "V4.30.500 build 210301")
    assert match.state is KevState.AFFECTED
    assert match.reason == "firmware V4.30.500 build 210301 is in the affected range V4.30.210 build 201224 - V4.31.000 build 210511"


@pytest.mark.parametrize(
    ("cve", "maker", "model", "brand"),
    [
        ("CVE-2021-36260", "dahua", "DS-2CD2143G2-I", None),  # other maker
        ("CVE-2021-36260", "hikvision", "DS-2CD2032-I", None),  # model not listed
        ("CVE-2021-36260", "hikvision", None, None),  # no model: cannot be placed
        ("CVE-2020-5735", "dahua", "IP2M-841", "Lorex"),  # brand-scoped group
        ("CVE-2020-5735", "dahua", "IP2M-841", None),
    ],
)
def test_kev_not_covering(cve, maker, model, brand):
    assert kev_status(KEV[cve], maker, model, "V5.4.1 build 160525", brand) is None


# --------------------------------------------------------------------------- policies


def test_no_policy_selects_every_instrument_and_binds_nothing():
    for spec in (None, "", " "):
        selection = policy.select(DATA, spec)
        assert not selection.chosen and selection.label == "none" and selection.instruments == DATA.instruments
        assert selection.duties(inst("US-889-A")) == ()


def test_all_is_deprecated_and_means_no_policy():
    # The warning it prints is checked through the CLI (tests/test_reports.py).
    selection = policy.select(DATA, "all")
    assert not selection.chosen and selection.instruments == DATA.instruments
    assert policy.select(DATA, "all,us-grant").names == ("us-grant",)


@pytest.mark.parametrize(
    ("spec", "ids"),
    [
        ("us-federal", ["US-889-A", "US-BOD2201", "US-BOD2604"]),
        ("us-dod", ["US-889-A", "US-805"]),
        ("us-federal-contractor", ["US-889-B", "US-FAR-24", "US-FAR-25", "US-FAR-26"]),
        ("us-grant", ["US-889-GRANT"]),
        ("us-fcc-funded", ["US-FCC-CL"]),
        ("us-vt", ["US-VT"]),
        ("us-la", ["US-LA"]),
        ("uk-central-government", ["UK-WMS22"]),
        ("uk-sensitive-sites", ["UK-WMS22", "UK-TIMELINE"]),
        ("uk-dhsc", ["UK-WMS22", "UK-DHSC"]),
        ("au-defence", ["AU-DEF"]),
        ("au-commonwealth", []),
        ("ca-federal", ["CA-ICA"]),
        ("lt-public-sector", ["LT-PP22"]),
        ("tw-government", ["TW-EY"]),
        ("in-public-procurement", ["IN-GFR20"]),
        ("eu-parliament", ["EU-EP"]),
        ("dk-named-body", ["DK"]),
        ("tesco", ["CO-TESCO"]),
        ("morrisons", ["CO-MORR"]),
        ("co-op", ["CO-COOP"]),
        # Combined: the union, each instrument once, in data order.
        ("us-federal-contractor, us-grant", ["US-889-B", "US-889-GRANT", "US-FAR-24", "US-FAR-25", "US-FAR-26"]),
    ],
)
def test_policies_select_the_instruments_binding_their_audiences(spec, ids):
    selection = policy.select(DATA, spec)
    assert selection.chosen and [i.id for i in selection.instruments] == ids


def test_a_policy_gets_only_its_audiences_duties():
    wms = inst("UK-WMS22")
    plain = policy.select(DATA, "uk-central-government")
    assert [d.kind for d in plain.duties(wms)] == ["no-network-connection"]
    sites = policy.select(DATA, "uk-sensitive-sites")
    assert [d.kind for d in sites.duties(wms)] == ["no-network-connection", "no-procurement"]


def test_unknown_policy_names_it_suggests_and_lists():
    with pytest.raises(UsageError) as info:
        policy.select(DATA, "us-federal,uk-sensitive-site")
    message = str(info.value)
    assert "unknown policy 'uk-sensitive-site'" in message and "did you mean 'uk-sensitive-sites'" in message
    assert "valid policies: us-federal, us-dod" in message and info.value.exit_code == 2


@pytest.mark.parametrize("name", ["uk-gov", "au-gov", "us-fcc", "us-state", "ua", "corporate"])
def test_retired_policy_names_say_what_to_choose(name):
    with pytest.raises(UsageError) as info:
        policy.select(DATA, name)
    assert str(info.value).startswith(f"unknown policy {name!r}: ") and "\n" not in str(info.value)


def test_every_policy_is_described():
    rows = policy.describe(DATA)
    assert [r[0] for r in rows] == [p.name for p in DATA.policies]
    assert {r[0]: r[2] for r in rows}["au-commonwealth"] == "(none binds it)"


def test_readme_lists_every_policy():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Restrictions, policies and reports", 1)[1]
    for name, who, ids in policy.describe(DATA):
        assert f"| `{name}` | {who} | {ids} |" in section, name


# --------------------------------------------------------------------------- camsweep restrictions


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_restrictions_command_lists_instruments_and_policies(capsys):
    code, out, err = run_cli(["restrictions"], capsys)
    assert code == 0 and err == ""
    assert f"data {DATA.version} (as of {DATA.as_of})" in out.splitlines()[0]
    for i in DATA.instruments:
        assert i.label in out, i.id
    assert "uk-sensitive-sites" in out and "au-commonwealth" in out


def test_restrictions_command_filters(capsys):
    _, out, _ = run_cli(["restrictions", "--jurisdiction", "uk", "--maker", "dahua"], capsys)
    rows = [line.split()[0] for line in out.splitlines() if line[:3] in ("UK-", "US-", "AU-", "CA-")]
    assert rows == ["UK-WMS22", "UK-TIMELINE"]  # UK-DHSC names Hikvision only; UK-PA23 names no maker
    _, out, _ = run_cli(["restrictions", "--policy", "us-federal", "--as-of", "2026-06-11"], capsys)
    assert "judged at 2026-06-11" in out and "* no-procurement (us-" in out  # a duty binding the policy
    assert "no longer in force" in out and "US-BOD2201" in out  # revoked by BOD 26-04 the day before
    code, _, err = run_cli(["restrictions", "--jurisdiction", "XX"], capsys)
    assert code == 2 and "unknown jurisdiction 'xx'" in err and err.count("\n") == 1
    code, _, err = run_cli(["restrictions", "--maker", "axis"], capsys)
    assert code == 2 and "unknown maker 'axis'" in err


def test_restrictions_command_json_shows_binds_covers_duty_force_dates_citation_verification(capsys):
    code, out, _ = run_cli(["restrictions", "--format", "json", "--as-of", "2025-05-01", "--jurisdiction", "UK"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["restrictions_version"] == DATA.version and doc["evaluated_on"] == "2025-05-01"
    timeline = next(i for i in doc["instruments"] if i["id"] == "UK-TIMELINE")
    assert timeline["duties"][0]["deadline"]["precision"] == "month" and timeline["deadlines_past"] == ["2025-04"]
    assert timeline["force"] == "binding-policy" and timeline["covers"] == "country-of-origin"
    assert timeline["verification"] == "primary" and timeline["citations"][0]["retrieved"] == "2026-12-04"
    assert timeline["state"] == "in force"


def test_restrictions_md_is_generated_from_the_data(capsys):
    code, out, _ = run_cli(["restrictions", "--format", "markdown"], capsys)
    assert code == 0
    committed = (ROOT / "RESTRICTIONS.md").read_text(encoding="utf-8")
    assert committed == out, "RESTRICTIONS.md is stale: run `camsweep restrictions --format markdown > RESTRICTIONS.md`"
    rows = [line for line in committed.splitlines() if line.startswith("| ") and " | " in line]
    for i in DATA.instruments:
        assert sum(row.startswith(f"| {i.id} |") for row in rows) == 1, i.id
    assert "| UK-TIMELINE |" in committed and "by 2025-04 (month)" in committed
    # Every maker-brand relation, with when it held and its sources.
    assert "| FLIR | Dahua | former-owner | until 2018-02;" in committed
    assert "| Lorex | Dahua | former-subsidiary | 2018-02 to 2023;" in committed
    assert "| Honeywell | Hikvision | mix |" in committed and "| Honeywell | Dahua | mix |" in committed


# --------------------------------------------------------------------------- the restricted makers


def test_restricted_makers_are_the_makers_tables_of_the_restrictions_data():
    from camsweep.types import RESTRICTED_MAKER_NAMES, RESTRICTED_MAKERS

    raw = tomllib.loads(restrictions.RESTRICTIONS_FILE.read_text(encoding="utf-8"))["makers"]
    assert RESTRICTED_MAKERS == tuple(raw) == ("hikvision", "dahua")
    assert RESTRICTED_MAKER_NAMES == {maker_id: table["name"] for maker_id, table in raw.items()}
    # The verdict enum: one member per restricted maker, then other and unknown.
    assert [m.value for m in Manufacturer] == [*RESTRICTED_MAKERS, "other", "unknown"]
    assert [m for m in Manufacturer if m.restricted] == [Manufacturer.HIKVISION, Manufacturer.DAHUA]
    assert Manufacturer.of("dahua") is Manufacturer.DAHUA and Manufacturer.of("axis") is Manufacturer.OTHER
    assert Manufacturer.DAHUA.label == "Dahua" and Manufacturer.UNKNOWN.label == "unknown"


def test_each_restricted_maker_is_a_fingerprint_maker_of_the_same_name():
    from camsweep.types import RESTRICTED_MAKER_NAMES
    from camsweep.verdicts import load_fingerprints

    db = load_fingerprints()
    for maker_id, name in RESTRICTED_MAKER_NAMES.items():
        maker = db.maker(maker_id)
        assert maker is not None and maker.name == name, maker_id
        assert maker.manufacturer is Manufacturer(maker_id)


def test_instruments_may_name_only_restricted_makers(tmp_path: Path):
    text = restrictions.RESTRICTIONS_FILE.read_text(encoding="utf-8")
    path = tmp_path / "restrictions.toml"
    path.write_text(text.replace('makers = ["hikvision"]', 'makers = ["uniview"]', 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="uniview"):
        restrictions.load(restrictions_path=path)


def test_no_code_spells_out_the_restricted_makers():
    """The set is written once, in restrictions.toml: no literal in the code lists two of its makers."""
    import ast

    from camsweep.types import RESTRICTED_MAKERS

    root = Path(__file__).resolve().parent.parent
    # scanner/lab emulates devices: its profiles say what each one is.
    files = [p for folder in ("scanner", "fingerprints", "reports") for p in (root / folder).rglob("*.py")
             if "lab" not in p.relative_to(root).parts]
    assert len(files) > 50
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None) \
                if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else None
            strings = {i.value for i in items or () if isinstance(i, ast.Constant) and isinstance(i.value, str)}
            if len(strings & set(RESTRICTED_MAKERS)) >= 2:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not found, found
