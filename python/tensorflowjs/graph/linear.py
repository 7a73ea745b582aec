"""Conv2D, DepthwiseConv2dNative and MatMul with constant weights: output channels, per-channel scaling.

Batch-norm folding and bias fusion both need to know how many output channels such an op has
and which filter entries feed each channel.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tensorflowjs.graph.graph_view import GraphView, attr
from tensorflowjs.tensor_names import is_control, output_index

LINEAR_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")
_OUTPUT_RANK = {"Conv2D": 4, "DepthwiseConv2dNative": 4, "MatMul": 2}
_WEIGHTS_RANK = {"Conv2D": 4, "DepthwiseConv2dNative": 4, "MatMul": 2}
DT_FLOAT = 1


def is_float32_nhwc(node) -> bool:
    if attr(node, "T").type != DT_FLOAT:
        return False
    return "data_format" not in node.attr or attr(node, "data_format").s in (b"", b"NHWC")


def const_shape(view: GraphView, tensor: str) -> Optional[tuple]:
    """Shape of a Const input, read from its proto without decoding the data."""
    node = view.producer(tensor)
    if node is None or node.op != "Const" or output_index(tensor) != 0 or is_control(tensor):
        return None
    return tuple(d.size for d in attr(node, "value").tensor.tensor_shape.dim)


def is_linear(view: GraphView, node) -> bool:
    """A conv or matmul in NHWC float32 whose weights are a constant."""
    return node.op in LINEAR_OPS and is_float32_nhwc(node) and const_shape(view, node.input[1]) is not None


def output_channels(view: GraphView, node) -> Optional[int]:
    """Size of the last output dimension of a linear op or of a BiasAdd with a constant bias."""
    if node.op == "BiasAdd":
        shape = const_shape(view, node.input[1])
        return shape[0] if shape is not None and len(shape) == 1 else None
    return channels_of(node.op, const_shape(view, node.input[1]), attr(node, "transpose_b").b)


def channels_of(op: str, weights_shape: Optional[tuple], transpose_b: bool = False) -> Optional[int]:
    """Output channels of a linear op (by its base op name) with weights of this shape."""
    if op not in _WEIGHTS_RANK or weights_shape is None or len(weights_shape) != _WEIGHTS_RANK[op]:
        return None
    if op == "Conv2D":
        return weights_shape[3]
    if op == "DepthwiseConv2dNative":
        return weights_shape[2] * weights_shape[3]
    return weights_shape[0] if transpose_b else weights_shape[1]


def output_rank(view: GraphView, node) -> Optional[int]:
    if node.op == "BiasAdd":
        inner = view.producer(node.input[0])
        return output_rank(view, inner) if inner is not None else None
    return _OUTPUT_RANK.get(node.op)


def channel_vector(value: np.ndarray, channels: int, rank: Optional[int]) -> Optional[np.ndarray]:
    """`value` as one number per output channel, if adding or multiplying by it means exactly that.

    It must broadcast along the last axis only (shape (C,), (1, C), (1, 1, 1, C), or a scalar)
    and must not raise the rank of the tensor it is applied to.
    """
    if value.dtype != np.float32 or (rank is None and value.ndim > 1) or (rank is not None and value.ndim > rank):
        return None
    if value.size == 1:
        return np.full(channels, value.reshape(()), dtype=np.float32)
    if value.ndim == 0 or value.shape[-1] != channels or any(d != 1 for d in value.shape[:-1]):
        return None
    return value.reshape(channels)


def scale_weights(view: GraphView, node, scale: np.ndarray) -> np.ndarray:
    """The node's weights multiplied per output channel by `scale` (computed in float64)."""
    weights = view.const_value(node.input[1]).astype(np.float64)
    scale = scale.astype(np.float64)
    if node.op == "DepthwiseConv2dNative":
        scaled = weights * scale.reshape(weights.shape[2], weights.shape[3])
    elif node.op == "MatMul" and attr(node, "transpose_b").b:
        scaled = weights * scale[:, None]
    else:
        scaled = weights * scale
    return scaled.astype(np.float32)
