"""Reductions, arg-reductions, cumulative sums, top-k and sort, on ops TF.js has."""

import tensorflow as tf

from tensorflowjs.jax_lowering import dims
from tensorflowjs.jax_lowering.registry import Unsupported, lowering


def _reduction(name: str, fn) -> None:
    @lowering(name)
    def handler(ctx, eqn, x):
        axes = list(eqn.params["axes"])
        return fn(x, axes) if axes else x


for _name, _fn in {
    "reduce_sum": tf.reduce_sum,
    "reduce_max": tf.reduce_max,
    "reduce_min": tf.reduce_min,
    "reduce_prod": tf.reduce_prod,
    "reduce_and": tf.reduce_all,
    "reduce_or": tf.reduce_any,
}.items():
    _reduction(_name, _fn)
del _name, _fn


@lowering("argmax")
def _argmax(ctx, eqn, x):
    (axis,) = eqn.params["axes"]
    return tf.argmax(x, axis, output_type=tf.as_dtype(eqn.params["index_dtype"]))


@lowering("argmin")
def _argmin(ctx, eqn, x):
    (axis,) = eqn.params["axes"]
    return tf.argmin(x, axis, output_type=tf.as_dtype(eqn.params["index_dtype"]))


@lowering("cumsum")
def _cumsum(ctx, eqn, x):
    return tf.cumsum(x, eqn.params["axis"], reverse=eqn.params["reverse"])


@lowering("cumprod")
def _cumprod(ctx, eqn, x):
    return tf.math.cumprod(x, eqn.params["axis"], reverse=eqn.params["reverse"])


@lowering("top_k")
def _top_k(ctx, eqn, x):
    """TopKV2 works on the last axis; another axis is transposed there and back."""
    axis = eqn.params.get("axis", -1) % len(eqn.invars[0].aval.shape)
    last = len(eqn.invars[0].aval.shape) - 1
    permutation = list(range(last + 1))
    permutation[axis], permutation[last] = last, axis
    if axis != last:
        x = tf.transpose(x, permutation)
    values, indices = tf.math.top_k(x, eqn.params["k"])
    if axis != last:
        values, indices = tf.transpose(values, permutation), tf.transpose(indices, permutation)
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
        operands = [tf.transpose(x, permutation) for x in operands]
    keys = operands[0] if operands[0].dtype != tf.bool else tf.cast(operands[0], tf.int32)
    flipped = tf.negative(keys) if keys.dtype.is_floating else tf.negative(keys) - 1
    moved = [shape[a] for a in permutation]
    size = ctx.dim(moved[-1])
    _, order = tf.math.top_k(flipped, size)
    # Row-wise take along the last axis as one flat GatherV2 (TF.js WASM mishandles batch_dims).
    starts = tf.range(ctx.dim(dims.product(moved[:-1])), dtype=tf.int32) * size
    flat = tf.reshape(tf.reshape(order, ctx.shape([-1, moved[-1]])) + tf.expand_dims(starts, 1), [-1])
    results = [tf.reshape(tf.gather(tf.reshape(x, [-1]), flat), ctx.reshape_shape(moved)) for x in operands]
    return [tf.transpose(x, permutation) for x in results] if axis != last else results
