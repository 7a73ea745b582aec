"""Softmax mask constants beyond float16's range become -30000, so half-float WebGL stays finite.

Attention masks fill hidden scores with a huge negative number (Keras 3: -2.4e38, BERT-style
models: -1e9) before a Softmax. Phone GPUs without float32 render targets run TF.js WebGL on
half-float textures, where such a number is -inf, and the model then outputs NaN (0 * -inf, or
-inf - -inf in a fully masked row). -30000 is what Keras itself uses for float16: it is finite
in float16 even added to itself, and exp(-30000 - max) is 0 in any float format, so every
score the mask hides still gets weight 0. Only mask-shaped constants (the fill value, or 0 where
nothing is hidden, as when Grappler folds (1 - mask) * -1e9) whose every path ends in a Softmax
through the ops that build a mask are changed.
"""

from __future__ import annotations

import warnings

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView

FLOAT16_MAX = 65504.0
MASK_VALUE = -30000.0
# Ops a mask value flows through on its way to the Softmax it hides scores from.
MASK_PATH = frozenset({"SelectV2", "Select", "Add", "AddV2", "Mul", "Reshape", "ExpandDims", "Transpose",
                       "Identity", "Tile", "BroadcastTo", "Minimum"})
SOFTMAX = frozenset({"Softmax", "LogSoftmax"})


class MaskConstantWarning(UserWarning):
    """A mask constant was made finite in float16."""


def _only_feeds_softmax(view: GraphView, name: str) -> bool:
    """Every path from node `name` reaches a Softmax through MASK_PATH ops (and never a graph output)."""
    seen, pending = set(), [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        consumers = view.consumers(current)
        if not consumers or current in view.keep and current != name:
            return False
        for consumer in consumers:
            if consumer.op in SOFTMAX:
                continue
            if consumer.op not in MASK_PATH:
                return False
            pending.append(consumer.name)
    return True


@register("finite_f16_masks")
def finite_f16_masks(view: GraphView) -> int:
    changed = []
    for node in view.live_nodes(["Const"]):
        value = view.const_value(node.name)
        # The graph is checked before the value: a model's weights are never read here.
        if value is None or value.dtype != np.float32 or value.size == 0 or node.name in view.keep or not _only_feeds_softmax(view, node.name):
            continue
        hidden = value < -FLOAT16_MAX
        if not hidden.any() or np.any(value[~hidden] != 0):  # a mask: the fill value, or 0 where nothing is hidden
            continue
        view.replace_with_const(node, np.where(hidden, np.float32(MASK_VALUE), np.float32(0)))
        changed.append(f"{node.name} ({float(value.min()):.3g})")
    if changed:
        warnings.warn(f"softmax mask constants beyond float16's range set to {MASK_VALUE:g} so half-float "
                      f"WebGL stays finite: {', '.join(changed)}", MaskConstantWarning, stacklevel=2)
    return len(changed)
