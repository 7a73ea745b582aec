"""Public API: Add/AddV2 of a per-channel constant after a conv or matmul -> BiasAdd, on a GraphDef.

The rewrite is tensorflowjs/graph/rewrites/add_to_bias_add.py.
"""

from typing import Any

from tensorflowjs.converters import graph_rewrite_util


def normalize_bias_add_op(input_graph_def: Any) -> Any:
    """A copy of the GraphDef (same message class) with such Adds as BiasAdd (NHWC)."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["add_to_bias_add"])
