"""Control inputs (`^x`) go, and the NoOps that only ordered others with them.

TF.js has no control edges: it reads `^x` as a data input on x's first output and waits for it.
Inside a lowered (v1) while loop, TensorFlow orders the body after its Switch nodes with such
edges (the `input_control_node` NoOps that stateful bodies, Keras RNNs among them, get), and
makes the outputs wait on a `LoopExecuted` NoOp reading every loop's Exits. A Switch's first
output is the loop's exit branch, dead while the loop runs, so in TF.js the body never runs and
the model fails with "Cannot compute the outputs ... LoopExecuted". A frozen graph has no state
left to order, so the edges carry nothing TF.js needs, with one exception: a node computed from
constants alone, whose control inputs are what places it in its loop iteration or tf.cond
branch. Those keep their control inputs, taken back through NoOps and Consts (which TF.js runs
whatever their inputs) to the nodes that really place them (control_anchors).
"""

from __future__ import annotations

from typing import List, Set

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView
from tensorflowjs.tensor_names import control_input, control_inputs, data_inputs


def pinned_by_control_inputs(view: GraphView, node) -> bool:
    """True for a non-Const node whose data inputs are all Consts (or absent): its control inputs
    decide where and when it runs (a branch of a lowered tf.cond, a loop iteration)."""
    if node.op == "Const":
        return False
    data = data_inputs(node.input)
    return all(getattr(view.producer(t), "op", None) == "Const" for t in data)


def control_anchors(view: GraphView, node) -> List[str]:
    """node's control inputs, each NoOp or Const among them replaced by its own anchors: TF.js
    runs a Const (a weight) and a NoOp of Consts at once, so only other nodes place anything."""
    anchors: List[str] = []
    seen: Set[str] = set()
    stack = control_inputs(reversed(node.input))
    while stack:
        tensor = stack.pop()
        source = view.producer(tensor)
        if source is None or source.name in seen:
            continue
        seen.add(source.name)
        if source.op in ("Const", "NoOp"):
            stack.extend(control_inputs(reversed(source.input)))
        else:
            anchors.append(control_input(source.name))
    return anchors


@register("drop_control_inputs")
def drop_control_inputs(view: GraphView) -> int:
    # Every node's anchors are found before any edge goes: they are traced through other nodes' edges.
    changes = []
    for node in view.live_nodes():
        control = control_inputs(node.input)
        kept = control_anchors(view, node) if control and pinned_by_control_inputs(view, node) else []
        if kept != control:
            changes.append((node, kept))
    for node, kept in changes:
        view.set_control_inputs(node, kept)
    # Removing a NoOp can leave another one unread (NoOps read NoOps), hence the loop.
    while True:
        unread = [n.name for n in view.live_nodes(("NoOp",)) if n.name not in view.keep and not view.consumers(n.name)]
        if not unread:
            return len(changes)
        view.remove(unread)
