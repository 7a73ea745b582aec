"""Converters between Keras, TensorFlow, JAX and TF.js model formats, one module per format.

The public converter's API names are reachable here (`tensorflowjs.converters.save_keras_model`
and so on) but each module is imported only when its name is first used, so importing the
package never imports TensorFlow, Keras or JAX.
"""

import importlib
from typing import Any

# Public name -> the module that defines it (the public converter's module names).
_API = {
    "convert": "tensorflowjs.converters.converter",
    "save_keras_model": "tensorflowjs.converters.keras_h5_conversion",
    "load_keras_model": "tensorflowjs.converters.keras_tfjs_loader",
    "deserialize_keras_model": "tensorflowjs.converters.keras_tfjs_loader",
    "convert_tf_saved_model": "tensorflowjs.converters.tf_saved_model_conversion_v2",
    "convert_tf_frozen_model": "tensorflowjs.converters.tf_saved_model_conversion_v2",
    "convert_tf_hub_module": "tensorflowjs.converters.tf_saved_model_conversion_v2",
    "convert_keras_model_to_graph_model": "tensorflowjs.converters.tf_saved_model_conversion_v2",
    "convert_jax": "tensorflowjs.converters.jax_conversion",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'tensorflowjs.converters' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(list(globals()) + list(_API))
