"""(x + c1) + c2 -> x + (c1 + c2), and the same for Mul: one op and one constant instead of two.

Grappler's arithmetic optimizer does this on TensorFlow's path; this does it on the path without
TensorFlow. The inner op must have no other reader and both constants x's dtype; the combined
constant is their broadcast, so the result keeps its shape (broadcasting is associative).
"""

from __future__ import annotations

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView
from tensorflowjs.tensor_names import is_control

_ADD = ("Add", "AddV2")
_COMBINE = {"Add": np.add, "AddV2": np.add, "Mul": np.multiply}


@register("combine_constant_operands")
def combine_constant_operands(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(_COMBINE):
        count += _combine(view, node)
    return count


def _split(view: GraphView, node):
    """(the non-constant operand, the constant value) of a binary op with one constant, or None."""
    if len(node.input) != 2 or any(is_control(t) for t in node.input):
        return None
    for x_index in (0, 1):
        value = view.const_value(node.input[1 - x_index])
        if value is not None and view.const_value(node.input[x_index]) is None:
            return node.input[x_index], value
    return None


def _combine(view: GraphView, node) -> int:
    outer = _split(view, node)
    if outer is None:
        return 0
    inner_node = view.producer(outer[0])
    same_kind = inner_node is not None and (inner_node.op == node.op or (inner_node.op in _ADD and node.op in _ADD))
    if not same_kind or view.sole_consumer(inner_node) is not node:
        return 0
    inner = _split(view, inner_node)
    if inner is None or inner[1].dtype != outer[1].dtype or inner[1].dtype.kind not in "fc":
        return 0
    combined = _COMBINE[node.op](inner[1], outer[1]).astype(inner[1].dtype)
    constant = view.add_const(f"{node.name}/combined", combined)
    view.set_input(node, 0, inner[0])
    view.set_input(node, 1, constant.name)
    view.remove([inner_node.name])
    return 1
