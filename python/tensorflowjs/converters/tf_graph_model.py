"""Handlers of the `-> tfjs_graph_model` pairs: each finds the source's function or graph
and hands it to tensorflowjs.graph.pipeline, which freezes, optimises, checks and writes.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from tensorflowjs import extras
from tensorflowjs.options import ConversionOptions
from tensorflowjs.graph import freeze, pipeline, signature as signature_lib


# The file name the public converter gives the frozen GraphDef it keeps (a binary GraphDef).
FROZEN_GRAPH_FILE_NAME = "model.json.frozen"


def _write_frozen_copy(graph_def: Any, frozen_graph_dir: str) -> None:
    from tensorflowjs.graph import tensors
    from tensorflowjs.output import output_file

    tensors.load_stored(graph_def)  # the file must hold every value, not references to a checkpoint
    os.makedirs(frozen_graph_dir, exist_ok=True)
    with output_file(os.path.join(frozen_graph_dir, FROZEN_GRAPH_FILE_NAME)) as path:
        with open(path, "wb") as f:
            f.write(graph_def.SerializeToString())


def write_graph(output_path: str, graph_def: Any, signature: Any, options: ConversionOptions, generated_by: str, source_path: str,
           initializer: Any = None, frozen_without_tensorflow: bool = False) -> None:
    """The frozen graph kept in options.frozen_graph_dir when asked, then the graph model written."""
    if options.frozen_graph_dir:
        _write_frozen_copy(graph_def, options.frozen_graph_dir)
    pipeline.write_graph_model(output_path, graph_def, signature, options, generated_by, source_path, initializer, frozen_without_tensorflow)


def _convert_function(function: Any, output_path: str, options: ConversionOptions, generated_by: str, source_path: str,
                      loaded: Any = None, output_keys=None) -> None:
    from tensorflowjs.graph import resources

    signature = signature_lib.from_concrete_function(function, output_keys)
    graph_def = freeze.freeze_function(function, options.control_flow_v2)
    initializer = resources.initializer_for(function, graph_def, signature, loaded, source_path)
    write_graph(output_path, graph_def, signature, options, generated_by, source_path, initializer)


def convert_saved_model(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """tf_saved_model -> tfjs_graph_model (also keras_saved_model: its serving signature)."""
    _convert_saved_model(input_path, output_path, options, options.saved_model_tags, options.signature_name or "serving_default")


def _convert_saved_model(saved_model_dir: str, output_path: str, options: ConversionOptions, tags: Any, signature_name: str) -> None:
    from tensorflowjs.graph import saved_model, tf1_saved_model

    choice = saved_model.choose_meta_graph(saved_model_dir, tags, signature_name)
    reason = _convert_without_tensorflow(saved_model_dir, output_path, options, choice, signature_name)
    if reason is None:
        return
    extras.require("tensorflow", f"converting {saved_model_dir} ({reason})")
    if not choice.tf1:
        loaded = saved_model.load_signature(saved_model_dir, choice, signature_name)
        _convert_function(loaded.function, output_path, options, loaded.tensorflow_version, saved_model_dir, loaded.model)
        return
    tf = extras.require("tensorflow", f"converting the TF1 SavedModel {saved_model_dir}")

    graph_def, signature, initializer = tf1_saved_model.freeze(saved_model_dir, choice.tags, signature_name)
    write_graph(output_path, graph_def, signature, options, choice.tensorflow_version or tf.__version__, saved_model_dir, initializer)


def _convert_without_tensorflow(saved_model_dir: str, output_path: str, options: ConversionOptions, choice: Any, signature_name: str) -> Optional[str]:
    """The SavedModel converted without importing TensorFlow (None), or why it needs TensorFlow
    (nothing written): to freeze it, or to fold away ops TF.js lacks (Grappler folds more)."""
    from tensorflowjs.graph import resources, saved_model_graph, tf1_saved_model
    from tensorflowjs.graph.op_check import UnsupportedOpsError

    try:
        if choice.tf1:
            graph_def, signature, initializer = tf1_saved_model.freeze_without_tensorflow(saved_model_dir, choice.meta_graph, signature_name)
        else:
            graph_def, signature = saved_model_graph.freeze_signature(saved_model_dir, choice.meta_graph, signature_name,
                                                                      control_flow_v2=options.control_flow_v2)
            initializer = resources.initializer_without_tensorflow(saved_model_dir, choice.meta_graph, signature)
        write_graph(output_path, graph_def, signature, options, choice.tensorflow_version, saved_model_dir, initializer, frozen_without_tensorflow=True)
    except (saved_model_graph.NeedsTensorFlow, UnsupportedOpsError) as e:
        return str(e)
    return None


def convert_frozen_model(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """tf_frozen_model -> tfjs_graph_model: a binary GraphDef with --output_node_names; without
    TensorFlow unless the graph needs it (then TensorFlow's path, if installed)."""
    from tensorflowjs.graph import frozen_graph
    from tensorflowjs.graph.op_check import UnsupportedOpsError

    names = frozen_graph.parse_output_names(options.output_node_names, input_path)
    graph_def = frozen_graph.read_graph_def(input_path)
    try:
        frozen, signature = frozen_graph.freeze_without_tensorflow(graph_def, names, input_path)
        generated_by = f"TensorFlow GraphDef (producer {graph_def.versions.producer})"
        write_graph(output_path, frozen, signature, options, generated_by, input_path, frozen_without_tensorflow=True)
        return
    except (frozen_graph.NeedsTensorFlow, UnsupportedOpsError) as e:
        tf = extras.require("tensorflow", f"converting {input_path} ({e})")
    graph_def = frozen_graph.read_graph_def(input_path, tf.compat.v1.GraphDef)
    signature = frozen_graph.signature_of(graph_def, names, input_path)
    write_graph(output_path, graph_def, signature, options, tf.__version__, input_path)


def convert_hub_module(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """tf_hub -> tfjs_graph_model: a module directory (TF2 SavedModel or TF1 hub format)."""
    from tensorflowjs.graph import saved_model, tf_hub

    module_dir = tf_hub.resolve_module(input_path)
    available = [sorted(m.meta_info_def.tags) for m in saved_model.read_saved_model_proto(module_dir).meta_graphs]
    tags = tf_hub.module_tags(saved_model.parse_tags(options.saved_model_tags), available)
    _convert_saved_model(module_dir, output_path, options, tags, options.signature_name or "default")


def convert_keras_model(model: Any, output_path: str, options: ConversionOptions, source_path: str = "the Keras model") -> None:
    """An in-memory Keras model -> tfjs_graph_model, outputs named and ordered as the model's."""
    tf = extras.require("tensorflow", "converting a Keras model to a graph model")

    from tensorflowjs.graph import keras_model

    function, names = keras_model.trace(model)
    _convert_function(function, output_path, options, tf.__version__, source_path, model, output_keys=names)


def convert_keras_file(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """keras (.h5 of Keras 2 or 3, or .keras) -> tfjs_graph_model."""
    from tensorflowjs.converters.keras_h5_conversion import open_keras_file
    from tensorflowjs.graph import keras_model

    with open_keras_file(input_path):  # our reader's checks (links, sizes, JSON depth, weights) before Keras opens it
        pass
    convert_keras_model(keras_model.load_keras_file(input_path), output_path, options, input_path)


def convert_layers_model(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """tfjs_layers_model -> tfjs_graph_model: the layers model rebuilt in tf_keras, then traced."""
    from tensorflowjs.converters.keras_tfjs_loader import load_keras_model

    convert_keras_model(load_keras_model(input_path, use_tf_keras=True), output_path, options, input_path)
