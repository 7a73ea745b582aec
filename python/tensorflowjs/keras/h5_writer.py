"""Keras 2 HDF5 model files (`model.h5`) written with h5py alone, in the layout tf_keras saves.

Root attributes: `model_config` (the model's JSON config), `keras_version`, `backend`; no
`training_config` (the model is not compiled). Group `model_weights`: attributes
`layer_names` (every layer of `model.layers`), `backend`, `keras_version`; one group per
layer with a `weight_names` attribute (tf_keras's variable names, `lstm/lstm_cell/kernel:0`)
and each weight as a dataset at that name inside the group. tf_keras and Keras 3 both load a
layer's weights by position from these lists, so their order is Keras's (see keras_layout).
Weights are read from the source and written one at a time.
"""

import json
from typing import Dict, Sequence

import numpy as np

from tensorflowjs import extras
from tensorflowjs.keras.config_rules import layer_configs
from tensorflowjs.keras.keras_layout import Layout

# The tf_keras release whose .h5 layout this writes (checked against files it saves).
KERAS_VERSION = "2.21.0"
BACKEND = "tensorflow"
# HDF5 keeps attributes in the object header, which holds 64 KiB; tf_keras splits longer
# lists into numbered attributes (`layer_names0`, `layer_names1`, ...) and reads both forms.
_HEADER_LIMIT = 64512


def _save_list(group, name: str, values: Sequence[str]) -> None:
    """A list of names as tf_keras stores it: the list of UTF-8 bytes itself, or numbered numpy
    chunks of it when it outgrows the object header."""
    data = [v.encode("utf8") for v in values]
    chunks = 1
    while any(part.nbytes > _HEADER_LIMIT for part in np.array_split(np.asarray(data), chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
        return
    for index, part in enumerate(np.array_split(np.asarray(data), chunks)):
        group.attrs[f"{name}{index}"] = part


# Keys of a layer config holding the layers it wraps (Bidirectional, TimeDistributed, RNN).
_WRAPPED_KEYS = ("layer", "backward_layer", "cell", "cells")


def as_tf_keras_saves(config: Dict) -> Dict:
    """The config (changed in place) with what tf_keras's own .h5 has and tfjs-layers' lacks.

    A Sequential whose first layer carries `batch_input_shape` gets the InputLayer tf_keras
    saves for it (Keras 3 would read that shape without its batch dimension), and wrapped
    layers name their `module` (Keras 3 builds them with its new deserializer, which finds
    built-in classes only through it).
    """
    for layer in layer_configs(config):
        inner = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        for key in _WRAPPED_KEYS:
            for item in inner.get(key) if isinstance(inner.get(key), list) else [inner.get(key)]:
                if isinstance(item, dict) and "class_name" in item and "module" not in item:
                    item.update(module="keras.layers", registered_name=None)
    if config.get("class_name") != "Sequential":
        return config
    layers = (config.get("config") or {}).get("layers") or []
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    first_config = first.get("config") or {}
    if first.get("class_name") == "InputLayer" or "batch_input_shape" not in first_config:
        return config
    input_layer = {"class_name": "InputLayer", "config": {"batch_input_shape": first_config.pop("batch_input_shape"), "dtype": first_config.get("dtype") or "float32", "sparse": False, "ragged": False, "name": f"{first_config.get('name')}_input"}}
    layers.insert(0, input_layer)
    return config


def write_h5(path: str, model_config: Dict, layout: Layout) -> None:
    """The .h5 of a model config (Keras 2 dialect) whose weights `layout` places and holds."""
    h5py = extras.require("h5py", "writing a Keras .h5 file")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = BACKEND
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        weights = f.create_group("model_weights")
        _save_list(weights, "layer_names", [layer.name for layer in layout.layers])
        weights.attrs["backend"] = BACKEND
        weights.attrs["keras_version"] = KERAS_VERSION
        for layer in layout.layers:
            group = weights.create_group(layer.name)
            slots = layer.h5_slots()
            _save_list(group, "weight_names", [slot.h5_name for slot in slots])
            for slot in slots:
                group.create_dataset(slot.h5_name, data=np.asarray(slot.entry.load()))
        _save_list(weights.create_group("top_level_model_weights"), "weight_names", [])
