"""Conv2D/MatMul + BiasAdd (+ activation) -> _FusedConv2D/_FusedMatMul where the remapper did not.

The remapper runs before batch-norm folding has produced every BiasAdd it could fuse, and it
does not fuse Prelu (a TF.js-only op); this catches both, within what TF.js's backends accept.
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites import register
from tensorflowjs.graph.rewrites.fusion import CONV2D, MATMUL, fuse_bias_activation
from tensorflowjs.graph.rewrites.graph_view import GraphView


@register("fuse_conv_matmul")
def fuse_conv_matmul(view: GraphView) -> int:
    return fuse_bias_activation(view, CONV2D) + fuse_bias_activation(view, MATMUL)
