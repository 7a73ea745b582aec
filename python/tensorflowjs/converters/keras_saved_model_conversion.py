"""tf_keras SavedModel directories (with keras_metadata.pb) -> TF.js layers models.

The config and weights are read with protobuf and the tensor bundle reader alone
(keras.keras_saved_model). A variable that reader cannot read in place (sliced, or of a dtype
numpy lacks) needs tf_keras: then the model is loaded with it, saved as a private temporary .h5
and goes the same way as any .h5 file.
"""

import os
from typing import Any, Tuple

from tensorflowjs import extras
from tensorflowjs.converters import keras_h5_conversion
from tensorflowjs.graph.saved_model import read_saved_model_proto
from tensorflowjs.graph.tensor_bundle import TensorBundle
from tensorflowjs.keras.keras_saved_model import METADATA_FILE, NeedsTfKeras, read_keras_saved_model
from tensorflowjs.options import ConversionOptions
from tensorflowjs.errors import ConversionError


def _open_saved_model(path: str) -> Tuple[Any, TensorBundle]:
    """The object graph of saved_model.pb and the tensor bundle of variables/."""
    object_graph = read_saved_model_proto(path).meta_graphs[0].object_graph_def
    prefix = os.path.join(path, "variables", "variables")
    if not os.path.isfile(prefix + ".index"):
        raise ConversionError(f"{path} has no variables/variables.index; copy the whole SavedModel directory, variables/ included")
    return object_graph, TensorBundle(prefix)


def _load(path: str, reason: str):
    tf_keras = extras.require("tf_keras", f"{path}: {reason}; reading it")
    try:
        return tf_keras.models.load_model(path, compile=False)
    except (ValueError, OSError, ImportError) as e:
        raise ConversionError(f"{path}: tf_keras cannot load this SavedModel ({str(e).splitlines()[0]})") from None


def convert_keras_saved_model_to_layers(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """Handler of keras_saved_model -> tfjs_layers_model."""
    if not os.path.isfile(os.path.join(input_path, METADATA_FILE)):
        raise ConversionError(f"{input_path} is not a Keras SavedModel (no {METADATA_FILE}); a plain TF SavedModel converts with --input_format tf_saved_model")
    try:
        source = read_keras_saved_model(input_path, lambda: _open_saved_model(input_path))
    except NeedsTfKeras as e:
        model = _load(input_path, str(e))
        with keras_h5_conversion.saved_copy(model) as path, keras_h5_conversion.open_keras_file(path) as h5_source:
            keras_h5_conversion.write_source(h5_source, output_path, options)
        return
    keras_h5_conversion.write_source(source, output_path, options)
