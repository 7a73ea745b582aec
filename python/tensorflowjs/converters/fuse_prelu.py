"""Public API: Keras's PReLU pattern -> Prelu, and Prelu into _FusedConv2D/_FusedMatMul, on a GraphDef.

The rewrites are tensorflowjs/graph/rewrites/fuse_prelu.py and fuse_conv_matmul.py.
"""

from typing import Any

from tensorflowjs.converters import graph_rewrite_util


def fuse_ops_for_prelu(input_graph_def: Any) -> Any:
    """Relu(x) + alpha * Relu(-x) (as Keras and Grappler leave it) becomes Prelu(x, alpha)."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["fuse_prelu"])


def fuse_prelu_with_fused_conv2d_or_matmul(input_graph_def: Any) -> Any:
    """A Prelu after a conv/matmul (bias fused or not) joins it as its fused activation."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["fuse_conv_matmul"])
