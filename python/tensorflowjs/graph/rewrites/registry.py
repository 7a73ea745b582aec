"""The rewrite registry: each rewrite module registers its function here by name.

Kept apart from the package's __init__ (which imports every rewrite module and names the
sequences they run in), so a rewrite module imports only this, never the package that lists it.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, Sequence

from tensorflowjs.graph.graph_view import GraphView

Rewrite = Callable[[GraphView], int]

REGISTRY: Dict[str, Rewrite] = {}


def register(name: str) -> Callable[[Rewrite], Rewrite]:
    """Record a rewrite: a function that edits a GraphView in place and returns how many matches."""

    def decorate(function: Rewrite) -> Rewrite:
        REGISTRY[name] = function
        return function

    return decorate


def apply_rewrites(graph_def, names: Sequence[str], keep: Iterable[str]) -> Dict[str, int]:
    """Run the named rewrites in order on graph_def (edited in place); returns matches per name.

    Names resolve through tensorflowjs.graph.rewrites, whose import registers every rewrite."""
    view = GraphView(graph_def, keep)
    counts: Dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + REGISTRY[name](view)
    return counts
