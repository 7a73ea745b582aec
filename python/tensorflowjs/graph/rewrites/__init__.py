"""TF.js graph rewrites: one module per rewrite, each registered by name, and the sequences
they run in, composed in order by optimize.py (around Grappler's passes) and pipeline.py (LOOPS).

FOLDING rewrites leave a graph TensorFlow can still run, so they go before Grappler's arithmetic
optimizer. The rest make a graph only TF.js runs: WORKAROUNDS replace what TF.js lacks or gets
wrong, FUSIONS emit fused and TF.js-only ops, FUSION_CHECK takes apart any fused op TF.js's CPU
or WASM backend would reject (before FUSIONS for ops that came in fused, after them for their
own), and CONTROL_EDGES go last. LOOPS unroll lowered while loops before any of it.
"""

from __future__ import annotations

from typing import Sequence

from tensorflowjs.graph.rewrites import (  # noqa: F401  (imported for their registrations)
    add_to_bias_add,
    bypass_constant_enters,
    combine_constant_operands,
    drop_control_inputs,
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
    place_branch_constants,
    remove_neutral_ops,
    remove_unread,
    static_tensor_lists,
    unfuse_unsupported,
    unroll_loops,
)
from tensorflowjs.graph.rewrites.registry import REGISTRY, apply_rewrites, register  # noqa: F401  (the package's API)

FOLDING: Sequence[str] = ("grouped_conv_to_depthwise", "remove_neutral_ops", "combine_constant_operands", "fold_batch_norms", "add_to_bias_add")
# What Grappler's constant folding does, for graphs frozen without TensorFlow: before FOLDING,
# and again after it (batch-norm folding leaves scale * weights products behind).
CONSTANT_FOLDING: Sequence[str] = ("bypass_constant_enters", "fold_constants")
# Ops TF.js lacks (Erfc; Einsum on WASM) or computes wrong (MatrixBandPart; float32 mask
# constants on half-float WebGL), rewritten into ops and values it runs right.
WORKAROUNDS: Sequence[str] = ("finite_f16_masks", "erfc_to_erf", "lower_einsum", "lower_matrix_band_part")
FUSIONS: Sequence[str] = ("fuse_prelu", "fuse_conv_matmul", "fuse_depthwise")
FUSION_CHECK: Sequence[str] = ("unfuse_unsupported",)
# A tf.cond's constants are moved onto Identities TF.js honours; other control edges are dropped
# (TF.js would misread them).
CONTROL_EDGES: Sequence[str] = ("place_branch_constants", "drop_control_inputs")
# Lowered (v1) while loops with a trip count known from constants become straight-line ops, on a
# graph whose constants are folded; the folding in between makes the TensorList indices constant.
# What the unrolled loops computed for nothing (their counters) goes last.
LOOPS: Sequence[str] = ("unroll_loops", "fold_constants", "static_tensor_lists", "remove_unread")
