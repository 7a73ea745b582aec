"""dot_general as MatMul / BatchMatMulV2 with transposes and reshapes around it.

TF.js runs Einsum only for a few equations, so every contraction is brought to the form
[batch..., M, K] x [batch..., K, N]: free and contracting axes are grouped by a transpose
(skipped when already in place, or folded into the matmul's transpose flags) and flattened by
a reshape; the result is reshaped back to JAX's [batch..., lhs free..., rhs free...].
Integer contractions multiply and sum instead, which every TF.js backend runs exactly.
"""

import numpy as np

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import lowering


def _operand(ctx, x, shape, batch, free, contracting, contracting_last):
    """`x` as [batch..., rows, cols] (free x contracting, or transposed), and whether it was
    transposed relative to the requested order."""
    natural = list(batch) + (list(free) + list(contracting) if contracting_last else list(contracting) + list(free))
    flipped = list(batch) + (list(contracting) + list(free) if contracting_last else list(free) + list(contracting))
    transposed = natural != sorted(natural) and flipped == sorted(flipped)
    order = flipped if transposed else natural
    if order != sorted(order):
        x = ops.transpose(x, order)
    first, second = (free, contracting) if contracting_last != transposed else (contracting, free)
    target = [shape[a] for a in batch] + [dims.product(shape[a] for a in first), dims.product(shape[a] for a in second)]
    return ctx.reshape(x, [shape[a] for a in order], target), transposed


@lowering("dot_general")
def _dot_general(ctx, eqn, lhs, rhs):
    (lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch) = eqn.params["dimension_numbers"]
    lhs_shape, rhs_shape = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
    lhs_free = [a for a in range(len(lhs_shape)) if a not in lhs_contracting and a not in lhs_batch]
    rhs_free = [a for a in range(len(rhs_shape)) if a not in rhs_contracting and a not in rhs_batch]
    out_dtype = ops.as_dtype(np.dtype(eqn.outvars[0].aval.dtype))
    lhs, rhs = ops.cast(lhs, out_dtype), ops.cast(rhs, out_dtype)
    lhs, transpose_a = _operand(ctx, lhs, lhs_shape, lhs_batch, lhs_free, lhs_contracting, contracting_last=True)
    rhs, transpose_b = _operand(ctx, rhs, rhs_shape, rhs_batch, rhs_free, rhs_contracting, contracting_last=False)
    if out_dtype.is_floating:
        out = ops.linalg.matmul(lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)
    else:
        out = _integer_matmul(lhs, rhs, transpose_a, transpose_b)
    out_shape = eqn.outvars[0].aval.shape
    flat = [lhs_shape[a] for a in lhs_batch] + [dims.product(lhs_shape[a] for a in lhs_free),
                                                 dims.product(rhs_shape[a] for a in rhs_free)]
    return ctx.reshape(out, flat, out_shape)


def _integer_matmul(lhs, rhs, transpose_a, transpose_b):
    """Exact integer products as Mul + Sum: TF.js's WASM backend multiplies float matrices only."""
    if transpose_a:
        lhs = ops.linalg.matrix_transpose(lhs)
    if transpose_b:
        rhs = ops.linalg.matrix_transpose(rhs)
    return ops.reduce_sum(ops.expand_dims(lhs, -1) * ops.expand_dims(rhs, -3), -2)
