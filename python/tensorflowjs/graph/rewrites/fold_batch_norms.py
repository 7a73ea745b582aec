"""Fold inference-mode batch norm into the weights of the conv or matmul before it.

Two forms: the batch norm ops (FusedBatchNorm/V2/V3 with is_training=false, and TF1's
BatchNormWithGlobalNormalization, which TF.js does not run), and the Mul (then Add) form Keras 3
and Grappler's constant folding leave behind. Weights are scaled per output channel in float64;
the shift becomes a BiasAdd (merged with an existing one) that later fuses into the conv.

The converter folds NHWC graphs only: TF.js's BiasAdd ignores data_format, so a folded NCHW conv
would compute wrong there. `fold_batch_norms_any_layout` also folds NCHW convs (into an NCHW
BiasAdd), for the public fold_batch_norms API, whose callers run the graph in TensorFlow.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr, string_attr
from tensorflowjs.graph.linear import (
    DT_FLOAT,
    LINEAR_OPS,
    channel_vector,
    const_shape,
    output_channels,
    output_rank,
    scale_weights,
)
from tensorflowjs.tensor_names import is_control, output_index


class _BatchNorm(NamedTuple):
    """Where a batch norm op keeps its operands."""

    gamma: int
    beta: int
    mean: int
    variance: int
    epsilon: str


_FUSED = _BatchNorm(gamma=1, beta=2, mean=3, variance=4, epsilon="epsilon")
_BATCH_NORMS = {
    "FusedBatchNorm": _FUSED,
    "FusedBatchNormV2": _FUSED,
    "FusedBatchNormV3": _FUSED,
    "BatchNormWithGlobalNormalization": _BatchNorm(gamma=4, beta=3, mean=1, variance=2, epsilon="variance_epsilon"),
}
_NHWC = (b"NHWC",)


def _layout(node) -> Optional[bytes]:
    """The data format of a float32 node (NHWC when it has none), None for other dtypes."""
    if attr(node, "T").type != DT_FLOAT:
        return None
    return attr(node, "data_format").s or b"NHWC"


@register("fold_batch_norms")
def fold_batch_norms(view: GraphView) -> int:
    return _fold_all(view, _NHWC)


@register("fold_batch_norms_any_layout")
def fold_batch_norms_any_layout(view: GraphView) -> int:
    return _fold_all(view, (b"NHWC", b"NCHW"))


def _fold_all(view: GraphView, layouts: Sequence[bytes]) -> int:
    count = 0
    for node in view.live_nodes():
        if node.op in _BATCH_NORMS:
            count += _fold_batch_norm(view, node, layouts)
        elif node.op == "Mul":
            count += _fold_mul(view, node)
    return count


def _linear_chain(view: GraphView, tensor: str, owner, layout: bytes = b"NHWC") -> Optional[Tuple[object, object]]:
    """(linear op, BiasAdd or None) in `layout` producing `tensor`, both read only by `owner`."""
    if output_index(tensor) != 0 or is_control(tensor):
        return None
    node = view.producer(tensor)
    if node is None or view.sole_consumer(node) is not owner:
        return None
    bias_add = None
    if node.op == "BiasAdd":
        if _layout(node) != layout or view.const_value(node.input[1]) is None:
            return None
        bias_add, node = node, view.producer(node.input[0])
        if node is None or output_index(bias_add.input[0]) != 0 or view.sole_consumer(node) is not bias_add:
            return None
    if node.op not in LINEAR_OPS or _layout(node) != layout or const_shape(view, node.input[1]) is None or node.name in view.keep:
        return None
    return node, bias_add


def _fold(view: GraphView, tail, linear, bias_add, scale: np.ndarray, shift: Optional[np.ndarray],
          layout: bytes = b"NHWC") -> None:
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
                  {"T": attr(linear, "T"), "data_format": string_attr(layout.decode())})


def _fold_batch_norm(view: GraphView, node, layouts: Sequence[bytes]) -> int:
    layout = _layout(node)
    if attr(node, "is_training").b or layout not in layouts or not view.only_output_zero_used(node):
        return 0
    operands = _BATCH_NORMS[node.op]
    params = [view.const_value(node.input[i]) for i in (operands.gamma, operands.beta, operands.mean, operands.variance)]
    if any(p is None or p.ndim != 1 for p in params):
        return 0
    chain = _linear_chain(view, node.input[0], node, layout)
    if chain is None:
        return 0
    linear, bias_add = chain
    if not all(p.size == output_channels(view, linear) for p in params):
        return 0
    # variance + epsilon rounded to float32 first, as TensorFlow's kernels compute it.
    variance = (params[3] + np.float32(attr(node, operands.epsilon).f)).astype(np.float32)
    gamma, beta, mean = (p.astype(np.float64) for p in params[:3])
    scale = 1.0 / np.sqrt(variance.astype(np.float64))
    if node.op != "BatchNormWithGlobalNormalization" or attr(node, "scale_after_normalization").b:
        scale = scale * gamma
    _fold(view, node, linear, bias_add, scale, beta - mean * scale, layout)
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
