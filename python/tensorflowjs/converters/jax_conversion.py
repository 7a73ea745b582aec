"""JAX / Flax functions to TF.js graph models, on current JAX releases.

jax2tf no longer emits plain TensorFlow ops (only XlaCallModule, which TF.js cannot run), so
the function is traced to a jaxpr and lowered primitive by primitive to TF ops that TF.js
executes (tensorflowjs.jax_lowering); the result is saved as a SavedModel and converted by the
regular SavedModel -> graph model path. JAX and TensorFlow are imported only when called.
"""

import tempfile
from typing import Any, Callable, Optional, Sequence, Tuple

from tensorflowjs import extras
from tensorflowjs import verify as verification

Signature = Tuple[Sequence[Optional[int]], Any]


def convert_jax(
    apply_fn: Callable,
    params: Any,
    *,
    input_signatures: Sequence[Signature],
    model_dir: str,
    polymorphic_shapes: Optional[Sequence[Optional[str]]] = None,
    verify: bool = False,
    **tfjs_converter_params: Any,
) -> None:
    """Converts `apply_fn(params, *inputs)` to a TF.js graph model in `model_dir`.

    input_signatures: one (shape, dtype) per input; None in a shape needs a polymorphic_shapes
        entry such as "(b, 4)", which makes that dimension dynamic (-1 in model.json).
    params: the first argument of apply_fn; its arrays become the model's weights. For a Flax
        module's `apply`, either the variables dict or just its "params" collection.
    tfjs_converter_params: passed on to convert_tf_saved_model, e.g.
        quantization_dtype_map={"float16": "*"}.
    verify: run the result in TF.js and compare it with apply_fn run by JAX (tensorflowjs.verify).
    """
    extras.require("jax", "convert_jax")
    extras.require("tensorflow", "convert_jax")
    from tensorflowjs.jax_lowering import saved_model, tracing
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model

    traced = tracing.trace(apply_fn, params, input_signatures, polymorphic_shapes)
    with tempfile.TemporaryDirectory(prefix="tfjs_jax_") as saved_model_dir:
        saved_model.save(traced, saved_model_dir)
        convert_tf_saved_model(saved_model_dir, model_dir, **tfjs_converter_params)
    if verify:
        verification.jax_function(model_dir, apply_fn, params)
