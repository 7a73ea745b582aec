"""Public API: fold inference batch norms into the conv/matmul weights before them, on a GraphDef.

The rewrite is tensorflowjs/graph/rewrites/fold_batch_norms.py, the one the converter runs.
"""

from typing import Any

from tensorflowjs.converters import graph_rewrite_util
from tensorflowjs.converters.graph_rewrite_util import scale_after_normalization  # noqa: F401  (public name)

# Input positions of a batch norm's operands, per op, as the public module lists them.
INPUT_ORDER = {
    "BatchNormWithGlobalNormalization": ["conv_op", "mean_op", "var_op", "beta_op", "gamma_op"],
    "FusedBatchNorm": ["conv_op", "gamma_op", "beta_op", "mean_op", "var_op"],
    "FusedBatchNormV3": ["conv_op", "gamma_op", "beta_op", "mean_op", "var_op"],
}
# Attribute holding each op's epsilon.
EPSILON_ATTR = {"BatchNormWithGlobalNormalization": "variance_epsilon", "FusedBatchNorm": "epsilon", "FusedBatchNormV3": "epsilon"}


def fold_batch_norms(input_graph_def: Any) -> Any:
    """A copy of the GraphDef (same message class) with inference batch norms folded into the
    convs before them, NCHW ones too (the converter itself folds NHWC graphs only, see
    tensorflowjs/graph/rewrites/fold_batch_norms.py)."""
    return graph_rewrite_util.run_rewrites(input_graph_def, ["fold_batch_norms_any_layout"])
