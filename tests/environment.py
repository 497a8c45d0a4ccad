"""What a test does when this machine lacks something .ci/run installs (tests only)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(what: str) -> NoReturn:
    """``what`` is missing here: skip outside CI, where it is a real limit of the machine; fail
    in CI, where .ci/run installs it, so a test never stands skipped for a missing install."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}; .ci/run installs it")
    pytest.skip(f"{what}; runs in CI", allow_module_level=True)
