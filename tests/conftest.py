"""Shared pytest fixtures.

``lab``: the emulated device lab (scanner/lab/), brought up once per test session with the shipped
profiles and torn down at the end (also on Ctrl-C). Tests that use it skip only when not root AND
not in CI; in CI (``CI`` set) they run, and fail loudly if the lab cannot start. The session's lab
uses its own namespace prefix ``cs-s<pid>-`` (scanner: ``lab.scanner_namespace``), so test runs
started at the same time on one machine, or a `camsweep lab up` demo, do not collide.
``CAMSWEEP_LAB_COUNT=N`` runs the session's lab with N devices (profiles cloned), to check the lab
and camsweep at scale.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def lab_unavailable_reason() -> str | None:
    """Why lab tests must skip here, or None when they must run."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        return "the device lab needs root (network namespaces); runs in CI"
    return None


@pytest.fixture(scope="session")
def lab() -> Iterator[object]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from camsweep.lab import Lab

    count = int(os.environ["CAMSWEEP_LAB_COUNT"]) if os.environ.get("CAMSWEEP_LAB_COUNT") else None
    with Lab(count=count, prefix=f"cs-s{os.getpid()}-") as running:
        yield running
