"""The link checker's structure: each module imports on its own, the imports between them
form no cycle, the report reads the result model only, no module grows past about 300
lines, and the verdicts are one enum, worst first."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from atlas.linkcheck.model import Result, Verdict

PACKAGE = Path(__file__).resolve().parents[1] / "tools" / "atlas" / "linkcheck"
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")
# The order of the README's module map: each module imports only modules before it.
LAYERS = ["model", "options", "urls", "moves", "pages", "site_check", "inputs", "scheduler",
          "http", "cache", "fetch", "run", "report", "fix", "command"]


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports (at any depth of its code)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("atlas.linkcheck."):
                found.add(node.module.split(".")[2])
            elif node.module == "atlas.linkcheck":
                found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[2] for alias in node.names
                      if alias.name.startswith("atlas.linkcheck.")}
    return found


def test_the_import_graph_has_no_cycle() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    assert all(targets <= set(MODULES) for targets in graph.values()), graph
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module not in done:
            for target in sorted(graph[module]):
                visit(target, (*path, module))
            done.add(module)

    for module in MODULES:
        visit(module, ())


def test_each_module_imports_only_those_before_it() -> None:
    assert sorted(LAYERS) == MODULES
    for index, module in enumerate(LAYERS):
        assert imports_of(module) <= set(LAYERS[:index]), module


def test_the_report_reads_the_model_only() -> None:
    assert imports_of("report") == {"model"}
    assert imports_of("model") == set()


def test_each_module_imports_alone() -> None:
    """Each module imported into an interpreter holding none of the others."""
    code = f"""
import importlib, sys
for module in {MODULES!r}:
    for name in [name for name in sys.modules if name.startswith("atlas")]:
        del sys.modules[name]
    importlib.import_module("atlas.linkcheck." + module)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", MODULES)
def test_modules_stay_small(module: str) -> None:
    lines = (PACKAGE / f"{module}.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"{module}.py has {lines} lines"


def test_verdicts_worst_first() -> None:
    assert [v.value for v in Verdict] == ["broken", "blocked", "rate_limited", "moved",
                                          "redirected", "unsupported", "excluded", "ok"]
    assert sorted([Verdict.OK, Verdict.MOVED, Verdict.BROKEN]) == [
        Verdict.BROKEN, Verdict.MOVED, Verdict.OK]
    assert {v for v in Verdict if v.alive} == {Verdict.OK, Verdict.REDIRECTED, Verdict.MOVED}
    assert Result("https://a.org/", Verdict.MOVED).to_json()["verdict"] == "moved"
