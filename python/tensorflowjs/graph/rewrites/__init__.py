"""TF.js graph rewrites: one module per rewrite, each registered by name, applied in listed order.

FOLDING rewrites leave a graph TensorFlow can still run and go before Grappler's arithmetic
optimizer (see optimize.py); FUSIONS emit fused and TF.js-only ops (Prelu,
FusedDepthwiseConv2dNative) and end with the validation that un-fuses anything TF.js's CPU or
WASM backend would reject.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, Sequence

from tensorflowjs.graph.rewrites.graph_view import GraphView

Rewrite = Callable[[GraphView], int]

REGISTRY: Dict[str, Rewrite] = {}

FOLDING: Sequence[str] = ("grouped_conv_to_depthwise", "remove_neutral_ops", "combine_constant_operands", "fold_batch_norms", "add_to_bias_add")
# What Grappler's constant folding does, for graphs frozen without TensorFlow: before FOLDING,
# and again after it (batch-norm folding leaves scale * weights products behind).
CONSTANT_FOLDING: Sequence[str] = ("fold_constants",)
FUSIONS: Sequence[str] = (
    "finite_f16_masks",
    "erfc_to_erf",
    "lower_einsum",
    "lower_matrix_band_part",
    "unfuse_unsupported",
    "fuse_prelu",
    "fuse_conv_matmul",
    "fuse_depthwise",
    "unfuse_unsupported",
)


def register(name: str) -> Callable[[Rewrite], Rewrite]:
    """Record a rewrite: a function that edits a GraphView in place and returns how many matches."""

    def decorate(function: Rewrite) -> Rewrite:
        REGISTRY[name] = function
        return function

    return decorate


def apply_rewrites(graph_def, names: Sequence[str], keep: Iterable[str]) -> Dict[str, int]:
    """Run the named rewrites in order on graph_def (edited in place); returns matches per name."""
    view = GraphView(graph_def, keep)
    counts: Dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + REGISTRY[name](view)
    return counts


# Imported for their registrations.
from tensorflowjs.graph.rewrites import (  # noqa: E402,F401
    add_to_bias_add,
    combine_constant_operands,
    erfc_to_erf,
    finite_f16_masks,
    fold_batch_norms,
    fold_constants,
    fuse_conv_matmul,
    fuse_depthwise,
    fuse_prelu,
    grouped_conv_to_depthwise,
    lower_einsum,
    lower_matrix_band_part,
    remove_neutral_ops,
    unfuse_unsupported,
)
