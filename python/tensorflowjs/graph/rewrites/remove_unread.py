"""Nodes nothing reads, and that are not the model's inputs or outputs, go.

Unrolling a loop (unroll_loops) copies what every loop variable needs, the counter included; once
folded, the counter's last value is a constant no node reads. TensorFlow's path has Grappler's
pruning remove such nodes; a graph frozen without TensorFlow has only this. A frozen graph has
no state, so a node no output depends on has no effect.
"""

from __future__ import annotations

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView


@register("remove_unread")
def remove_unread(view: GraphView) -> int:
    count = 0
    while True:
        unread = [node.name for node in view.live_nodes() if node.name not in view.keep and not view.consumers(node.name)]
        if not unread:
            return count
        view.remove(unread)
        count += len(unread)
