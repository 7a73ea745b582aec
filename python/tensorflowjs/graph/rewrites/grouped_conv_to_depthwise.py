"""A grouped Conv2D with one input channel per group -> DepthwiseConv2dNative.

Keras's Conv2D(groups=channels) (ConvNeXt's 7x7 depthwise convolutions) is a TF Conv2D whose
filter has one input channel while its input has C: TF runs it as C groups, TF.js's conv2d
rejects it ("depth of input must match input depth for filter"). With C groups of m outputs,
filter [h, w, 1, C*m] is the depthwise filter [h, w, C, m] (output c*m + j reads input c).

C is not in the graph: it is found by following the input back through ops that keep the last
dimension (activations, bias and batch-norm, pooling, element-wise arithmetic) to an op whose
output channels are known (a conv or matmul with constant weights, a Placeholder with a shape).
An element-wise op has the channels of an operand with more than one; when C stays unknown, or
is 1 (an ordinary convolution), the node is left as it is.
"""

from __future__ import annotations

from typing import Optional

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr
from tensorflowjs.tensor_names import output_index
from tensorflowjs.graph.fusion import BY_BASE, KINDS, fused_channels
from tensorflowjs.graph.linear import const_shape, is_float32_nhwc, output_channels

_UNARY = {"Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Identity", "Neg", "Abs", "Square",
          "Sqrt", "Rsqrt", "Exp", "Softplus", "Pad", "MirrorPad", "MaxPool", "AvgPool", "Cast", "FusedBatchNormV3",
          "FusedBatchNorm", "FusedBatchNormV2"}
_ELEMENTWISE = {"Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "SquaredDifference"}
_MAX_STEPS = 64


def _channels(view: GraphView, tensor: str, steps: int = 0) -> Optional[int]:
    """The size of `tensor`'s last dimension, where the graph says it; None when unknown."""
    node = view.producer(tensor)
    if node is None or output_index(tensor) != 0 or steps > _MAX_STEPS:
        return None
    if node.op == "Const":
        shape = const_shape(view, tensor)
        return shape[-1] if shape else None
    if node.op == "Placeholder":
        dims = [d.size for d in attr(node, "shape").shape.dim]
        return dims[-1] if dims and dims[-1] > 0 else None
    if node.op == "BiasAdd":
        return output_channels(view, node)
    if node.op in KINDS or node.op in BY_BASE:
        return fused_channels(view, node)
    if node.op in _UNARY:
        return _channels(view, node.input[0], steps + 1)
    if node.op in _ELEMENTWISE:
        for operand in node.input[:2]:
            channels = _channels(view, operand, steps + 1)
            if channels is not None and channels > 1:
                return channels
    return None


@register("grouped_conv_to_depthwise")
def grouped_conv_to_depthwise(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(["Conv2D"]):
        if not is_float32_nhwc(node):
            continue
        weights = view.const_value(node.input[1])
        if weights is None or weights.ndim != 4 or weights.shape[2] != 1:
            continue
        groups = _channels(view, node.input[0])
        if groups is None or groups <= 1 or weights.shape[3] % groups:
            continue
        h, w, _, outputs = weights.shape
        depthwise = view.add_const(f"{node.name}/depthwise_filter", weights.reshape(h, w, groups, outputs // groups))
        view.set_input(node, 1, depthwise.name)
        node.op = "DepthwiseConv2dNative"
        if "use_cudnn_on_gpu" in node.attr:  # a Conv2D attribute DepthwiseConv2dNative does not have
            del node.attr["use_cudnn_on_gpu"]
        count += 1
    return count
