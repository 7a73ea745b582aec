"""x * 1, 1 * x, x + 0, 0 + x, x - 0 and x / 1 by a scalar constant become x.

Keras 3 writes swish as x * sigmoid(beta * x) with beta a constant 1.0, so an EfficientNet
would multiply every activation map by one 49 times in TF.js. Grappler's arithmetic optimizer
removes these on TensorFlow's path; this does it on the path without TensorFlow. Only a scalar
operand of x's dtype qualifies: anything else could broadcast x to a bigger shape.
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr
from tensorflowjs.tensor_names import node_name

# op -> (neutral value, positions of x it holds for: 0 when x may be either operand).
_NEUTRAL = {"Mul": (1, (0, 1)), "Add": (0, (0, 1)), "AddV2": (0, (0, 1)), "Sub": (0, (0,)), "RealDiv": (1, (0,)), "Div": (1, (0,))}


@register("remove_neutral_ops")
def remove_neutral_ops(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(_NEUTRAL):
        if len(node.input) != 2:
            continue
        neutral, positions = _NEUTRAL[node.op]
        for x_index in positions:
            value = view.const_value(node.input[1 - x_index])
            if value is None or value.shape != () or value != neutral:
                continue
            if value.dtype.kind not in "fiuc" or attr(node, "T").type != view.nodes[node_name(node.input[1 - x_index])].attr["dtype"].type:
                continue
            if view.bypass(node, node.input[x_index]):
                count += 1
            break
    return count
