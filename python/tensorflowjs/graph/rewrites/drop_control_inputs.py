"""Control inputs (`^x`) go, and the NoOps that only ordered others with them.

TF.js has no control edges: it reads `^x` as a data input on x's first output and waits for it.
Inside a lowered (v1) while loop, TensorFlow orders the body after its Switch nodes with such
edges (the `input_control_node` NoOps that stateful bodies, Keras RNNs among them, get), and
makes the outputs wait on a `LoopExecuted` NoOp reading every loop's Exits. A Switch's first
output is the loop's exit branch, dead while the loop runs, so in TF.js the body never runs and
the model fails with "Cannot compute the outputs ... LoopExecuted". A frozen graph has no state
left to order, so the edges carry nothing TF.js needs, with one exception kept: a node computed
from constants alone, whose control inputs are what places it in its loop frame (per iteration).
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites import register
from tensorflowjs.graph.rewrites.graph_view import GraphView


def _pinned_by_control_inputs(view: GraphView, node) -> bool:
    """True for a non-Const node whose data inputs are all Consts (or absent)."""
    if node.op == "Const":
        return False
    data = [t for t in node.input if not t.startswith("^")]
    return all(getattr(view.producer(t), "op", None) == "Const" for t in data)


@register("drop_control_inputs")
def drop_control_inputs(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes():
        control = [t for t in node.input if t.startswith("^")]
        if control and not _pinned_by_control_inputs(view, node):
            view.remove_inputs(node, control)
            count += 1
    # Removing a NoOp can leave another one unread (NoOps read NoOps), hence the loop.
    while True:
        unread = [n.name for n in view.live_nodes(("NoOp",)) if n.name not in view.keep and not view.consumers(n.name)]
        if not unread:
            return count
        view.remove(unread)
