"""The benchmarks are not run by the tests (they take minutes and measure the machine), so a renamed
module or function would break them unseen. This reads each script's imports of the package, and
every attribute it reads off a package module, and checks that they still exist."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def _package_names(tree: ast.AST) -> tuple[list[tuple[int, str, str]], dict[str, set[str]]]:
    """Return (line, module, name) of each ``from realavatar_nb… import name``, and the names bound to modules."""
    imported: list[tuple[int, str, str]] = []
    modules: dict[str, set[str]] = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "realavatar_nb":
            for alias in node.names:
                imported.append((node.lineno, str(node.module), alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "realavatar_nb" and alias.asname:
                    modules[alias.asname].add(alias.name)
    for _, module, name in imported:
        value = getattr(importlib.import_module(module), name, None)
        if isinstance(value, type(importlib)):
            modules[name].add(value.__name__)
    return imported, modules


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_package_name_a_benchmark_reads_still_exists(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    imported, modules = _package_names(tree)
    missing = [
        f"{script.name}:{line}: {module} has no {name}"
        for line, module, name in imported
        if not hasattr(importlib.import_module(module), name)
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            owners = [importlib.import_module(m) for m in modules[node.value.id]]
            if not any(hasattr(owner, node.attr) for owner in owners):
                missing.append(f"{script.name}:{node.lineno}: {node.value.id}.{node.attr} does not exist")
    assert not missing, "\n".join(missing)


def test_the_check_sees_the_scripts_and_their_module_names() -> None:
    # An empty bench folder or a reader that binds no module would make the test above pass on nothing.
    assert {"probe.py", "faces.py", "pipeline.py", "emulator.py"} <= {p.name for p in SCRIPTS}
    imported, modules = _package_names(ast.parse((BENCH / "faces.py").read_text(encoding="utf-8")))
    assert "realavatar_nb.media.faces" in modules["faces"] and "realavatar_nb.media.faces.detect" in modules["detect"]
    assert any(name == "open_image" for _, _, name in imported)
