"""The docs a newcomer and a rule author read stay true to the tree.

Every repository path ARCHITECTURE.md or fingerprints/README.md names exists (a ``<name>``
placeholder or ``*`` must match at least one file), and ARCHITECTURE.md stays a five-minute read.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["ARCHITECTURE.md", "fingerprints/README.md"]
# A path into the tree: one of its top folders, then path characters (placeholders included).
PATH = re.compile(r"(?<![\w./-])((?:scanner|reports|fingerprints|tests|bench)/[\w./*<>-]*)")


def _paths(text: str) -> set[str]:
    return {m.rstrip(".") for m in PATH.findall(text)}


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_a_doc_names_exists(doc: str) -> None:
    named = _paths((ROOT / doc).read_text())
    assert named, f"{doc} names no path: the pattern is wrong"
    missing = [p for p in sorted(named) if not any(ROOT.glob(re.sub(r"<[^>]*>", "*", p).rstrip("/")))]
    assert not missing, f"{doc} names paths that do not exist: {missing}"


def test_the_path_check_catches_a_missing_path() -> None:
    # The check above must not pass vacuously: a made-up module and placeholder are caught.
    for made_up in ("scanner/nonesuch.py", "fingerprints/<name>.tomlx"):
        assert _paths(f"see `{made_up}`.") == {made_up}
        assert not any(ROOT.glob(re.sub(r"<[^>]*>", "*", made_up)))


def test_architecture_is_a_five_minute_read() -> None:
    # About 1,400 words at reading speed; detail belongs in the modules' docstrings.
    words = len((ROOT / "ARCHITECTURE.md").read_text().split())
    assert words <= 1400, f"ARCHITECTURE.md has {words} words; move detail to the docstrings"
