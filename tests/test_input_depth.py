"""Input files (identify, explain --scan, report) that are hostile in shape fail with exit 2, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from camsweep.errors import InputFileError
from camsweep.savedscan import load_result, read_scan
from camsweep.shortform import load

DEEP = "[" * 100_000 + "]" * 100_000


def test_identify_refuses_deeply_nested_json(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(DEEP, encoding="utf-8")
    with pytest.raises(InputFileError, match="nested too deeply"):
        load([str(path)])


def test_identify_refuses_nested_lists_the_walk_would_recurse_into(tmp_path: Path) -> None:
    # Shallow enough for json (900 levels), deep enough for the per-list recursion.
    path = tmp_path / "lists.json"
    path.write_text("[" * 900 + '{"ip": "198.18.0.5"}' + "]" * 900, encoding="utf-8")
    try:
        load([str(path)])
    except InputFileError:
        pass  # refused with one line: fine; the point is no RecursionError escapes


@pytest.mark.parametrize("reader", [load_result, read_scan])
def test_saved_scan_readers_refuse_deep_json(tmp_path: Path, reader) -> None:
    path = tmp_path / "deep.json"
    path.write_text(DEEP, encoding="utf-8")
    with pytest.raises(InputFileError):
        reader(str(path))


@pytest.mark.parametrize("reader", [load_result, read_scan])
def test_saved_scan_readers_refuse_wrong_types(tmp_path: Path, reader) -> None:
    path = tmp_path / "bad.json"
    now = "2026-11-25T00:00:00+00:00"
    path.write_text(json.dumps({"schema_version": 1, "started": now, "finished": now,
                                "devices": [{"device": {"key": "x"}, "verdict": None}]}), encoding="utf-8")
    with pytest.raises(InputFileError):
        reader(str(path))
