"""TF.js layers model -> Keras files: .h5 and Keras SavedModel (tf_keras), .keras (Keras 3).

The model is rebuilt and its weights set by keras.model_builder (tf_keras for the Keras 2
formats, Keras 3 for .keras); these handlers only choose the Keras and the file format,
writing through a staging path so that a failed conversion leaves nothing behind.
"""

import os
import warnings

from tensorflowjs import model_json
from tensorflowjs.options import ConversionOptions
from tensorflowjs.converters.tfjs_layers_model import read_layers_model
from tensorflowjs.keras import model_builder
from tensorflowjs.output import output_directory, output_file
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES


def _warn_about_tfjs_only_options(options: ConversionOptions, output_format: str) -> None:
    ignored = [flag for flag, used in (
        ("quantization", bool(options.quantization_dtype_map)),
        ("--weight_shard_size_bytes", options.weight_shard_size_bytes != DEFAULT_SHARD_SIZE_BYTES),
        ("--split_weights_by_layer", options.split_weights_by_layer),
        ("--metadata", bool(options.metadata)),
    ) if used]
    if ignored:
        warnings.warn(f"{', '.join(ignored)} only apply to TF.js outputs; ignored for --output_format={output_format}")


def _keras_model(input_path: str, options: ConversionOptions, output_format: str, use_tf_keras: bool = True):
    _warn_about_tfjs_only_options(options, output_format)
    model, weights = read_layers_model(input_path)
    where = model_json.model_json_path(input_path)
    return model_builder.build_model(model["modelTopology"], weights, where, use_tf_keras), where


def convert_to_keras_h5(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """A Keras 2 HDF5 file that tf_keras and Keras 3 both load."""
    model, where = _keras_model(input_path, options, "keras")
    with output_file(output_path) as staging:
        model_builder.write_h5(model, staging, where)


def convert_to_keras_saved_model(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """A tf_keras SavedModel directory (keras_metadata.pb included): Keras 3 cannot write one."""
    model, _ = _keras_model(input_path, options, "keras_saved_model")
    with output_directory(output_path) as staging, model_builder.quiet_keras():
        model.save(staging, save_format="tf", include_optimizer=False)


def convert_to_keras_archive(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """A Keras 3 .keras archive; Keras 3 insists on the suffix, so the file is renamed after."""
    keras3_model, _ = _keras_model(input_path, options, "keras_keras", use_tf_keras=False)
    with output_file(output_path) as staging:
        archive = staging if staging.endswith(".keras") else staging + ".keras"
        with model_builder.quiet_keras():
            keras3_model.save(archive)
        if archive != staging:
            os.replace(archive, staging)
