"""Evaluates a jaxpr equation by equation, emitting graph ops through the registry's handlers.

Runs with a backend in `ops` (the graph builder): every JAX value becomes a symbolic tensor. The context
also answers shape questions for handlers (symbolic dimensions become int32 scalars read from
the inputs' run-time shapes) and turns any failure into a ConversionError naming the
primitive, the user's source line and the enclosing sub-jaxprs.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from jax.extend import core as jcore
from jax.extend import source_info_util

from tensorflowjs.errors import ConversionError
from tensorflowjs.jax_lowering import dims, ops
from tensorflowjs.jax_lowering.registry import REGISTRY, Unsupported

# Handler modules register themselves on import.
from tensorflowjs.jax_lowering import (  # noqa: F401  pylint: disable=unused-import
    calls,
    conv,
    dot,
    elementwise,
    gather,
    pooling,
    reductions,
    shape_ops,
)

# The dtypes TF.js tensors can hold (besides string and complex64, which JAX models don't feed it).
TFJS_DTYPES = (np.dtype("float32"), np.dtype("int32"), np.dtype("bool"))


class Lowering:
    """The state of one lowering: symbolic-dimension values and the sub-jaxpr path for errors."""

    def __init__(self, dim_sources: Dict[str, Tuple[ops.Tensor, int]]):
        # Read every dimension variable up front, outside any loop, so that loop bodies
        # capture the value instead of creating it.
        self._dim_values = {name: ops.shape(t, out_type=ops.int32)[axis] for name, (t, axis) in dim_sources.items()}
        self._path: List[str] = []
        self._enclosing: List[jcore.JaxprEqn] = []

    def _variable(self, name: str) -> ops.Tensor:
        if name not in self._dim_values:
            raise Unsupported(f"dimension variable '{name}' is not the size of any input dimension")
        return self._dim_values[name]

    def dim(self, dim) -> dims.Dim:
        """A dimension as an int, or as an int32 scalar tensor if it is symbolic."""
        return dims.evaluate(dim, self._variable)

    def shape(self, shape: Sequence) -> object:
        """A full shape argument: a list of ints, or an int32 vector if any dim is symbolic."""
        values = [self.dim(d) for d in shape]
        if all(dims.is_static(v) for v in values):
            return values
        return ops.stack([ops.constant(v, ops.int32) if dims.is_static(v) else v for v in values])

    def reshape_shape(self, shape: Sequence) -> object:
        """A Reshape shape: as `shape`, but a single symbolic dim is written -1 (no shape ops)."""
        symbolic = [i for i, d in enumerate(shape) if not dims.is_static(d)]
        if len(symbolic) == 1:
            return [-1 if i == symbolic[0] else int(d) for i, d in enumerate(shape)]
        return self.shape(shape)

    def reshape(self, x: ops.Tensor, current: Sequence, target: Sequence) -> ops.Tensor:
        """`x` (of shape `current`) reshaped to `target`; no op when they already agree."""
        if list(current) == list(target):
            return x
        return ops.reshape(x, self.reshape_shape(target))

    def call(self, closed: jcore.ClosedJaxpr, args: Sequence[ops.Tensor], name: str) -> List[ops.Tensor]:
        """Lowers a closed sub-jaxpr on `args`; `name` shows in error messages."""
        return self.call_open(closed.jaxpr, closed.consts, args, name)

    def call_open(self, jaxpr: jcore.Jaxpr, consts: Sequence, args: Sequence[ops.Tensor], name: Optional[str]) -> List[ops.Tensor]:
        """Lowers a jaxpr with explicit constants."""
        if name:
            self._path.append(name)
        env: Dict[object, ops.Tensor] = {}
        for var, value in zip(jaxpr.constvars, consts):
            env[var] = ops.constant(np.asarray(value))
        for var, value in zip(jaxpr.invars, args):
            env[var] = value
        for eqn in _live_equations(jaxpr):
            outs = self._lower_equation(eqn, [_read(env, v) for v in eqn.invars])
            for var, out in zip(eqn.outvars, outs):
                env[var] = out
        if name:
            self._path.pop()
        return [_read(env, v) for v in jaxpr.outvars]

    def _lower_equation(self, eqn: jcore.JaxprEqn, args: List[ops.Tensor]) -> List[ops.Tensor]:
        name = eqn.primitive.name
        handler = REGISTRY.get(name)
        try:
            if handler is None:
                raise Unsupported("no TF.js lowering for this primitive")
            for var in eqn.outvars:
                if np.dtype(var.aval.dtype) not in TFJS_DTYPES:
                    raise Unsupported(
                        f"its result is {var.aval.dtype}, but TF.js computes in float32, int32 and bool only "
                        "(keep the model in float32 and jax_enable_x64 off)"
                    )
            self._enclosing.append(eqn)
            result = handler(self, eqn, *args)
            self._enclosing.pop()
        except Unsupported as e:
            raise ConversionError(self._describe(eqn, str(e))) from None
        except (ValueError, TypeError, ops.errors.OpError) as e:  # a lowering bug: still say where
            raise ConversionError(self._describe(eqn, f"lowering failed: {e}")) from e
        outs = list(result) if eqn.primitive.multiple_results else [result]
        for var, out in zip(eqn.outvars, outs):
            out.set_shape([int(d) if dims.is_static(d) else None for d in var.aval.shape])
        return outs

    def _describe(self, eqn: jcore.JaxprEqn, reason: str) -> str:
        # Equations inside JAX's own functions have no user frame: use the nearest caller's.
        where = next(filter(None, (source_info_util.summarize(e.source_info) for e in [eqn, *self._enclosing[::-1]])), "unknown")
        inside = f" inside {' > '.join(self._path)}" if self._path else ""
        equation = " ".join(str(eqn).split())
        if len(equation) > 300:
            equation = equation[:300] + " ..."
        return f"cannot convert JAX primitive '{eqn.primitive.name}' ({reason}) at {where}{inside}: {equation}"


def _live_equations(jaxpr: jcore.Jaxpr) -> List[jcore.JaxprEqn]:
    """The equations the outputs depend on. Dead code is common (Flax's RNN draws a PRNG key
    for a carry it then zero-initializes) and may use primitives TF.js has no use for."""
    needed = {v for v in jaxpr.outvars if not isinstance(v, jcore.Literal)}
    live = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in needed for v in eqn.outvars):
            live.append(eqn)
            needed.update(v for v in eqn.invars if not isinstance(v, jcore.Literal))
    return live[::-1]


def _read(env: Dict[object, ops.Tensor], var) -> ops.Tensor:
    if isinstance(var, jcore.Literal):
        return ops.constant(np.asarray(var.val, dtype=var.aval.dtype))
    return env[var]


def lower(closed: jcore.ClosedJaxpr, args: Sequence[ops.Tensor], dim_sources: Dict[str, Tuple[ops.Tensor, int]]) -> List[ops.Tensor]:
    """Tensors computing `closed` on `args`; `dim_sources` maps each dimension variable to
    the (input tensor, axis) whose run-time size it is."""
    return Lowering(dim_sources).call_open(closed.jaxpr, closed.consts, args, None)
