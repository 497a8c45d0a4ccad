"""`lab down` survives a corrupt state file (root only: it runs `ip netns`; its own prefix only)."""

from __future__ import annotations

import pytest

from camsweep.lab import lab as lab_module

PREFIX = "cs-sectest-"


@pytest.mark.usefixtures("needs_root")
@pytest.mark.parametrize("content", ["[1, 2]", '{"emulator_pid": -1}', '{"emulator_pid": "12x"}', "{not json", "1" * 5000])
def test_down_with_a_corrupt_state_file(content: str) -> None:
    path = lab_module.state_file(PREFIX)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    try:
        assert lab_module.down(PREFIX) == []  # nothing of this prefix exists; no exception
        assert not path.exists()
    finally:
        path.unlink(missing_ok=True)
