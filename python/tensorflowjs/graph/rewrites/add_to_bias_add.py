"""Add/AddV2 of a per-channel constant after a conv or matmul becomes BiasAdd (merged when stacked).

Only when the constant really is a bias: one value per output channel, broadcasting along the
last axis alone. A residual Add of two activation maps stays an Add, whatever its shapes.
"""

from __future__ import annotations

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr, string_attr, type_attr
from tensorflowjs.graph.linear import (
    DT_FLOAT,
    channel_vector,
    is_float32_nhwc,
    is_linear,
    output_channels,
    output_rank,
)
from tensorflowjs.tensor_names import is_control, output_index


@register("add_to_bias_add")
def add_to_bias_add(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(["Add", "AddV2"]):
        if attr(node, "T").type == DT_FLOAT:
            count += _rewrite(view, node)
    return count


def _rewrite(view: GraphView, node) -> int:
    for data, other in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
        value = view.const_value(other)
        producer = view.producer(data)
        if value is None or producer is None or output_index(data) != 0 or is_control(data):
            continue
        if not (is_linear(view, producer) or (producer.op == "BiasAdd" and is_float32_nhwc(producer))):
            continue
        channels = output_channels(view, producer)
        bias = channel_vector(value, channels, output_rank(view, producer)) if channels else None
        if bias is None:
            continue
        name, source = node.name, data
        doomed = [node.name]
        if producer.op == "BiasAdd" and view.sole_consumer(producer) is node:
            bias = bias + view.const_value(producer.input[1])
            source = producer.input[0]
            doomed.append(producer.name)
        dtype_attr = type_attr(attr(node, "T").type)  # outlives the node, which is removed
        view.remove(doomed)
        bias_const = view.add_const(f"{name}/bias", bias.astype(np.float32))
        view.add_node(name, "BiasAdd", [source, bias_const.name], {"T": dtype_attr, "data_format": string_attr("NHWC")})
        return 1
    return 0
