"""Whole Keras models saved as HDF5 (`model.save("m.h5")`) by Keras 2 (tf_keras) or Keras 3.

Both keep the config as JSON in the root attribute `model_config` and the weights under
`model_weights/<layer>/`, listed in the layer group's `weight_names` attribute. Keras 2 names
them `dense/kernel:0`; Keras 3 names them by variable path, which inside a Sequential starts
with the model's name (`sequential/dense/kernel`), and a few variables have new names
(a DepthwiseConv2D's `kernel` was `depthwise_kernel`). All become `<layer>/.../<weight>`
with the Keras 2 weight names TF.js looks up.
"""

import contextlib
import json
from dataclasses import dataclass
from typing import Dict, Iterator, List

import h5py

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.keras.model_source import KerasModelSource, dataset_weight
from tensorflowjs.keras.weight_names import KERAS3_RENAMES, strip_tensor_suffix
from tensorflowjs.write_weights import Weight


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json_attr(f: h5py.File, key: str, path: str):
    try:
        return json.loads(_text(f.attrs[key]))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{path}: the HDF5 attribute {key!r} is not valid JSON ({e}); the file is damaged") from None


_MODEL_CLASSES = ("Sequential", "Functional", "Model")


def layer_classes(config: Dict) -> Dict[str, str]:
    """Layer name -> class name, for a model and every model nested in it."""
    classes = {config.get("config", {}).get("name"): config.get("class_name")}
    for entry in config.get("config", {}).get("layers") or []:
        if isinstance(entry, dict):
            classes.update(layer_classes(entry) if entry.get("class_name") in _MODEL_CLASSES else {entry.get("config", {}).get("name"): entry.get("class_name")})
    return classes


@dataclass
class _Naming:
    """How stored weight names become TF.js names for one file."""

    keras_major: int
    classes: Dict[str, str]

    def name(self, stored: str) -> str:
        """TF.js names a weight from its layer on: Keras 3 paths start with the models around it
        (`sequential/dense/kernel`), Keras 2 ones end in `:0`; both are cut away."""
        parts = strip_tensor_suffix(stored).split("/")
        while len(parts) > 2 and self.classes.get(parts[0]) in _MODEL_CLASSES:
            parts = parts[1:]
        if self.keras_major >= 3 and len(parts) == 2:
            parts[1] = KERAS3_RENAMES.get(self.classes.get(parts[0]), {}).get(parts[1], parts[1])
        return "/".join(parts)


def _layer_weights(group: h5py.Group, layer_name: str, naming: _Naming, path: str) -> List[Weight]:
    weights = []
    for stored in (_text(n) for n in group.attrs.get("weight_names", [])):
        dataset = group.get(stored)
        if not isinstance(dataset, h5py.Dataset):
            raise ConversionError(f"{path}: weight {stored!r} of layer {layer_name!r} is listed but missing; the file is damaged")
        weights.append(dataset_weight(naming.name(stored), dataset))
    return weights


def _weights(f: h5py.File, naming: _Naming, path: str) -> List[Weight]:
    group = f.get("model_weights")
    if group is None:
        return []
    weights = []
    for layer_name in (_text(n) for n in group.attrs.get("layer_names", [])):
        if layer_name not in group:
            raise ConversionError(f"{path}: layer {layer_name!r} has no weight group; the file is damaged")
        weights.extend(_layer_weights(group[layer_name], layer_name, naming, path))
    return weights


def _open(path: str) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ConversionError(f"{path} cannot be read as HDF5 ({e}); the file is truncated or damaged") from None


@contextlib.contextmanager
def open_keras_h5(path: str) -> Iterator[KerasModelSource]:
    """The model in a Keras .h5 file; its weights can be read until the context ends."""
    with _open(path) as f:
        if "model_config" not in f.attrs:
            if "layer_names" in f.attrs or "layers" in f:
                raise ConversionError(f"{path} holds only weights (save_weights), no model config; save the whole model with model.save() and convert that")
            raise ConversionError(f"{path} is an HDF5 file but not a Keras model (no model_config attribute)")
        model_config = _json_attr(f, "model_config", path)
        if not isinstance(model_config, dict) or "class_name" not in model_config:
            raise ConversionError(f"{path}: model_config is not a Keras model config")
        check_model_config(model_config, path)
        keras_version = _text(f.attrs.get("keras_version", f.get("model_weights", f).attrs.get("keras_version", "2")))
        keras_major = int(keras_version.split(".")[0]) if keras_version.split(".")[0].isdigit() else 2
        training_config = _json_attr(f, "training_config", path) if "training_config" in f.attrs and keras_major < 3 else None
        yield KerasModelSource(
            path=path,
            model_config=model_config,
            weights=_weights(f, _Naming(keras_major, layer_classes(model_config)), path),
            keras_version=keras_version,
            backend=_text(f.attrs.get("backend", "tensorflow")),
            training_config=training_config,
        )
