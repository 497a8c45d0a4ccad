"""The shared PostgreSQL inventory against a real server (``postgres`` fixture: a throwaway cluster
on a Unix socket): many site scanners writing at once, writers of one site queueing, a connection
dropped mid-store, where credentials come from, and the read-only role the README documents.

What both backends share is tested in ``test_store.py`` and ``test_cli_history.py``; this file is
what only a server shared by many processes has. Scanners are real ``camsweep`` processes.
Moments are reached by waiting for a state the server reports (backends waiting on a lock), never
by sleeping for a time.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from camsweep import jsonio
from camsweep.models import Manufacturer
from camsweep.store import SCHEMA_VERSION, open_store
from camsweep.store.postgres import MIGRATION_LOCK, SITE_LOCK_CLASS

from tests import hostile_floods
from tests.pgserver import PASSWORD, PASSWORD_ROLE
from tests.test_store import item, result

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]
BOUND = 600.0
"""Seconds a scanner process may take at most (a loaded 2-core machine); only stops a hang."""

WAITING_ON_ADVISORY = ("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s"
                       " AND wait_event_type = 'Lock' AND wait_event = 'advisory'")


def camsweep(*args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "camsweep", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, **popen)


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=BOUND)
    return process.returncode, out, err


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    return finished(camsweep(*args, env=env))


def saved(path: Path, site: str, devices: int, first: int = 0) -> Path:
    """A saved scan of ``devices`` cameras at ``site`` (MACs unique per number, like a real LAN)."""
    items = [item(f"10.{(first + n) // 65536}.{(first + n) // 256 % 256}.{(first + n) % 256}",
                  f"02:00:00:{(first + n) // 65536:02x}:{(first + n) // 256 % 256:02x}:{(first + n) % 256:02x}",
                  maker=(Manufacturer.HIKVISION, Manufacturer.DAHUA, Manufacturer.OTHER)[(first + n) % 3])
             for n in range(devices)]
    scanned = dataclasses.replace(result(*items, site=site), targets=("10.0.0.0/8",))  # holds every device
    path.write_text(jsonio.dumps(scanned.to_dict()), encoding="utf-8")
    return path


def database(url: str) -> str:
    return url.split("?")[0].rsplit("/", 1)[1]


def test_twenty_sites_write_at_once_and_nothing_is_lost_or_doubled(postgres, pg_url, tmp_path):
    sites = [f"site-{n:02d}" for n in range(20)]
    files = [saved(tmp_path / f"{site}.json", site, 1000) for site in sites]
    name = database(pg_url)
    # The database is empty: all twenty must also create the schema, once. Holding the migrations'
    # lock until all twenty wait on it starts them together.
    with postgres.connect(name) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        writers = [camsweep("import", "scan", str(path), "--db", pg_url) for path in files]
        postgres.wait_for(WAITING_ON_ADVISORY, [name], name, want=20)
        gate.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        outcomes = [finished(w) for w in writers]
    assert [code for code, _, _ in outcomes] == [0] * 20, [err for _, _, err in outcomes]
    counts = postgres.sql(
        "SELECT s.site, COUNT(*), COUNT(DISTINCT d.identity), MIN(s.device_count)"
        " FROM camsweep.scans s JOIN camsweep.sightings g ON g.scan_id = s.id"
        " JOIN camsweep.devices d ON d.id = g.device_id GROUP BY s.site ORDER BY s.site", dbname=name)
    assert counts == [(site, 1000, 1000, 1000) for site in sites]
    totals = postgres.sql("SELECT (SELECT COUNT(*) FROM camsweep.scans), (SELECT COUNT(*) FROM camsweep.devices),"
                          " (SELECT COUNT(*) FROM camsweep.sightings), (SELECT COUNT(*) FROM camsweep.meta)", dbname=name)
    assert totals == [(20, 20_000, 20_000, 1)]
    with open_store(pg_url) as inv:
        assert inv.version() == SCHEMA_VERSION
        assert all(len(inv.load(s.id).devices) == 1000 for s in inv.scans())


def test_writers_of_one_site_queue_and_other_sites_do_not(postgres, pg_url, tmp_path):
    open_store(pg_url).close()
    name = database(pg_url)
    first = saved(tmp_path / "north-1.json", "north", 30)
    second = saved(tmp_path / "north-2.json", "north", 30, first=10)  # 10 gone, 20 again, 10 new
    with postgres.connect(name) as gate:
        gate.execute("SELECT pg_advisory_lock(%s, hashtext('north'))", [SITE_LOCK_CLASS])
        a = camsweep("import", "scan", str(first), "--db", pg_url)
        postgres.wait_for(WAITING_ON_ADVISORY, [name], name, want=1)
        b = camsweep("import", "scan", str(second), "--db", pg_url)
        postgres.wait_for(WAITING_ON_ADVISORY, [name], name, want=2)
        # Another site is written while both north writers wait.
        code, out, err = run("import", "scan", str(saved(tmp_path / "south.json", "south", 5)), "--db", pg_url)
        assert code == 0 and "stored as scan" in out, err
        assert postgres.sql(WAITING_ON_ADVISORY, [name], name)[0][0] == 2
        gate.execute("SELECT pg_advisory_unlock(%s, hashtext('north'))", [SITE_LOCK_CLASS])
        assert finished(a)[0] == 0 and finished(b)[0] == 0
    with open_store(pg_url) as inv:
        older, newer = [s.id for s in inv.scans("north")]
        changes = inv.diff(older, newer)
    # Whichever committed first is the older scan; the other is judged against it.
    assert sorted(c.what for c in changes) == ["gone"] * 10 + ["new"] * 10
    devices = postgres.sql("SELECT identity, first_scan, last_scan FROM camsweep.devices WHERE site = 'north'", dbname=name)
    assert len(devices) == len({d[0] for d in devices}) == 40
    assert sorted((f, l) for _, f, l in devices) == sorted([(older, older)] * 10 + [(older, newer)] * 20 + [(newer, newer)] * 10)


def test_a_connection_dropped_mid_store_leaves_no_scan_and_the_result_is_kept(postgres, pg_url, tmp_path):
    open_store(pg_url).close()
    name = database(pg_url)
    capture = hostile_floods.write_pcap(tmp_path / "site.pcap", hostile_floods.arp_spoof(5))
    state, report = tmp_path / "state", tmp_path / "report.json"
    with postgres.connect(name) as gate, gate.transaction():
        # The scanner's transaction will have written its scan and devices, then wait here.
        gate.execute("LOCK TABLE camsweep.sightings IN EXCLUSIVE MODE")
        scanner = camsweep("scan", "--pcap", str(capture), "--db", pg_url, "--site", "north",
                           "--state-dir", str(state), "--format", "json", "-o", str(report))
        waiting = ("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'camsweep'"
                   " AND wait_event_type = 'Lock' AND wait_event = 'relation'")
        postgres.wait_for(waiting, [name], name, want=1)
        pid = postgres.sql("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = 'camsweep'"
                           " AND wait_event = 'relation'", [name], name)[0][0]
        written = postgres.sql(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = %s"
            " AND l.granted AND l.mode = 'RowExclusiveLock' AND c.relname IN ('scans', 'devices') ORDER BY 1", [pid], name)
        assert written == [("devices",), ("scans",)]  # mid-store: it has inserted into both
        assert postgres.sql("SELECT pg_terminate_backend(%s)", [pid], name) == [(True,)]
    code, _, err = finished(scanner)
    assert code == 5 and err.count("\n") == 1, err
    assert "this scan was not stored" in err and "its report is complete" in err
    assert len(jsonio.loads(report.read_text(encoding="utf-8"))["scan"]["devices"]) == 5  # the report came first
    assert postgres.sql("SELECT (SELECT COUNT(*) FROM camsweep.scans), (SELECT COUNT(*) FROM camsweep.devices),"
                        " (SELECT COUNT(*) FROM camsweep.sightings)", dbname=name) == [(0, 0, 0)]
    kept = re.search(r"camsweep import scan (\S+) --db ", err)
    assert kept and Path(kept[1]).parent == state / "unstored" and (state / "last-scan.json").exists()
    code, out, err = run("import", "scan", kept[1], "--db", pg_url)
    assert code == 0 and "stored as scan" in out and "of site 'north'" in out, err
    code, out, _ = run("import", "scan", str(state / "last-scan.json"), "--db", pg_url)
    assert code == 0 and "already stored" in out  # the same scan: stored once
    with open_store(pg_url) as inv:
        assert [(s.site, s.device_count) for s in inv.scans()] == [("north", 5)]


# ----------------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("url", [
    "postgresql://auditor:hunter2pass@db.example.org/camsweep",
    "postgresql://auditor@db.example.org/camsweep?password=hunter2pass&sslmode=verify-full",
])
def test_a_password_in_the_url_is_refused_in_one_line_and_never_shown(url, tmp_path):
    config = tmp_path / "site.toml"
    config.write_text(f'[output]\ndb = "{url}"\n', encoding="utf-8")
    for args in (["history", "--db", url], ["scan", "--config", str(config), "198.18.0.1"],
                 ["import", "scan", str(config), "--db", url]):
        code, out, err = run("-vv", *args)
        assert code == 2 and err.count("\n") == 1 and "must not hold a password" in err, err
        assert "hunter2pass" not in out + err


def test_a_url_in_the_config_file_is_not_taken_for_a_relative_path(tmp_path):
    from camsweep import runconfig

    url = "postgresql://camsweep_writer@db.example.org/camsweep?sslmode=verify-full"
    config = tmp_path / "site.toml"
    config.write_text(f'[scan]\nsite = "depot-north"\n[output]\ndb = "{url}"\n', encoding="utf-8")
    assert runconfig.load(str(config)).outputs == {"db_path": url, "site": "depot-north"}


def _password_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSFILE"] = "/nonexistent"  # not the real ~/.pgpass
    return {**env, **extra}


def test_credentials_come_from_libpq_places_and_are_never_shown(postgres, pg_url, tmp_path):
    open_store(pg_url).close()
    name = database(pg_url)
    url = postgres.url(name, user=PASSWORD_ROLE)
    code, out, err = run("-vv", "history", "--db", url, env=_password_env())
    assert code == 2 and err.count("\n") == 1 and "cannot connect" in err and "password" in err, err
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:{PASSWORD_ROLE}:{PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    services = tmp_path / "services.conf"
    services.write_text(f"[inventory]\nhost={postgres.socket_dir}\ndbname={name}\nuser={PASSWORD_ROLE}\n"
                        f"password={PASSWORD}\n", encoding="utf-8")
    services.chmod(0o600)
    for db, env in ((url, _password_env(PGPASSWORD=PASSWORD)),
                    (url, _password_env(PGPASSFILE=str(pgpass))),
                    ("postgresql:///?service=inventory", _password_env(PGSERVICEFILE=str(services)))):
        code, out, err = run("-vv", "history", "--db", db, env=env)
        assert code == 0, err
        code, out, err = run("-vv", "diff", "--db", db, env=env)  # an error that names the database
        assert code == 2 and "no scans" in err and PASSWORD not in out + err


def test_sslmode_reaches_libpq(pg_url):
    # libpq does not use TLS on a Unix socket (the only kind the test server has), so what can be
    # shown here is that the URL's sslmode is libpq's: kept on the connection, and a wrong value
    # refused by libpq in one line.
    with open_store(pg_url + "&sslmode=verify-full") as inv:
        assert inv.db.info.get_parameters()["sslmode"] == "verify-full"
    code, _, err = run("history", "--db", pg_url + "&sslmode=bogus")
    assert code == 2 and err.count("\n") == 1 and 'invalid sslmode value: "bogus"' in err, err


def test_the_readme_grants_let_a_reader_report_but_not_write(postgres, tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    grants = re.search(r"Tables live in the schema `camsweep`.*?```sql\n(.*?)```", readme, re.DOTALL)
    assert grants, "README documents the roles and grants in an sql block"
    name = postgres.create_database()
    try:
        with postgres.connect(name) as admin:
            for statement in grants[1].split(";\n"):
                if statement.strip():
                    admin.execute(statement)
        writer, reader = postgres.url(name, user="camsweep_writer"), postgres.url(name, user="camsweep_reader")
        north = saved(tmp_path / "north.json", "north", 3)
        code, out, err = run("import", "scan", str(north), "--db", writer)  # the first writer makes the tables
        assert code == 0, err
        for args in (["history"], ["report", "--site", "north"], ["diff", "--all-sites"], ["report", "--all-sites"]):
            code, out, err = run(*args, "--db", reader)
            assert code in (0, 3) and not err, (args, err)
        code, _, err = run("import", "scan", str(saved(tmp_path / "south.json", "south", 3)), "--db", reader)
        assert code == 5 and err.count("\n") == 1 and "permission denied" in err, err
        assert postgres.sql("SELECT COUNT(*) FROM camsweep.scans", dbname=name) == [(1,)]
    finally:
        postgres.drop_database(name)
