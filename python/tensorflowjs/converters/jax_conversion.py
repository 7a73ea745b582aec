"""JAX / Flax functions to TF.js graph models, on current JAX releases, without TensorFlow.

jax2tf no longer emits plain TensorFlow ops (only XlaCallModule, which TF.js cannot run), so
the function is traced to a jaxpr and lowered primitive by primitive to the ops TF.js executes
(tensorflowjs.jax_lowering), straight into a frozen GraphDef; that graph takes the regular
TensorFlow-free optimisation and writing path of frozen graphs. JAX is imported only when called.
"""

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from tensorflowjs import extras
from tensorflowjs import verify as verification
from tensorflowjs.options import ConversionOptions
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES

Signature = Tuple[Sequence[Optional[int]], Any]


def _options(
    quantization_dtype_map: Optional[Dict] = None,
    skip_op_check: bool = False,
    strip_debug_ops: bool = False,
    use_structured_outputs_names: bool = False,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    control_flow_v2: bool = False,
    experiments: bool = False,
    metadata: Optional[Dict[str, Any]] = None,
) -> Tuple[ConversionOptions, Optional[Dict[str, Any]]]:
    """The graph-model options convert_tf_saved_model would take (a SavedModel's signature and
    tags have no meaning here), and the user metadata. `experiments` changes nothing, nor does
    `control_flow_v2`: a while loop is built as v1 frames, which TF.js runs."""
    options = ConversionOptions(
        quantization_dtype_map=dict(quantization_dtype_map or {}),
        weight_shard_size_bytes=weight_shard_size_bytes,
        strip_debug_ops=strip_debug_ops,
        control_flow_v2=control_flow_v2,
        use_structured_outputs_names=use_structured_outputs_names,
        skip_op_check=skip_op_check,
    )
    return options, metadata


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
    tfjs_converter_params: graph-model options as convert_tf_saved_model takes them, e.g.
        quantization_dtype_map={"float16": "*"}, weight_shard_size_bytes, metadata.
    verify: run the result in TF.js and compare it with apply_fn run by JAX (tensorflowjs.verify).
    """
    extras.require("jax", "convert_jax")
    options, user_metadata = _options(**tfjs_converter_params)
    from tensorflowjs.graph import pipeline
    from tensorflowjs.jax_lowering import graph_model, tracing

    traced = tracing.trace(apply_fn, params, input_signatures, polymorphic_shapes)
    graph_def, signature = graph_model.build(traced)
    generated_by = f"JAX {extras.require('jax').__version__}"
    pipeline.write_graph_model(model_dir, graph_def, signature, options, generated_by, "the JAX function", user_metadata=user_metadata,
                               frozen_without_tensorflow=True)
    if verify:
        verification.jax_function(model_dir, apply_fn, params)
