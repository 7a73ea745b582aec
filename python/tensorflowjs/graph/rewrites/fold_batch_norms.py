"""Fold inference-mode batch norm into the weights of the conv or matmul before it.

Two forms: FusedBatchNorm/V2/V3 with is_training=false, and the Mul (then Add) form Keras 3 and
Grappler's constant folding leave behind. Weights are scaled per output channel in float64; the
shift becomes a BiasAdd (merged with an existing one) that later fuses into the conv.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from tensorflowjs.graph.rewrites import register
from tensorflowjs.graph.rewrites.graph_view import GraphView, attr, output_index, string_attr
from tensorflowjs.graph.rewrites.linear import (
    channel_vector,
    is_float32_nhwc,
    is_linear,
    output_channels,
    output_rank,
    scale_weights,
)

_FUSED_BATCH_NORMS = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")


@register("fold_batch_norms")
def fold_batch_norms(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes():
        if node.op in _FUSED_BATCH_NORMS:
            count += _fold_fused_batch_norm(view, node)
        elif node.op == "Mul":
            count += _fold_mul(view, node)
    return count


def _linear_chain(view: GraphView, tensor: str, owner) -> Optional[Tuple[object, object]]:
    """(linear op, BiasAdd or None) producing `tensor`, both read only by `owner`."""
    if output_index(tensor) != 0 or tensor.startswith("^"):
        return None
    node = view.producer(tensor)
    if node is None or view.sole_consumer(node) is not owner:
        return None
    bias_add = None
    if node.op == "BiasAdd":
        if not is_float32_nhwc(node) or view.const_value(node.input[1]) is None:
            return None
        bias_add, node = node, view.producer(node.input[0])
        if node is None or output_index(bias_add.input[0]) != 0 or view.sole_consumer(node) is not bias_add:
            return None
    if not is_linear(view, node) or node.name in view.keep:
        return None
    return node, bias_add


def _fold(view: GraphView, tail, linear, bias_add, scale: np.ndarray, shift: Optional[np.ndarray]) -> None:
    """Scale linear's weights; replace tail (and the old BiasAdd) by one BiasAdd named like tail."""
    weights = view.add_const(f"{linear.name}/folded_weights", scale_weights(view, linear, scale))
    view.set_input(linear, 1, weights.name)
    bias = np.zeros_like(scale, dtype=np.float64)
    if bias_add is not None:
        bias = view.const_value(bias_add.input[1]).astype(np.float64) * scale
    if shift is not None:
        bias = bias + shift
    name = tail.name
    view.remove([tail.name] + ([bias_add.name] if bias_add is not None else []))
    if bias_add is None and shift is None:
        view.rename(linear, name)
        return
    bias_const = view.add_const(f"{name}/folded_bias", bias.astype(np.float32))
    view.add_node(name, "BiasAdd", [linear.name, bias_const.name],
                  {"T": attr(linear, "T"), "data_format": string_attr("NHWC")})


def _fold_fused_batch_norm(view: GraphView, node) -> int:
    if attr(node, "is_training").b or not is_float32_nhwc(node) or not view.only_output_zero_used(node):
        return 0
    params = [view.const_value(t) for t in node.input[1:5]]
    if any(p is None or p.ndim != 1 for p in params):
        return 0
    chain = _linear_chain(view, node.input[0], node)
    if chain is None:
        return 0
    linear, bias_add = chain
    gamma, beta, mean, variance = (p.astype(np.float64) for p in params)
    if not (gamma.size == beta.size == mean.size == variance.size == output_channels(view, linear)):
        return 0
    scale = gamma / np.sqrt(variance + attr(node, "epsilon").f)
    _fold(view, node, linear, bias_add, scale, beta - mean * scale)
    return 1


def _fold_mul(view: GraphView, node) -> int:
    for data, other in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
        value = view.const_value(other)
        if value is None:
            continue
        chain = _linear_chain(view, data, node)
        if chain is None:
            continue
        linear, bias_add = chain
        scale = channel_vector(value, output_channels(view, linear), output_rank(view, linear))
        if scale is None:
            continue
        _fold(view, node, linear, bias_add, scale, None)
        return 1
    return 0
