"""Which (input format, output format) pairs convert, and the handler of each.

Handlers are named as 'module:function' and imported only when chosen, so a pair that
needs no TensorFlow never imports it. Adding a pair is adding a row.
"""

import importlib
from typing import Callable, Dict, Iterable, Tuple

from tensorflowjs import extras, formats, model_json, output
from tensorflowjs.errors import ConversionError
from tensorflowjs.options import ConversionOptions

INPUT_FORMATS = formats.INPUT_FORMATS
OUTPUT_FORMATS = formats.OUTPUT_FORMATS
# What --output_format means when it is omitted, as in the public converter.
DEFAULT_OUTPUT_FORMAT: Dict[str, str] = {f.name: f.default_output for f in formats.CATALOG if f.default_output}

HANDLERS: Dict[Tuple[str, str], str] = {
    ("tfjs_layers_model", "tfjs_layers_model"): "tensorflowjs.converters.tfjs_layers_model:convert_layers_to_layers",
    ("tfjs_layers_model", "keras"): "tensorflowjs.converters.tfjs_layers_to_keras:convert_to_keras_h5",
    ("tfjs_layers_model", "keras_saved_model"): "tensorflowjs.converters.tfjs_layers_to_keras:convert_to_keras_saved_model",
    ("tfjs_layers_model", "keras_keras"): "tensorflowjs.converters.tfjs_layers_to_keras:convert_to_keras_archive",
    ("keras", "tfjs_layers_model"): "tensorflowjs.converters.keras_h5_conversion:convert_keras_to_layers",
    ("keras_keras", "tfjs_layers_model"): "tensorflowjs.converters.keras_h5_conversion:convert_keras_to_layers",
    ("keras_saved_model", "tfjs_layers_model"): "tensorflowjs.converters.keras_saved_model_conversion:convert_keras_saved_model_to_layers",
    ("tf_saved_model", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_saved_model",
    ("tf_frozen_model", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_frozen_model",
    ("tf_hub", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_hub_module",
    ("keras", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_keras_file",
    ("keras_keras", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_keras_file",
    ("keras_saved_model", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_saved_model",
    ("tfjs_layers_model", "tfjs_graph_model"): "tensorflowjs.converters.tf_graph_model:convert_layers_model",
}


def handler_for(input_format: str, output_format: str) -> Callable:
    """The conversion function of a pair, or a ConversionError listing the pairs we have."""
    target = HANDLERS.get((input_format, output_format))
    if target is None:
        supported = ", ".join(f"{i} -> {o}" for i, o in HANDLERS)
        raise ConversionError(f"converting {input_format} to {output_format} is not supported; supported pairs: {supported}")
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def convert(input_format: str, output_format: str, input_path: str, output_path: str, options: ConversionOptions,
            also_read: Iterable[str] = (), api: bool = False) -> None:
    """Every conversion of a model on disk, asked by the CLI or the Python API.

    The pair's handler runs only after an output that would overwrite what the conversion
    reads (the model, and `also_read`: the --metadata files) has been refused: for the CLI one
    that is, holds or lies inside it (output.refuse_overlap); for the API (`api`) one that would
    replace the input's own files (an input file, a TF.js model's directory), since the public
    converter's API writes its output around an .h5, into a SavedModel's directory or inside it
    (its own tests do all three), where the atomic writer keeps the input's files. A TF Hub
    handle that is a URL is no path to compare.
    """
    handler = handler_for(input_format, output_format)
    hub_handle = input_format == "tf_hub" and "://" in input_path
    # A layers model read by the API is its model.json: replacing that directory replaces the model's files.
    model = None if hub_handle else model_json.model_json_path(input_path) if api and input_format == "tfjs_layers_model" else input_path
    output.refuse_overlap(output_path, model, also_read, only_input_files=api)
    for package in formats.BY_NAME[input_format].reads_with + formats.BY_NAME[output_format].writes_with:
        extras.require(package, f"converting {input_format} to {output_format}")
    handler(input_path, output_path, options)
