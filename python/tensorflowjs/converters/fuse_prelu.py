"""Public API: Keras's PReLU pattern -> Prelu, and Prelu into a fused conv/matmul, on a GraphDef.

The rewrites are tensorflowjs/graph/rewrites/fuse_prelu.py's `_any_alpha` variants: like the public
functions, these fuse whatever alpha's shape, where the converter keeps to the alphas TF.js's WASM
backend computes right.
"""

from typing import Any

from tensorflowjs.converters import graph_rewrite_util


def fuse_ops_for_prelu(input_graph_def: Any) -> Any:
    """Relu(x) + alpha * Relu(-x) (as Keras and Grappler leave it) becomes Prelu(x, alpha)."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["fuse_prelu_any_alpha"])


def fuse_prelu_with_fused_conv2d_or_matmul(input_graph_def: Any) -> Any:
    """A Prelu after a conv, depthwise conv or matmul (bias fused or not) joins it as its fused
    activation."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["fuse_prelu_into_fused_any_alpha"])
