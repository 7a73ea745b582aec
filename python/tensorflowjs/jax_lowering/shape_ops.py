"""Primitives that move data without arithmetic: reshape, broadcast, transpose, slice, pad...

Shapes come from the jaxpr's avals; a symbolic dimension is computed from the inputs'
run-time shapes by the context, so one graph serves every batch size.
"""

import numpy as np

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import Unsupported, lowering


@lowering("reshape")
def _reshape(ctx, eqn, x):
    shape = eqn.invars[0].aval.shape
    if eqn.params.get("dimensions"):
        x = ops.transpose(x, eqn.params["dimensions"])
        shape = [shape[a] for a in eqn.params["dimensions"]]
    return ctx.reshape(x, shape, eqn.params["new_sizes"])


@lowering("broadcast_in_dim")
def _broadcast_in_dim(ctx, eqn, x):
    """Insert size-1 axes where the operand has none, then BroadcastTo if any size grows."""
    shape = tuple(eqn.params["shape"])
    positions = tuple(eqn.params["broadcast_dimensions"])
    operand_shape = tuple(eqn.invars[0].aval.shape)
    expanded = [1] * len(shape)
    for axis, position in enumerate(positions):
        expanded[position] = operand_shape[axis]
    x = ctx.reshape(x, operand_shape, expanded)
    if tuple(expanded) == shape:
        return x
    return ops.broadcast_to(x, ctx.shape(shape))


@lowering("squeeze")
def _squeeze(ctx, eqn, x):
    axes = list(eqn.params["dimensions"])
    return ops.squeeze(x, axes) if axes else x


@lowering("transpose")
def _transpose(ctx, eqn, x):
    permutation = list(eqn.params["permutation"])
    return x if permutation == sorted(permutation) else ops.transpose(x, permutation)


@lowering("rev")
def _rev(ctx, eqn, x):
    return ops.reverse(x, list(eqn.params["dimensions"]))


@lowering("concatenate")
def _concatenate(ctx, eqn, *xs):
    return xs[0] if len(xs) == 1 else ops.concat(xs, eqn.params["dimension"])


@lowering("stack")
def _stack(ctx, eqn, *xs):
    return ops.stack(xs, eqn.params["axis"])


@lowering("unstack")
def _unstack(ctx, eqn, x):
    return ops.unstack(x, axis=eqn.params["axis"])


@lowering("tile")
def _tile(ctx, eqn, x):
    return ops.tile(x, list(eqn.params["reps"]))


@lowering("split")
def _split(ctx, eqn, x):
    sizes = eqn.params["sizes"]
    return ops.split(x, ctx.shape(sizes), axis=eqn.params["axis"], num=len(sizes))


@lowering("iota")
def _iota(ctx, eqn):
    """A constant when the shape is static; else Range along the axis, broadcast."""
    dtype = np.dtype(eqn.params["dtype"])
    shape = tuple(eqn.params["shape"])
    axis = eqn.params["dimension"]
    if all(dims.is_static(d) for d in shape):
        return ops.constant(np.broadcast_to(
            np.arange(shape[axis], dtype=dtype).reshape([-1 if i == axis else 1 for i in range(len(shape))]), shape))
    line = ops.range(ctx.dim(shape[axis]), dtype=ops.int32)
    line = ops.reshape(line, [-1 if i == axis else 1 for i in range(len(shape))])
    return ops.cast(ops.broadcast_to(line, ctx.shape(shape)), ops.as_dtype(dtype))


@lowering("slice")
def _slice(ctx, eqn, x):
    shape = eqn.invars[0].aval.shape
    starts, limits = eqn.params["start_indices"], eqn.params["limit_indices"]
    strides = eqn.params["strides"] or (1,) * len(shape)
    # An axis taken whole is written as a mask bit, so symbolic sizes need no shape ops.
    whole = [start == 0 and limit == size and stride == 1 for start, limit, size, stride in zip(starts, limits, shape, strides)]
    if all(whole):
        return x
    end_mask = sum(1 << i for i, w in enumerate(whole) if w)
    begin = ctx.shape([0 if w else s for w, s in zip(whole, starts)])
    end = ctx.shape([0 if w else e for w, e in zip(whole, limits)])
    return ops.strided_slice(x, begin, end, list(strides), end_mask=end_mask)


@lowering("pad")
def _pad(ctx, eqn, x, value):
    return pad(ctx, x, value, eqn.params["padding_config"], eqn.invars[0].aval.shape)


def pad(ctx, x: ops.Tensor, value: ops.Tensor, config, shape) -> ops.Tensor:
    """XLA-style padding with (lo, hi, interior) per axis: `interior` copies of `value` between
    neighbours, then `lo`/`hi` at the ends, where a negative amount crops instead."""
    shape = tuple(shape)
    for axis, (_, _, interior) in enumerate(config):
        if interior:
            if not dims.is_static(shape[axis]):
                raise Unsupported("interior padding along a symbolic dimension")
            if shape[axis] > 1:
                x = _interleave(ctx, x, value, axis, interior, shape)
                shape = shape[:axis] + (shape[axis] + (shape[axis] - 1) * interior,) + shape[axis + 1:]
    grow = [max(v, 0) if dims.is_static(v) else v for lo, hi, _ in config for v in (lo, hi)]
    if any(not dims.is_static(v) or v for v in grow):
        x = ops.pad(x, ops.reshape(ctx.shape(grow), [-1, 2]) if not all(map(dims.is_static, grow))
                   else [grow[i:i + 2] for i in range(0, len(grow), 2)], constant_values=value)
    crop = [(max(-lo, 0) if dims.is_static(lo) else 0, max(-hi, 0) if dims.is_static(hi) else 0) for lo, hi, _ in config]
    if any(lo or hi for lo, hi in crop):
        end_mask = sum(1 << i for i, (_, hi) in enumerate(crop) if not hi)
        x = ops.strided_slice(x, [lo for lo, _ in crop], [-hi for _, hi in crop], [1] * len(crop), end_mask=end_mask)
    return x


def _interleave(ctx, x, value, axis, interior, shape):
    """Inserts `interior` copies of `value` between neighbours along `axis` (static size)."""
    x = ops.expand_dims(x, axis + 1)
    paddings = [[0, 0]] * (len(shape) + 1)
    paddings[axis + 1] = [0, interior]
    x = ops.pad(x, paddings, constant_values=value)
    merged = list(shape)
    merged[axis] = shape[axis] * (interior + 1)
    x = ops.reshape(x, ctx.reshape_shape(merged))
    end = [0] * len(shape)
    end[axis] = shape[axis] + (shape[axis] - 1) * interior
    end_mask = sum(1 << i for i in range(len(shape)) if i != axis)
    return ops.strided_slice(x, [0] * len(shape), end, [1] * len(shape), end_mask=end_mask)
