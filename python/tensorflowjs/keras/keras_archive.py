"""Keras 3 `.keras` archives: a zip of config.json and model.weights.h5, read in place.

The weights file is opened inside the zip (never unpacked beside the input). Keras stores it
uncompressed, so h5py reads it straight from the archive through a window onto its bytes; a
compressed entry is unpacked into an anonymous temporary file first (O_TMPFILE: it has no name,
so a conversion killed with SIGKILL leaves nothing behind in $TMPDIR).

model.weights.h5 holds each layer's variables by position under a group per object
(`layers/dense/vars/0`, `layers/lstm/cell/vars/2`, `layers/bidirectional/forward_layer/...`);
each `vars` group's `name` attribute is the object's name. Walking it beside the config gives
every variable its TF.js name.
"""

import contextlib
import io
import os
import resource
import shutil
import struct
import tempfile
import warnings
import zipfile
import zlib
from typing import BinaryIO, Dict, Iterator, List, Optional, Tuple

from tensorflowjs import bounded_json, extras
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.keras.hdf5_heaps import check_global_heaps
from tensorflowjs.keras.model_classes import MODEL_CLASSES
from tensorflowjs.keras.model_source import KerasModelSource, dataset_weight, hard_linked
from tensorflowjs.keras.weight_check import check_weights
from tensorflowjs.keras.weight_names import CELLS, variable_names
from tensorflowjs.write_weights import Weight

h5py = extras.require("h5py", "reading a Keras .keras file")

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra length


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


# A compressed member may inflate this much (real weights hardly compress; HDF5 padding does).
_MAX_INFLATION = 100
_SMALL = 64 << 20


def _check_inflation(path: str, info: zipfile.ZipInfo) -> None:
    """A compressed member is refused before extraction if it inflates like a zip bomb."""
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > max(_SMALL, _MAX_INFLATION * info.compress_size):
        raise ConversionError(f"{path}: the archive member {info.filename} inflates from {info.compress_size} to {info.file_size} bytes; the archive is damaged or a zip bomb")


def _extract_room(path: str, info: zipfile.ZipInfo, directory: str) -> None:
    """Refuses before extracting a member that the disk or the file-size limit cannot hold."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    free = shutil.disk_usage(directory).free
    if (limit != resource.RLIM_INFINITY and info.file_size > limit) or info.file_size > free:
        room = min(free, limit) if limit != resource.RLIM_INFINITY else free
        raise ConversionError(f"{path}: the compressed archive member {info.filename} needs {info.file_size} bytes unpacked in {directory} but only {room} can be written there; store it uncompressed or free space")


def _extract(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: BinaryIO, directory: str) -> None:
    try:
        with archive.open(info) as src:
            shutil.copyfileobj(src, target, 1 << 20)
        target.seek(0)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise ConversionError(f"{path}: the archive member {info.filename} cannot be unpacked ({e}); the archive is damaged") from None
    except OSError as e:
        raise ConversionError(f"{path}: unpacking the archive member {info.filename} to a temporary file in {directory} failed ({e.strerror or e})") from None


@contextlib.contextmanager
def _weights_file(path: str, archive: zipfile.ZipFile) -> Iterator[h5py.File]:
    try:
        info = archive.getinfo(WEIGHTS)
    except KeyError:
        raise ConversionError(f"{path} is a .keras archive without {WEIGHTS}; it is not a complete Keras model") from None
    _check_inflation(path, info)
    with contextlib.ExitStack() as stack:
        if info.compress_type == zipfile.ZIP_STORED:
            raw = stack.enter_context(open(path, "rb"))
            start = _entry_offset(path, raw, info)
            if start + info.file_size > os.fstat(raw.fileno()).st_size:
                raise ConversionError(f"{path}: the archive member {WEIGHTS} claims {info.file_size} bytes, past the end of the file; the archive is truncated")
            check_global_heaps(raw, f"{path}: {WEIGHTS}", start, info.file_size)
            source = _Window(raw, start, info.file_size)
        else:
            directory = tempfile.gettempdir()
            _extract_room(path, info, directory)
            source = stack.enter_context(tempfile.TemporaryFile(prefix="tfjs-keras-", dir=directory))
            _extract(path, archive, info, source, directory)
            check_global_heaps(source, f"{path}: {WEIGHTS}")
        try:
            weights = stack.enter_context(h5py.File(source, "r"))
        except OSError as e:
            raise ConversionError(f"{path}: {WEIGHTS} in the archive cannot be read as HDF5 ({e}); the file is damaged") from None
        yield weights


def _vars_name(group: h5py.Group, where: str) -> Optional[str]:
    vars_group = hard_linked(group, "vars", where)
    name = vars_group.attrs.get("name") if isinstance(vars_group, h5py.Group) else None
    return name.decode("utf-8") if isinstance(name, bytes) else name


def _variables(group: h5py.Group, where: str) -> List:
    vars_group = hard_linked(group, "vars", where)
    if not isinstance(vars_group, h5py.Group):
        return []
    return [hard_linked(vars_group, key, where) for key in sorted(vars_group, key=lambda k: int(k) if k.isdigit() else -1)]


# Keras nests object groups a few levels (model, layer, cell); hard links can even make cycles.
_MAX_GROUP_DEPTH = 32


def _children_by_name(group: h5py.Group, where: str, depth: int = 0) -> Dict[str, h5py.Group]:
    """Sub-objects of an object group keyed by their Keras name (from their vars/@name)."""
    if depth > _MAX_GROUP_DEPTH:
        raise ConversionError(f"{where}: HDF5 groups nest deeper than {_MAX_GROUP_DEPTH} levels at {group.name}; the file is damaged or hostile")
    children = {}
    for key in group:
        child = hard_linked(group, key, where)
        if key == "vars" or not isinstance(child, h5py.Group):
            continue
        name = _vars_name(child, where)
        if name is not None:
            children[name] = child
        else:
            children.update(_children_by_name(child, where, depth + 1))
    return children


class _WeightWalker:
    """Walks model.weights.h5 beside the config, naming every variable as TF.js does."""

    def __init__(self, path: str):
        self.path = path
        self.where = f"{path}: {WEIGHTS}"
        self.weights: List[Weight] = []
        self.named_by_position: List[str] = []

    def layer(self, group: h5py.Group, class_name: str, config: Dict, scope: Tuple[str, ...]) -> None:
        # TF.js names the weights of a nested model's layers without the model's name.
        here = scope if class_name in MODEL_CLASSES else scope + (_vars_name(group, self.where) or config.get("name", "?"),)
        self._own(group, class_name, config, here)
        children = _children_by_name(group, self.where)
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
        if class_name in MODEL_CLASSES:
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
        variables = _variables(group, self.where)
        if not variables:
            return
        names = variable_names(class_name, config, len(variables))
        if names is None:
            self.named_by_position.append("/".join(here))
            # Not bare digits: TF.js reads a first weight name ending in a number as Keras 3's
            # positional naming and would then look up every other weight by position too.
            names = [f"variable_{i}" for i in range(len(variables))]
        prefix = "/".join(here)
        self.weights.extend(dataset_weight(f"{prefix}/{name}", dataset, self.where) for name, dataset in zip(names, variables))


def _variables_anywhere(group: h5py.Group) -> bool:
    found = []
    group.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return bool(found)


def _read_member(path: str, archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A small member's bytes, its declared size checked before it is inflated."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ConversionError(f"{path}: the archive member {name} is {info.file_size} bytes unpacked, more than the {limit} a Keras model needs")
    _check_inflation(path, info)
    try:
        with archive.open(info) as member:
            return member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise ConversionError(f"{path}: the archive member {name} cannot be unpacked ({e}); the archive is damaged") from None


def _read_config(path: str, archive: zipfile.ZipFile) -> Dict:
    if CONFIG not in archive.namelist():
        raise ConversionError(f"{path} is a zip archive without {CONFIG}; it is not a Keras .keras model")
    config = bounded_json.loads(_read_member(path, archive, CONFIG, bounded_json.MAX_BYTES), f"{path}: {CONFIG}")
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConversionError(f"{path}: {CONFIG} is not a Keras model config")
    check_model_config(config, path)
    return config


def _keras_version(path: str, archive: zipfile.ZipFile) -> str:
    if METADATA not in archive.namelist():
        return "3"
    metadata = bounded_json.loads(_read_member(path, archive, METADATA, 1 << 20), f"{path}: {METADATA}")
    return str(metadata.get("keras_version", "3")) if isinstance(metadata, dict) else "3"


def _root_weights(path: str, weights_file: h5py.File, config: Dict) -> List[Weight]:
    walker = _WeightWalker(path)
    children = _children_by_name(weights_file, walker.where)
    for entry in config.get("config", {}).get("layers", []):
        entry_config = entry.get("config", {})
        if entry_config.get("name") in children:
            walker.layer(children[entry_config["name"]], entry.get("class_name"), entry_config, ())
    if walker.named_by_position:
        warnings.warn(f"{path}: the weights of {', '.join(walker.named_by_position)} are named by position (variable_0, variable_1, ...), as the layer classes are not known here; a JS implementation must use those names")
    return walker.weights


def source_of_parts(path: str, weights_file: h5py.File, config: Dict, keras_version: str = "3") -> KerasModelSource:
    """The model of a .keras archive's unpacked parts: model.weights.h5 (open), config.json's
    content and metadata.json's keras_version; its weights checked against the config."""
    weights = _root_weights(path, weights_file, config)
    check_weights(path, config, weights)
    return KerasModelSource(path, config, weights, keras_version)


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
            yield source_of_parts(path, weights_file, config, _keras_version(path, archive))
