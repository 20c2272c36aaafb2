"""The layers of DESIGN.md, read from the source: which part of the package may import which.

Each rule names the areas a part may import; an area is a top-level module (``_ledger``) or a
subpackage (``media``). The imports are read with ``ast``, lazy ones inside functions included, so
a rule holds for every path through the code, not only the ones a test happens to run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "realavatar_nb"

# The client-side modules (layer 4 and the client's own helpers): everything private at the top
# level except the layers below them and the samples' helpers.
BELOW_CLIENT = {"_types", "_exceptions", "_config", "_models", "_display", "_progress", "_urls"}
CLIENT = {
    p.stem for p in PACKAGE.glob("_*.py") if p.stem not in BELOW_CLIENT and not p.stem.startswith(("__", "_samples"))
}

RULES = {
    # Layer 3, local media work: never the client, the ledger, the adapters, the widgets or the emulator.
    "media": {"media", "_types", "_exceptions", "_display", "_progress"},
    # Layer 3, sans-IO adapters: models, errors and the generation request, never any I/O of the client.
    "providers": {
        "providers",
        "providers.signing",
        "generation",
        "_types",
        "_exceptions",
        "_config",
        "_models",
        "_urls",
    },
    "generation": {"generation", "_types", "_exceptions", "_models"},
    # The emulator stays an independent stand-in: never the client or the adapters. It shares the
    # media checks on purpose, and upstream's HMAC arithmetic (providers.signing, judged against the
    # official SDKs' signers in tests/providers/test_signing.py), not any adapter.
    "simulator": {"simulator", "media", "_types", "_exceptions", "_config", "providers.signing"},
    # Layer 6: the widgets sit on the client (layers 1–4), never on the emulator or an adapter directly.
    "widgets": {"widgets", "generation", "media", *BELOW_CLIENT, *CLIENT},
}


def _area(module: str) -> str:
    parts = module.split(".")
    if parts[1:3] == ["providers", "signing"]:
        return "providers.signing"
    return parts[1] if len(parts) > 1 else "realavatar_nb"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Return (line, module) for every ``realavatar_nb`` module the file imports, relative ones resolved."""
    package = list(path.relative_to(PACKAGE.parent).parent.parts)  # what a relative import starts from
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] if node.module is None else [target]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "realavatar_nb"]


def _files(area: str) -> list[Path]:
    return sorted((PACKAGE / area).rglob("*.py")) if (PACKAGE / area).is_dir() else [PACKAGE / f"{area}.py"]


@pytest.mark.parametrize("area", sorted(RULES))
def test_each_part_imports_only_the_layers_it_may(area: str) -> None:
    allowed = RULES[area]
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in _files(area)
        for line, name in _imports(path)
        if _area(name) not in allowed
    ]
    assert _files(area) and not wrong, "\n".join(wrong)


def test_the_client_reaches_media_only_through_media_facts() -> None:
    # DESIGN: the client learns media facts (a file's type and hash, a generation input's length,
    # size and faces) through one door, so media can change behind it.
    doors = {
        f"{name}:{line} imports {target}"
        for name in sorted(CLIENT)
        for line, target in _imports(PACKAGE / f"{name}.py")
        if _area(target) == "media"
    }
    assert {door.split(":")[0] for door in doors} == {"_media_facts"}, "\n".join(sorted(doors))


def test_the_rules_read_real_imports() -> None:
    # The reader must see what the rules are about, or every rule would pass on an empty list.
    media_facts = {name for _, name in _imports(PACKAGE / "_media_facts.py")}
    assert "realavatar_nb.media.probe" in media_facts and "realavatar_nb._exceptions" in media_facts
    checks = {name for _, name in _imports(PACKAGE / "media" / "faces" / "checks.py")}
    assert {"realavatar_nb._display", "realavatar_nb.media.tags", "realavatar_nb.media.faces.detect"} <= checks
    assert {"_client", "_ledger", "_media_facts", "_job_inputs"} <= CLIENT and not CLIENT & BELOW_CLIENT
