"""Symbolic (polymorphic) dimensions: JAX dimension expressions evaluated as int32 scalar tensors.

A polymorphic input such as "(b, 4)" makes JAX trace with `b` a dimension expression; every
shape parameter derived from it (reshape sizes, broadcast shapes, iota lengths) is a
polynomial in `b`. At run time `b` is `ops.shape(input)[axis]`, so each expression becomes a
few int32 ops. JAX has no public API to walk an expression, so this module is the one place
that reads its structure (`_sorted_terms`, `_factors`, factor `var`/`operation`/`operands`).
"""

from typing import Callable, Dict, Optional, Sequence, Union

import numpy as np

from tensorflowjs.jax_lowering import ops

Dim = Union[int, ops.Tensor]


def is_static(dim) -> bool:
    """True for a plain integer dimension."""
    return isinstance(dim, (int, np.integer))


def as_variable(dim) -> Optional[str]:
    """The variable name if `dim` is exactly one dimension variable (like `b`), else None."""
    if is_static(dim) or len(dim._sorted_terms) != 1:
        return None
    term, coefficient = dim._sorted_terms[0]
    if coefficient != 1 or len(term._factors) != 1:
        return None
    factor, power = term._factors[0]
    return factor.var if power == 1 else None


def _add(a: Dim, b: Dim) -> Dim:
    if is_static(a) and a == 0:
        return b
    return a + b


def _mul(a: Dim, b: Dim) -> Dim:
    if is_static(a) and a == 1:
        return b
    if is_static(b) and b == 1:
        return a
    return a * b


_OPERATIONS: Dict[str, Callable[[Dim, Dim], Dim]] = {
    "floordiv": lambda a, b: ops.math.floordiv(a, b),
    "mod": lambda a, b: ops.math.floormod(a, b),
    "max": lambda a, b: ops.maximum(a, b),
    "min": lambda a, b: ops.minimum(a, b),
}


def evaluate(dim, variable: Callable[[str], ops.Tensor]) -> Dim:
    """`dim` as an int, or as an int32 scalar computed from the variables' run-time values."""
    if is_static(dim):
        return int(dim)
    total: Dim = 0
    for term, coefficient in dim._sorted_terms:
        value: Dim = int(coefficient)
        for factor, power in term._factors:
            if factor.var is not None:
                base = variable(factor.var)
            else:
                operands = [evaluate(operand, variable) for operand in factor.operands]
                base = _OPERATIONS[factor.operation](*operands)
            for _ in range(power):
                value = _mul(value, base)
        total = _add(total, value)
    return total


def product(dims: Sequence) -> object:
    """The product of dimensions, static or symbolic (symbolic expressions multiply exactly)."""
    result = 1
    for dim in dims:
        result = result * dim
    return result
