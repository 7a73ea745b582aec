"""A constant that a lowered tf.cond's Merge reads is passed through an Identity kept in its branch.

TensorFlow places a branch's constant in the branch with a control input from the branch's
pivot (an Identity of the predicate's Switch), so the constant is dead when the other branch is
taken and the Merge outputs the live branch. TF.js holds every Const as a weight, available from
the start whatever its inputs, and its Merge outputs the first input it finds: a tf.cond with a
constant branch (`tf.cond(p, lambda: x * 2, lambda: tf.constant(0.0))`) always returned the
constant. An Identity of the constant, with control inputs on what placed the constant (its
control_anchors: Grappler may have folded the pivot itself into a Const), runs only when the
branch is live, which TF.js does honour (drop_control_inputs keeps such control inputs).
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.rewrites.drop_control_inputs import control_anchors
from tensorflowjs.graph.graph_view import GraphView, type_attr
from tensorflowjs.tensor_names import is_control


@register("place_branch_constants")
def place_branch_constants(view: GraphView) -> int:
    count = 0
    for merge in view.live_nodes(("Merge",)):
        for index, tensor in enumerate(list(merge.input)):
            source = view.producer(tensor)
            if is_control(tensor) or source is None or source.op != "Const":
                continue
            control = control_anchors(view, source)
            if not control:
                continue
            placed = view.add_node(view.unique_name(f"{source.name}/placed"), "Identity", [source.name, *control],
                                   {"T": type_attr(source.attr["dtype"].type)})
            view.set_input(merge, index, placed.name)
            count += 1
    return count
