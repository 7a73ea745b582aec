"""JAX / Flax functions to TF.js graph models, on current JAX releases, without TensorFlow.

jax2tf no longer emits plain TensorFlow ops (only XlaCallModule, which TF.js cannot run), so
the function is traced to a jaxpr and lowered primitive by primitive to the ops TF.js executes
(tensorflowjs.jax_lowering), straight into a frozen GraphDef; that graph takes the regular
TensorFlow-free optimisation and writing path of frozen graphs. JAX is imported only when called.
"""

import inspect
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from tensorflowjs import extras
from tensorflowjs import verify as verification
from tensorflowjs.converters import tf_graph_model
from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model
from tensorflowjs.options import ConversionOptions, options_of_keywords

Signature = Tuple[Sequence[Optional[int]], Any]

# The public convert_jax passed its extra keywords on to convert_tf_saved_model, so scripts pass
# any of those; a SavedModel's signature and tags mean nothing here, and `experiments` and
# `control_flow_v2` change nothing (a while loop is built as v1 frames, which TF.js runs).
_ACCEPTED = set(inspect.signature(convert_tf_saved_model).parameters) - {"saved_model_dir", "output_dir", "verify"}
_IGNORED = {"signature_def", "saved_model_tags", "experiments"}


def _options(keywords: Dict[str, Any]) -> ConversionOptions:
    unknown = sorted(set(keywords) - _ACCEPTED)
    if unknown:
        raise TypeError(f"convert_jax() got unexpected keyword arguments: {', '.join(unknown)}")
    return options_of_keywords(**{k: v for k, v in keywords.items() if k not in _IGNORED})


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
        quantization_dtype_map={"float16": "*"}, weight_shard_size_bytes, metadata, frozen_graph_dir.
    verify: run the result in TF.js and compare it with apply_fn run by JAX (tensorflowjs.verify).
    """
    extras.require("jax", "convert_jax")
    options = _options(tfjs_converter_params)
    from tensorflowjs.jax_lowering import graph_model, tracing

    traced = tracing.trace(apply_fn, params, input_signatures, polymorphic_shapes)
    graph_def, signature = graph_model.build(traced)
    generated_by = f"JAX {extras.require('jax').__version__}"
    tf_graph_model.write_graph(model_dir, graph_def, signature, options, generated_by, "the JAX function", frozen_without_tensorflow=True)
    if verify:
        verification.jax_function(model_dir, apply_fn, params)
