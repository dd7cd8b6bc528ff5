"""The package's tree shows its architecture, and its imports keep to it.

Layers, lowest first: leaf helpers (``native``, the build that runs; ``text``, ``interrupts``), ``spec`` (the static
description), ``measure`` (recorder, metrics, event log), ``model`` (the SimPy runtime),
``results`` (folders on disk), ``experiment`` (replications, compare, designs, sweeps,
analysis), ``report``, ``app``, ``cli``. A module imports only from its own layer or lower
ones, at module level or inside a function (imports for type checking only are exempt), and
no two modules import each other, directly or round a longer loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "careos_sim"
LAYERS = ("native", "text", "clock", "interrupts", "spec", "measure", "model", "results", "experiment", "report", "app", "cli")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str) -> set[str]:
    """The package's modules ``name`` imports (resolved to modules; type-checking imports left out)."""
    tree = ast.parse(MODULES[name].read_text())
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target.startswith("careos_sim") and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def layer(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1:
        return len(LAYERS)  # the package itself: its public names come from every layer
    return LAYERS.index(parts[1])


def test_every_module_is_in_a_layer():
    unknown = sorted(n for n in MODULES if n != "careos_sim" and n.split(".")[1] not in LAYERS)
    assert not unknown, f"modules outside the layers {LAYERS}: {unknown}"


def test_no_module_imports_from_a_higher_layer():
    upward = sorted(f"{a} -> {b}" for a, deps in GRAPH.items() for b in deps
                    if b != "careos_sim" and layer(b) > layer(a))
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_import_cycle():
    # Tarjan's strongly connected components; any component of more than one module is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w == "careos_sim":  # only the package's own imports of its public names
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_model_never_reads_files_or_the_command_line():
    readers = sorted(n for n in MODULES if n.startswith("careos_sim.model")
                     if GRAPH[n] & {"careos_sim.spec.loader", "careos_sim.cli.main", "careos_sim.results.folders"}
                     or "argparse" in MODULES[n].read_text() or "yaml" in MODULES[n].read_text())
    assert not readers


@pytest.mark.parametrize("layer_name", ["spec", "measure", "model", "model.shared", "results", "experiment", "cli"])
def test_each_layer_is_a_package_with_a_docstring(layer_name):
    init = PACKAGE.joinpath(*layer_name.split("."), "__init__.py")
    assert init.exists() and ast.get_docstring(ast.parse(init.read_text()))


def test_a_cycle_is_found():
    # the check above can fail: a two-module loop is one component of two
    global GRAPH
    saved = GRAPH
    try:
        GRAPH = {**saved, "careos_sim.spec.scenario": saved["careos_sim.spec.scenario"] | {"careos_sim.spec.loader"}}
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycle()
    finally:
        GRAPH = saved
