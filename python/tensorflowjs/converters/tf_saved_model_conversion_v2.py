"""The public converter's Python API for TensorFlow graphs -> TF.js graph models.

Thin on purpose: each function turns its keyword arguments into ConversionOptions
(options.options_of_call) and converts through the pair table (converters/pairs.py), as
the CLI does; the handlers use the concepts in tensorflowjs/graph/.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

from tensorflowjs import verify as verification
from tensorflowjs.converters import pairs
from tensorflowjs.options import options_of_call
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES


def convert_tf_saved_model(
    saved_model_dir: str,
    output_dir: str,
    signature_def: str = "serving_default",
    saved_model_tags: Union[str, Sequence[str]] = "serve",
    quantization_dtype_map: Optional[Dict] = None,
    skip_op_check: bool = False,
    strip_debug_ops: bool = False,
    use_structured_outputs_names: bool = False,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    control_flow_v2: bool = False,
    experiments: bool = False,
    metadata: Optional[Dict[str, Any]] = None,
    frozen_graph_dir: Optional[str] = None,
    verify: bool = False,
) -> None:
    """SavedModel signature -> TF.js graph model in output_dir.

    metadata (a dict of JSON values) is embedded as model.json's userDefinedMetadata;
    frozen_graph_dir, when given, also receives the frozen GraphDef (binary, as model.json.frozen).
    `experiments` is accepted for compatibility and changes nothing. verify=True runs the
    result in TF.js and compares it with TensorFlow (tensorflowjs.verify).
    """
    options = options_of_call(locals())
    pairs.convert("tf_saved_model", "tfjs_graph_model", saved_model_dir, output_dir, options, api=True)
    if verify:
        verification.saved_model(output_dir, saved_model_dir, options.saved_model_tags, signature_def)


def convert_tf_frozen_model(
    frozen_model_path: str,
    output_node_names: Union[str, Sequence[str]],
    output_dir: str,
    quantization_dtype_map: Optional[Dict] = None,
    skip_op_check: bool = False,
    strip_debug_ops: bool = False,
    use_structured_outputs_names: bool = False,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    experiments: bool = False,
    metadata: Optional[Dict[str, Any]] = None,
    verify: bool = False,
) -> None:
    """Frozen GraphDef (.pb) -> TF.js graph model; output_node_names: 'a,b' or a list."""
    options = options_of_call(locals())
    pairs.convert("tf_frozen_model", "tfjs_graph_model", frozen_model_path, output_dir, options, api=True)
    if verify:
        verification.frozen_model(output_dir, frozen_model_path, options.output_node_names)


def convert_tf_hub_module(
    module_handle: str,
    output_dir: str,
    signature: str = "default",
    saved_model_tags: Union[str, Sequence[str]] = "",
    quantization_dtype_map: Optional[Dict] = None,
    skip_op_check: bool = False,
    strip_debug_ops: bool = False,
    use_structured_outputs_names: bool = False,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    control_flow_v2: bool = False,
    experiments: bool = False,
    metadata: Optional[Dict[str, Any]] = None,
    verify: bool = False,
) -> None:
    """TF Hub module (local directory or a handle in TFHUB_CACHE_DIR) -> TF.js graph model."""
    options = options_of_call(locals())
    pairs.convert("tf_hub", "tfjs_graph_model", module_handle, output_dir, options, api=True)
    if verify:
        verification.hub_module(output_dir, module_handle, options.saved_model_tags, signature)


def convert_keras_model_to_graph_model(
    keras_model: Any,
    output_dir: str,
    saved_model_tags: str = "serve",
    quantization_dtype_map: Optional[Dict] = None,
    skip_op_check: bool = False,
    strip_debug_ops: bool = False,
    use_structured_outputs_names: bool = False,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    control_flow_v2: bool = False,
    experiments: bool = False,
    metadata: Optional[Dict[str, Any]] = None,
    verify: bool = False,
) -> None:
    """An in-memory Keras model (Keras 3 or tf_keras) -> TF.js graph model.

    Outputs keep the model's output names, in the model's order. saved_model_tags is
    accepted for compatibility (no SavedModel is written).
    """
    from tensorflowjs.converters import tf_graph_model

    options = options_of_call(locals())
    tf_graph_model.convert_keras_model(keras_model, output_dir, options)
    if verify:
        verification.keras_model(output_dir, keras_model)


# Two private helpers of the public module that scripts (and its own tests) call directly.


def _freeze_saved_model_v2(concrete_func: Any, control_flow_v2: bool = False) -> Any:
    """A tf.Graph of the concrete function with its variables frozen into constants."""
    import tensorflow as tf

    from tensorflowjs.graph import freeze

    graph_def = freeze.freeze_function(concrete_func, control_flow_v2)
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
    return graph


def _run_grappler(config: Any, graph_def: Any, graph: Any, signature_def: Any) -> Any:
    """Grappler with the caller's ConfigProto on graph_def; `graph` supplies collections
    such as train_op (the nodes to keep)."""
    from tensorflow.python.grappler import tf_optimizer

    import tensorflow as tf

    meta_graph = tf.compat.v1.train.export_meta_graph(graph_def=graph_def, graph=graph)
    meta_graph.signature_def["not_used_key"].CopyFrom(signature_def)
    return tf_optimizer.OptimizeGraph(config, meta_graph)
