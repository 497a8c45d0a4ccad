"""The fingerprint DB tests itself: every rule's examples are its tests (recog style).

For every example of every rule: it matches its rule and yields the declared extractions, and no
earlier rule on the same field with a different maker claims it first. Every counter-example
matches no rule of that maker. Broken data files fail loudly, naming file, rule and problem.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from camsweep import fingerprints
from camsweep.errors import DataFileError
from camsweep.fingerprints import DATA_DIR, FingerprintDB, Rule
from camsweep.models import DeviceType, Tier
from camsweep.verdicts import load_fingerprints

DB = load_fingerprints()


def _examples() -> list[tuple[Rule, int]]:
    return [(rule, i) for rule in DB.rules for i in range(len(rule.examples))]


def _counters() -> list[tuple[Rule, int]]:
    return [(rule, i) for rule in DB.rules for i in range(len(rule.counter_examples))]


def _id(param: tuple[Rule, int]) -> str:
    return f"{param[0].id}[{param[1]}]"


def test_db_loads_with_metadata() -> None:
    assert DB.version
    assert DB.as_of.year >= 2026
    assert len(DB.rules) >= 60
    assert load_fingerprints() is DB  # cached for the packaged directory


def test_rule_ids_unique_across_db_and_oui() -> None:
    ids = [rule.id for rule in DB.rules] + [e.id for e in DB.oui.orgs.values()] + [e.id for e in DB.oui.prefixes]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicates == []


def test_every_rule_has_examples_with_sources() -> None:
    for rule in DB.rules:
        assert rule.examples, rule.id
        for example in (*rule.examples, *rule.counter_examples):
            assert len(example.source.strip()) >= 3, rule.id


def test_every_signal_kind_has_rules() -> None:
    """Rules exist for each kind of signal ARCHITECTURE.md lists."""
    fields = set(DB.fields)
    for key in (
        "http.header.server", "http.title", "http.auth.realm", "http.body", "http.header_shape",
        "rtsp.header.server", "rtsp.auth.realm", "tls.subject", "tls.issuer", "onvif.scopes",
        "onvif.scope.name", "onvif.scope.hardware", "onvif.namespaces", "onvif.endpoint",
        "onvif.manufacturer", "sadp.xml_root", "sadp.oem_code", "dhip.method", "dhip.vendor",
        "dhip.version", "upnp.manufacturer", "mdns.instance", "dhcp.vendor_class",
        "device.ports", "device.model",
    ):
        assert key in fields, key


@pytest.mark.parametrize("param", _examples(), ids=_id)
def test_example_matches_and_extracts(param: tuple[Rule, int]) -> None:
    rule, index = param
    example = rule.examples[index]
    extracted = rule.match(example.value)
    assert extracted is not None, f"{rule.id} does not match its example {example.value!r}"
    for key, expected in example.expect.items():
        assert extracted.get(key) == expected, (rule.id, key, extracted)


@pytest.mark.parametrize("param", _examples(), ids=_id)
def test_example_not_claimed_by_earlier_rule_of_another_maker(param: tuple[Rule, int]) -> None:
    rule, index = param
    example = rule.examples[index]
    for field_key in rule.fields:
        for earlier in DB.rules_for(field_key):
            if earlier is rule:
                break
            if earlier.maker and rule.maker and earlier.maker != rule.maker:
                assert earlier.match(example.value) is None, (
                    f"{earlier.id} ({earlier.maker}) claims {rule.id}'s example {example.value!r}"
                )


@pytest.mark.parametrize("param", _counters(), ids=_id)
def test_counter_example_matches_no_rule_of_that_maker(param: tuple[Rule, int]) -> None:
    rule, index = param
    value = rule.counter_examples[index].value
    assert rule.match(value) is None, f"{rule.id} matches its counter-example {value!r}"
    if rule.maker is None:
        return
    for field_key in rule.fields:
        for other in DB.rules_for(field_key):
            if other.maker == rule.maker:
                assert other.match(value) is None, f"{other.id} matches {rule.id}'s counter-example {value!r}"


def test_weak_rules_and_oui_stay_low() -> None:
    for rule in DB.rules:
        if rule.tier is Tier.WEAK:
            assert rule.certainty <= 0.35, rule.id
    for entry in [*DB.oui.orgs.values(), *DB.oui.prefixes]:
        assert entry.certainty <= 0.4, entry.id


def test_fixed_device_types_are_valid() -> None:
    for rule in DB.rules:
        if rule.device_type is not None:
            assert isinstance(rule.device_type, DeviceType)


def test_brands_resolve_through_aliases() -> None:
    assert DB.brand("CPPLUS").name == "CP PLUS"
    assert DB.brand("cp_plus").name == "CP PLUS"
    assert DB.brand("HIKVISION").maker == "hikvision"
    assert DB.brand("LeChange").name == "Imou"
    annke = DB.brand("Annke")
    assert annke.relation == "mix" and annke.maker == "hikvision" and not annke.label_implies_maker
    assert DB.brand("EZVIZ").label_implies_maker and DB.brand("EZVIZ").owner == "hikvision"
    # A brand may relate to several makers (Honeywell has sold both makers' units), each with sources.
    honeywell = DB.brand("Honeywell")
    assert honeywell.makers == ("hikvision", "dahua") and honeywell.owner is None
    assert all(r.relation == "mix" and r.sources for r in honeywell.relations)
    # FLIR sold Lorex to Dahua: a former owner, not a relabeller of Dahua units.
    assert DB.brand("FLIR").relation_to("dahua").relation == "former-owner"


def test_every_brand_relation_has_a_source_and_no_wiki() -> None:
    from camsweep.fingerprints import is_wiki

    for brand in set(DB.brands.values()):
        for relation in brand.relations:
            assert relation.sources, (brand.name, relation.maker)
            assert not any(is_wiki(s.text) or is_wiki(s.url or "") for s in relation.sources), brand.name


def test_required_brands_present() -> None:
    hik = {"Hikvision", "HiWatch", "EZVIZ", "HIKMICRO", "Prama", "HiLook", "Annke", "LTS", "TruVision"}
    dahua = {"Dahua", "Imou", "Amcrest", "Lorex", "Intelbras", "CP PLUS"}
    assert {b for b in hik if DB.brand(b) and DB.brand(b).maker == "hikvision"} == hik
    assert {b for b in dahua if DB.brand(b) and DB.brand(b).maker == "dahua"} == dahua


def test_loads_from_another_working_directory(tmp_path: Path) -> None:
    """Data is found next to the package, not relative to the current directory."""
    # The interpreter finds camsweep where it is installed (editable or not); nothing on PYTHONPATH:
    # the package folder itself on the path would shadow the standard library (camsweep/types.py).
    code = "from camsweep.verdicts import load_fingerprints; db = load_fingerprints(); print(len(db.rules), db.version)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.split()[0] == str(len(DB.rules))


# ----------------------------------------------------------------------------- bad data

GOOD_RULE = """
matches = "http.header.server"

[[rule]]
id = "test-rule"
pattern = '^Test-Webs$'
maker = "hikvision"
tier = "firmware"
certainty = 0.5
description = "a test rule"
source = "tests"
examples = [ { value = "Test-Webs", source = "tests" } ]
"""


def _data_dir(tmp_path: Path, rule_text: str, name: str = "rules.toml") -> Path:
    shutil.copy(DATA_DIR / "makers.toml", tmp_path / "makers.toml")
    shutil.copy(DATA_DIR / "oui.toml", tmp_path / "oui.toml")
    (tmp_path / name).write_text(rule_text, encoding="utf-8")
    return tmp_path


def _load_error(tmp_path: Path, rule_text: str) -> DataFileError:
    with pytest.raises(DataFileError) as info:
        load_fingerprints(str(_data_dir(tmp_path, rule_text)))
    return info.value


def test_good_minimal_directory_loads(tmp_path: Path) -> None:
    db = load_fingerprints(str(_data_dir(tmp_path, GOOD_RULE)))
    assert isinstance(db, FingerprintDB)
    assert [r.id for r in db.rules] == ["test-rule"]


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (GOOD_RULE.replace("'^Test-Webs$'", "'^Test-(Webs$'"), "bad regex"),
        (GOOD_RULE.replace('examples = [ { value = "Test-Webs", source = "tests" } ]', "examples = []"), "examples"),
        (GOOD_RULE.replace('examples = [ { value = "Test-Webs", source = "tests" } ]', ""), "examples"),
        (GOOD_RULE.replace('tier = "firmware"', 'tier = "firmware"\ncolour = "red"'), "unknown key"),
        (GOOD_RULE.replace("certainty = 0.5", 'certainty = "high"'), "certainty"),
        (GOOD_RULE.replace('maker = "hikvision"', 'maker = "acme"'), "unknown maker"),
        (GOOD_RULE.replace('{ value = "Test-Webs", source = "tests" }', '{ value = "Test-Webs" }'), "source"),
        (GOOD_RULE.replace("'^Test-Webs$'", "'^(?P<colour>Test)-Webs$'"), "named group"),
        (GOOD_RULE.replace('source = "tests" } ]', 'source = "tests", model = "X" } ]'), "model"),
        (GOOD_RULE + GOOD_RULE.split("\n", 2)[2], "duplicate"),
        (GOOD_RULE.replace('"http.header.server"', '"http.favicon.md5"'), "no protocol emits"),
        (GOOD_RULE.replace('tier = "firmware"', 'tier = "firmware"\nmatches = ["http.title", "http.titel"]'),
         "'http.titel', a field no protocol emits"),
        (GOOD_RULE.replace('"http.header.server"', '"http.header.server.version"'), "no protocol emits"),
    ],
    ids=["bad-regex", "empty-examples", "missing-examples", "unknown-key", "wrong-type", "unknown-maker",
         "example-without-source", "unknown-group", "expectation-without-group", "duplicate-id",
         "undeclared-key", "undeclared-key-of-one-rule", "pattern-key-one-part-only"],
)
def test_broken_rule_file_names_file_rule_and_problem(tmp_path: Path, broken: str, problem: str) -> None:
    error = _load_error(tmp_path, broken)
    assert error.path.endswith("rules.toml")
    assert error.entry == "test-rule"
    assert problem in error.problem
    assert "rules.toml" in str(error) and "test-rule" in str(error)


CONFIRMED = GOOD_RULE.replace('tier = "firmware"', 'tier = "firmware"\nconfirm_paths = ["/ISAPI/System/deviceInfo"]')


def test_a_rule_may_name_the_read_only_pages_that_confirm_it(tmp_path: Path) -> None:
    text = CONFIRMED.replace('tier = "firmware"', 'tier = "firmware"\nlogin_path = "/cgi-bin/magicBox.cgi?action=getSystemInfo"')
    (rule,) = load_fingerprints(str(_data_dir(tmp_path, text))).rules
    assert rule.confirm_paths == ("/ISAPI/System/deviceInfo",)
    assert rule.login_path == "/cgi-bin/magicBox.cgi?action=getSystemInfo"


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ("/SDK/webLanguage", "never-request"),
        ("/ISAPI/Security/userCheck?auth=YWRtaW46MTEK", "never-request"),
        ("/%63urrent_config/Sofia", "never-request"),  # compared percent-decoded
        ("/RPC2_Login", "never-request"),
        ("/cgi-bin/configManager.cgi?action=setConfig&General.MachineName=x", "action=setConfig is not a read"),
        ("/cgi-bin/magicBox.cgi?action=reboot", "not a read"),
        ("http://198.18.0.20/ISAPI/System/deviceInfo", "absolute path"),
        ("//198.18.0.20/x", "absolute path"),
        ("/a b", "whitespace"),
    ],
)
def test_a_page_that_is_not_a_read_only_get_is_refused(tmp_path: Path, page: str, problem: str) -> None:
    error = _load_error(tmp_path, CONFIRMED.replace("/ISAPI/System/deviceInfo", page))
    assert error.entry == "test-rule" and problem in error.problem and page in error.problem


def test_a_login_path_is_checked_like_a_confirm_path(tmp_path: Path) -> None:
    error = _load_error(tmp_path, GOOD_RULE.replace('tier = "firmware"', 'tier = "firmware"\nlogin_path = "/RPC2"'))
    assert error.entry == "test-rule" and "never-request" in error.problem


def test_pages_only_on_rules_the_http_probe_can_match(tmp_path: Path) -> None:
    error = _load_error(tmp_path, CONFIRMED.replace('matches = "http.header.server"', 'matches = "sadp.model"'))
    assert error.entry == "test-rule" and "no http.* field" in error.problem


def test_packaged_pages_are_read_only_and_hikvision_dahua_rules_name_them() -> None:
    db = load_fingerprints()
    named = {r.id: (r.confirm_paths, r.login_path) for r in db.rules if r.confirm_paths or r.login_path}
    assert named["http-server-app-webs"] == (("/ISAPI/System/deviceInfo", "/doc/page/login.asp"), "/ISAPI/System/deviceInfo")
    assert named["http-realm-dahua-login-to"] == (("/cgi-bin/magicBox.cgi?action=getDeviceType",),
                                                  "/cgi-bin/magicBox.cgi?action=getSystemInfo")
    assert {db.rule(i).maker for i in named} == {"hikvision", "dahua"}


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    error = _load_error(tmp_path, GOOD_RULE.replace('id = "test-rule"', 'id = "test-rule'))
    assert error.path.endswith("rules.toml")
    assert "invalid TOML" in error.problem


def test_missing_matches_is_reported(tmp_path: Path) -> None:
    error = _load_error(tmp_path, GOOD_RULE.replace('matches = "http.header.server"', ""))
    assert "matches" in error.problem


def test_broken_makers_file(tmp_path: Path) -> None:
    _data_dir(tmp_path, GOOD_RULE)
    text = (tmp_path / "makers.toml").read_text(encoding="utf-8")
    (tmp_path / "makers.toml").write_text(text.replace('maker = "hikvision"\nrelation = "oem"', 'maker = "hikvisoin"\nrelation = "oem"', 1),
                                          encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_fingerprints(str(tmp_path))
    assert info.value.path.endswith("makers.toml")
    assert "unknown maker" in info.value.problem


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataFileError):
        load_fingerprints(str(tmp_path / "nope"))


def test_verify_reports_nothing_for_the_packaged_db() -> None:
    assert fingerprints.verify(DB) == []


def test_verify_names_a_broken_example(tmp_path: Path) -> None:
    broken = GOOD_RULE.replace('{ value = "Test-Webs", source = "tests" }', '{ value = "Other-Webs", source = "tests" }')
    db = load_fingerprints(str(_data_dir(tmp_path, broken)))
    problems = fingerprints.verify(db)
    assert len(problems) == 1
    assert "rules.toml: test-rule" in problems[0] and "does not match" in problems[0]
