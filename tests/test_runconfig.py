"""The cron config file: every key checked, typos named with a suggestion; the run lock."""

import subprocess
from pathlib import Path
import sys

import pytest

from camsweep.errors import ConfigError, ScanError
from camsweep.runconfig import RunLock, load

GOOD = """
[scan]
targets = ["198.18.0.0/24"]
methods = ["-arp"]
credentials = "creds.toml"
listen = 2.5

[policy]
names = ["us-federal"]
fail_on = "new"

[output]
db = "inv.sqlite"
reports = [{ format = "html", path = "/tmp/camsweep-test/latest.html" }, { format = "csv", path = "out.csv" }]

[retention]
keep_scans = 30
"""


def test_good_config(tmp_path):
    path = tmp_path / "camsweep.toml"
    path.write_text(GOOD)
    cfg = load(str(path))
    assert cfg.scan == {
        "targets": ("198.18.0.0/24",), "methods": ("-arp",),
        "credentials": str(tmp_path / "creds.toml"),  # relative to the config file; read when a scan starts
        "listen_window": 2.5,
    }
    assert cfg.outputs == {
        "policy": "us-federal", "fail_on": "new", "db_path": str(tmp_path / "inv.sqlite"),
        "reports": (("html", "/tmp/camsweep-test/latest.html"), ("csv", str(tmp_path / "out.csv"))),
        "keep_scans": 30,
    }


@pytest.mark.parametrize("text,message", [
    ("[scan]\ntaregts = []\n", "unknown key 'scan.taregts' (did you mean 'targets'?)"),
    ("[scna]\n", "unknown key 'scna' (did you mean 'scan'?)"),
    ("[scan]\ntargets = \"198.18.0.0/24\"\n", "'scan.targets' must be list"),
    ("[scan]\nconcurrency = true\n", "'scan.concurrency' must be int"),
    ("[policy]\nfail_on = \"sometimes\"\n", "'policy.fail_on' must be one of"),
    ("[output]\nreports = [{format = \"pdf\", path = \"x\"}]\n", "unknown format 'pdf'"),
    ("[retention]\nkeep_scans = 0\n", "at least 1"),
    ("[scan\n", "not valid TOML"),
])
def test_bad_config_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "camsweep.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(str(path))
    assert message in str(info.value) and str(path) in str(info.value)


def test_missing_config(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(str(tmp_path / "nope.toml"))


def test_lock_refuses_a_second_holder(tmp_path):
    lock_path = tmp_path / "run.lock"
    with RunLock(lock_path):
        # A second process (as cron would start) cannot take it.
        code = (
            "import sys; from camsweep.runconfig import RunLock; from camsweep.errors import ScanError\n"
            f"try:\n    RunLock({str(lock_path)!r}).__enter__()\nexcept ScanError as e:\n    print(e); sys.exit(5)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 5 and "another camsweep run holds" in proc.stdout
        with pytest.raises(ScanError):
            RunLock(lock_path).__enter__()
    with RunLock(lock_path):  # released on exit
        pass


def test_a_listen_section_and_a_pcap_key(tmp_path):
    from camsweep.config import CaptureConfig, ListenConfig

    path = tmp_path / "camsweep.toml"
    path.write_text('[scan]\npcap = "site.pcapng"\n[listen]\ninterface = "eth1"\nduration = 600\n'
                    'only = ["10.20.0.0/22"]\nexclude = ["10.20.0.1"]\n')
    cfg = load(str(path))
    assert cfg.get(CaptureConfig) == {"pcap": str(tmp_path / "site.pcapng")}  # relative to the file
    assert cfg.get(ListenConfig) == {"interface": "eth1", "duration": 600.0, "only": ("10.20.0.0/22",),
                                     "exclude": ("10.20.0.1",)}
    path.write_text("[listen]\nduraton = 5\n")
    with pytest.raises(ConfigError, match="unknown key 'listen.duraton' \\(did you mean 'duration'\\?\\)"):
        load(str(path))


def test_the_search_path_is_the_users_then_the_systems(monkeypatch, tmp_path):
    from camsweep.runconfig import search_path

    monkeypatch.delenv("CAMSWEEP_CONFIG_PATH")  # the conftest empties it: no test reads this machine's files
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert search_path() == (tmp_path / "xdg" / "camsweep" / "camsweep.toml", Path("/etc/camsweep/camsweep.toml"))
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert search_path()[0] == tmp_path / ".config" / "camsweep" / "camsweep.toml"
    monkeypatch.setenv("CAMSWEEP_CONFIG_PATH", f"{tmp_path}/a.toml::{tmp_path}/b.toml")
    assert search_path() == (tmp_path / "a.toml", tmp_path / "b.toml")
    monkeypatch.setenv("CAMSWEEP_CONFIG_PATH", "")
    assert search_path() == ()


def test_find_takes_the_named_file_else_the_first_found(monkeypatch, tmp_path):
    from camsweep.runconfig import find

    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    second.write_text("[policy]\nfail_on = \"new\"\n")
    monkeypatch.setenv("CAMSWEEP_CONFIG_PATH", f"{first}:{second}")
    found = find(None)
    assert (found.path, found.found, found.outputs) == (str(second), True, {"fail_on": "new"})
    first.write_text("")
    assert find(None).path == str(first)
    assert find(str(second)).found is False  # named: no search
    monkeypatch.setenv("CAMSWEEP_CONFIG_PATH", "")
    assert find(None) is None


def test_the_lock_is_named_after_the_configs_real_path(tmp_path):
    from camsweep.runconfig import lock_path

    north, south = tmp_path / "north.toml", tmp_path / "south.toml"
    for path in (north, south):
        path.write_text("")
    (tmp_path / "link.toml").symlink_to(north)
    state = tmp_path / "state"
    assert lock_path(str(north), state).parent == state and lock_path(str(north), state).name.startswith("run-north-")
    assert lock_path(str(north), state) != lock_path(str(south), state)
    assert lock_path(str(tmp_path / "link.toml"), state) == lock_path(str(north), state)
    with RunLock(lock_path(str(north), state), config=str(north)):
        with RunLock(lock_path(str(south), state)):  # another site's config runs meanwhile
            pass
        with pytest.raises(ScanError, match=f"another camsweep run of {north} holds"):
            RunLock(lock_path(str(north), state), config=str(north)).__enter__()
