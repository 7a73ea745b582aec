"""Dependencies inside tensorflowjs flow one way: core <- format packages <- verify <- converters
<- the CLI <- the wizard. jax_lowering emits TF graphs, so it builds on graph/ (never the reverse).

Every module of the package is read with `ast` (nothing is imported), and each of its imports,
at module level or inside a function, is checked against the layer table below, which
python/tensorflowjs/BUILD states as the deps of one py_library per layer. A lazy import is
still a dependency: it only moves the failure from import time to the first call.

verify/ sits between the format packages and converters/: it runs a converted model against its
source, which it reads with the format packages (Keras files, frozen graphs, hub modules), and
both the public API (converters/, verify=True) and the CLI (--verify) call it. converters/converter.py
(the CLI) and converters/wizard.py stay where the public package has them, in the CLI and wizard
layers above the public API.
"""

import ast
import functools
import pathlib
import sys
from typing import Dict, Iterator, List, Set, Tuple

import pytest

import tensorflowjs

PACKAGE = pathlib.Path(tensorflowjs.__file__).resolve().parent

# Layer -> rank; a module may import its own layer and lower ranks only. Equal ranks are peers
# that may not import each other.
RANKS = {
    "core": 0,
    "keras": 1,
    "graph": 1,
    "jax_lowering": 2,
    "verify": 3,
    "converters": 4,
    "cli": 5,
    "wizard": 6,
}

# Modules of converters/ that the public layout puts there but that sit above the public API.
_ENTRY_POINTS = {"tensorflowjs.converters.converter": "cli", "tensorflowjs.converters.wizard": "wizard"}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside tensorflowjs."""
    if module in _ENTRY_POINTS:
        return _ENTRY_POINTS[module]
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in RANKS and parts[1] != "core":
        return parts[1]
    return "core"


def module_name(path: pathlib.Path) -> str:
    parts = ["tensorflowjs", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    relative = pathlib.Path(*dotted.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def imports_of(path: pathlib.Path) -> Iterator[str]:
    """Every tensorflowjs module `path` imports, wherever the import statement is."""
    module, is_package = module_name(path), path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                # `from package import module` imports the module; `from module import name` the module.
                yield f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base


@functools.lru_cache(maxsize=None)
def import_graph() -> Dict[str, Set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found = {name for name in imports_of(path) if name == "tensorflowjs" or name.startswith("tensorflowjs.")}
        graph[module_name(path)] = found
    return graph


def layer_graph() -> Dict[str, Set[str]]:
    edges: Dict[str, Set[str]] = {layer: set() for layer in RANKS}
    for module, imported in import_graph().items():
        edges[layer_of(module)] |= {layer_of(name) for name in imported} - {layer_of(module)}
    return edges


def test_the_scan_sees_every_kind_of_import():
    """The scan itself: function-local imports, `import x`, relative imports and `from package import module`."""
    found = set(imports_of(PACKAGE / "verify" / "__init__.py"))
    assert "tensorflowjs.verify.check" in found  # imported inside a function body
    assert len(import_graph()) > 100 and layer_of("tensorflowjs.graph.rewrites.registry") == "graph"
    assert layer_of("tensorflowjs.converters.converter") == "cli" and layer_of("tensorflowjs.write_weights") == "core"


def against_the_layers(graph: Dict[str, Set[str]]) -> List[Tuple[str, str]]:
    """(module, imported module) of every import into a layer that is not below the importer's."""
    return sorted(
        (module, name)
        for module, imported in graph.items()
        for name in imported
        if RANKS[layer_of(name)] >= RANKS[layer_of(module)] and layer_of(name) != layer_of(module)
    )


def test_the_rule_flags_upward_and_sideways_imports():
    assert against_the_layers({
        "tensorflowjs.graph.pipeline": {"tensorflowjs.converters.options", "tensorflowjs.options", "tensorflowjs.graph.resources"},
        "tensorflowjs.keras.h5_model": {"tensorflowjs.graph.tensors"},
        "tensorflowjs.converters.pairs": {"tensorflowjs.converters.converter"},
        "tensorflowjs.wizard.cli": {"tensorflowjs.converters.converter"},
    }) == [
        ("tensorflowjs.converters.pairs", "tensorflowjs.converters.converter"),
        ("tensorflowjs.graph.pipeline", "tensorflowjs.converters.options"),
        ("tensorflowjs.keras.h5_model", "tensorflowjs.graph.tensors"),
    ]


def test_no_import_runs_against_the_layers():
    offending = against_the_layers(import_graph())
    order = " <- ".join(", ".join(layer for layer in RANKS if RANKS[layer] == rank) for rank in sorted(set(RANKS.values())))
    assert not offending, "imports against the layering (%s):\n%s" % (
        order,
        "\n".join(f"  {module} ({layer_of(module)}) imports {name} ({layer_of(name)})" for module, name in offending),
    )


def _cycle(edges: Dict[str, Set[str]]) -> List[str]:
    """One cycle of the directed graph, or [] (depth-first search, colouring nodes)."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_between_packages():
    cycle = _cycle(layer_graph())
    assert not cycle, "packages import each other: " + " -> ".join(cycle)


def test_cycle_search_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


@functools.lru_cache(maxsize=None)
def _build_targets() -> Dict[str, Dict]:
    """The py_library rules of python/tensorflowjs/BUILD, read by running it with stub rules."""
    rules: Dict[str, Dict] = {}

    def py_library(name: str, **attrs) -> None:
        rules[name] = attrs

    def ignored(*args, **kwargs) -> List:
        return []

    stubs = {"py_library": py_library, "glob": ignored, "package": ignored, "exports_files": ignored, "cc_binary": ignored, "py_binary": ignored}
    exec(compile((PACKAGE / "BUILD").read_text(encoding="utf-8"), "python/tensorflowjs/BUILD", "exec"), stubs)
    return rules


def _deps(rule: Dict) -> Set[str]:
    return {dep.lstrip(":") for dep in rule.get("deps", [])}


@pytest.mark.parametrize("layer", list(RANKS))
def test_build_deps_state_the_direction(layer: str):
    """Each layer's py_library deps on lower layers only, and on every layer its modules import."""
    deps = _deps(_build_targets()[layer])
    upward = sorted(dep for dep in deps if RANKS.get(dep, -1) >= RANKS[layer])
    assert not upward, f"//python/tensorflowjs:{layer} deps on {upward}, which may not be below {layer}"
    missing = sorted(layer_graph()[layer] - deps)
    assert not missing, f"//python/tensorflowjs:{layer} imports {missing} without a dep on them"


def test_the_aggregate_target_holds_every_layer():
    rules = _build_targets()
    reached: Set[str] = set()
    todo = _deps(rules["tensorflowjs"])
    while todo:
        target = todo.pop()
        reached.add(target)
        todo |= _deps(rules.get(target, {})) - reached
    assert set(RANKS) <= reached


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
