"""Config runs that send nothing: ``scan --pcap`` and ``listen`` driven by a config file, the
checks made before a capture is read, the run lock per config, the config search, and the exit
code when a report cannot be written at the end.

The capture is the shipped ``examples/lab-capture.pcap`` (recorded in the device lab: see
tests/test_passive_lab.py); nothing here opens a socket, so no namespace is needed. Active scans
and ``listen`` on an interface driven by a config run in tests/test_cli_scan.py's namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from camsweep.cli._finish import finish
from camsweep.config import Outputs
from camsweep.errors import ExitCode
from camsweep.passive import analyse_capture
from camsweep.runconfig import RunLock, lock_path
from camsweep.store import open_store

from tests.schema_check import report_json, scan_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lab-capture.pcap"
HIKVISION = "198.18.0.22"  # a Hikvision camera in the capture (test_passive_lab.EXAMPLE_VERDICTS)
ROUTED = "198.18.1.21"  # the routed one, on segment B


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scan.py"), *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT, env={**os.environ, **(env or {})})


REPORTS = '[{ format = "json", path = "reports/latest.json" }, { format = "csv", path = "remediation.csv" }]'


def site_config(folder: Path, scan: str = "", name: str = "site.toml", pcap: Path = EXAMPLE, **output: str) -> Path:
    """A site's config in ``folder`` (paths relative to it); ``output`` replaces [output] keys (TOML text)."""
    keys = {"db": '"inv.sqlite"', "state_dir": '"state"', "reports": REPORTS, **output}
    config = folder / name
    config.write_text(f'[scan]\npcap = "{pcap}"\n{scan}\n[policy]\nfail_on = "new"\n\n[output]\n'
                      + "".join(f"{key} = {value}\n" for key, value in keys.items()))
    (folder / "reports").mkdir(exist_ok=True)
    return config


def ips(report: dict) -> set[str]:
    return {ip for item in report["scan"]["devices"] for ip in item["device"]["ips"]}


def test_a_config_drives_scan_pcap(tmp_path: Path) -> None:
    """Before, `scan --config site.toml --pcap FILE` ignored the config: a table on stdout, the
    default inventory, no reports, and exit 3 where fail_on = "new" wants 4 then 0."""
    config = site_config(tmp_path, scan='exclude = ["198.18.0.22"]\ntargets = ["198.18.0.0/24"]')
    first = run("scan", "--config", str(config))
    assert (first.returncode, first.stdout, first.stderr) == (ExitCode.NEW_RESTRICTED, "", "")
    report = report_json((tmp_path / "reports" / "latest.json").read_text())
    assert report["scan"]["mode"] == "pcap" and report["scan"]["capture"] == str(EXAMPLE)
    assert "198.18.0.30" in ips(report) and not {HIKVISION, ROUTED} & ips(report)  # targets less --exclude
    assert (tmp_path / "remediation.csv").read_text().startswith("status,")
    assert scan_json((tmp_path / "state" / "last-scan.json").read_text())["capture"] == str(EXAMPLE)
    with open_store(str(tmp_path / "inv.sqlite"), read_only=True) as inv:
        assert len(inv.scans()) == 1
    again = run("scan", "--config", str(config))
    assert again.returncode == ExitCode.OK, again.stderr  # nothing new since the first run


def test_a_capture_named_on_the_command_line_wins_and_keeps_the_configs_outputs(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    elsewhere = tmp_path / "copy.pcap"
    elsewhere.write_bytes(EXAMPLE.read_bytes())
    done = run("scan", "--config", str(config), "--pcap", str(elsewhere), "--fail-on", "restricted")
    assert done.returncode == ExitCode.RESTRICTED, done.stderr
    assert json.loads((tmp_path / "reports" / "latest.json").read_text())["scan"]["capture"] == str(elsewhere)


@pytest.mark.parametrize("key, value, problem", [
    ("reports", REPORTS[:-1] + ', { format = "html", path = "missing/latest.html" }]',
     "cannot write report to {dir}/missing/latest.html: folder {dir}/missing does not exist"),
    ("reports", '[{ format = "html", path = "reports" }]', "cannot write report to {dir}/reports: it is a directory"),
    ("db", '"nowhere/inv.sqlite"', "nowhere"),
    ("state_dir", '"site.toml/state"', "cannot create the state directory {dir}/site.toml/state"),
])
def test_a_bad_output_in_the_config_is_exit_2_before_the_capture_is_opened(tmp_path: Path, key: str, value: str,
                                                                            problem: str) -> None:
    # The capture is a FIFO nobody writes to: opening it would block the run until the test's
    # timeout, so a prompt exit 2 proves it was never opened.
    fifo = tmp_path / "never-read.pcap"
    os.mkfifo(fifo)
    config = site_config(tmp_path, pcap=fifo, **{key: value})
    (tmp_path / "nowhere").write_text("a file where a folder should be")
    done = run("scan", "--config", str(config))
    assert done.returncode == ExitCode.USAGE and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and problem.format(dir=tmp_path) in done.stderr, done.stderr
    assert not (tmp_path / "reports" / "latest.json").exists() and not (tmp_path / "remediation.csv").exists()
    assert not (tmp_path / "state" / "last-scan.json").exists()


def test_the_run_lock_is_per_config(tmp_path: Path) -> None:
    north = site_config(tmp_path, name="north.toml")
    south = site_config(tmp_path, name="south.toml", scan='site = "south"')
    state = tmp_path / "state"  # both configs keep their state here
    with RunLock(lock_path(str(north), state)):
        same = run("scan", "--config", str(north))
        other = run("scan", "--config", str(south))
        via_link = tmp_path / "link.toml"
        via_link.symlink_to(north)
        linked = run("scan", "--config", str(via_link))
    assert same.returncode == linked.returncode == ExitCode.SCAN_FAILED
    assert f"another camsweep run of {north} holds {lock_path(str(north), state)}" in same.stderr
    assert other.returncode == ExitCode.NEW_RESTRICTED, other.stderr  # two sites side by side
    assert report_json((tmp_path / "reports" / "latest.json").read_text())["scan"]["site"] == "south"


def test_a_found_config_is_used_as_if_named(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    missing = tmp_path / "no-such-user-config.toml"
    done = run("scan", env={"CAMSWEEP_CONFIG_PATH": f"{missing}:{config}"})  # the first that exists wins
    assert (done.returncode, done.stdout) == (ExitCode.NEW_RESTRICTED, ""), done.stderr
    assert (tmp_path / "reports" / "latest.json").exists()
    config.write_text("[scan]\ntaregts = []\n")
    done = run("scan", env={"CAMSWEEP_CONFIG_PATH": str(config)})
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip() == (f"camsweep: error: {config}: unknown key 'scan.taregts' (did you mean "
                                   "'targets'?) (found because no --config was given; CAMSWEEP_CONFIG_PATH= "
                                   "searches none)")


@pytest.mark.parametrize("args, message", [
    (["198.18.0.0/24", "--exclude", "198.18.0.0/33"], "--exclude '198.18.0.0/33': prefix length 33 is over 32"),
    (["198.18.0.0/24,198.18.1.0/24"], "separate them with spaces"),
    (["nvr.example"], "target 'nvr.example': a host name is not looked up for a run that sends nothing"),
])
def test_a_bad_passive_scope_is_one_line(args: list[str], message: str) -> None:
    done = run("scan", "--pcap", str(EXAMPLE), "--no-store", *args)
    assert done.returncode == ExitCode.USAGE and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr


def test_target_file_and_exclude_scope_a_capture(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("# segment B only\n198.18.1.0/24\n")
    done = run("scan", "--pcap", str(EXAMPLE), "--no-store", "--format", "json", "-iL", str(hosts),
               "--state-dir", str(tmp_path))
    assert done.returncode == ExitCode.RESTRICTED and ips(report_json(done.stdout)) == {ROUTED}
    done = run("scan", "--pcap", str(EXAMPLE), "--no-store", "--format", "json", "--exclude", "198.18.0.0/24",
               "--state-dir", str(tmp_path))  # only exclusions: every other host
    assert ips(report_json(done.stdout)) == {ROUTED}


def test_listen_checks_its_config_before_it_listens(tmp_path: Path) -> None:
    config = tmp_path / "listen.toml"
    config.write_text('[listen]\ninterface = "cs-nosuch0"\nduration = 5\n[output]\nreports = '
                      '[{ format = "json", path = "out.json" }]\n')
    done = run("listen", "--config", str(config), "--no-store")
    assert (done.returncode, done.stderr) == (ExitCode.USAGE, "camsweep: error: interface 'cs-nosuch0' does not exist\n")
    config.write_text("[listen]\nduration = 0\n")
    done = run("listen", "--config", str(config))
    assert done.returncode == ExitCode.USAGE and "'listen.duration' must be positive" in done.stderr
    done = run("listen", "--no-store")
    assert done.stderr == "camsweep: error: listen needs an interface: -i INTERFACE, or interface in the config's [listen]\n"


@pytest.mark.parametrize("fail_on, code", [("new", ExitCode.NEW_RESTRICTED), ("restricted", ExitCode.RESTRICTED),
                                           ("never", ExitCode.SCAN_FAILED)])
def test_a_report_that_cannot_be_written_at_the_end_never_masks_3_or_4(tmp_path: Path, capsys, fail_on: str,
                                                                       code: int) -> None:
    """Checked before the run, a report folder can still vanish (or fill up) by its end: the run
    says which report failed, writes the others, stores the scan, and 4 or 3 still win over 5."""
    result = analyse_capture(str(EXAMPLE))
    db = str(tmp_path / "inv.sqlite")
    gone, kept = tmp_path / "gone" / "latest.html", tmp_path / "remediation.csv"
    outputs = Outputs(db_path=db, fail_on=fail_on, quiet=True, reports=(("html", str(gone)), ("csv", str(kept))))
    assert finish(result, outputs) == code
    out, err = capsys.readouterr()
    assert out == "" and err == (f"camsweep: error: cannot write report to {gone}: No such file or directory "
                                 "(the html report; the other reports and the inventory are written regardless)\n")
    assert kept.read_text().startswith("status,")
    with open_store(db, read_only=True) as inv:
        assert len(inv.scans()) == 1  # stored: the next run's "new" is right
    if fail_on == "new":  # nothing new the next time: the failed report is what the code says
        assert finish(analyse_capture(str(EXAMPLE)), outputs) == ExitCode.SCAN_FAILED
