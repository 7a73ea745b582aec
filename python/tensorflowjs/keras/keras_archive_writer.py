"""Keras 3 `.keras` archives written with zipfile, h5py and JSON, in the layout Keras 3.15 saves.

The archive holds `metadata.json`, `config.json` and `model.weights.h5`, all stored
uncompressed as Keras stores them. `model.weights.h5` keeps each layer object's own
variables at `<object path>/vars/<i>` with the object's name as the `vars` group's `name`
attribute (see keras_layout for the paths). config.json is the model config in the form
Keras 3's loader deserializes: every layer names its `module`, and what only Keras 3's
legacy (.h5) loader would adapt (`batch_input_shape`, one-element `axis` lists) is adapted here.
"""

import datetime
import json
import os
import zipfile
from typing import Dict

import numpy as np

from tensorflowjs import extras
from tensorflowjs.keras.config_rules import layer_configs
from tensorflowjs.keras.model_classes import MODEL_CLASSES
from tensorflowjs.keras.keras_layout import Layout

# The Keras release whose .keras layout this writes (checked against archives it saves).
KERAS_VERSION = "3.15.1"
CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"

# How Keras 3 names the module of a model class it saved.
_MODEL_MODULES = {"Sequential": ("keras", None), "Functional": ("keras.src.models.functional", "Functional")}


def _legacy_arguments(layer: Dict) -> None:
    """What Keras 3's legacy loader rewrites in each layer config before building it."""
    config = layer.get("config")
    if not isinstance(config, dict):
        return
    if "batch_input_shape" in config:
        shape = config.pop("batch_input_shape")
        if layer.get("class_name") == "InputLayer":
            config["batch_shape"] = shape
    axis = config.get("axis")
    if isinstance(axis, list) and len(axis) == 1:
        config["axis"] = int(axis[0])


def _tag(obj: Dict) -> None:
    """`module` and `registered_name`, by which Keras 3 finds a built-in class."""
    if obj.get("class_name") in MODEL_CLASSES:
        obj["class_name"] = "Sequential" if obj["class_name"] == "Sequential" else "Functional"
        obj["module"], obj["registered_name"] = _MODEL_MODULES[obj["class_name"]]
        for member in (obj.get("config") or {}).get("layers") or []:
            if isinstance(member, dict):
                _tag(member)
        return
    obj.setdefault("module", "keras.layers")
    obj.setdefault("registered_name", None)


def archive_config(keras3_config: Dict) -> Dict:
    """config.json's content for a config translated for Keras 3 (TFJS_TO_KERAS3_RULES); changes it in place."""
    for layer in layer_configs(keras3_config):
        _legacy_arguments(layer)
    _tag(keras3_config)
    keras3_config["compile_config"] = None
    return keras3_config


def _write_weights(path: str, layout: Layout) -> None:
    h5py = extras.require("h5py", "writing a Keras .keras file")
    with h5py.File(path, "w") as f:
        for object_path, name in layout.keras3_objects:
            f.create_group(f"{object_path}/vars" if object_path else "vars").attrs["name"] = name
        for layer in layout.layers:
            for slot in layer.slots:
                f[slot.keras3_path] = np.asarray(slot.entry.load())


def write_keras_archive(path: str, keras3_config: Dict, layout: Layout) -> None:
    """The .keras archive at `path`; the weights file is built beside it, then stored in it."""
    weights_path = f"{path}.weights.h5"
    try:
        _write_weights(weights_path, layout)
        metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA, json.dumps(metadata))
            archive.writestr(CONFIG, json.dumps(archive_config(keras3_config)))
            archive.write(weights_path, WEIGHTS)
    finally:
        if os.path.exists(weights_path):
            os.remove(weights_path)
