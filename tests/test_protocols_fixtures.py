"""Every recorded reply in tests/fixtures/replies/ carries a citation of where it was copied from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPLIES = Path(__file__).parent / "fixtures" / "replies"
FIXTURES = sorted(p for p in REPLIES.iterdir() if p.is_file() and p.suffix != ".source")
CITATION = re.compile(r"github\.com/[\w.-]+/[\w.-]+|https://github\.com/[\w.-]+/[\w.-]+/(issues|pull)/\d+")


def _citation(path: Path) -> str:
    source = path.with_name(path.name + ".source")
    if source.exists():
        return source.read_text()
    return "\n".join(line for line in path.read_text(errors="replace").splitlines() if line.startswith("#"))


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 15


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_is_cited(path: Path) -> None:
    text = _citation(path)
    assert CITATION.search(text), f"{path.name}: no repository/issue citation"
    # A repository file citation pins the commit it was read at.
    if "github.com/" in text and "/issues/" not in text and "/pull/" not in text:
        assert re.search(r"@ ?[0-9a-f]{40}", text), f"{path.name}: repository citation without a commit"


def test_no_orphan_source_files() -> None:
    for source in REPLIES.glob("*.source"):
        assert source.with_name(source.name[: -len(".source")]).exists(), source.name
