"""Every protocol is declared once (``camsweep.protocols``), and everything else agrees with it.

The declarations are walked: every field has a family and a label, every probe has a spec and every
discovery method a probe, and the lists that used to be kept by hand (engine scheduling, evidence
families, passive dispatch, short-form keys, ``--methods``, the field table of fingerprints/README.md) are
the declarations' own. What the codecs emit on real inputs is declared, and nothing else is: a
fingerprint rule on a key no protocol emits is refused at load time.
"""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from camsweep import engine, probes, protocols, shortform
from camsweep.cli import cli
from camsweep.passive import analyse_capture, signals
from camsweep.probes import HostInfo, load_all
from camsweep.probes.onvif import OnvifProbe
from camsweep.verdicts import load_fingerprints
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SPECS = protocols.specs()


def test_every_field_has_a_family_and_a_label_and_every_spec_says_where_it_comes_from() -> None:
    assert SPECS
    for spec in SPECS:
        assert spec.name and spec.title, spec
        assert spec.fields, f"{spec.name}: declares no field key"
        for key, field in spec.fields.items():
            assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?", key), key
            assert field.family and field.label, key
            assert key.startswith(field.family.split(".")[0] + "."), f"{key}: family {field.family!r}"
        for family, name in spec.families.items():
            assert name and any(f.family == family for f in spec.fields.values()), (spec.name, family)
    assert len({s.name for s in SPECS}) == len(SPECS)
    assert len({s.order for s in SPECS}) == len(SPECS), "two specs share a run/list position"


def test_every_probe_has_a_spec_and_every_method_a_probe() -> None:
    registry = load_all()
    modules = {m.name for m in pkgutil.iter_modules(probes.__path__) if not m.name.startswith("_")}
    assert set(registry) == modules, "a probe module registers no probe, or a probe under another name"
    for name, probe in registry.items():
        assert probe.spec is protocols.spec(name) and probe.spec.method, name
    methods = [s.name for s in protocols.methods()]
    assert list(registry) == methods  # in the declared order
    for spec in SPECS:
        if not spec.method:  # a field source: read passively, from the short form, or derived
            assert spec.name not in modules, spec.name
            assert not (spec.holds_connections or spec.runs_first), spec.name


def test_the_engine_schedules_from_the_specs() -> None:
    registry = engine.available_probes()
    assert [n for n, p in registry.items() if p.spec.runs_first] == ["ports"]
    assert {n for n, p in registry.items() if p.spec.holds_connections} == {"http", "rtsp", "tls", "onvif"}
    assert engine.select_methods((), registry)[0] == [s.name for s in protocols.methods()]
    engine_source = (ROOT / "scanner" / "engine.py").read_text()
    for spec in SPECS:  # the engine names no protocol and reads no protocol's field
        assert not re.search(rf"[\"']{spec.name}[\"'.]", engine_source), spec.name


def test_a_per_host_step_gets_what_it_asks_discovery_for() -> None:
    from camsweep.models import ArtefactKind, Observation

    heard = [
        Observation.make("wsd", ArtefactKind.ONVIF_SCOPES, ip="192.0.2.7",
                         fields={"onvif.xaddrs": "http://192.0.2.7:8899/onvif/device_service http://[fe80::1]/x"}),
        Observation.make("wsd", ArtefactKind.ONVIF_SCOPES, ip="192.0.2.7",
                         fields={"onvif.xaddrs": "http://192.0.2.7:8899/onvif/device_service"}),
    ]
    host = engine.live_hosts(heard, OnvifProbe.host_fields)["192.0.2.7"]
    assert host.seen == {"onvif.xaddrs": ["http://192.0.2.7:8899/onvif/device_service http://[fe80::1]/x",
                                          "http://192.0.2.7:8899/onvif/device_service"]}
    assert OnvifProbe(object()).device_service_url(host) == "http://192.0.2.7:8899/onvif/device_service"
    assert engine.live_hosts(heard)["192.0.2.7"].seen == {}  # nobody asked: nothing collected
    assert OnvifProbe(object()).device_service_url(HostInfo(ip="192.0.2.7")) is None


def test_evidence_families_and_their_names_come_from_the_specs() -> None:
    assert protocols.family("sadp.model") == protocols.family("sadp.serial") == "sadp"
    assert protocols.family("http.header.server") == protocols.family("http.header.location") == "http.header"
    assert protocols.family("http.auth.realm") != protocols.family("http.header.server")
    assert protocols.family_name("dhip.realm") == "DHIP reply"
    assert protocols.family_name("mac.address") == "MAC OUI"
    assert protocols.family_name("http.status") == "http.status"  # no display name: the key itself


def test_passive_dispatch_is_the_specs() -> None:
    ports = {port for s in SPECS if s.passive for port in s.udp}
    assert set(signals.FROM_PORT) == ports == {67, 68, 1900, 3702, 5353, 37020, 37810}
    replies_only = {port for s in SPECS if s.passive and s.passive.replies_only for port in s.udp}
    assert set(signals.TO_PORT) == ports - replies_only
    assert {start for start, _ in signals.REPLIES} == {b"HTTP/1.", b"RTSP/1.", b"\x16\x03"}
    for spec in SPECS:
        if spec.passive is not None:
            assert spec.udp or spec.passive.tcp, f"{spec.name}: a passive decoder nothing is sent to"


def test_short_form_keys_are_the_specs() -> None:
    declared = Counter(key for spec in SPECS for key in spec.short_form)
    assert all(n == 1 for n in declared.values()), declared
    assert shortform.SHORT_FORM_KEYS == shortform.HOST_KEYS | set(declared)
    assert not shortform.HOST_KEYS & set(declared)


def test_the_methods_help_and_readme_list_the_declared_methods() -> None:
    names = [s.name for s in protocols.methods()]
    result = CliRunner().invoke(cli, ["scan", "--help"], terminal_width=400)
    assert f"({', '.join(names)})" in " ".join(result.output.split())
    readme = (ROOT / "README.md").read_text()
    assert f"Methods: `{' '.join(names)}`" in readme
    assert f"`{' '.join(names)}`" in (ROOT / "ARCHITECTURE.md").read_text()


def test_the_field_table_rule_authors_read_is_generated_from_the_specs() -> None:
    text = (ROOT / "fingerprints" / "README.md").read_text()
    assert protocols.field_table() in text, "regenerate it: python3 -m camsweep.protocols --markdown"
    out = subprocess.run([sys.executable, "-m", "camsweep.protocols", "--markdown"], capture_output=True,
                         text=True, check=True)
    assert out.stdout == protocols.field_table()


def _emitted(observations: list) -> set[str]:
    return {key for o in observations for key in o.fields}


def test_every_field_the_codecs_emit_on_real_inputs_is_declared() -> None:
    corpus = sorted((ROOT / "tests" / "fixtures" / "corpus").glob("*.jsonl"))
    observations = shortform.load([str(p) for p in corpus] + [str(ROOT / "examples" / "hosts.jsonl")])
    capture = analyse_capture(str(ROOT / "examples" / "lab-capture.pcap"))
    observations += [o for item in capture.devices for o in item.device.observations]
    keys = _emitted(observations)
    assert len(keys) > 60
    assert sorted(k for k in keys if not protocols.declares(k)) == []


def test_every_rule_matches_a_declared_key_and_the_favicon_rules_are_gone() -> None:
    db = load_fingerprints()
    assert all(protocols.declares(key) for rule in db.rules for key in rule.fields)
    assert not protocols.declares("http.favicon.md5")
    assert not any(key.startswith("http.favicon") for rule in db.rules for key in rule.fields)


def test_verify_refuses_a_rule_on_an_undeclared_key_naming_file_and_rule(tmp_path: Path) -> None:
    data = ROOT / "fingerprints"
    for name in ("makers.toml", "oui.toml"):
        (tmp_path / name).write_text((data / name).read_text())
    (tmp_path / "favicon.toml").write_text(
        'matches = "http.favicon.md5"\n\n[[rule]]\nid = "favicon-test"\npattern = "^89b932fc"\n'
        'maker = "hikvision"\ntier = "firmware"\ncertainty = 0.6\ndescription = "a favicon digest"\n'
        'source = "tests"\nexamples = [ { value = "89b932fcc47cf4ca3faadb0cfdef89cf", source = "tests" } ]\n'
    )
    done = subprocess.run([sys.executable, "-m", "camsweep", "verify", "--fingerprints", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert re.match(r"camsweep: error: \S*favicon\.toml: favicon-test: matches 'http\.favicon\.md5', a field no "
                    r"protocol emits", lines[0]), lines[0]
