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
lab with N devices (profiles cloned), to check the lab and camsweep at scale. ``lab_scan``: one
scan of both segments of that lab, shared by the tests.

``postgres``: a throwaway PostgreSQL server (``tests/pgserver.py``) started once per session on a
Unix socket in a temporary folder, as an unprivileged user, and stopped at the end, also after a
failure. Its tests skip only outside CI when the server programs are missing (Debian package
``postgresql``); in CI they must run. ``pg_url``: a fresh database on it for one test.

``XDG_STATE_HOME`` points into the session's temporary folder, so nothing a test runs writes
camsweep's state (last-scan.json, kept results, the default inventory) into the real home, and
``CAMSWEEP_CONFIG_PATH`` is empty, so no command a test runs picks up a config file of this
machine's (~/.config/camsweep, /etc/camsweep; tests of the search set it themselves).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = ("198.18.0.0/24", "198.18.1.0/24")
SCAN_BOUND = 600  # seconds: the lab scan's subprocess is killed (and the test fails) beyond this; only stops a hang
PATIENT = ("--read-timeout", "10", "--request-timeout", "30", "--host-timeout", "75")
"""Scan bounds for lab tests that check what a scan finds, not how fast: the defaults (read 2 s, one
host's HTTP requests within 3.2 s) are for a real LAN, and on a loaded 2-core machine the emulated
devices' answers came later (an HTTP login skipped). A lab device always answers, so these only
lengthen fixed waits (ARP's drain is 1.5 x the read timeout when an address is silent) and what the
hostile devices cost. Connect timeout and listen window stay: the kernel answers a connect, and
both size the sweep's fixed cost (a 10 s connect timeout made a two-segment sweep miss hosts)."""


@pytest.fixture(scope="session", autouse=True)
def private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    isolated = {"XDG_STATE_HOME": str(tmp_path_factory.mktemp("state-home")), "CAMSWEEP_CONFIG_PATH": ""}
    before = {name: os.environ.get(name) for name in isolated}
    os.environ.update(isolated)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def watchdogs_armed() -> None:
    """Each test starts as a new scan does: an interrupted scan leaves ``Watchdog`` stopped (so
    that any exchange still starting in that process ends at once) until the next scan resumes it."""
    from camsweep.probes._tcp import Watchdog

    Watchdog.resume()


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    from tests.environment import unavailable
    from tests.pgserver import PgServer, bin_dir

    if bin_dir() is None:
        unavailable("PostgreSQL's server programs are not installed (Debian package postgresql)")
    server = PgServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres) -> Iterator[str]:
    name = postgres.create_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_location(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty inventory of each backend: an SQLite file's path, a PostgreSQL database's URL.
    The tests of what both backends share take this, so one suite runs against both."""
    if request.param == "sqlite":
        return str(tmp_path / "inv.sqlite")
    return request.getfixturevalue("pg_url")


# ``lab_scan``: one ``camsweep scan`` of both lab segments from the scanner namespace (its JSON,
# stdout, stderr, saved state and the profiles' ONVIF secrets), shared by the accuracy tests
# (test_scan_lab.py) and the findings judged on real lab artefacts (test_findings_lab.py).


def write_credentials(directory: Path, entries: list[tuple[str, str, str]] | str) -> Path:
    """``directory``/credentials.toml, mode 600 as camsweep wants it: one ``[[credential]]`` per
    (network, username, password), or the TOML text given."""
    text = entries if isinstance(entries, str) else "\n".join(
        f'[[credential]]\nnetwork = "{network}"\nusername = "{username}"\npassword = "{password}"\n'
        for network, username, password in entries)
    path = directory / "credentials.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def _credentials_file(lab: Any, directory: Path) -> tuple[Path, list[str]]:
    entries = [(device.ip, onvif["username"], onvif["password"]) for device in lab.devices
               if (onvif := device.profile.onvif or {}).get("username") and onvif.get("password")]
    return write_credentials(directory, entries), [password for _, _, password in entries]


@pytest.fixture(scope="session")
def lab_scan(lab: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="camsweep-lab-scan-") as tmp:
        directory = Path(tmp)
        credentials, secrets = _credentials_file(lab, directory)
        done = lab.exec(
            [sys.executable, str(ROOT / "scan.py"), "scan", *SEGMENTS, "--format", "json", "--no-store",
             "--state-dir", str(directory / "state"), "--credentials", str(credentials), *PATIENT],
            cwd=str(ROOT), timeout=SCAN_BOUND, capture_output=True, text=True,
        )
        saved = (directory / "state" / "last-scan.json").read_text() if done.returncode in (0, 3) else ""
    assert done.returncode in (0, 3), done.stderr  # 3: restricted devices found
    from tests.schema_check import report_json

    return {"lab": lab, "result": report_json(done.stdout)["scan"], "stdout": done.stdout, "stderr": done.stderr,
            "saved": saved, "secrets": secrets}
