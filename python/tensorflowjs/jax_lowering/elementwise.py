"""Elementwise primitives: arithmetic, comparisons, logic, transcendental functions, casts.

JAX binary ops broadcast size-1 and rank-0 operands the way TF ops do, so most primitives map
to one TF op. Where JAX semantics differ from the nearest TF.js op (integer division truncates,
`rem` takes the dividend's sign, `erfc` has no TF.js kernel) the handler composes ops that TF.js
has, rather than emitting TF ops that it would reject (TruncateDiv, TruncateMod, Erfc). Bias
adds and max(x, 0) become BiasAdd and Relu, the forms graph optimizers fuse into MatMul/Conv2D.
"""

import numpy as np
from jax.extend import core as jcore

from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import Unsupported, lowering


UNARY = {
    "neg": "negative",
    "exp": "exp",
    "log": "math.log",
    "log1p": "math.log1p",
    "expm1": "math.expm1",
    "tanh": "tanh",
    "logistic": "sigmoid",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "asinh": "asinh",
    "acosh": "acosh",
    "atanh": "atanh",
    "sqrt": "sqrt",
    "rsqrt": "math.rsqrt",
    "abs": "abs",
    "sign": "sign",
    "floor": "floor",
    "ceil": "math.ceil",
    "is_finite": "math.is_finite",
    "erf": "math.erf",
    "square": "square",
}

BINARY = {
    "sub": "subtract",
    "mul": "multiply",
    "min": "minimum",
    "pow": "pow",
    "atan2": "atan2",
    "eq": "equal",
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
}

# Gradients, copies, devices and sharding do not exist in an inference graph.
IDENTITIES = ("stop_gradient", "copy", "copy_p", "device_put", "sharding_constraint", "optimization_barrier")


def _op(path: str):
    """ops.<path> of the backend in use ("math.log" is ops.math.log)."""
    target = ops
    for part in path.split("."):
        target = getattr(target, part)
    return target


def _register_tables() -> None:
    for name, fn in UNARY.items():
        lowering(name)(lambda ctx, eqn, x, fn=fn: _op(fn)(x))
    for name, fn in BINARY.items():
        lowering(name)(lambda ctx, eqn, x, y, fn=fn: _op(fn)(x, y))
    lowering(*IDENTITIES)(lambda ctx, eqn, *xs: xs if eqn.primitive.multiple_results else xs[0])


_register_tables()


def _bias(shape, of):
    """True if `shape` is a vector along the last axis of `of` (like (1, 1, N) against (B, T, N))."""
    return (len(of) >= 2 and 1 <= len(shape) <= len(of) and dims.is_static(of[-1]) and shape[-1] == of[-1]
            and all(d == 1 for d in shape[:-1]))


@lowering("add", "add_any")
def _add(ctx, eqn, x, y):
    """x + y, with a bias written as BiasAdd so the converter can fuse it into the MatMul or
    Conv2D before it (Flax adds biases with a broadcasting add)."""
    x_shape, y_shape, out_shape = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape, eqn.outvars[0].aval.shape
    if x.dtype.is_floating and tuple(x_shape) == tuple(out_shape) and _bias(y_shape, x_shape):
        return ops.nn.bias_add(x, ops.reshape(y, [-1]))
    if x.dtype.is_floating and tuple(y_shape) == tuple(out_shape) and _bias(x_shape, y_shape):
        return ops.nn.bias_add(y, ops.reshape(x, [-1]))
    return ops.add(x, y)


@lowering("max")
def _max(ctx, eqn, x, y):
    """max(x, y); max(x, 0) (jax.nn.relu) as Relu, which the converter fuses like a bias."""
    for value, other in ((eqn.invars[0], y), (eqn.invars[1], x)):
        if isinstance(value, jcore.Literal) and np.ndim(value.val) == 0 and value.val == 0 and other.dtype.is_floating:
            return ops.nn.relu(other)
    return ops.maximum(x, y)


@lowering("erfc")
def _erfc(ctx, eqn, x):
    """1 - erf(x): TF.js has Erf but no Erfc (exact GELU lowers through erfc)."""
    return ops.subtract(ops.ones_like(x), ops.math.erf(x))


@lowering("exp2")
def _exp2(ctx, eqn, x):
    return ops.pow(ops.constant(2, x.dtype), x)


@lowering("cbrt")
def _cbrt(ctx, eqn, x):
    return ops.sign(x) * ops.pow(ops.abs(x), ops.constant(1 / 3, x.dtype))


@lowering("integer_pow")
def _integer_pow(ctx, eqn, x):
    """x ** y by repeated squaring, as JAX computes it (Pow would differ in the last bits)."""
    y = eqn.params["y"]
    result, base, n = None, x, abs(y)
    while n:
        if n & 1:
            result = base if result is None else ops.multiply(result, base)
        n >>= 1
        if n:
            base = ops.multiply(base, base)
    if result is None:
        return ops.ones_like(x)
    return ops.math.reciprocal(result) if y < 0 else result


@lowering("round")
def _round(ctx, eqn, x):
    """TF's Round rounds half to even; JAX's default (AWAY_FROM_ZERO) needs floor(|x| + 0.5)."""
    if int(eqn.params["rounding_method"]) == 1:  # TO_NEAREST_EVEN
        return ops.round(x)
    return ops.sign(x) * ops.floor(ops.abs(x) + ops.constant(0.5, x.dtype))


@lowering("div")
def _div(ctx, eqn, x, y):
    """Float division, or integer division truncating toward zero (TF.js only has FloorDiv)."""
    if x.dtype.is_floating:
        return ops.divide(x, y)
    quotient = ops.math.floordiv(x, y)
    inexact = ops.not_equal(ops.math.floormod(x, y), 0)
    signs_differ = ops.not_equal(ops.less(x, 0), ops.less(y, 0))
    return ops.where(ops.logical_and(inexact, signs_differ), quotient + 1, quotient)


@lowering("rem")
def _rem(ctx, eqn, x, y):
    """C-style remainder (sign of the dividend) from FloorMod (sign of the divisor)."""
    r = ops.math.floormod(x, y)
    fix = ops.logical_and(ops.not_equal(r, 0), ops.not_equal(ops.less(r, 0), ops.less(x, 0)))
    return ops.where(fix, r - y, r)


def _logical(bool_fn, int_fn=None):
    def handler(ctx, eqn, *operands):
        if operands[0].dtype == ops.bool:
            return _op(bool_fn)(*operands)
        if int_fn is None:
            raise Unsupported("TF.js has no bitwise op for it on integers")
        return _op(int_fn)(*operands)

    return handler


lowering("and")(_logical("logical_and", "bitwise.bitwise_and"))
lowering("or")(_logical("logical_or"))
lowering("xor")(_logical("not_equal"))
lowering("not")(_logical("logical_not"))


@lowering("select_n")
def _select_n(ctx, eqn, which, *cases):
    """cases[which]: a boolean `which` picks cases[1] where true; an integer one indexes."""
    if which.dtype == ops.bool:
        return ops.where(which, cases[1], cases[0])
    result = cases[0]
    for index, case in enumerate(cases[1:], start=1):
        result = ops.where(ops.equal(which, index), case, result)
    return result


@lowering("clamp")
def _clamp(ctx, eqn, low, x, high):
    return ops.minimum(ops.maximum(x, low), high)


@lowering("convert_element_type")
def _convert_element_type(ctx, eqn, x):
    """Cast, except to bool: TF.js's WASM Cast truncates floats first (0.5 -> false)."""
    dtype = ops.as_dtype(np.dtype(eqn.params["new_dtype"]))
    if x.dtype == dtype:
        return x
    return ops.not_equal(x, ops.zeros([], x.dtype)) if dtype == ops.bool else ops.cast(x, dtype)


@lowering("reduce_precision")
def _reduce_precision(ctx, eqn, x):
    """A no-op when it keeps float32's precision; TF.js cannot round to fewer bits."""
    info = np.finfo(np.float32)
    if eqn.params["exponent_bits"] >= info.nexp and eqn.params["mantissa_bits"] >= info.nmant:
        return x
    raise Unsupported("rounding to fewer bits than float32 has")


@lowering("dim_as_value")
def _dim_as_value(ctx, eqn):
    """A (possibly symbolic) dimension used as a number, e.g. the batch size in a mean."""
    value = ctx.dim(eqn.params["dim"])
    return ops.constant(value, ops.int32) if dims.is_static(value) else value

