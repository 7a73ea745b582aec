"""Conv2D/MatMul + BiasAdd (+ activation) -> _FusedConv2D/_FusedMatMul, as TF.js runs them.

Also adds an activation to a _FusedConv2D/_FusedMatMul that came in fused with BiasAdd only.
Prelu is fused too (after fuse_prelu made it), when its alpha is one value per channel.
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.fusion import CONV2D, MATMUL, fuse_bias_activation
from tensorflowjs.graph.graph_view import GraphView


@register("fuse_conv_matmul")
def fuse_conv_matmul(view: GraphView) -> int:
    return fuse_bias_activation(view, CONV2D) + fuse_bias_activation(view, MATMUL)
