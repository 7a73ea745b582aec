"""Take apart every fused conv/matmul that TF.js's CPU or WASM backend would not run as written.

The final say on fusions, whoever made them (the rules before it, or a graph that came in
already fused by TF's remapper, e.g. a frozen graph optimised for serving): see fusion.py for
what TF.js 4.22 accepts. A constant bias of shape (1, 1, 1, C) is reshaped to (C,) rather than
un-fused; anything else outside the accepted set (a residual Add fused as a second argument, a
batch norm, tanh, a non-rank-1 bias, ...) is rebuilt as the plain ops it stands for, each of
which both backends run; the conv + bias part is then fused again by the rules that follow.
"""

from __future__ import annotations

from tensorflowjs.errors import ConversionError
from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.fusion import KINDS, fused_channels, prelu_alpha_ok
from tensorflowjs.graph.graph_view import (
    GraphView,
    attr,
    bool_attr,
    float_attr,
    string_attr,
    type_attr,
)
from tensorflowjs.graph.linear import const_shape, is_float32_nhwc
from tensorflowjs.tensor_names import data_inputs

# fused_ops element -> (plain op, number of extra args it reads).
_ELEMENTS = {
    "BiasAdd": ("BiasAdd", 1),
    "Add": ("AddV2", 1),
    "AddV2": ("AddV2", 1),
    "FusedBatchNorm": ("FusedBatchNormV3", 4),
    "Relu": ("Relu", 0),
    "Relu6": ("Relu6", 0),
    "Elu": ("Elu", 0),
    "Sigmoid": ("Sigmoid", 0),
    "Tanh": ("Tanh", 0),
    "LeakyRelu": ("LeakyRelu", 0),
    "Prelu": ("Prelu", 1),
}


@register("unfuse_unsupported")
def unfuse_unsupported(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(KINDS):
        _reshape_bias(view, node)
        if not _accepted(view, node):
            _unfuse(view, node)
            count += 1
    return count


def _reshape_bias(view: GraphView, node) -> None:
    """A constant bias of shape (1, ..., 1, C) becomes (C,): the same numbers, as WASM wants."""
    inputs = data_inputs(node.input)
    fused_ops = [s.decode() for s in attr(node, "fused_ops").list.s]
    if len(inputs) < 3 or not fused_ops or fused_ops[0] != "BiasAdd":
        return
    value = view.const_value(inputs[2])
    channels = fused_channels(view, node)
    if value is None or value.ndim == 1 or channels is None or value.size != channels:
        return
    if value.shape[-1] != channels:
        return
    const = view.add_const(f"{node.name}/bias", value.reshape(channels))
    view.set_input(node, list(node.input).index(inputs[2]), const.name)


def _accepted(view: GraphView, node) -> bool:
    kind = KINDS[node.op]
    fused_ops = [s.decode() for s in attr(node, "fused_ops").list.s]
    inputs = data_inputs(node.input)
    if not is_float32_nhwc(node) or not fused_ops or fused_ops[0] != "BiasAdd" or len(fused_ops) > 2:
        return False
    activation = fused_ops[1] if len(fused_ops) == 2 else None
    if activation is not None and activation not in kind.activations:
        return False
    num_args = 2 if activation == "Prelu" else 1
    if attr(node, "num_args").i != num_args or len(inputs) != 2 + num_args:
        return False
    bias_shape = const_shape(view, inputs[2])
    channels = fused_channels(view, node)
    if bias_shape is None or channels is None or bias_shape != (channels,):
        return False
    return activation != "Prelu" or prelu_alpha_ok(view, inputs[3], channels)


def _unfuse(view: GraphView, node) -> None:
    """Rebuild node as base op -> one plain op per fused_ops element, the last one named like node."""
    kind = KINDS[node.op]
    fused_ops = [s.decode() for s in attr(node, "fused_ops").list.s]
    unknown = [op for op in fused_ops if op not in _ELEMENTS]
    if unknown:
        raise ConversionError(
            f"node '{node.name}' is a {node.op} fused with {', '.join(unknown)}, which TensorFlow.js cannot run "
            f"and this converter cannot take apart; convert the model before Grappler's remapper fuses it"
        )
    inputs = data_inputs(node.input)
    name = node.name
    dtype = type_attr(attr(node, "T").type)  # outlives the node, which is removed
    base_attrs = {key: node.attr[key] for key in kind.base_attrs if key in node.attr}
    previous = view.unique_name(f"{name}/{kind.base_op}")
    view.add_node(previous, kind.base_op, inputs[:2], base_attrs)
    args = inputs[2:]
    for index, element in enumerate(fused_ops):
        op, arity = _ELEMENTS[element]
        step_args, args = args[:arity], args[arity:]
        attrs = {"T": dtype}
        if op == "BiasAdd":
            bias_shape = const_shape(view, step_args[0])
            if bias_shape is None or len(bias_shape) != 1:
                op = "AddV2"
            else:
                attrs["data_format"] = string_attr("NHWC")
        if op == "FusedBatchNormV3":
            attrs.update(U=dtype, is_training=bool_attr(False), epsilon=float_attr(attr(node, "epsilon").f), data_format=string_attr("NHWC"))
        if op == "LeakyRelu":
            attrs["alpha"] = float_attr(attr(node, "leakyrelu_alpha").f)
        step = view.unique_name(f"{name}/{element}_{index}")
        view.add_node(step, op, [previous] + step_args, attrs)
        previous = step
    view.remove([name])
    view.rename(view.nodes[previous], name)
