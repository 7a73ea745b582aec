"""A Keras model (Keras 3 or tf_keras) as a traced TF function with named outputs.

Tracing the in-memory model directly (no SavedModel round trip) keeps the model's own
input and output names and its output order.
"""

from __future__ import annotations

import os
from typing import Any, List, Tuple

from tensorflowjs import extras
from tensorflowjs.errors import ConversionError
from tensorflowjs.tensor_names import node_name


def load_keras_file(path: str) -> Any:
    """A Keras 2 or Keras 3 .h5 / .keras file, loaded by Keras 3 with safe_mode on."""
    keras = extras.require("keras", "converting a Keras model to a graph model")

    if not os.path.isfile(path):
        raise ConversionError(f"{path} is not a file; give a Keras .h5 or .keras model file")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError, OSError, KeyError) as e:
        raise ConversionError(f"Keras cannot load {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def input_name(tensor: Any, index: int) -> str:
    """A Keras input's name in the traced signature (and so in the graph model)."""
    return node_name(getattr(tensor, "name", None) or f"input_{index}").replace("/", "_")


def output_names(model: Any, count: int) -> List[str]:
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != count or len(set(names)) != count:
        return [f"output_{i}" for i in range(count)]
    return names


def trace(model: Any) -> Tuple[Any, List[str]]:
    """(concrete function returning {output name: tensor}, output names in the model's order)."""
    tf = extras.require("tensorflow", "converting a Keras model to a graph model")

    try:
        model_inputs = model.inputs
    except (AttributeError, ValueError):
        model_inputs = None
    if not model_inputs:
        raise ConversionError("the Keras model has no defined inputs; build it on an Input (or call it once) before converting")
    try:
        declared = model.input
    except AttributeError:  # a Keras 3 Sequential read from a Keras 2 .h5 has inputs but no `input`
        declared = model_inputs[0] if len(model_inputs) == 1 else model_inputs
    structure = declared if not isinstance(declared, (list, tuple)) or len(model_inputs) > 1 else model_inputs[0]
    specs = []
    for index, tensor in enumerate(model_inputs):
        name = input_name(tensor, index)
        specs.append(tf.TensorSpec(tuple(tensor.shape), tf.as_dtype(tensor.dtype), name=name))
    outputs = model.outputs if getattr(model, "outputs", None) else [None]
    names = output_names(model, len(outputs))

    def serve(*args):
        packed = tf.nest.pack_sequence_as(structure, list(args)) if isinstance(structure, (list, tuple, dict)) else args[0]
        result = tf.nest.flatten(model(packed, training=False))
        return dict(zip(names, result))

    return tf.function(serve, input_signature=specs).get_concrete_function(), names
