"""What TF.js 4.22 runs as a fused conv/matmul on BOTH its CPU and WASM backends.

From tfjs-converter's executors and tfjs-backend-wasm's kernels: fused_ops is [BiasAdd] or
[BiasAdd, activation] (the executor takes fused_ops[0] as "the extra op" and fused_ops[1] as
the activation, so an activation without BiasAdd would be dropped); num_args is 1, or 2 with
Prelu (bias, alpha); the WASM kernels reject a bias that is not rank 1 with one value per
output channel; the activations are those in WASM's FusableActivation enum. The depthwise op
has no leakyrelu_alpha attribute in TF.js's op list, so LeakyRelu is not fused into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Optional

from tensorflowjs.graph.graph_view import GraphView, attr, float_attr, int_attr, strings_attr, types_attr
from tensorflowjs.graph.linear import DT_FLOAT, channels_of, const_shape, is_float32_nhwc
from tensorflowjs.tensor_names import tensor_name

ACTIVATIONS = frozenset({"Relu", "Relu6", "Elu", "Sigmoid", "LeakyRelu", "Prelu"})


@dataclass(frozen=True)
class FusedKind:
    base_op: str
    fused_op: str
    activations: FrozenSet[str]
    base_attrs: tuple


CONV2D = FusedKind("Conv2D", "_FusedConv2D", ACTIVATIONS,
                   ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"))
MATMUL = FusedKind("MatMul", "_FusedMatMul", ACTIVATIONS, ("T", "transpose_a", "transpose_b"))
DEPTHWISE = FusedKind("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative", ACTIVATIONS - {"LeakyRelu"},
                      ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"))
KINDS = {kind.fused_op: kind for kind in (CONV2D, MATMUL, DEPTHWISE)}
BY_BASE = {kind.base_op: kind for kind in (CONV2D, MATMUL, DEPTHWISE)}


def prelu_alpha_ok(view: GraphView, alpha_tensor: str, channels: Optional[int]) -> bool:
    """Fused prelu weights must be one value per output channel (all leading dims 1)."""
    shape = const_shape(view, alpha_tensor)
    return (
        shape is not None and channels is not None and len(shape) >= 1
        and shape[-1] == channels and all(d == 1 for d in shape[:-1])
    )


def fused_channels(view: GraphView, node) -> Optional[int]:
    """Output channels of a fused or base conv/matmul, from its constant weights."""
    op = KINDS[node.op].base_op if node.op in KINDS else node.op
    return channels_of(op, const_shape(view, node.input[1]), attr(node, "transpose_b").b)


def make_fused(view: GraphView, kind: FusedKind, name: str, base, bias: str, activation=None) -> None:
    """Add `name` = kind.fused_op(base's inputs, bias[, alpha]) with base's attributes."""
    fused_ops = ["BiasAdd"]
    args = [bias]
    attrs = {key: base.attr[key] for key in kind.base_attrs if key in base.attr}
    if activation is not None:
        fused_ops.append(activation.op)
        if activation.op == "Prelu":
            args.append(activation.input[1])
        if activation.op == "LeakyRelu":
            attrs["leakyrelu_alpha"] = float_attr(attr(activation, "alpha").f)
    attrs["fused_ops"] = strings_attr(fused_ops)
    attrs["num_args"] = int_attr(len(args))
    if kind is not DEPTHWISE:
        attrs["epsilon"] = float_attr(0.0001)
    if kind is CONV2D:
        # TF's own _FusedConv2D definition needs the arg types; TF.js ignores them.
        attrs["TArgs"] = types_attr([attr(base, "T").type] * len(args))
    copied = {}
    for key, value in attrs.items():
        copied[key] = type(value)()
        copied[key].CopyFrom(value)
    view.add_node(name, kind.fused_op, [base.input[0], base.input[1]] + args, copied)


def is_base(view: GraphView, node) -> bool:
    return node.op in BY_BASE and is_float32_nhwc(node) and const_shape(view, node.input[1]) is not None


def activation_after(view: GraphView, node, kind: FusedKind, channels: Optional[int], any_prelu_alpha: bool = False):
    """The activation reading only `node`, if kind may fuse it into an op with `channels` outputs
    (a Prelu only with one alpha per channel, unless any_prelu_alpha: see fuse_prelu.py)."""
    activation = view.sole_consumer(node, kind.activations)
    if activation is None or activation.input[0] != node.name and activation.input[0] != tensor_name(node.name):
        return None
    if attr(activation, "T").type != DT_FLOAT:
        return None
    if activation.op == "Prelu" and not any_prelu_alpha and not prelu_alpha_ok(view, activation.input[1], channels):
        return None
    return activation


def fuse_bias_activation(view: GraphView, kind: FusedKind, any_prelu_alpha: bool = False) -> int:
    """base -> BiasAdd [-> activation] and fused[BiasAdd] -> activation become one fused node."""
    count = 0
    for node in view.live_nodes():
        if node.op == kind.fused_op and list(attr(node, "fused_ops").list.s) == [b"BiasAdd"]:
            activation = activation_after(view, node, kind, fused_channels(view, node), any_prelu_alpha)
            if activation is not None:
                _replace(view, kind, node, node.input[2], [node, activation], activation)
                count += 1
        elif node.op == kind.base_op and is_base(view, node):
            bias_add = view.sole_consumer(node, ("BiasAdd",))
            if bias_add is None or bias_add.input[0] not in (node.name, tensor_name(node.name)) or not is_float32_nhwc(bias_add):
                continue
            activation = activation_after(view, bias_add, kind, fused_channels(view, node), any_prelu_alpha)
            chain = [node, bias_add] + ([activation] if activation is not None else [])
            _replace(view, kind, node, bias_add.input[1], chain, activation)
            count += 1
    return count


def _replace(view: GraphView, kind: FusedKind, base, bias: str, chain, activation) -> None:
    """Build the fused node beside the chain, drop the chain, give the fused node its last name."""
    name = chain[-1].name
    temporary = view.unique_name(f"{name}/fused")
    make_fused(view, kind, temporary, base, bias, activation)
    fused = view.nodes[temporary]
    view.remove([node.name for node in chain])
    view.rename(fused, name)
