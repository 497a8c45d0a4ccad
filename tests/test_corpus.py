"""The real-artefact corpus (issue 2, item 7) run through the whole identification path.

Every line of ``tests/fixtures/corpus/*.jsonl`` is one host in the short form that
``camsweep identify`` reads, plus ``truth`` (who really made it) and ``source`` (where the
artefact was copied from). Each host goes through ``camsweep.shortform`` (the same parsers the
probes use) and ``camsweep.verdicts.identify_result``. A Hikvision/Dahua unit, whatever the label,
must come out as its maker; anything else must not be called Hikvision or Dahua.

No entry is skipped or marked as expected to fail: a miss here is a fingerprint gap to fix.
The one graded case is ``truth.evidence == "weak"`` (a host known only by its open ports): the
architecture never lets weak-tier evidence decide a maker on its own, so such a host must come out as
its maker *or* unknown, never as anyone else, and the engine must still record a hint for its maker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from camsweep import shortform
from camsweep.models import DeviceType, Manufacturer, ScanResult
from camsweep.verdicts import identify_result

CORPUS_DIR = Path(__file__).parent / "fixtures" / "corpus"
HOUSE_BRANDS = {"hikvision", "dahua"}
TRUTH_MAKERS = {"hikvision", "dahua", "other"}
TRUTH_TYPES = {t.value for t in DeviceType} - {"unknown"}

# Minimums the corpus must keep as it grows (issue 2, item 7).
MIN_ENTRIES = 80
MIN_KINDS = 8
MIN_OEM_BRANDS = 6
MIN_NEGATIVE_MAKERS = 8
MIN_MULTI_HOSTS = 3


def _load_corpus() -> list[tuple[str, dict[str, Any]]]:
    entries: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                entries.append((f"{path.stem}:{lineno}", json.loads(line)))
    return entries


CORPUS = _load_corpus()


def _entry_id(item: tuple[str, dict[str, Any]]) -> str:
    where, entry = item
    truth = entry.get("truth", {})
    return f"{where}-{truth.get('manufacturer')}-{truth.get('brand')}-{truth.get('kind')}"


def _identify(where: str, entry: Mapping[str, Any]) -> ScanResult:
    observations = shortform.observations_from_documents([entry], where)
    return identify_result(observations, targets=(where,))


def _explain(where: str, entry: Mapping[str, Any], result: ScanResult) -> str:
    """Everything a rule author needs to fix a miss: the source, what was parsed, what fired."""
    lines = [f"{where}: truth={entry['truth']}", f"  source: {entry['source']}"]
    for identified in result.devices:
        verdict = identified.verdict
        lines.append(
            f"  device {identified.device.key}: manufacturer={verdict.manufacturer.value} "
            f"brand={verdict.brand!r} confidence={verdict.confidence:.2f} summary={verdict.summary!r}"
        )
        for hit in verdict.hits:
            lines.append(
                f"    hit {hit.rule_id} ({hit.tier.value}, {hit.maker.value if hit.maker else '-'}): "
                f"{hit.field}={hit.value[:120]!r}"
            )
        for conflict in verdict.conflicts:
            lines.append(f"    conflict: {conflict}")
        for obs in identified.device.observations:
            if obs.problem:
                lines.append(f"    parse problem ({obs.kind.value}): {obs.problem}")
            for key, value in sorted(obs.fields.items()):
                lines.append(f"    field {key}={value[:120]!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("item", CORPUS, ids=_entry_id)
def test_corpus_entry_is_identified_correctly(item: tuple[str, dict[str, Any]]) -> None:
    where, entry = item
    result = _identify(where, entry)
    assert len(result.devices) == 1, (
        f"one host object should give one device, got {len(result.devices)}\n" + _explain(where, entry, result)
    )
    got = result.devices[0].verdict.manufacturer
    truth = entry["truth"]["manufacturer"]
    if truth in HOUSE_BRANDS and entry["truth"].get("evidence") == "weak":
        verdict = result.devices[0].verdict
        assert got in (Manufacturer(truth), Manufacturer.UNKNOWN), (
            f"weak-only {truth} host was called {got.value}\n" + _explain(where, entry, result)
        )
        assert any(hit.maker == Manufacturer(truth) for hit in verdict.hits), (
            f"no hint at all for the {truth} port set (label {entry['truth']['brand']!r})\n"
            + _explain(where, entry, result)
        )
    elif truth in HOUSE_BRANDS:
        assert got == Manufacturer(truth), (
            f"missed a {truth} unit (label {entry['truth']['brand']!r})\n" + _explain(where, entry, result)
        )
    else:
        assert not got.restricted, (
            f"false positive: a {entry['truth']['brand']!r} host was called {got.value}\n"
            + _explain(where, entry, result)
        )



@pytest.mark.parametrize("item", [i for i in CORPUS if {"type", "model"} & set(i[1]["truth"])], ids=_entry_id)
def test_corpus_entry_type_and_model(item: tuple[str, dict[str, Any]]) -> None:
    """Where the source shows what the unit is (``truth.type``, ``truth.model``), the artefact alone
    must give it (issue 14: type and model from what is already on the wire)."""
    where, entry = item
    result = _identify(where, entry)
    verdict = result.devices[0].verdict
    truth = entry["truth"]
    if "type" in truth:
        assert verdict.device_type.value == truth["type"], (
            f"type {verdict.device_type.value}, want {truth['type']}\n" + _explain(where, entry, result))
    if "model" in truth:
        assert verdict.model == truth["model"], (
            f"model {verdict.model!r}, want {truth['model']!r}\n" + _explain(where, entry, result))


def test_corpus_entries_are_well_formed() -> None:
    """Every entry says who made it, what kind of signal it is and where it was copied from."""
    problems = []
    for where, entry in CORPUS:
        truth = entry.get("truth")
        if not isinstance(truth, dict) or truth.get("manufacturer") not in TRUTH_MAKERS:
            problems.append(f"{where}: truth.manufacturer must be one of {sorted(TRUTH_MAKERS)}")
            continue
        if not truth.get("brand") or not truth.get("kind"):
            problems.append(f"{where}: truth needs brand and kind")
        if truth.get("type") not in (None, *TRUTH_TYPES):
            problems.append(f"{where}: truth.type must be one of {sorted(TRUTH_TYPES)}")
        if truth.get("evidence", "weak") != "weak" or (
            truth.get("evidence") == "weak" and set(entry) - {"ip", "ports", "mac", "source", "truth"}
        ):
            problems.append(f"{where}: evidence='weak' is only for hosts known by ports/MAC-less port sets alone")
        if not isinstance(entry.get("source"), str) or len(entry["source"].strip()) < 20:
            problems.append(f"{where}: source must cite the repository/commit/path or the issue URL")
        artefacts = set(entry) & (shortform.SHORT_FORM_KEYS - {"ip", "hostname", "comment", "source", "truth"})
        if not artefacts:
            problems.append(f"{where}: no artefact")
    assert not problems, "\n".join(problems)


def test_corpus_meets_size_and_diversity_minimums() -> None:
    truths = [entry["truth"] for _, entry in CORPUS]
    kinds = Counter(t["kind"] for t in truths if t["kind"] != "multi")
    oem_brands = {t["brand"] for t in truths if t["manufacturer"] in HOUSE_BRANDS} - {"Hikvision", "Dahua"}
    negative_makers = {t["brand"] for t in truths if t["manufacturer"] == "other"}
    makers = Counter(t["manufacturer"] for t in truths)
    multi = sum(1 for t in truths if t["kind"] == "multi")

    assert len(CORPUS) >= MIN_ENTRIES, f"{len(CORPUS)} entries, want >= {MIN_ENTRIES}"
    assert len(kinds) >= MIN_KINDS, f"signal kinds {sorted(kinds)}, want >= {MIN_KINDS}"
    assert makers["hikvision"] > 0 and makers["dahua"] > 0, f"positives for both makers needed: {makers}"
    assert len(oem_brands) >= MIN_OEM_BRANDS, f"OEM/house brands {sorted(oem_brands)}, want >= {MIN_OEM_BRANDS}"
    assert len(negative_makers) >= MIN_NEGATIVE_MAKERS, (
        f"negative makers {sorted(negative_makers)}, want >= {MIN_NEGATIVE_MAKERS}"
    )
    assert multi >= MIN_MULTI_HOSTS, f"{multi} multi-artefact hosts, want >= {MIN_MULTI_HOSTS}"
