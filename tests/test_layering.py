"""The package's layers import only downward (docs/architecture.md).

Every ``sdde`` import in every module (top-level, inside functions, under
``TYPE_CHECKING``) is read from the source and checked against the layer order. Run this
file as a script to print the import graph's statistics: imports per layer pair and the
longest chain of imports from the command line down to the delay laws.
"""

from __future__ import annotations

import ast
import functools
import itertools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sdde"

#: Bottom to top. A module may import its own layer and any layer before it in this list.
LAYERS = ("delays", "cluster", "model", "curvature", "simulator", "solvers", "stability",
          "literature", "schedule", "validation", "sweeps", "cli")
#: Shared building blocks below every layer.
FOUNDATION = ("sdde._numerics", "sdde._text_tables",
              "sdde._progress", "sdde._lazy", "sdde._version",
              "sdde._invariants", "sdde._resources", "sdde.symbolic")
#: The public face: they re-export from the layers and are imported by none of them.
FACADES = ("sdde", "sdde.validate", "sdde.sweep", "sdde.trace")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def rank(module: str) -> int:
    """-1 for the foundation, the layer's index otherwise; facades have no rank."""
    if module in FOUNDATION:
        return -1
    parts = module.split(".")
    assert parts[0] == "sdde" and len(parts) > 1 and parts[1] in LAYERS, module
    return LAYERS.index(parts[1])


def resolve(name: str) -> str:
    """The module an imported dotted name lives in (``sdde.x.y.Name`` → ``sdde.x.y``)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


@functools.cache
def imports(module: str) -> frozenset[str]:
    """The ``sdde`` modules that ``module`` imports, anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sdde"):
            for alias in node.names:
                found.add(resolve(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            found.update(resolve(a.name) for a in node.names if a.name.startswith("sdde"))
    found.discard(module)
    return frozenset(found)


def upward_imports() -> list[tuple[str, str]]:
    """Every (importer, imported) pair that runs against the layering."""
    return [(m, dep) for m in MODULES if m not in FACADES for dep in sorted(imports(m))
            if dep in FACADES or rank(dep) > rank(m)]


def reaches(start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for dep in imports(todo.pop()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def longest_chain(start: str, goal_layer: str) -> list[str]:
    """The longest import path from ``start`` to a module of ``goal_layer``.

    Modules that import each other (lazily, inside one layer) count as one step: an edge
    inside such a cycle is left out, so the graph is acyclic.
    """
    reach = {m: reaches(m) for m in MODULES}

    @functools.cache
    def longest(m: str) -> tuple[str, ...]:
        best: tuple[str, ...] = (m,) if m.split(".")[1:2] == [goal_layer] else ()
        for dep in imports(m):
            if m in reach[dep]:  # dep imports m back: same cycle
                continue
            tail = longest(dep)
            if tail and len(tail) + 1 > len(best):
                best = (m, *tail)
        return best
    return list(longest(start))


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        if module not in FACADES:
            rank(module)  # raises for a module outside every layer


def test_no_import_runs_up_the_layers() -> None:
    assert upward_imports() == []


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_says_what_it_may_import(layer: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))
    assert doc and f"Layer {LAYERS.index(layer) + 1} of {len(LAYERS)}" in doc


def test_the_chain_from_the_command_to_the_laws_is_found() -> None:
    chain = longest_chain("sdde.cli.command", "delays")
    assert chain[0] == "sdde.cli.command" and chain[-1].startswith("sdde.delays")
    assert all(rank(a) >= rank(b) for a, b in itertools.pairwise(chain))


if __name__ == "__main__":
    print(f"{len(MODULES)} modules; imports against the layering: {len(upward_imports())}")
    chain = longest_chain("sdde.cli.command", "delays")
    print(f"longest import chain from the CLI to the laws ({len(chain) - 1} imports):")
    print("  " + "\n  → ".join(chain))
