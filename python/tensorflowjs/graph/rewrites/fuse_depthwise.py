"""DepthwiseConv2dNative + BiasAdd (+ activation) -> FusedDepthwiseConv2dNative, a TF.js-only op.

TensorFlow has no such op, so this runs last, after every Grappler pass; TF.js runs it as one
fused depthwise kernel with fused_ops [BiasAdd, activation].
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites import register
from tensorflowjs.graph.rewrites.fusion import DEPTHWISE, fuse_bias_activation
from tensorflowjs.graph.rewrites.graph_view import GraphView


@register("fuse_depthwise")
def fuse_depthwise(view: GraphView) -> int:
    return fuse_bias_activation(view, DEPTHWISE)
