"""`pip install .` from a clean tree ships the data: run from another directory, it finds it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_package_finds_its_data_from_another_directory(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import fingerprints, scanner, scanner.restrictions as r, scanner.lab as lab\n"
        "assert scanner.__file__.startswith(%r), scanner.__file__\n"
        "db = fingerprints.load(); data = r.load()\n"
        "print(len(db.rules), len(lab.load_profiles(lab.SHIPPED_PROFILES)), data.version)\n" % str(target)
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rules, profiles, _ = out.stdout.split()
    assert int(rules) > 50 and int(profiles) >= 30
    cli = subprocess.run([sys.executable, "-m", "scanner", "identify", str(ROOT / "examples" / "hosts.jsonl")],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "hikvision" in cli.stdout and "dahua" in cli.stdout
