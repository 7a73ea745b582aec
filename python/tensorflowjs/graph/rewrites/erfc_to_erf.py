"""Erfc(x) -> 1 - Erf(x): TF.js has Erf but no Erfc, and Keras 3's exact GELU is built on Erfc.

Erfc's small values for large x lose their relative precision this way, but not their absolute
one (about 1e-7), which is what GELU's x * erfc(-x / sqrt(2)) / 2 needs.
"""

from __future__ import annotations

import numpy as np

from tensorflowjs.graph import tensors
from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr, type_attr


@register("erfc_to_erf")
def erfc_to_erf(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(["Erfc"]):
        dtype = tensors.numpy_dtype(attr(node, "T").type)
        if dtype is None or dtype.kind != "f":
            continue
        name, x, t = node.name, node.input[0], type_attr(attr(node, "T").type)
        erf = view.add_node(view.unique_name(f"{name}/erf"), "Erf", [x], {"T": t})
        view.remove([name])  # after Erf reads x, so a constant x is not dropped as orphaned
        one = view.add_const(f"{name}/one", np.ones((), dtype))
        view.add_node(name, "Sub", [one.name, erf.name], {"T": t})
        count += 1
    return count
