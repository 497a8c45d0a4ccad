"""Shared pytest fixtures, and the ``lab`` marker.

``needs_root``: a test (or fixture) that needs root -- network namespaces, ``ip netns``, tcpdump,
``setpriv``, the device lab, the demo -- requests this fixture, directly or through another
fixture; it skips only when not root AND not in CI (in CI, ``CI`` set, such tests run and fail
loudly if they cannot). Every test whose fixtures include it is marked ``lab`` at collection, so
``pytest -m "not lab"`` is a root-free run and no test module marks itself.

``lab``: the emulated device lab (scanner/lab/), brought up once per test session with the shipped
profiles and torn down at the end (also on Ctrl-C). The session's lab uses its own namespace prefix
``cs-s<pid>-`` (scanner: ``lab.scanner_namespace``), so test runs started at the same time on one
machine, or a `camsweep lab up` demo, do not collide. ``CAMSWEEP_LAB_COUNT=N`` runs the session's
lab with N devices (profiles cloned), to check the lab and camsweep at scale.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def lab_unavailable_reason() -> str | None:
    """Why tests that need root must skip here, or None when they must run."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        return "needs root (network namespaces); runs in CI"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "needs_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def needs_root() -> None:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lab(needs_root: None) -> Iterator[object]:
    from camsweep.lab import Lab

    count = int(os.environ["CAMSWEEP_LAB_COUNT"]) if os.environ.get("CAMSWEEP_LAB_COUNT") else None
    with Lab(count=count, prefix=f"cs-s{os.getpid()}-") as running:
        yield running
