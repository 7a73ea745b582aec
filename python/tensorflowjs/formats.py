"""The model formats: one catalog (name, description, detector, default output, what it needs), and
recognising a model's format from its content, not its name."""

import os
import zipfile
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from tensorflowjs import bounded_json
from tensorflowjs.errors import ConversionError

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _read_head(path: str, size: int = 8) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def _is_hdf5(path: str) -> bool:
    return os.path.isfile(path) and _read_head(path) == _HDF5_SIGNATURE


def _is_keras_archive(path: str) -> bool:
    if not os.path.isfile(path) or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "config.json" in archive.namelist()


def _model_json_kind(path: str) -> Optional[str]:
    json_path = os.path.join(path, "model.json") if os.path.isdir(path) else path
    if not os.path.isfile(json_path):
        return None
    try:
        model = bounded_json.read(json_path, json_path)
    except ConversionError:
        return None
    if not isinstance(model, dict) or "modelTopology" not in model:
        return None
    topology = model["modelTopology"]
    if model.get("format") == "graph-model" or (isinstance(topology, dict) and "node" in topology):
        return "tfjs_graph_model"
    return "tfjs_layers_model"


def _in_dir(*names: str) -> Callable[[str], bool]:
    return lambda path: os.path.isdir(path) and any(os.path.isfile(os.path.join(path, n)) for n in names)


def _is_keras_saved_model(path: str) -> bool:
    return _in_dir("saved_model.pb")(path) and os.path.isfile(os.path.join(path, "keras_metadata.pb"))


# A binary GraphDef's top-level fields and their protobuf wire types: node (1), library (2),
# versions (4) and debug_info (5) are messages (wire type 2), the deprecated version (3) a varint.
_GRAPH_DEF_FIELDS = {1: 2, 2: 2, 3: 0, 4: 2, 5: 2}


def _read_varint(f) -> Optional[int]:
    value = shift = 0
    while shift < 64:
        byte = f.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
    return None


def _is_frozen_graph(path: str) -> bool:
    """A binary GraphDef, whatever its name: only GraphDef fields, at least one node, ending at EOF.

    Walks the top-level fields without decoding them (no TensorFlow needed), so a SavedModel's
    saved_model.pb (whose first field is a varint) or any other file is not mistaken for one.
    """
    if not os.path.isfile(path):
        return False
    size, nodes = os.path.getsize(path), 0
    with open(path, "rb") as f:
        while f.tell() < size:
            tag = _read_varint(f)
            if tag is None or _GRAPH_DEF_FIELDS.get(tag >> 3) != tag & 7:
                return False
            value = _read_varint(f)
            if value is None:
                return False
            if tag & 7 == 2:
                if f.tell() + value > size:
                    return False
                f.seek(value, os.SEEK_CUR)
            nodes += tag >> 3 == 1
    return nodes > 0


@dataclass(frozen=True)
class Format:
    """One model format: everything the converter, the wizard and the detector know of it.

    `default_output` is None for a format that is never an input (its --output_format default
    otherwise); `writes` is None for one that is never an output (what the wizard says of
    it otherwise). `file_suffix` marks an output that is one file, not a directory.
    `reads_with` and `writes_with` are the packages beyond the core install that reading and
    writing it always import; each is a key of extras.INSTALL, which names the extra, and
    pairs.convert checks them before converting. (A path that needs TensorFlow only for some
    models, such as a SavedModel with ops we cannot fold, asks for it where it finds out.)
    """

    name: str
    description: str
    detect: Callable[[str], bool]
    default_output: Optional[str] = None
    writes: Optional[str] = None
    file_suffix: Optional[str] = None
    reads_with: Tuple[str, ...] = ()
    writes_with: Tuple[str, ...] = ()


# In the order of --input_format's and --output_format's choices.
CATALOG: Tuple[Format, ...] = (
    Format("tf_saved_model", "TensorFlow SavedModel (directory)", _in_dir("saved_model.pb", "saved_model.pbtxt"), "tfjs_graph_model"),
    Format("tf_hub", "TensorFlow Hub module (directory with tfhub_module.pb)", _in_dir("tfhub_module.pb"), "tfjs_graph_model"),
    Format("tfjs_layers_model", "TF.js layers model (model.json and weight files)", lambda p: _model_json_kind(p) == "tfjs_layers_model", "keras",
           writes="TF.js layers model: tf.loadLayersModel(), inference and training"),
    Format("tfjs_graph_model", "TF.js graph model (model.json and weight files)", lambda p: _model_json_kind(p) == "tfjs_graph_model",
           writes="TF.js graph model: tf.loadGraphModel(), inference only, usually faster"),
    Format("keras", "Keras HDF5 model (.h5)", _is_hdf5, "tfjs_layers_model", writes="Keras HDF5 file (.h5)", file_suffix=".h5"),
    Format("keras_saved_model", "Keras SavedModel (tf.keras directory with keras_metadata.pb)", _is_keras_saved_model, "tfjs_layers_model",
           writes="Keras SavedModel directory", writes_with=("tf_keras",)),
    Format("keras_keras", "Keras v3 model archive (.keras)", _is_keras_archive, "tfjs_layers_model", writes="Keras v3 archive (.keras)",
           file_suffix=".keras"),
    Format("tf_frozen_model", "TensorFlow frozen model (binary GraphDef)", _is_frozen_graph, "tfjs_graph_model"),
)
BY_NAME: Dict[str, Format] = {f.name: f for f in CATALOG}
INPUT_FORMATS: Tuple[str, ...] = tuple(f.name for f in CATALOG if f.default_output)
OUTPUT_FORMATS: Tuple[str, ...] = tuple(f.name for f in CATALOG if f.writes)

# Detection tries the more specific formats before the ones they look like; first match wins.
_DETECTION_ORDER = ("keras", "keras_keras", "tfjs_graph_model", "tfjs_layers_model", "tf_hub", "keras_saved_model", "tf_saved_model", "tf_frozen_model")


def detect_format(path: str) -> Optional[str]:
    """The format name of the model at `path` (a file or directory), or None if unknown."""
    for name in _DETECTION_ORDER:
        try:
            if BY_NAME[name].detect(path):
                return name
        except OSError:
            return None
    return None
