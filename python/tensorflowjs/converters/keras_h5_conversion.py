"""Keras models (.h5 from Keras 2 or 3, .keras archives, model objects) -> TF.js layers models.

Files are read with h5py, zipfile and JSON only: converting a Keras file needs neither
TensorFlow nor Keras. A model object is saved to a temporary file first, so files and objects
go through the same translation.
"""

import contextlib
import os
import resource
import tempfile
import warnings
import zipfile
import zlib
from typing import Any, ContextManager, Dict, Iterator, List, Optional, Tuple, Union

import h5py
import numpy as np

from tensorflowjs import formats, model_json
from tensorflowjs import write_weights as write_weights_lib
from tensorflowjs import verify as verification
from tensorflowjs.options import ConversionOptions
from tensorflowjs.converters.tfjs_layers_model import group_by_layer, write_layers_model
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import h5_model
from tensorflowjs.keras.h5_model import open_keras_h5
from tensorflowjs.keras.keras_archive import open_keras_archive, source_of_parts
from tensorflowjs.keras.weight_names import strip_tensor_suffix
from tensorflowjs.keras.model_source import KerasModelSource
from tensorflowjs.output import output_directory
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES, Weight

# Public API shape of weights: groups of {'name', 'data'} dicts, as write_weights takes them.
WeightGroups = List[List[Dict[str, Any]]]

# What reads each kind of Keras file, by the format its content shows.
_READERS = {"keras": open_keras_h5, "keras_keras": open_keras_archive}


# Memory a Keras file's structure may take to read, beyond the file's own size.
_STRUCTURE_MEMORY = 1 << 30
# What h5py, zipfile and zlib raise on a damaged file (found by tests/fuzz); MemoryError: see _address_space_cap.
_DAMAGED_FILE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, EOFError, NotImplementedError, MemoryError, zipfile.BadZipFile, zlib.error)


@contextlib.contextmanager
def open_keras_file(path: str) -> Iterator[KerasModelSource]:
    """A .h5 or .keras model, recognised by content whatever its name or --input_format says."""
    with contextlib.ExitStack() as stack:
        try:
            with _address_space_cap(os.path.getsize(path) if os.path.isfile(path) else 0):
                source = stack.enter_context(_open_reader(path))
        except ConversionError:
            raise  # a ValueError too, but already the one line to show
        except _DAMAGED_FILE_ERRORS as e:
            raise ConversionError(f"{path} cannot be read: {type(e).__name__}: {e}; the file is truncated or damaged") from None
        yield source


@contextlib.contextmanager
def _address_space_cap(file_size: int) -> Iterator[None]:
    """Bounds the memory libhdf5 may take while it reads a file's structure (config, names,
    layout; weights are read later). It trusts sizes stored in the file: one flipped byte in a
    global heap's header made it allocate and zero 4 GB for a 53 kB .keras (found by
    tests/fuzz); under the cap the allocation fails and the file is refused as damaged."""
    try:
        with open("/proc/self/statm") as f:
            in_use = int(f.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        yield
        return
    cap = in_use + _STRUCTURE_MEMORY + 2 * file_size
    if soft != resource.RLIM_INFINITY and soft <= cap or hard != resource.RLIM_INFINITY and hard < cap:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _open_reader(path: str) -> ContextManager[KerasModelSource]:
    if os.path.isdir(path):
        raise ConversionError(f"{path} is a directory; a Keras model file (.h5 or .keras) was expected (a Keras SavedModel needs --input_format keras_saved_model)")
    detected = formats.detect_format(path)
    if detected is None and zipfile.is_zipfile(path):
        detected = "keras_keras"  # a zip that is no valid .keras: its reader says what is missing
    if detected not in _READERS:
        raise ConversionError(f"{path} is neither an HDF5 nor a .keras file; give a Keras model saved with model.save()")
    return _READERS[detected](path)


def write_source(source: KerasModelSource, output_path: str, options: ConversionOptions, metadata: Optional[Dict] = None) -> None:
    """Writes a read Keras model as a layers model; the output appears only if all went well."""
    topology, weights = source.topology(), source.layers_weights()
    with output_directory(output_path) as staging:
        write_layers_model(staging, topology, weights, options, source.generated_by, metadata=metadata)


def convert_keras_to_layers(input_path: str, output_path: str, options: ConversionOptions) -> None:
    """Handler of keras -> tfjs_layers_model and keras_keras -> tfjs_layers_model."""
    with open_keras_file(input_path) as source:
        write_source(source, output_path, options)


def _is_keras3_model(model) -> bool:
    return type(model).__module__.startswith("keras.") or type(model).__module__ == "keras"


@contextlib.contextmanager
def saved_copy(model) -> Iterator[str]:
    """The model saved to a private temporary file: .keras for Keras 3, .h5 for tf_keras."""
    with tempfile.TemporaryDirectory(prefix="tfjs-keras-") as tmp:
        path = os.path.join(tmp, "model.keras" if _is_keras3_model(model) else "model.h5")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy")
            model.save(path)
        yield path


def save_keras_model(
    model,
    artifacts_dir: str,
    quantization_dtype_map: Optional[Dict] = None,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    metadata: Optional[Dict] = None,
    verify: bool = False,
) -> None:
    """Public converter API: writes a tf_keras or Keras 3 model object as a TF.js layers model.

    `metadata` is a dict embedded as userDefinedMetadata; verify=True runs the result in TF.js
    and compares it with the model (tensorflowjs.verify).
    """
    options = ConversionOptions(quantization_dtype_map=quantization_dtype_map or {}, weight_shard_size_bytes=weight_shard_size_bytes)
    with saved_copy(model) as path, open_keras_file(path) as source:
        write_source(source, artifacts_dir, options, metadata)
    if verify:
        verification.keras_model(artifacts_dir, model)


# The public converter's functions on open HDF5 files and weight groups; the reading and
# writing are the ones above.


def normalize_weight_name(weight_name: Union[str, bytes]) -> str:
    """'dense/kernel:0' -> 'dense/kernel'."""
    return strip_tensor_suffix(as_text(weight_name))


def as_text(bytes_or_text: Union[str, bytes], encoding: str = "utf-8") -> str:
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text.decode(encoding)
    raise TypeError(f"expected bytes or str, got {bytes_or_text!r}")


# Class names of early TF 2 Keras that tfjs-layers knows under their plain names.
_CLASS_NAME_MAP = {"BatchNormalizationV1": "BatchNormalization", "UnifiedGRU": "GRU", "UnifiedLSTM": "LSTM"}


def translate_class_names(input_object: Any) -> None:
    """Renames those classes in a config, in place, at any depth."""
    if isinstance(input_object, dict):
        for key, value in input_object.items():
            if key == "class_name" and value in _CLASS_NAME_MAP:
                input_object[key] = _CLASS_NAME_MAP[value]
            else:
                translate_class_names(value)
    elif isinstance(input_object, (list, tuple)):
        for item in input_object:
            translate_class_names(item)


def _as_groups(weights: List[Weight], split_by_layer: bool) -> WeightGroups:
    """Weights read into {'name', 'data'} dicts: one group, or one per layer."""
    groups = group_by_layer(weights) if split_by_layer else [weights]
    return [[{"name": w.name, "data": np.asarray(w.load())} for w in group] for group in groups if group or not split_by_layer]


def _topology_and_groups(source: KerasModelSource, split_by_layer: bool) -> Tuple[Dict, WeightGroups]:
    """A Keras 2 config as stored (TF.js reads that dialect, extra keys included), as the
    public converter returns it; a Keras 3 one translated, since TF.js cannot read it as is."""
    topology = source.topology()
    if source.keras_version.split(".")[0] in ("1", "2"):
        topology["model_config"] = source.model_config
    translate_class_names(topology["model_config"])
    return topology, _as_groups(source.weights, split_by_layer)


def h5_merged_saved_model_to_tfjs_format(h5file: Union[str, h5py.File], split_by_layer: bool = False) -> Tuple[Dict, WeightGroups]:
    """(modelTopology, weight groups) of a whole-model .h5 (a path or an open h5py.File)."""
    with open_keras_h5(h5file) as source:
        return _topology_and_groups(source, split_by_layer)


def h5_v3_merged_saved_model_to_tfjs_format(h5file: h5py.File, meta_file: Dict, config_file: Dict,
                                             split_by_layer: bool = False) -> Tuple[Dict, WeightGroups]:
    """The same for the unpacked parts of a .keras archive: model.weights.h5 (open),
    metadata.json's and config.json's content."""
    with h5_model.open_h5(h5file) as f:
        source = source_of_parts(f.filename, f, config_file, str((meta_file or {}).get("keras_version", "3")))
        return _topology_and_groups(source, split_by_layer)


def h5_weights_to_tfjs_format(h5file: Union[str, h5py.File], split_by_layer: bool = False) -> WeightGroups:
    """Weight groups of a save_weights() .h5 file (a path or an open h5py.File)."""
    with h5_model.open_h5(h5file) as f:
        naming = h5_model.Naming(h5_model.keras_major_version(f), {})
        layers = h5_model.weights_by_layer(f, naming, f.filename)
        if split_by_layer:
            return [_as_groups(weights, False)[0] for _, weights in layers if weights]
        return _as_groups([w for _, weights in layers for w in weights], False)


def write_artifacts(
    topology: Optional[Dict],
    weights: WeightGroups,
    output_dir: str,
    quantization_dtype_map: Optional[Dict] = None,
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    metadata: Optional[Dict] = None,
) -> None:
    """A layers model.json (modelTopology null when topology is None) and its shards."""
    write_weights_lib.check_shard_size(weight_shard_size_bytes)
    generated_by = f"keras v{topology['keras_version']}" if topology and "keras_version" in topology else None
    groups = [[Weight.of(entry["name"], entry["data"]) for entry in group] for group in weights]
    with output_directory(output_dir) as staging:
        manifest = write_weights_lib.write_weight_groups(groups, staging, weight_shard_size_bytes, quantization_dtype_map)
        model_json.write_model_json(staging, model_json.LAYERS_FORMAT, topology or None, manifest, generated_by, metadata)
