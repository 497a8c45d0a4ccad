"""The CLI shell: help everywhere, version, one-line errors with documented exit codes."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from camsweep import __version__
from camsweep.cli import COMMANDS, cli, main
from camsweep.errors import ExitCode
from tests.schema_check import report_json, scan_json


def run(*args, stdin=None):
    """Run the real entry point in a subprocess (exit codes and stderr exactly as a user sees them)."""
    return subprocess.run(
        [sys.executable, "scan.py", *args], input=stdin, capture_output=True, text=True, timeout=120,
    )


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and name in result.output


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    for name in COMMANDS:
        assert name in result.output


def test_invalid_json_is_one_clear_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"ip": "192.0.2.1", ')
    proc = run("identify", str(bad))
    assert proc.returncode == ExitCode.USAGE
    assert proc.stderr.count("\n") == 1 and "not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_schema_version_exit_2(tmp_path):
    doc = tmp_path / "future.json"
    doc.write_text(json.dumps({"schema_version": 999, "observations": []}))
    proc = run("identify", str(doc))
    assert proc.returncode == ExitCode.USAGE
    assert "schema_version 999" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_file_exit_2():
    proc = run("identify", "/nonexistent/hosts.json")
    assert proc.returncode == ExitCode.USAGE
    assert "cannot read" in proc.stderr


def test_identify_reads_stdin_and_writes_json():
    host = {"ip": "192.0.2.10", "ports": [80]}
    proc = run("identify", "--format", "json", "-", stdin=json.dumps(host))
    assert proc.returncode == 0, proc.stderr
    result = scan_json(proc.stdout)
    assert result["schema_version"] == 1
    assert [d["device"]["ips"] for d in result["devices"]] == [["192.0.2.10"]]


EXAMPLE_CAPTURE = "examples/lab-capture.pcap"


def test_scan_pcap_analyses_the_example_capture(tmp_path):
    proc = run("scan", "--pcap", EXAMPLE_CAPTURE, "--no-store", "--format", "json",
               "--state-dir", str(tmp_path))
    assert proc.returncode == ExitCode.RESTRICTED, proc.stderr  # it holds Hikvision and Dahua units
    report = report_json(proc.stdout)
    assert report["scan"]["mode"] == "pcap" and not report["scan"]["partial"]
    makers = {d["verdict"]["manufacturer"] for d in report["scan"]["devices"]}
    assert {"hikvision", "dahua"} <= makers


def test_scan_pcap_of_a_truncated_capture_is_partial(tmp_path):
    cut = tmp_path / "cut.pcap"
    data = open(EXAMPLE_CAPTURE, "rb").read()
    cut.write_bytes(data[: len(data) // 2 - 7])
    proc = run("scan", "--pcap", str(cut), "--no-store", "--format", "json", "--fail-on", "never",
               "--state-dir", str(tmp_path))
    assert proc.returncode == ExitCode.PARTIAL, proc.stderr
    scan = report_json(proc.stdout)["scan"]
    assert scan["partial"] and any("truncated" in n for n in scan["notes"]) and scan["devices"]


def test_scan_pcap_of_a_non_capture_is_exit_2(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a capture")
    proc = run("scan", "--pcap", str(text), "--no-store", "--state-dir", str(tmp_path))
    assert proc.returncode == ExitCode.USAGE
    assert "not a packet capture" in proc.stderr and "Traceback" not in proc.stderr


def test_verify_replays_the_shipped_examples():
    proc = run("verify")
    assert proc.returncode == 0, proc.stderr
    assert "0 problem(s)" in proc.stdout


def test_verify_reports_an_example_its_rule_no_longer_matches(tmp_path):
    import shutil
    import re

    shipped = __import__("fingerprints").__path__[0]
    copy = tmp_path / "fp"
    shutil.copytree(shipped, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    server = copy / "http_header_server.toml"
    text = server.read_text()
    # the first example of the file now says something its rule cannot match
    server.write_text(re.sub(r'value = "[^"]*"', 'value = "certainly-not-a-camera-server"', text, count=1))
    proc = run("verify", "--fingerprints", str(copy))
    assert proc.returncode == ExitCode.USAGE
    assert "certainly-not-a-camera-server" in proc.stderr


@pytest.mark.parametrize(("args", "said"), [
    (["report", "scan.json", "--format", "pdf"], "Invalid value for '--format': 'pdf' is not one of"),
    (["scan", "--bogus"], "No such option"),
    (["explain"], "Missing argument 'ADDRESS'"),
])
def test_an_unknown_format_or_option_is_one_line_and_exit_2(args, said, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert err.splitlines() == [err.strip()] and err.startswith(f"camsweep: error: {said}"), err


def test_click_usage_errors_are_one_line_and_a_bare_group_shows_its_help():
    done = run("history", "extra")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "camsweep: error: Got unexpected extra argument (extra) (see 'camsweep history --help')"]
    bare = run()
    assert bare.returncode == 2 and bare.stderr.startswith("Usage: camsweep [OPTIONS] COMMAND") and "Commands:" in bare.stderr


def test_stdin_is_read_with_the_same_bound_as_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """`identify -`, `check -` and `report -` read stdin through one bounded reader: an endless
    pipe is one line, not a process that eats the machine's memory."""
    import io

    from camsweep import jsonio
    from camsweep.errors import InputFileError

    monkeypatch.setattr(jsonio, "MAX_INPUT_BYTES", 1024)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"[" + b" " * 4096 + b"]")))
    with pytest.raises(InputFileError, match=r"^-: larger than"):
        jsonio.read_stdin()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"ip": "192.0.2.1"}\xff')))
    with pytest.raises(InputFileError, match=r"^-: not UTF-8 text"):
        jsonio.read_stdin()
