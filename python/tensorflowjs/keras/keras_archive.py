"""Keras 3 `.keras` archives: a zip of config.json and model.weights.h5, read in place.

The weights file is opened inside the zip (never unpacked beside the input). Keras stores it
uncompressed, so h5py reads it straight from the archive through a window onto its bytes; a
compressed entry is copied to a private temporary file first.

model.weights.h5 holds each layer's variables by position under a group per object
(`layers/dense/vars/0`, `layers/lstm/cell/vars/2`, `layers/bidirectional/forward_layer/...`);
each `vars` group's `name` attribute is the object's name. Walking it beside the config gives
every variable its TF.js name.
"""

import contextlib
import io
import json
import os
import shutil
import struct
import tempfile
import warnings
import zipfile
from typing import Dict, Iterator, List, Optional, Tuple

import h5py

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.keras.model_source import KerasModelSource, dataset_weight
from tensorflowjs.keras.weight_names import CELLS, variable_names
from tensorflowjs.write_weights import Weight

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra length
_MODEL_CLASSES = ("Sequential", "Functional", "Model")


class _Window(io.RawIOBase):
    """A read-only, seekable view of `length` bytes at `start` of a file (an uncompressed zip entry)."""

    def __init__(self, f, start: int, length: int):
        super().__init__()
        self._f, self._start, self._length, self._pos = f, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._length - self._pos))
        self._f.seek(self._start + self._pos)
        data = self._f.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _entry_offset(path: str, f, info: zipfile.ZipInfo) -> int:
    f.seek(info.header_offset)
    header = f.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or not header.startswith(b"PK\x03\x04"):
        raise ConversionError(f"{path}: the zip entry {info.filename} has no valid header; the archive is damaged")
    _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


@contextlib.contextmanager
def _weights_file(path: str, archive: zipfile.ZipFile) -> Iterator[h5py.File]:
    try:
        info = archive.getinfo(WEIGHTS)
    except KeyError:
        raise ConversionError(f"{path} is a .keras archive without {WEIGHTS}; it is not a complete Keras model") from None
    with contextlib.ExitStack() as stack:
        if info.compress_type == zipfile.ZIP_STORED:
            raw = stack.enter_context(open(path, "rb"))
            source = _Window(raw, _entry_offset(path, raw, info), info.file_size)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="tfjs-keras-"))
            source = os.path.join(tmp, WEIGHTS)
            with archive.open(info) as src, open(source, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        try:
            weights = stack.enter_context(h5py.File(source, "r"))
        except OSError as e:
            raise ConversionError(f"{path}: {WEIGHTS} in the archive cannot be read as HDF5 ({e}); the file is damaged") from None
        yield weights


def _vars_name(group: h5py.Group) -> Optional[str]:
    vars_group = group.get("vars")
    name = vars_group.attrs.get("name") if isinstance(vars_group, h5py.Group) else None
    return name.decode("utf-8") if isinstance(name, bytes) else name


def _variables(group: h5py.Group) -> List:
    vars_group = group.get("vars")
    if not isinstance(vars_group, h5py.Group):
        return []
    return [vars_group[key] for key in sorted(vars_group, key=lambda k: int(k) if k.isdigit() else -1)]


def _children_by_name(group: h5py.Group) -> Dict[str, h5py.Group]:
    """Sub-objects of an object group keyed by their Keras name (from their vars/@name)."""
    children = {}
    for key, child in group.items():
        if key == "vars" or not isinstance(child, h5py.Group):
            continue
        name = _vars_name(child)
        if name is not None:
            children[name] = child
        else:
            children.update(_children_by_name(child))
    return children


class _WeightWalker:
    """Walks model.weights.h5 beside the config, naming every variable as TF.js does."""

    def __init__(self, path: str):
        self.path = path
        self.weights: List[Weight] = []
        self.named_by_position: List[str] = []

    def layer(self, group: h5py.Group, class_name: str, config: Dict, scope: Tuple[str, ...]) -> None:
        # TF.js names the weights of a nested model's layers without the model's name.
        here = scope if class_name in _MODEL_CLASSES else scope + (_vars_name(group) or config.get("name", "?"),)
        self._own(group, class_name, config, here)
        children = _children_by_name(group)
        handled = set()
        for child_name, child_class, child_config in self._expected_children(class_name, config, children):
            if child_name in children:
                self.layer(children[child_name], child_class, child_config, here)
                handled.add(child_name)
        for child_name in sorted(set(children) - handled):
            if _variables_anywhere(children[child_name]):
                self.layer(children[child_name], "", {}, here)

    @staticmethod
    def _expected_children(class_name: str, config: Dict, children: Dict[str, h5py.Group]):
        """(name, class, config) of the sub-layers a layer class is known to hold, in order."""
        if class_name in _MODEL_CLASSES:
            for entry in config.get("layers", []):
                entry_config = entry.get("config", {})
                yield entry_config.get("name"), entry.get("class_name"), entry_config
        elif class_name in CELLS:
            for child_name in children:
                yield child_name, CELLS[class_name], config
        elif class_name == "RNN" and isinstance(config.get("cell"), dict):
            for child_name in children:
                yield child_name, config["cell"].get("class_name"), config["cell"].get("config", {})
        elif class_name == "Bidirectional":
            forward = config.get("layer", {})
            backward = config.get("backward_layer") or forward
            for child_name, child in sorted(children.items(), key=lambda item: item[1].name.endswith("backward_layer")):
                wrapped = backward if child.name.endswith("backward_layer") else forward
                yield child_name, wrapped.get("class_name"), dict(wrapped.get("config", {}), name=child_name)
        elif class_name == "TimeDistributed":
            inner = config.get("layer", {})
            for child_name in children:
                yield child_name, inner.get("class_name"), inner.get("config", {})

    def _own(self, group: h5py.Group, class_name: str, config: Dict, here: Tuple[str, ...]) -> None:
        variables = _variables(group)
        if not variables:
            return
        names = variable_names(class_name, config, len(variables))
        if names is None:
            self.named_by_position.append("/".join(here))
            # Not bare digits: TF.js reads a first weight name ending in a number as Keras 3's
            # positional naming and would then look up every other weight by position too.
            names = [f"variable_{i}" for i in range(len(variables))]
        prefix = "/".join(here)
        self.weights.extend(dataset_weight(f"{prefix}/{name}", dataset) for name, dataset in zip(names, variables))


def _variables_anywhere(group: h5py.Group) -> bool:
    found = []
    group.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return bool(found)


def _read_config(path: str, archive: zipfile.ZipFile) -> Dict:
    if CONFIG not in archive.namelist():
        raise ConversionError(f"{path} is a zip archive without {CONFIG}; it is not a Keras .keras model")
    try:
        config = json.loads(archive.read(CONFIG).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{path}: {CONFIG} is not valid JSON ({e})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConversionError(f"{path}: {CONFIG} is not a Keras model config")
    check_model_config(config, path)
    return config


def _keras_version(archive: zipfile.ZipFile) -> str:
    try:
        return str(json.loads(archive.read(METADATA).decode("utf-8")).get("keras_version", "3"))
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return "3"


def _root_weights(path: str, weights_file: h5py.File, config: Dict) -> List[Weight]:
    walker = _WeightWalker(path)
    children = _children_by_name(weights_file)
    for entry in config.get("config", {}).get("layers", []):
        entry_config = entry.get("config", {})
        if entry_config.get("name") in children:
            walker.layer(children[entry_config["name"]], entry.get("class_name"), entry_config, ())
    if walker.named_by_position:
        warnings.warn(f"{path}: the weights of {', '.join(walker.named_by_position)} are named by position (variable_0, variable_1, ...), as the layer classes are not known here; a JS implementation must use those names")
    return walker.weights


@contextlib.contextmanager
def open_keras_archive(path: str) -> Iterator[KerasModelSource]:
    """The model in a .keras archive; its weights can be read until the context ends."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ConversionError(f"{path} cannot be read as a .keras (zip) archive ({e}); the file is truncated or damaged") from None
    with archive:
        config = _read_config(path, archive)
        with _weights_file(path, archive) as weights_file:
            yield KerasModelSource(path, config, _root_weights(path, weights_file, config), _keras_version(archive))
