"""conv_general_dilated as Conv2D / DepthwiseConv2dNative on NHWC data and HWIO kernels.

XLA convolutions name their layout with dimension numbers and pad with arbitrary (lo, hi)
pairs; TF.js wants NHWC and SAME or VALID. So operands are transposed into NHWC/HWIO (a no-op
for Flax, which already uses them), padding that equals TF's SAME rule becomes SAME, anything
else an explicit Pad, and input (lhs) dilation, as in transposed convolutions, is written as
interior padding. TF.js refuses strides together with dilation, so then the kernel is dilated
with zeros instead. 1-D convolutions run as 2-D ones with a unit height.
"""

import numpy as np

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import Unsupported, lowering
from tensorflowjs.jax_lowering.shape_ops import pad


def same_padding(size, kernel, stride, dilation):
    """The (lo, hi) padding TF's SAME uses for one spatial axis."""
    effective = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def padding_mode(sizes, kernel, strides, dilations, padding):
    """The TF padding mode equal to `padding` ("VALID" or "SAME"), or None: pad explicitly."""
    if all(dims.is_static(lo) and dims.is_static(hi) and lo == 0 and hi == 0 for lo, hi in padding):
        return "VALID"
    if all(dims.is_static(s) for s in sizes) and all(
        tuple(p) == same_padding(*args) for p, args in zip(padding, zip(sizes, kernel, strides, dilations))
    ):
        return "SAME"
    return None


def _conv2d(x, kernel, kernel_shape, strides, padding, dilations, groups):
    """NHWC x HWIO convolution with `groups` feature groups."""
    h, w, group_channels, out_channels = kernel_shape
    in_channels = group_channels * groups
    strides4, dilations4 = [1, *strides, 1], [1, *dilations, 1]
    if groups == 1:
        return ops.nn.conv2d(x, kernel, strides4, padding, dilations=dilations4)
    # Depthwise: one input channel per group. TF's kernel needs equal strides and no dilation.
    if groups == in_channels and strides[0] == strides[1] and dilations == [1, 1]:
        kernel = ops.reshape(kernel, [h, w, in_channels, out_channels // in_channels])
        return ops.raw_ops.DepthwiseConv2dNative(input=x, filter=kernel, strides=strides4, padding=padding, dilations=dilations4)
    xs = ops.split(x, groups, axis=-1)
    kernels = ops.split(kernel, groups, axis=-1)
    return ops.concat([ops.nn.conv2d(a, k, strides4, padding, dilations=dilations4) for a, k in zip(xs, kernels)], -1)


@lowering("conv_general_dilated")
def _conv_general_dilated(ctx, eqn, lhs, rhs):
    params = eqn.params
    if params["batch_group_count"] != 1:
        raise Unsupported("batch_group_count > 1, which only gradients use")
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    spatial = len(lhs_spec) - 2
    if spatial not in (1, 2):
        raise Unsupported(f"{spatial}-D convolution; 1-D and 2-D ones are supported")
    dtype = ops.as_dtype(np.dtype(eqn.outvars[0].aval.dtype))
    lhs_order = [lhs_spec[0], *lhs_spec[2:], lhs_spec[1]]
    rhs_order = [*rhs_spec[2:], rhs_spec[1], rhs_spec[0]]
    x = ops.cast(lhs, dtype) if lhs_order == sorted(lhs_order) else ops.transpose(ops.cast(lhs, dtype), lhs_order)
    kernel = ops.cast(rhs, dtype) if rhs_order == sorted(rhs_order) else ops.transpose(ops.cast(rhs, dtype), rhs_order)
    x_shape = [eqn.invars[0].aval.shape[a] for a in lhs_order]
    kernel_shape = [eqn.invars[1].aval.shape[a] for a in rhs_order]
    strides, dilations = list(params["window_strides"]), list(params["rhs_dilation"])
    padding = [tuple(p) for p in params["padding"]]

    if any(d != 1 for d in params["lhs_dilation"]):
        config = [(0, 0, 0)] + [(lo, hi, d - 1) for (lo, hi), d in zip(padding, params["lhs_dilation"])] + [(0, 0, 0)]
        x = pad(ctx, x, ops.zeros([], dtype), config, tuple(x_shape))
        mode = "VALID"
    else:
        mode = padding_mode(x_shape[1:-1], kernel_shape[:spatial], strides, dilations, padding)
        if mode is None:
            x = pad(ctx, x, ops.zeros([], dtype), [(0, 0, 0)] + [(lo, hi, 0) for lo, hi in padding] + [(0, 0, 0)], tuple(x_shape))
            mode = "VALID"

    if any(s != 1 for s in strides) and any(d != 1 for d in dilations):
        # TF.js takes strides or dilations, not both: spread the kernel with zeros instead.
        config = [(0, 0, d - 1) for d in dilations] + [(0, 0, 0), (0, 0, 0)]
        kernel = pad(ctx, kernel, ops.zeros([], dtype), config, tuple(kernel_shape))
        kernel_shape = [(k - 1) * d + 1 for k, d in zip(kernel_shape, dilations)] + kernel_shape[spatial:]
        dilations = [1] * spatial
    if spatial == 1:
        x, kernel = ops.expand_dims(x, 1), ops.expand_dims(kernel, 0)
        kernel_shape, strides, dilations = [1, *kernel_shape], [1, *strides], [1, *dilations]
    out = _conv2d(x, kernel, kernel_shape, strides, mode, dilations, params["feature_group_count"])
    if spatial == 1:
        out = ops.squeeze(out, [1])

    out_order = [out_spec[0], *out_spec[2:], out_spec[1]]
    permutation = [out_order.index(axis) for axis in range(len(out_order))]
    return out if permutation == sorted(permutation) else ops.transpose(out, permutation)
