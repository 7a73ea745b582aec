"""Which (input format, output format) pairs convert, and the handler of each.

Handlers are named as 'module:function' and imported only when chosen, so a pair that
needs no TensorFlow never imports it. Adding a pair is adding a row.
"""

import importlib
from typing import Callable, Dict, Tuple

from tensorflowjs.errors import ConversionError

INPUT_FORMATS = ("tf_saved_model", "tf_hub", "tfjs_layers_model", "keras", "keras_saved_model", "keras_keras", "tf_frozen_model")
OUTPUT_FORMATS = ("tfjs_layers_model", "tfjs_graph_model", "keras", "keras_saved_model", "keras_keras")

# What --output_format means when it is omitted, as in the public converter.
DEFAULT_OUTPUT_FORMAT: Dict[str, str] = {
    "keras": "tfjs_layers_model",
    "keras_keras": "tfjs_layers_model",
    "keras_saved_model": "tfjs_layers_model",
    "tfjs_layers_model": "keras",
    "tf_saved_model": "tfjs_graph_model",
    "tf_hub": "tfjs_graph_model",
    "tf_frozen_model": "tfjs_graph_model",
}

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
