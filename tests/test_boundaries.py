"""Package boundaries, read from the source with ``ast`` (imports inside functions count too).

Layers, lowest first; a module may import its own layer and the ones below:

* base     ``camsweep.types``, ``camsweep.errors``: the shared vocabulary; imports nothing else.
* data     ``camsweep.fingerprints``: the fingerprint database; sees only the base.
* core     the rest of ``camsweep`` (engine, probes, verdicts, findings, inventory, ...).
* reports  ``camsweep.reports``: renderers; of the core they see only the result types.
* cli      ``camsweep.cli``: parses arguments, calls the library and the renderers, prints.

So there is no import cycle between the data package, the renderers and the rest. And no CLI
module imports a command module: what two commands share lives in the library or in a private
helper module (``_finish.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from camsweep.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"camsweep": ROOT / "scanner", "camsweep.fingerprints": ROOT / "fingerprints",
           "camsweep.reports": ROOT / "reports"}

BASE = {"camsweep.types", "camsweep.errors"}
REPORT_TYPES = {"camsweep", "camsweep.models", "camsweep.findings", "camsweep.jsonio"}
"""What the renderers may see of the core: the results they render, the one JSON writer (which
imports only the errors) and ``__version__``."""
ALLOWED = {
    "base": {"base"},
    "data": {"base", "data"},
    "core": {"base", "data", "core"},
    "reports": {"base", "reports"},
    "cli": {"base", "data", "core", "reports", "cli"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if package == "camsweep" and parts[0] in ("fingerprints", "reports"):
                continue  # not in the scanner/ folder; listed for completeness
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def layer(module: str) -> str:
    if module in BASE:
        return "base"
    if module == "camsweep.__main__":  # ``python -m camsweep``: the CLI's entry point
        return "cli"
    for prefix, name in (("camsweep.fingerprints", "data"), ("camsweep.reports", "reports"), ("camsweep.cli", "cli")):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return "core"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str) -> set[str]:
    """The camsweep modules ``module`` imports (``from X import name`` counts X.name when that is a
    module). Imports under ``if TYPE_CHECKING:`` are left out: they never run."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "camsweep")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] == "camsweep":
                for alias in node.names:
                    found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return found


def test_the_walk_sees_every_package_and_resolves_relative_imports() -> None:
    assert {"camsweep.types", "camsweep.fingerprints._db", "camsweep.reports.html_doc", "camsweep.cli.scan",
            "camsweep.probes.http", "camsweep.lab.emulator"} <= set(MODULES)
    assert "camsweep.savedscan" in imports("camsweep.cli.report")  # from ..savedscan import ...
    assert "camsweep.reports.text" in imports("camsweep.reports.explain")  # from .text import clean


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_stay_within_the_layers(module: str) -> None:
    mine = layer(module)
    wrong = sorted(
        name for name in imports(module)
        if layer(name) not in ALLOWED[mine] and not (mine == "reports" and name in REPORT_TYPES)
    )
    assert not wrong, f"{module} ({mine}) imports {wrong}"


def test_the_data_package_imports_only_the_shared_types() -> None:
    data = [m for m in MODULES if layer(m) == "data"]
    assert len(data) >= 3
    seen = set().union(*(imports(m) for m in data))
    assert {m for m in seen if layer(m) != "data"} == {"camsweep.types", "camsweep.errors"}


def test_no_import_cycle_between_the_data_package_the_reports_and_the_rest() -> None:
    edges: dict[str, set[str]] = {}
    for module in MODULES:
        for name in imports(module):
            if layer(name) != layer(module):
                edges.setdefault(layer(module), set()).add(layer(name))
    assert edges["cli"] >= {"core", "reports"} and "data" in edges["core"]  # the graph is really there

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges.get(start, ()))

    assert not [group for group in edges if reaches(group, group)], edges


def test_no_cli_module_imports_a_command_module() -> None:
    commands = {module for module, _ in COMMANDS.values()}
    assert commands <= set(MODULES)
    cli = [m for m in MODULES if layer(m) == "cli"]
    wrong = {m: sorted(imports(m) & commands) for m in cli}
    assert not {m: found for m, found in wrong.items() if found}
