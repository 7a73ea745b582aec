"""From `apply_fn(params, *inputs)` and the input signatures to a jaxpr ready for lowering.

Inputs are traced abstractly: a polymorphic input spec such as "(b, 4)" becomes a JAX
symbolic shape, so the jaxpr records how every size depends on `b`, and `b` is bound at run
time to the size of the first input axis it names. Parameters are traced as arguments too,
so they become named Const nodes (TF.js weights) rather than constants folded into the ops.
"""

import dataclasses
import re
import sys
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import jax
import numpy as np
from jax import export
from jax.extend import core as jcore

from tensorflowjs.errors import ConversionError
from tensorflowjs.jax_lowering import dims
from tensorflowjs.jax_lowering.interpreter import TFJS_DTYPES


@dataclasses.dataclass
class Traced:
    """A traced function: its jaxpr takes the parameter leaves, then the inputs."""

    jaxpr: jcore.ClosedJaxpr
    param_names: List[str]
    param_values: List[np.ndarray]
    input_shapes: List[Tuple[Optional[int], ...]]  # the TF signature: None where symbolic
    input_dtypes: List[np.dtype]
    dim_sources: Dict[str, Tuple[int, int]]  # dimension variable -> (input index, axis)


def _flax_variables(apply_fn: Callable, params: Any, inputs: Sequence[jax.ShapeDtypeStruct]) -> Any:
    """Flax's `Module.apply` wants {"params": ...}; the documented example passes only the
    inner collection (`init(...)["params"]`), which Flax would reject. When `params` has the
    structure of the module's "params" collection, it gets wrapped."""
    linen = sys.modules.get("flax.linen")
    module = getattr(apply_fn, "__self__", None)
    if linen is None or not isinstance(module, linen.Module) or getattr(apply_fn, "__func__", None) is not linen.Module.apply:
        return params
    if not isinstance(params, Mapping) or "params" in params:
        return params
    try:
        expected = jax.eval_shape(lambda *xs: module.init(jax.random.PRNGKey(0), *xs), *inputs).get("params")
    except Exception:  # a module that cannot init from the inputs alone: leave params as given
        return params
    same = expected is not None and jax.tree_util.tree_structure(expected) == jax.tree_util.tree_structure(params)
    return {"params": params} if same else params


def _shape_and_dtype(signature: Any, index: int) -> Tuple[tuple, Any]:
    """(shape, dtype) of a ((shape), dtype) pair, or of anything with .shape and .dtype
    (tf.TensorSpec, jax.ShapeDtypeStruct, an array); TF types are read by duck typing."""
    if hasattr(signature, "shape") and hasattr(signature, "dtype"):
        shape = signature.shape
        if hasattr(shape, "as_list"):
            if shape.rank is None:
                raise ConversionError(f"input_signatures[{index}] has an unknown rank; give every dimension (None for a dynamic one)")
            shape = shape.as_list()
        return tuple(shape), getattr(signature.dtype, "as_numpy_dtype", signature.dtype)
    try:
        shape, dtype = signature
    except (TypeError, ValueError):
        raise ConversionError(f"input_signatures[{index}] is {signature!r}; give a ((shape), dtype) pair or a tf.TensorSpec") from None
    return tuple(shape), dtype


def _input_shapes(input_signatures, polymorphic_shapes) -> Tuple[List[tuple], List[np.dtype]]:
    """JAX shapes (ints and dimension expressions) and dtypes of the inputs."""
    if polymorphic_shapes is None:
        polymorphic_shapes = [None] * len(input_signatures)
    elif isinstance(polymorphic_shapes, str):
        polymorphic_shapes = [polymorphic_shapes]
    if len(polymorphic_shapes) != len(input_signatures):
        raise ConversionError("polymorphic_shapes must be a list with one entry (a string or None) per input signature")
    scope = export.SymbolicScope()
    shapes, dtypes = [], []
    for index, (signature, spec) in enumerate(zip(input_signatures, polymorphic_shapes)):
        shape, dtype = _shape_and_dtype(signature, index)
        shape = tuple(None if d is None else int(d) for d in shape)
        if spec is not None:
            try:
                symbolic = tuple(export.symbolic_shape(spec, scope=scope, like=shape))
            except Exception as e:  # JAX raises ValueError and its own parse errors
                raise ConversionError(f"polymorphic_shapes[{index}] = {spec!r} does not fit input shape {shape}: {e}") from None
            shape = symbolic
        if any(d is None for d in shape):
            raise ConversionError(
                f"input {index} has shape {shape} with an unknown dimension; give polymorphic_shapes, "
                'e.g. ["(b, 4)"] for [((None, 4), np.float32)]'
            )
        shapes.append(shape)
        dtypes.append(np.dtype(jax.dtypes.canonicalize_dtype(dtype)))
    return shapes, dtypes


def _leaf_value(leaf: Any) -> np.ndarray:
    """A parameter's array; a Python number gets the dtype JAX gives it (float32 for 0.5 when
    jax_enable_x64 is off), as apply_fn would see it."""
    if isinstance(leaf, (bool, int, float, complex)):
        return np.asarray(jax.numpy.asarray(leaf))
    return np.asarray(leaf)


def _name(path) -> str:
    return re.sub(r"[^A-Za-z0-9_./-]", "_", jax.tree_util.keystr(path, simple=True, separator="/")) or "param"


def trace(apply_fn: Callable, params: Any, input_signatures: Sequence, polymorphic_shapes: Optional[Sequence]) -> Traced:
    """Traces `apply_fn(params, *inputs)` for the given signatures."""
    shapes, dtypes = _input_shapes(input_signatures, polymorphic_shapes)
    specs = [jax.ShapeDtypeStruct(s, d) for s, d in zip(shapes, dtypes)]
    params = _flax_variables(apply_fn, params, specs)
    leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(params)
    values = [_leaf_value(leaf) for _, leaf in leaves_with_paths]
    names = [_name(path) for path, _ in leaves_with_paths]
    for name, value in zip(names, values):
        if value.dtype not in TFJS_DTYPES:
            raise ConversionError(f"parameter {name} is {value.dtype}; TF.js weights are float32, int32 or bool")
    for index, dtype in enumerate(dtypes):
        if dtype not in TFJS_DTYPES:
            raise ConversionError(f"input {index} is {dtype}; TF.js inputs are float32, int32 or bool")

    def flat_fn(leaves, *inputs):
        return apply_fn(jax.tree_util.tree_unflatten(treedef, leaves), *inputs)

    jaxpr = jax.make_jaxpr(flat_fn)([jax.ShapeDtypeStruct(v.shape, v.dtype) for v in values], *specs)
    sources: Dict[str, Tuple[int, int]] = {}
    for index, shape in enumerate(shapes):
        for axis, dim in enumerate(shape):
            var = dims.as_variable(dim)
            if var is not None:
                sources.setdefault(var, (index, axis))
    tf_shapes = [tuple(int(d) if dims.is_static(d) else None for d in shape) for shape in shapes]
    return Traced(jaxpr, names, values, tf_shapes, dtypes, sources)
