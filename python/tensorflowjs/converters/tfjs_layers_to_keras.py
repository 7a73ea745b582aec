"""TF.js layers model -> Keras files: .h5 (Keras 2, loaded by tf_keras and Keras 3), .keras
(Keras 3), and Keras SavedModel (tf_keras).

.h5 and .keras are written without Keras or TensorFlow: the topology is translated with
from_tfjs_config's rules, every weight is placed where the Keras that loads the file looks
for it (keras.keras_layout) and streamed from the input shards into the file (keras.h5_writer,
keras.keras_archive_writer). A layer class whose place in those layouts has not been checked
against files Keras saves (ConvLSTM2D, generic RNN cells, ...) is still converted when the
Keras that reads the output is installed, by rebuilding the model with it as before; without
it the conversion stops with one line saying what to install. That fallback, rather than a
refusal, keeps every model the Keras-based converter took convertible.

A SavedModel can only be written by tf_keras, which rebuilds the model (keras.model_builder).
All handlers write through a staging path, so a failed conversion leaves nothing behind.
"""

import importlib.util
import os
import warnings
from typing import Callable, Dict, List, Tuple

from tensorflowjs import model_json
from tensorflowjs.converters.tfjs_layers_model import read_layers_model
from tensorflowjs.errors import ConversionError
from tensorflowjs.extras import install_hint
from tensorflowjs.keras import from_tfjs_config, h5_writer, keras_archive_writer, keras_layout, model_builder, tfjs_support
from tensorflowjs.options import ConversionOptions
from tensorflowjs.output import output_directory, output_file
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES, Weight


def _warn_about_tfjs_only_options(options: ConversionOptions, output_format: str) -> None:
    ignored = [flag for flag, used in (
        ("quantization", bool(options.quantization_dtype_map)),
        ("--weight_shard_size_bytes", options.weight_shard_size_bytes != DEFAULT_SHARD_SIZE_BYTES),
        ("--split_weights_by_layer", options.split_weights_by_layer),
        ("--metadata", bool(options.metadata)),
    ) if used]
    if ignored:
        warnings.warn(f"{', '.join(ignored)} only apply to TF.js outputs; ignored for --output_format={output_format}")


def _read(input_path: str, options: ConversionOptions, output_format: str) -> Tuple[Dict, List[Weight], str]:
    """(Keras model config of the topology, weights to stream, model.json path)."""
    _warn_about_tfjs_only_options(options, output_format)
    model, weights = read_layers_model(input_path)
    where = model_json.model_json_path(input_path)
    return model_builder.model_config_of(model["modelTopology"], where), weights, where


def _known_without_keras(class_name: str) -> bool:
    """A class some Keras has: one whose layout is known here, or one tfjs-layers shares with Keras."""
    return class_name in keras_layout.VERIFIED_CLASSES or class_name in tfjs_support.LAYER_CLASSES


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an import hook that refuses it, a broken install
        return False


def _plan_or_fall_back(config: Dict, weights: List[Weight], where: str, keras_module: str, fallback: Callable[[], None]):
    """The layout of the model, or None after `fallback` converted it with Keras (a layer whose
    layout is not known here; without that Keras, one line naming what to install)."""
    try:
        return keras_layout.plan(config, weights, where)
    except keras_layout.UnverifiedLayer as e:
        if not _installed(keras_module):
            raise ConversionError(f"{where}: {e} is written to Keras files only by {keras_module} itself, which is not installed: {install_hint(keras_module)}") from None
    fallback()
    return None


def convert_to_keras_h5(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """A Keras 2 HDF5 file that tf_keras and Keras 3 both load."""
    model_config, weights, where = _read(input_path, options, "keras")
    from_tfjs_config.check_layer_classes(model_config, where, _known_without_keras)
    config = from_tfjs_config.apply_rules(model_config, from_tfjs_config.TFJS_TO_KERAS2_RULES, where)
    config = from_tfjs_config.apply_rules(h5_writer.as_tf_keras_saves(config), from_tfjs_config.KERAS3_LEGACY_RULES, where)

    def with_tf_keras():
        model = model_builder.build_model(model_config, weights, where, True)
        with output_file(output_path) as staging:
            model_builder.write_h5(model, staging, where)

    layout = _plan_or_fall_back(config, weights, where, "tf_keras", with_tf_keras)
    if layout is not None:
        with output_file(output_path) as staging:
            h5_writer.write_h5(staging, config, layout)


def convert_to_keras_saved_model(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """A tf_keras SavedModel directory (keras_metadata.pb included): Keras 3 cannot write one."""
    model_config, weights, where = _read(input_path, options, "keras_saved_model")
    model = model_builder.build_model(model_config, weights, where, True)
    with output_directory(output_path) as staging, model_builder.quiet_keras():
        model.save(staging, save_format="tf", include_optimizer=False)


def _check_keras3_names(config: Dict, where: str) -> None:
    """Keras 3 refuses to build a layer whose name has a `/` (tf_keras and TF.js take it)."""
    for layer in from_tfjs_config.layer_configs(config):
        name = (layer.get("config") or {}).get("name")
        if isinstance(name, str) and "/" in name:
            raise ConversionError(f"{where}: layer {name!r} has a '/' in its name, which Keras 3 does not accept; use tf_keras instead: --output_format=keras or keras_saved_model")


def convert_to_keras_archive(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """A Keras 3 .keras archive, refused where Keras 3 would compute otherwise than TF.js."""
    model_config, weights, where = _read(input_path, options, "keras_keras")
    from_tfjs_config.check_keras3_semantics(model_config, where)
    config = from_tfjs_config.apply_rules(model_config, from_tfjs_config.TFJS_TO_KERAS3_RULES, where)
    from_tfjs_config.check_layer_classes(config, where, _known_without_keras)
    _check_keras3_names(config, where)

    def with_keras3():
        model = model_builder.build_model(model_config, weights, where, False)
        with output_file(output_path) as staging:
            # Keras 3 insists on the suffix, so the file is renamed after.
            archive = staging if staging.endswith(".keras") else staging + ".keras"
            with model_builder.quiet_keras():
                model.save(archive)
            if archive != staging:
                os.replace(archive, staging)

    layout = _plan_or_fall_back(config, weights, where, "keras", with_keras3)
    if layout is not None:
        with output_file(output_path) as staging:
            keras_archive_writer.write_keras_archive(staging, config, layout)
