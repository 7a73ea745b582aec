"""A loop-invariant Enter (is_constant set) of a constant goes: its readers read the constant.

TF.js computes a node in a loop again each iteration only when one of its inputs comes from
that iteration; a node reading nothing but such an Enter and constants is computed once, in the
first iteration, and the second iteration waits for it forever ("Cannot compute the outputs").
A constant is a weight, which TF.js reads from every frame, so reading it directly is right in
every iteration, and lets the folding evaluate what the loop computes from constants (as
Grappler's folding does on TensorFlow's path).
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr


@register("bypass_constant_enters")
def bypass_constant_enters(view: GraphView) -> int:
    count = 0
    progress = True
    while progress:  # an inner loop's Enter of an outer loop's Enter of a constant: outer first
        progress = False
        for node in view.live_nodes(("Enter",)):
            source = view.producer(node.input[0]) if node.input else None
            if attr(node, "is_constant").b and source is not None and source.op == "Const" and view.bypass(node, node.input[0]):
                count += 1
                progress = True
    return count
