"""DepthwiseConv2dNative + BiasAdd (+ activation) -> FusedDepthwiseConv2dNative, a TF.js-only op.

TensorFlow has no such op, so this runs last, after every Grappler pass; TF.js runs it as one
fused depthwise kernel with fused_ops [BiasAdd, activation].

The public fuse_depthwise_conv2d API also fuses an activation straight after the conv, without a
bias, as fused_ops [NoOp, activation]: `fuse_depthwise_with_bare_activation`, which the converter
does not run (its depthwise convs have a bias once batch norms are folded).
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.fusion import DEPTHWISE, activation_after, fuse_bias_activation, fused_channels, is_base
from tensorflowjs.graph.graph_view import GraphView, int_attr, strings_attr

# The activations the public API fuses without a bias.
_BARE_ACTIVATIONS = ("Relu", "Relu6", "Elu")


@register("fuse_depthwise")
def fuse_depthwise(view: GraphView) -> int:
    return fuse_bias_activation(view, DEPTHWISE)


@register("fuse_depthwise_with_bare_activation")
def fuse_depthwise_with_bare_activation(view: GraphView) -> int:
    count = fuse_bias_activation(view, DEPTHWISE)
    for node in view.live_nodes([DEPTHWISE.base_op]):
        if not is_base(view, node):
            continue
        activation = activation_after(view, node, DEPTHWISE, fused_channels(view, node))
        if activation is None or activation.op not in _BARE_ACTIVATIONS:
            continue
        attrs = {key: node.attr[key] for key in DEPTHWISE.base_attrs if key in node.attr}
        attrs["fused_ops"] = strings_attr(["NoOp", activation.op])
        attrs["num_args"] = int_attr(0)
        name = activation.name
        fused = view.add_node(view.unique_name(f"{name}/fused"), DEPTHWISE.fused_op, [node.input[0], node.input[1]], attrs)
        view.remove([node.name, activation.name])
        view.rename(fused, name)
        count += 1
    return count
