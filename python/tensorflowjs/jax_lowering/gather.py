"""gather, scatter and dynamic slices with GatherV2 / GatherNd / Slice / TensorScatterUpdate.

XLA's gather is far more general than TF.js's. The patterns JAX indexing produces (embedding
lookup `table[ids]`, `x[:, idx]`, `x[i, j]`, vmapped lookups) pick single elements along the
indexed axes and whole or leading slices along the others; those become one GatherV2 (one
indexed axis) or GatherNd (several), plus transposes and reshapes to XLA's output layout. A
gather of one window (how JAX traces slicing by a symbolic size) is a Slice. Out-of-range
indices are clamped as XLA does; FILL_OR_DROP (jnp.take's default) masks them.
"""

import numpy as np
from jax import lax

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import Unsupported, lowering


def _clamp(ctx, index, high):
    """`index` limited to [0, high]; `high` may be a vector matching index's last axis."""
    high = ctx.shape(high) if isinstance(high, (list, tuple)) else ctx.dim(high)
    return ops.minimum(ops.maximum(index, 0), high)


@lowering("gather")
def _gather(ctx, eqn, operand, indices):
    numbers = eqn.params["dimension_numbers"]
    slice_sizes = list(eqn.params["slice_sizes"])
    shape, out_shape = eqn.invars[0].aval.shape, eqn.outvars[0].aval.shape
    batch_shape = eqn.invars[1].aval.shape[:-1]
    index_map, collapsed = list(numbers.start_index_map), set(numbers.collapsed_slice_dims)
    indices = ops.cast(indices, ops.int32)

    # A batching dim (from vmap) pairs operand axis `a` with indices axis `b`: index `a` by iota along `b`.
    for a, b in zip(numbers.operand_batching_dims, numbers.start_indices_batching_dims):
        iota = ops.range(ctx.dim(batch_shape[b]), dtype=ops.int32)
        iota = ops.reshape(iota, [-1 if axis == b else 1 for axis in range(len(batch_shape))] + [1])
        indices = ops.concat([indices, ops.broadcast_to(iota, ctx.shape([*batch_shape, 1]))], -1)
        index_map.append(a)
        collapsed.add(a)
    high = [shape[a] - slice_sizes[a] for a in index_map]
    in_bounds = None
    if eqn.params["mode"] == lax.GatherScatterMode.FILL_OR_DROP:
        in_bounds = ops.reduce_all(ops.logical_and(indices >= 0, indices <= ctx.shape(high)), -1)
    indices = _clamp(ctx, indices, high)

    if not batch_shape:
        result = _window(ctx, operand, indices, index_map, slice_sizes, out_shape)
    elif any(slice_sizes[a] != 1 for a in index_map):
        raise Unsupported("a batch of slices wider than one element along an indexed axis")
    else:
        result, layout = _lookup(ctx, operand, indices, index_map, collapsed, slice_sizes, shape, batch_shape, out_shape,
                                 numbers.offset_dims)
    if in_bounds is not None:
        if batch_shape:  # line the mask up with the batch axes of the result
            in_bounds = ctx.reshape(in_bounds, batch_shape, [batch_shape[i] if kind == "batch" else 1 for kind, i in layout])
        fill = ops.constant(np.asarray(eqn.params["fill_value"], dtype=eqn.outvars[0].aval.dtype))
        result = ops.where(in_bounds, result, fill)
    return result


def _window(ctx, operand, indices, index_map, slice_sizes, out_shape):
    """A single start index: the gather is one Slice (a dynamic slice)."""
    components = ops.unstack(indices, num=len(index_map))
    begin = ops.stack([components[index_map.index(a)] if a in index_map else ops.constant(0, ops.int32)
                      for a in range(len(slice_sizes))])
    return ctx.reshape(ops.slice(operand, begin, ctx.shape(slice_sizes)), slice_sizes, out_shape)


def _lookup(ctx, operand, indices, index_map, collapsed, slice_sizes, shape, batch_shape, out_shape, offset_dims):
    """Single elements along the indexed axes: GatherV2 or GatherNd, then XLA's layout.
    Returns the result and the output layout as ("batch", i) / ("operand", axis) items."""
    rest = [a for a in range(len(shape)) if a not in index_map]
    if any(slice_sizes[a] != shape[a] for a in rest):
        begin = [0] * len(shape)
        end = [slice_sizes[a] if a in rest else 0 for a in range(len(shape))]
        operand = ops.strided_slice(operand, begin, ctx.shape(end), [1] * len(shape),
                                   end_mask=sum(1 << a for a in index_map))
    batch = [("batch", i) for i in range(len(batch_shape))]
    if len(index_map) == 1:
        axis = index_map[0]
        operand = ops.gather(operand, ops.squeeze(indices, [-1]), axis=axis)
        natural = [("operand", a) for a in rest if a < axis] + batch + [("operand", a) for a in rest if a > axis]
    else:
        order = index_map + rest
        if order != sorted(order):
            operand = ops.transpose(operand, order)
        operand = ops.gather_nd(operand, indices)
        natural = batch + [("operand", a) for a in rest]

    offset_axes = [a for a in range(len(shape)) if a not in collapsed]
    layout, batch_items = [None] * len(out_shape), iter(batch)
    for position, a in zip(offset_dims, offset_axes):
        layout[position] = ("operand", a)
    layout = [item if item is not None else next(batch_items) for item in layout]
    present = [item for item in layout if item in natural]
    permutation = [natural.index(item) for item in present]
    if permutation != sorted(permutation):
        operand = ops.transpose(operand, permutation)
    present_shape = [out_shape[layout.index(item)] for item in present]
    return ctx.reshape(operand, present_shape, out_shape), layout


def _starts(ctx, starts, shape, sizes):
    """Start indices clamped the way XLA does, so the window stays inside the operand."""
    return [_clamp(ctx, ops.cast(s, ops.int32), dim - size) for s, dim, size in zip(starts, shape, sizes)]


@lowering("dynamic_slice")
def _dynamic_slice(ctx, eqn, x, *starts):
    shape, sizes = eqn.invars[0].aval.shape, eqn.params["slice_sizes"]
    begin = ops.stack(_starts(ctx, starts, shape, sizes))
    return ops.slice(x, begin, ctx.shape(sizes))


@lowering("dynamic_update_slice")
def _dynamic_update_slice(ctx, eqn, x, update, *starts):
    shape, sizes = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
    return _place(ctx, x, update, _starts(ctx, starts, shape, sizes), shape, sizes, add=False)


def _place(ctx, x, update, begin, shape, sizes, add):
    """`x` with `update` written (or added) at `begin`: the update padded to x's shape, then
    added, or selected where a mask of index ranges says the window is."""
    after = [ctx.dim(dim - size) - b for b, dim, size in zip(begin, shape, sizes)]
    padded = ops.pad(update, ops.stack([ops.stack(pair) for pair in zip(begin, after)]))
    if add:
        return x + padded
    mask = None
    for axis, (b, dim, size) in enumerate(zip(begin, shape, sizes)):
        if dims.is_static(dim) and dims.is_static(size) and dim == size:
            continue
        position = ops.range(ctx.dim(dim), dtype=ops.int32)
        inside = ops.logical_and(position >= b, position < b + ctx.dim(size))
        inside = ops.reshape(inside, [-1 if a == axis else 1 for a in range(len(shape))])
        mask = inside if mask is None else ops.logical_and(mask, inside)
    return padded if mask is None else ops.where(mask, padded, x)


@lowering("scatter", "scatter-add")
def _scatter(ctx, eqn, operand, indices, updates):
    """x.at[...].set / .add: one window is a dynamic update; a batch of single elements along
    the indexed axes (whole along the others) is TensorScatterUpdate, or ScatterNd plus x."""
    numbers = eqn.params["dimension_numbers"]
    if numbers.operand_batching_dims:
        raise Unsupported("a batched (vmapped) scatter")
    add = eqn.primitive.name == "scatter-add"
    shape, update_shape = eqn.invars[0].aval.shape, eqn.invars[2].aval.shape
    batch_shape = eqn.invars[1].aval.shape[:-1]
    index_map = list(numbers.scatter_dims_to_operand_dims)
    window = [1] * len(shape)
    window_axes = [a for a in range(len(shape)) if a not in numbers.inserted_window_dims]
    for a, d in zip(window_axes, numbers.update_window_dims):
        window[a] = update_shape[d]
    high = [shape[a] - window[a] for a in index_map]
    indices = ops.cast(indices, ops.int32)
    in_bounds = None
    if eqn.params["mode"] == lax.GatherScatterMode.FILL_OR_DROP:
        in_bounds = ops.reduce_all(ops.logical_and(indices >= 0, indices <= ctx.shape(high)), -1)
    indices = _clamp(ctx, indices, high)

    if not batch_shape:
        components = ops.unstack(indices, num=len(index_map))
        begin = [components[index_map.index(a)] if a in index_map else ops.constant(0, ops.int32) for a in range(len(shape))]
        result = _place(ctx, operand, ctx.reshape(updates, update_shape, window), begin, shape, window, add)
        return result if in_bounds is None else ops.where(in_bounds, result, operand)

    rest = [a for a in range(len(shape)) if a not in index_map]
    if any(window[a] != 1 for a in index_map) or any(window[a] != shape[a] for a in rest):
        raise Unsupported("a batch of windows that are not single elements along the scattered axes")
    batch_positions = [d for d in range(len(update_shape)) if d not in numbers.update_window_dims]
    permutation = batch_positions + list(numbers.update_window_dims)
    if permutation != sorted(permutation):
        updates = ops.transpose(updates, permutation)
    rest_shape = [shape[a] for a in rest]
    updates = ctx.reshape(updates, [update_shape[d] for d in permutation], [*batch_shape, *rest_shape])
    order = index_map + rest
    x = operand if order == sorted(order) else ops.transpose(operand, order)
    moved = [shape[a] for a in order]
    if add:
        if in_bounds is not None:
            keep = ctx.reshape(in_bounds, batch_shape, [*batch_shape, *([1] * len(rest))])
            updates = ops.where(keep, updates, ops.zeros([], updates.dtype))
        x = x + ops.scatter_nd(indices, updates, ctx.shape(moved))
    elif in_bounds is None:
        x = ops.tensor_scatter_nd_update(x, indices, updates)
    else:
        # Dropped updates go to an extra row past the end of the first indexed axis, cut off after.
        row = ops.where(ops.expand_dims(in_bounds, -1), indices[..., :1], ctx.dim(moved[0]))
        indices = ops.concat([row, indices[..., 1:]], -1)
        x = ops.pad(x, [[0, 1]] + [[0, 0]] * (len(moved) - 1))
        x = ops.tensor_scatter_nd_update(x, indices, updates)
        x = ops.strided_slice(x, [0] * len(moved), [-1] + [0] * (len(moved) - 1), [1] * len(moved),
                             end_mask=sum(1 << i for i in range(1, len(moved))))
    return x if order == sorted(order) else ops.transpose(x, [order.index(a) for a in range(len(order))])
