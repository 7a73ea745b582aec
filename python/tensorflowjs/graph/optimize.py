"""Graph optimisation before writing a TF.js graph model (pass-through for now)."""

from __future__ import annotations

from typing import Any, Sequence


def optimize_graph(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                   strip_debug_ops: bool = False, control_flow_v2: bool = False) -> Any:
    """Return an optimised copy of a frozen GraphDef whose inputs and outputs are node names."""
    return graph_def
