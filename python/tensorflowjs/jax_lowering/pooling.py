"""reduce_window_{sum,max,min} (Flax's avg_pool, max_pool, min_pool) as AvgPool / MaxPool.

The window may sit on any axes; they are brought to the middle of an [N, spatial..., C] view
(all other axes folded into N and C by a reshape, after a transpose only if the pooled axes are
not adjacent). A sum pool is an unpadded average pool times the window size, with JAX's zero
padding made explicit, since TF's SAME average would not count the padding.
"""

import numpy as np

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.conv import padding_mode
from tensorflowjs.jax_lowering.registry import Unsupported, lowering
from tensorflowjs.jax_lowering.shape_ops import pad


@lowering("reduce_window_sum", "reduce_window_max", "reduce_window_min")
def _reduce_window(ctx, eqn, x):
    params = eqn.params
    kind = eqn.primitive.name.rsplit("_", 1)[1]
    if any(d != 1 for d in (*params["base_dilation"], *params["window_dilation"])):
        raise Unsupported("dilated pooling windows")
    shape, out_shape = eqn.invars[0].aval.shape, eqn.outvars[0].aval.shape
    window, strides = list(params["window_dimensions"]), list(params["window_strides"])
    padding = [tuple(p) for p in params["padding"]]
    active = [a for a in range(len(shape)) if window[a] != 1 or strides[a] != 1 or padding[a] != (0, 0)]
    if not active:
        return x
    if len(active) > 2:
        raise Unsupported("a pooling window over more than 2 axes")
    if not x.dtype.is_floating:
        raise Unsupported(f"pooling {x.dtype.name} values; TF.js pools floats")

    if active == list(range(active[0], active[-1] + 1)):
        order = list(range(len(shape)))
        lead, trail = order[:active[0]], order[active[-1] + 1:]
    else:
        lead, trail = [a for a in range(len(shape)) if a not in active], []
        order = lead + active
        x = ops.transpose(x, order)
    view = [dims.product(shape[a] for a in lead), *(shape[a] for a in active), dims.product(shape[a] for a in trail)]
    x = ctx.reshape(x, [shape[a] for a in order], view)

    window, strides, padding = [window[a] for a in active], [strides[a] for a in active], [padding[a] for a in active]
    if kind == "min":
        x = ops.negative(x)
    mode = padding_mode(view[1:-1], window, strides, [1] * len(active), padding) if kind != "sum" else None
    if mode is None:
        fill = 0 if kind == "sum" else -np.inf
        config = [(0, 0, 0)] + [(lo, hi, 0) for lo, hi in padding] + [(0, 0, 0)]
        x = pad(ctx, x, ops.constant(fill, x.dtype), config, tuple(view))
        mode = "VALID"
    if len(active) == 1:
        x = ops.expand_dims(x, 1)
        window, strides = [1, *window], [1, *strides]
    if kind == "sum":
        x = ops.nn.avg_pool2d(x, window, strides, mode) * float(np.prod(window))
    else:
        x = ops.nn.max_pool2d(x, window, strides, mode)
    if len(active) == 1:
        x = ops.squeeze(x, [1])
    if kind == "min":
        x = ops.negative(x)

    pooled = [view[0], *(out_shape[a] for a in active), view[-1]]
    x = ctx.reshape(x, pooled, [out_shape[a] for a in order])
    return x if order == sorted(order) else ops.transpose(x, [order.index(a) for a in range(len(order))])
