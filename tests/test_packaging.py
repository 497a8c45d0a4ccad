"""`pip install .` from a clean tree installs one package, `camsweep`, with its data.

Run from another directory it finds its data; `python -m camsweep` and the `camsweep` script both
work; nothing named `scanner`, `fingerprints` or `reports` lands at top level (other distributions
own those names); every package-data pattern in pyproject.toml names files that exist.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_package_finds_its_data_from_another_directory(tmp_path):
    # Built from a copy: the build writes build/ and *.egg-info next to the sources, which must
    # neither need a writable checkout nor leave files there that a later build would pick up.
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".hypothesis", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests", "bench"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(tree)],
        check=True, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    top_level = {p.name for p in target.iterdir() if not p.name.endswith((".dist-info", ".egg-info"))}
    assert top_level <= {"camsweep", "bin"}, top_level
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import camsweep, camsweep.restrictions as r, camsweep.lab as lab\n"
        "from camsweep.verdicts import load_fingerprints\n"
        "assert camsweep.__file__.startswith(%r), camsweep.__file__\n"
        "db = load_fingerprints(); data = r.load()\n"
        "from camsweep import schemas; assert all(schemas.load(n)['$id'] for n in schemas.NAMES)\n"
        "print(len(db.rules), len(lab.load_profiles(lab.SHIPPED_PROFILES)), data.version)\n" % str(target)
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rules, profiles, _ = out.stdout.split()
    assert int(rules) > 50 and int(profiles) >= 30
    example = str(ROOT / "examples" / "hosts.jsonl")
    for command in ([sys.executable, "-m", "camsweep", "identify", example],
                    [str(target / "bin" / "camsweep"), "identify", example]):
        cli = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, (command, cli.stderr)
        assert "hikvision" in cli.stdout and "dahua" in cli.stdout


def test_package_data_lists_only_files_that_exist():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = setuptools["package-dir"]
    for package, patterns in setuptools["package-data"].items():
        base = package
        while base not in folders:
            base = base.rsplit(".", 1)[0]
        folder = ROOT / folders[base] / Path(*package.split(".")[len(base.split(".")):])
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches no file in {folder}"


def test_every_source_folder_is_a_listed_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for package, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found == listed


def _blocks(text: str) -> list[list[str]]:
    return [block.strip().splitlines() for block in text.split("```sh\n")[1:] for block in [block.split("```")[0]]]


def test_the_readme_installs_into_a_venv_and_ci_runs_its_test_command():
    """Debian 12 / Ubuntu 24.04 refuse `pip install` into the system Python (PEP 668): the
    README's first command makes a venv, and CI installs and tests exactly as the README says."""
    readme = (ROOT / "README.md").read_text()
    first, tests = _blocks(readme)[:2]
    assert first[0] == "python3 -m venv ~/.local/share/camsweep && ~/.local/share/camsweep/bin/pip install ."
    assert first[1].startswith("sudo ~/.local/share/camsweep/bin/camsweep demo")
    assert not any(line.startswith(("python3 -m pip", "pip install")) for line in first + tests)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests[0] in ci and tests[0].startswith("python3 -m venv --clear .venv && .venv/bin/pip install")
    assert any("apt-get install" in line and "python3-venv" in line for line in ci)
