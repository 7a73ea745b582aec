"""tf_keras SavedModel directories (with keras_metadata.pb) -> TF.js layers models.

Only tf_keras can rebuild a Keras model from a SavedModel, so this pair imports it; the
model is then saved as a private temporary .h5 and goes the same way as any .h5 file.
"""

import os
from tensorflowjs import extras
from tensorflowjs.converters import keras_h5_conversion
from tensorflowjs.options import ConversionOptions
from tensorflowjs.errors import ConversionError


def _load(path: str):
    if not os.path.isfile(os.path.join(path, "keras_metadata.pb")):
        raise ConversionError(f"{path} is not a Keras SavedModel (no keras_metadata.pb); a plain TF SavedModel converts with --input_format tf_saved_model")
    tf_keras = extras.require("tf_keras", "reading a Keras SavedModel (keras_saved_model)")

    try:
        return tf_keras.models.load_model(path, compile=False)
    except (ValueError, OSError, ImportError) as e:
        raise ConversionError(f"{path}: tf_keras cannot load this SavedModel ({str(e).splitlines()[0]})") from None


def convert_keras_saved_model_to_layers(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """Handler of keras_saved_model -> tfjs_layers_model."""
    model = _load(input_path)
    with keras_h5_conversion.saved_copy(model) as path, keras_h5_conversion.open_keras_file(path) as source:
        keras_h5_conversion.write_source(source, output_path, options)
