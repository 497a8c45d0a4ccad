"""Self-check of the fingerprint DB without pytest (recog's ``recog_verify``): every example matches
its rule and yields its declared extractions, no earlier rule of another maker claims it first, and
no counter-example matches a rule of that maker. ``tests/test_fingerprints.py`` runs the same checks
one example at a time; a CLI or CI step can call :func:`verify` directly.
"""

from __future__ import annotations

from ._db import FingerprintDB, Rule


def _example_problems(db: FingerprintDB, rule: Rule) -> list[str]:
    problems: list[str] = []
    for index, example in enumerate(rule.examples):
        where = f"{rule.file}: {rule.id}: example {index + 1} {example.value[:60]!r}"
        extracted = rule.match(example.value)
        if extracted is None:
            problems.append(f"{where}: does not match its rule")
            continue
        for key, expected in example.expect.items():
            if extracted.get(key) != expected:
                problems.append(f"{where}: {key} is {extracted.get(key)!r}, expected {expected!r}")
        for field_key in rule.fields:
            for earlier in db.rules_for(field_key):
                if earlier is rule:
                    break
                if earlier.maker and rule.maker and earlier.maker != rule.maker and earlier.match(example.value):
                    problems.append(f"{where}: claimed first by {earlier.id} ({earlier.maker})")
    return problems


def _counter_problems(db: FingerprintDB, rule: Rule) -> list[str]:
    problems: list[str] = []
    for index, counter in enumerate(rule.counter_examples):
        where = f"{rule.file}: {rule.id}: counter-example {index + 1} {counter.value[:60]!r}"
        if rule.match(counter.value) is not None:
            problems.append(f"{where}: matches its own rule")
        if rule.maker is None:
            continue
        for field_key in rule.fields:
            for other in db.rules_for(field_key):
                if other is not rule and other.maker == rule.maker and other.match(counter.value) is not None:
                    problems.append(f"{where}: matches {other.id} of the same maker")
    return problems


def verify(db: FingerprintDB) -> list[str]:
    """Every problem found, one line each (empty when the DB is consistent)."""
    problems: list[str] = []
    for rule in db.rules:
        problems.extend(_example_problems(db, rule))
        problems.extend(_counter_problems(db, rule))
    return problems
