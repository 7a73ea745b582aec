"""Public API: DepthwiseConv2dNative [+ BiasAdd] [+ activation] -> FusedDepthwiseConv2dNative, on a GraphDef.

The rewrite is tensorflowjs/graph/rewrites/fuse_depthwise.py (with an activation but no bias too,
as the public function does).
"""

from typing import Any

from tensorflowjs.converters import graph_rewrite_util


def fuse_depthwise_conv2d(input_graph_def: Any) -> Any:
    """A copy of the GraphDef (same message class) with depthwise chains fused."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["fold_constants", "fuse_depthwise_with_bare_activation"])
