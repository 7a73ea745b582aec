"""Reductions, arg-reductions, cumulative sums, top-k and sort, on ops TF.js has."""

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import Unsupported, lowering


def _reduction(name: str, fn) -> None:
    @lowering(name)
    def handler(ctx, eqn, x):
        axes = list(eqn.params["axes"])
        return getattr(ops, fn)(x, axes) if axes else x


for _name, _fn in {
    "reduce_sum": "reduce_sum",
    "reduce_max": "reduce_max",
    "reduce_min": "reduce_min",
    "reduce_prod": "reduce_prod",
    "reduce_and": "reduce_all",
    "reduce_or": "reduce_any",
}.items():
    _reduction(_name, _fn)
del _name, _fn


@lowering("argmax")
def _argmax(ctx, eqn, x):
    (axis,) = eqn.params["axes"]
    return ops.argmax(x, axis, output_type=ops.as_dtype(eqn.params["index_dtype"]))


@lowering("argmin")
def _argmin(ctx, eqn, x):
    (axis,) = eqn.params["axes"]
    return ops.argmin(x, axis, output_type=ops.as_dtype(eqn.params["index_dtype"]))


@lowering("cumsum")
def _cumsum(ctx, eqn, x):
    return ops.cumsum(x, eqn.params["axis"], reverse=eqn.params["reverse"])


@lowering("cumprod")
def _cumprod(ctx, eqn, x):
    return ops.math.cumprod(x, eqn.params["axis"], reverse=eqn.params["reverse"])


@lowering("top_k")
def _top_k(ctx, eqn, x):
    """TopKV2 works on the last axis; another axis is transposed there and back."""
    axis = eqn.params.get("axis", -1) % len(eqn.invars[0].aval.shape)
    last = len(eqn.invars[0].aval.shape) - 1
    permutation = list(range(last + 1))
    permutation[axis], permutation[last] = last, axis
    if axis != last:
        x = ops.transpose(x, permutation)
    values, indices = ops.math.top_k(x, eqn.params["k"])
    if axis != last:
        values, indices = ops.transpose(values, permutation), ops.transpose(indices, permutation)
    return [values, indices]


@lowering("sort")
def _sort(ctx, eqn, *operands):
    """Stable ascending sort by the first operand: TopKV2 of the keys negated (for ints -x-1,
    which cannot overflow) keeps equal keys in index order; the other operands follow."""
    if eqn.params["num_keys"] != 1:
        raise Unsupported("sorting by several keys")
    shape = eqn.invars[0].aval.shape
    axis, last = eqn.params["dimension"], len(shape) - 1
    permutation = list(range(last + 1))
    permutation[axis], permutation[last] = last, axis
    if axis != last:
        operands = [ops.transpose(x, permutation) for x in operands]
    keys = operands[0] if operands[0].dtype != ops.bool else ops.cast(operands[0], ops.int32)
    flipped = ops.negative(keys) if keys.dtype.is_floating else ops.negative(keys) - 1
    moved = [shape[a] for a in permutation]
    size = ctx.dim(moved[-1])
    _, order = ops.math.top_k(flipped, size)
    # Row-wise take along the last axis as one flat GatherV2 (TF.js WASM mishandles batch_dims).
    starts = ops.range(ctx.dim(dims.product(moved[:-1])), dtype=ops.int32) * size
    flat = ops.reshape(ops.reshape(order, ctx.shape([-1, moved[-1]])) + ops.expand_dims(starts, 1), [-1])
    results = [ops.reshape(ops.gather(ops.reshape(x, [-1]), flat), ctx.reshape_shape(moved)) for x in operands]
    return [ops.transpose(x, permutation) for x in results] if axis != last else results
