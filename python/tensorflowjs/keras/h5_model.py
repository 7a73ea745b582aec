"""Whole Keras models saved as HDF5 (`model.save("m.h5")`) by Keras 2 (tf_keras) or Keras 3.

Both keep the config as JSON in the root attribute `model_config` and the weights under
`model_weights/<layer>/`, listed in the layer group's `weight_names` attribute. Keras 2 names
them `dense/kernel:0`; Keras 3 names them by variable path, which inside a Sequential starts
with the model's name (`sequential/dense/kernel`), and a few variables have new names
(a DepthwiseConv2D's `kernel` was `depthwise_kernel`). All become `<layer>/.../<weight>`
with the Keras 2 weight names TF.js looks up.
"""

import contextlib
from dataclasses import dataclass
from typing import Dict, Iterator, List, Tuple, Union

from tensorflowjs import bounded_json, extras
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.keras.hdf5_heaps import check_global_heaps
from tensorflowjs.keras.model_classes import MODEL_CLASSES
from tensorflowjs.keras.model_source import KerasModelSource, dataset_weight, hard_linked
from tensorflowjs.keras.weight_check import check_weights
from tensorflowjs.keras.weight_names import KERAS3_RENAMES, strip_tensor_suffix
from tensorflowjs.write_weights import Weight

h5py = extras.require("h5py", "reading a Keras .h5 file")


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json_attr(f: h5py.File, key: str, path: str):
    try:
        text = _text(f.attrs[key])
    except UnicodeDecodeError:
        raise ConversionError(f"{path}: the HDF5 attribute {key!r} is not UTF-8 text; the file is damaged") from None
    return bounded_json.loads(text, f"{path}: the HDF5 attribute {key!r}")


def layer_classes(config: Dict) -> Dict[str, str]:
    """Layer name -> class name, for a model and every model nested in it."""
    classes = {config.get("config", {}).get("name"): config.get("class_name")}
    for entry in config.get("config", {}).get("layers") or []:
        if isinstance(entry, dict):
            classes.update(layer_classes(entry) if entry.get("class_name") in MODEL_CLASSES else {entry.get("config", {}).get("name"): entry.get("class_name")})
    return classes


@dataclass
class Naming:
    """How stored weight names become TF.js names for one file."""

    keras_major: int
    classes: Dict[str, str]

    def name(self, stored: str, layer_name: str) -> str:
        """TF.js names a weight from its layer on: Keras 3 paths start with the models around it
        (`sequential/dense/kernel`) or name scopes (NASNet's `reduction_A_block_stem_1/...`),
        Keras 2 ones end in `:0`; all are cut away."""
        parts = strip_tensor_suffix(stored).split("/")
        if layer_name in parts[1:]:
            parts = parts[parts.index(layer_name):]
        while len(parts) > 2 and self.classes.get(parts[0]) in MODEL_CLASSES:
            parts = parts[1:]
        if self.keras_major >= 3 and len(parts) == 2:
            parts[1] = KERAS3_RENAMES.get(self.classes.get(parts[0]), {}).get(parts[1], parts[1])
        return "/".join(parts)


def _layer_weights(group: h5py.Group, layer_name: str, naming: Naming, path: str) -> List[Weight]:
    weights = []
    for stored in (_text(n) for n in group.attrs.get("weight_names", [])):
        dataset = hard_linked(group, stored, path)
        if not isinstance(dataset, h5py.Dataset):
            raise ConversionError(f"{path}: weight {stored!r} of layer {layer_name!r} is listed but missing; the file is damaged")
        weights.append(dataset_weight(naming.name(stored, layer_name), dataset, path))
    return weights


def weights_by_layer(group: h5py.Group, naming: Naming, path: str) -> List[Tuple[str, List[Weight]]]:
    """(layer name, its weights) in saving order, from a group listing `layer_names`: a whole
    model's `model_weights`, or the root of a save_weights() file."""
    layers = []
    for layer_name in (_text(n) for n in group.attrs.get("layer_names", [])):
        layer_group = hard_linked(group, layer_name, path)
        if not isinstance(layer_group, h5py.Group):
            raise ConversionError(f"{path}: layer {layer_name!r} has no weight group; the file is damaged")
        layers.append((layer_name, _layer_weights(layer_group, layer_name, naming, path)))
    return layers


def _weights(f: h5py.File, naming: Naming, path: str) -> List[Weight]:
    group = hard_linked(f, "model_weights", path)
    if group is None:
        return []
    if not isinstance(group, h5py.Group):
        raise ConversionError(f"{path}: model_weights is not an HDF5 group; the file is damaged")
    return [weight for _, weights in weights_by_layer(group, naming, path) for weight in weights]


def keras_major_version(f: h5py.Group) -> int:
    """2 for tf_keras files (and files without a version), 3 for Keras 3."""
    version = _text(f.attrs.get("keras_version", f.get("model_weights", f).attrs.get("keras_version", "2")))
    return int(version.split(".")[0]) if version.split(".")[0].isdigit() else 2


@contextlib.contextmanager
def open_h5(path_or_file: Union[str, h5py.File]) -> Iterator[h5py.File]:
    """An HDF5 file opened for reading, or the caller's open h5py.File (left open)."""
    if isinstance(path_or_file, h5py.File):
        yield path_or_file
        return
    try:
        with open(path_or_file, "rb") as raw:
            check_global_heaps(raw, path_or_file)
        f = h5py.File(path_or_file, "r")
    except OSError as e:
        raise ConversionError(f"{path_or_file} cannot be read as HDF5 ({e}); the file is truncated or damaged") from None
    with f:
        yield f


@contextlib.contextmanager
def open_keras_h5(path_or_file: Union[str, h5py.File]) -> Iterator[KerasModelSource]:
    """The model in a Keras .h5 file (a path or an open h5py.File); its weights can be read
    until the context ends."""
    path = path_or_file.filename if isinstance(path_or_file, h5py.File) else path_or_file
    with open_h5(path_or_file) as f:
        if "model_config" not in f.attrs:
            if "layer_names" in f.attrs or "layers" in f:
                raise ConversionError(f"{path} holds only weights (save_weights), no model config; save the whole model with model.save() and convert that")
            raise ConversionError(f"{path} is an HDF5 file but not a Keras model (no model_config attribute)")
        model_config = _json_attr(f, "model_config", path)
        if not isinstance(model_config, dict) or "class_name" not in model_config:
            raise ConversionError(f"{path}: model_config is not a Keras model config")
        check_model_config(model_config, path)
        keras_version = _text(f.attrs.get("keras_version", f.get("model_weights", f).attrs.get("keras_version", "2")))
        keras_major = keras_major_version(f)
        training_config = _json_attr(f, "training_config", path) if "training_config" in f.attrs and keras_major < 3 else None
        weights = _weights(f, Naming(keras_major, layer_classes(model_config)), path)
        check_weights(path, model_config, weights)
        yield KerasModelSource(
            path=path,
            model_config=model_config,
            weights=weights,
            keras_version=keras_version,
            backend=_text(f.attrs.get("backend", "tensorflow")),
            training_config=training_config,
        )
