"""Relu(x) + (-alpha) * Relu(-x), Keras's PReLU as Grappler leaves it, becomes Prelu(x, alpha).

Also matched: Relu(x) - alpha * Relu(-x), either operand order. Prelu is a TF.js-only op, so this
runs after every Grappler pass. It is emitted only where TF.js's WASM kernel computes it right: that
kernel reads alpha at (flat element index) modulo (alpha's size), which is correct only when
alpha's shape, leading 1s dropped, has no broadcast (size-1) axis left, e.g. (C,) or (H, W, C)
but not (H, 1, C); other PReLUs keep their Relu/Neg/Mul form, which both backends run.

The public fuse_prelu API makes a Prelu of every PReLU and fuses it into any fused conv/matmul
before it, whatever alpha's shape (TF.js's CPU backend broadcasts alpha): the `_any_alpha`
rewrites, which the converter does not run.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.fusion import KINDS, fuse_bias_activation
from tensorflowjs.graph.graph_view import GraphView, attr
from tensorflowjs.tensor_names import node_name
from tensorflowjs.graph.linear import DT_FLOAT


@register("fuse_prelu")
def fuse_prelu(view: GraphView) -> int:
    return _fuse_all(view, _wasm_safe)


@register("fuse_prelu_any_alpha")
def fuse_prelu_any_alpha(view: GraphView) -> int:
    return _fuse_all(view, lambda alpha: alpha.astype(np.float32))


@register("fuse_prelu_into_fused_any_alpha")
def fuse_prelu_into_fused_any_alpha(view: GraphView) -> int:
    return sum(fuse_bias_activation(view, kind, any_prelu_alpha=True) for kind in KINDS.values())


def _fuse_all(view: GraphView, alpha_for: Callable[[np.ndarray], Optional[np.ndarray]]) -> int:
    count = 0
    for node in view.live_nodes(["Add", "AddV2", "Sub"]):
        if attr(node, "T").type == DT_FLOAT:
            count += _rewrite(view, node, alpha_for)
    return count


def _rewrite(view: GraphView, node, alpha_for: Callable[[np.ndarray], Optional[np.ndarray]]) -> int:
    pairs = [(node.input[0], node.input[1], 1.0)]
    if node.op == "Sub":
        pairs = [(node.input[0], node.input[1], -1.0)]
    else:
        pairs.append((node.input[1], node.input[0], 1.0))
    for positive, negative, sign in pairs:
        relu = view.producer(positive)
        mul = view.producer(negative)
        if relu is None or mul is None or relu.op != "Relu" or mul.op != "Mul":
            continue
        matched = _negative_part(view, mul, relu.input[0])
        if matched is None:
            continue
        factor, chain = matched
        alpha = alpha_for(-sign * factor)
        if alpha is None or any(view.sole_consumer(n) is None for n in [relu, mul] + chain):
            continue
        name, x = node.name, relu.input[0]
        alpha_const = view.add_const(f"{name}/alpha", alpha)
        temporary = view.unique_name(f"{name}/prelu")
        view.add_node(temporary, "Prelu", [x, alpha_const.name], {"T": attr(node, "T")})
        prelu = view.nodes[temporary]
        view.remove([node.name, relu.name, mul.name] + [n.name for n in chain])
        view.rename(prelu, name)
        return 1
    return 0


def _negative_part(view: GraphView, mul, x: str):
    """(factor, [Relu, Neg]) when mul = factor * Relu(Neg(x)) with a constant factor."""
    for const_input, data_input in ((mul.input[0], mul.input[1]), (mul.input[1], mul.input[0])):
        factor = view.const_value(const_input)
        inner_relu = view.producer(data_input)
        if factor is None or factor.dtype != np.float32 or inner_relu is None or inner_relu.op != "Relu":
            continue
        neg = view.producer(inner_relu.input[0])
        if neg is None or neg.op != "Neg" or node_name(neg.input[0]) != node_name(x) or neg.input[0] != x:
            continue
        return factor, [inner_relu, neg]
    return None


def _wasm_safe(alpha: np.ndarray) -> Optional[np.ndarray]:
    shape = list(alpha.shape)
    while shape and shape[0] == 1:
        shape.pop(0)
    if alpha.size > 1 and 1 in shape:
        return None
    return alpha.reshape(shape).astype(np.float32)
