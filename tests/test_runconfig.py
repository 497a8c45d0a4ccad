"""The cron config file: every key checked, typos named with a suggestion; the run lock."""

import subprocess
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
