"""Restrictions/KEV data: the packaged files, the validator, firmware ranges and policy selection."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from camsweep import policy, restrictions
from camsweep.errors import DataFileError, ExitCode, UsageError
from camsweep.models import Manufacturer
from camsweep.restrictions import KevState, kev_status, parse_firmware

DATA = restrictions.load()
KEV = {entry.id: entry for entry in DATA.kev}


# --------------------------------------------------------------------------- packaged data


def test_packaged_data_loads_with_versions():
    versions = DATA.versions()
    assert set(versions) == {
        "restrictions_version", "restrictions_as_of", "restrictions_sources_current_to", "kev_version", "kev_as_of",
    }
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", versions["restrictions_as_of"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", versions["kev_as_of"])
    assert len(DATA.instruments) >= 30 and len(DATA.kev) == 5


def test_instruments_from_research_are_present():
    ids = {i.id for i in DATA.instruments}
    for expected in ("US-889-A", "US-889-B", "US-889-GRANT", "US-FAR-24", "US-FAR-25", "US-FAR-26", "US-FCC-CL",
                     "US-FCC-2284", "US-FCC-2571", "US-BIS-EL19", "US-VT", "US-LA", "UK-WMS22", "AU-DEF",
                     "CA-ICA", "LT-PP22", "TW-EY", "IN-GFR20", "EU-EP", "UA-NACP"):
        assert expected in ids
    # Rows sanctions.md marks wholly unverified for Hikvision/Dahua are left out on purpose.
    assert not ids & {"US-TX", "US-other-states", "CO-AVARN"}


def test_instrument_facts_match_the_research():
    a = DATA.instrument("US-889-A")
    assert (a.announced, a.effective, a.oem, a.purpose_limited) == ("2018-08-13", "2019-08-13", True, True)
    b = DATA.instrument("US-889-B")
    assert b.effective == "2020-08-13" and b.action == "replace" and b.binding
    assert DATA.instrument("LT-PP22").deadline.isoformat() == "2025-01-01"
    assert DATA.instrument("LT-PP22").verification == "S"
    ca = DATA.instrument("CA-ICA")
    assert ca.makers == ("hikvision",) and ca.oem == "unclear"
    # Export/investment lists create no device duty.
    for informational in ("US-BIS-EL19", "US-EO14032", "US-DOD-1260H", "UA-NACP"):
        assert not DATA.instrument(informational).binding
    # A U mark is carried and explained, never silently upgraded.
    eo = DATA.instrument("US-EO14032")
    assert eo.verification == "U" and "NOT read" in (eo.verification_note or "")
    assert eo.label() == "US-EO14032 (U)"


def test_every_entry_is_cited_and_verified():
    for instrument in DATA.instruments:
        assert instrument.citations and instrument.verification in ("V", "S", "U")
    for entry in DATA.kev:
        assert entry.citations and entry.due_date >= entry.date_added


def test_maker_ids_match_the_model_and_makers_file():
    enum_values = {m.value for m in Manufacturer}
    used = {m for i in DATA.instruments for m in i.makers} | {m for e in DATA.kev for g in e.affected for m in g.makers}
    assert used <= enum_values and used == {"hikvision", "dahua"}
    makers_file = restrictions.DATA_DIR / "makers.toml"
    if makers_file.exists():  # written by the fingerprint helper
        ids = {m["id"] for m in tomllib.loads(makers_file.read_text())["maker"]}
        assert {"hikvision", "dahua"} <= ids


def test_kev_dates_match_the_research():
    assert (KEV["CVE-2021-36260"].date_added.isoformat(), KEV["CVE-2021-36260"].due_date.isoformat()) == ("2022-01-10", "2022-01-24")
    assert KEV["CVE-2017-7921"].date_added.isoformat() == "2026-03-05"
    assert KEV["CVE-2021-33044"].due_date.isoformat() == "2024-09-11"
    assert KEV["CVE-2020-5735"].date_added.isoformat() == "2021-11-03"


def test_group_brands():
    assert DATA.is_group_brand("hikvision", "HiLook") and DATA.is_group_brand("hikvision", "hiwatch")
    assert DATA.is_group_brand("dahua", None)
    assert not DATA.is_group_brand("dahua", "Lorex") and not DATA.is_group_brand("hikvision", "Annke")
    assert DATA.makers_behind_brand("Amcrest") == ("dahua",)
    assert DATA.makers_behind_brand("Axis") == ()


# --------------------------------------------------------------------------- validator


def _copy(tmp_path: Path, name: str, edit) -> Path:
    source = (restrictions.DATA_DIR / name).read_text(encoding="utf-8")
    target = tmp_path / name
    target.write_text(edit(source), encoding="utf-8")
    return target


def _load_restrictions(path: Path):
    return restrictions.load(restrictions_path=path)


def _load_kev(path: Path):
    return restrictions.load(kev_path=path)


@pytest.mark.parametrize(
    ("edit", "entry", "problem"),
    [
        (lambda s: s.replace('effective = "2019-08-13"', 'effective = "13/08/2019"', 1), "US-889-A", "effective"),
        (lambda s: s.replace('effective = "2019-08-13"', 'effective = "2019-02-30"', 1), "US-889-A", "not a real date"),
        (lambda s: s.replace('makers = ["hikvision", "dahua"]', 'makers = ["hikvison"]', 1), "US-889-A", "hikvison"),
        (lambda s: s.replace('oem = true', 'oem = "maybe"', 1), "US-889-A", "oem"),
        (lambda s: s.replace('id = "US-889-B"', 'id = "US-889-A"', 1), "US-889-A", "duplicate instrument id"),
        (lambda s: s.replace('verification = "V"', 'verification = "X"', 1), "US-889-A", "verification"),
        (lambda s: s.replace('instruments = ["US-889-GRANT"]', 'instruments = ["US-889-GRNT"]'), "us-grant", "US-889-GRNT"),
        (lambda s: s.replace('binds = "US executive agencies', 'bindz = "US executive agencies', 1), "US-889-A", "'binds' is a required property"),
    ],
)
def test_bad_restrictions_data_is_rejected_with_entry(tmp_path, edit, entry, problem):
    path = _copy(tmp_path, "restrictions.toml", edit)
    with pytest.raises(DataFileError) as info:
        _load_restrictions(path)
    error = info.value
    assert error.path == str(path) and error.entry == entry and problem in str(error)
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


def test_default_policy_is_all():
    for spec in (None, "", "all", " ALL "):
        selection = policy.select(DATA, spec)
        assert selection.names == ("all",) and selection.instruments == DATA.instruments


def test_named_policies_select_their_instruments():
    selection = policy.select(DATA, "us-federal-contractor, uk-gov")
    ids = [i.id for i in selection.instruments]
    assert ids == ["US-889-B", "US-FAR-24", "US-FAR-25", "US-FAR-26", "UK-WMS22", "UK-TIMELINE", "UK-DHSC", "UK-PA23"]
    assert selection.label == "us-federal-contractor,uk-gov"
    assert policy.select(DATA, ["us-grant", "us-grant"]).names == ("us-grant",)


def test_unknown_policy_names_it_suggests_and_lists():
    with pytest.raises(UsageError) as info:
        policy.select(DATA, "us-federal,uk-gvo")
    message = str(info.value)
    assert "unknown policy 'uk-gvo'" in message and "did you mean 'uk-gov'" in message
    assert "valid policies: all, us-federal" in message and "corporate" in message
    assert info.value.exit_code == 2


def test_every_policy_is_described():
    rows = policy.describe(DATA)
    assert rows[0][0] == "all" and {r[0] for r in rows[1:]} == {p.name for p in DATA.policies}


def test_readme_lists_every_policy():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Restrictions, policies and reports", 1)[1]
    for name, _, ids in policy.describe(DATA):
        assert f"| `{name}` |" in section, name
        if name != "all":
            assert f"| {ids} |" in section, name


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
