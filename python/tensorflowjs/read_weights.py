"""Reads TF.js weight shards back into numpy arrays, checking every bound on the way.

A manifest comes from a file the user hands us, so nothing in it is trusted: shard paths
must stay inside the model directory, shapes must be sane, and every byte a weight needs
must exist before anything is allocated for it. Weights are located by offset, so a
converter can load them one at a time in any order (see `index_weights`).
"""

import math
import os
import struct
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from tensorflowjs import dtypes, quantization
from tensorflowjs.errors import ConversionError

_QUANTIZED_NUMPY = {"uint8": np.dtype(np.uint8), "uint16": np.dtype("<u2"), "float16": np.dtype("<f2")}
_MAX_DIM = 2**31 - 1

# A string weight's elements: each a little-endian uint32 byte length, then its UTF-8 bytes.
STRING_LENGTH_NUM_BYTES = 4
STRING_LENGTH_DTYPE = np.dtype("<u4")


def safe_shard_path(base_path: str, relative: str) -> str:
    """The shard's path, refusing names that would read outside the model directory."""
    if not isinstance(relative, str) or not relative:
        raise ConversionError(f"weights manifest in {base_path} has an empty or non-string shard path")
    parts = relative.replace("\\", "/").split("/")
    if os.path.isabs(relative) or relative.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise ConversionError(f"shard path {relative!r} in {base_path} points outside the model directory; shard paths must be relative names inside it")
    path = os.path.join(base_path, *parts)
    real_base = os.path.realpath(base_path)
    if os.path.commonpath([real_base, os.path.realpath(path)]) != real_base:
        raise ConversionError(f"shard path {relative!r} in {base_path} resolves outside the model directory")
    return path


class _Shards:
    """A group's shards as one byte range, from files or in-memory buffers."""

    def __init__(self, sources: Sequence[Union[str, bytes]], labels: Sequence[str]):
        self._sources = list(sources)
        self._labels = list(labels)
        self._sizes = [os.path.getsize(s) if isinstance(s, str) else len(s) for s in self._sources]
        self._starts = np.cumsum([0] + self._sizes)
        self.total = int(self._starts[-1])

    @classmethod
    def from_files(cls, base_path: str, paths: Sequence[str]) -> "_Shards":
        files = [safe_shard_path(base_path, p) for p in paths]
        for path in files:
            if not os.path.isfile(path):
                raise ConversionError(f"weight shard {path} is missing; copy every file listed in the model's weightsManifest next to model.json")
        return cls(files, files)

    def read(self, offset: int, nbytes: int, what: str) -> memoryview:
        if offset + nbytes > self.total:
            raise ConversionError(f"{what} needs bytes {offset}..{offset + nbytes} but the shards ({', '.join(self._labels)}) hold only {self.total}: a shard is truncated or the manifest does not match them")
        out = bytearray(nbytes)
        view = memoryview(out)
        done = 0
        index = int(np.searchsorted(self._starts, offset, side="right")) - 1
        while done < nbytes:
            source, start = self._sources[index], offset + done - int(self._starts[index])
            take = min(nbytes - done, self._sizes[index] - start)
            if isinstance(source, str):
                with open(source, "rb") as f:
                    f.seek(start)
                    if f.readinto(view[done:done + take]) != take:
                        raise ConversionError(f"weight shard {source} changed size while being read")
            else:
                view[done:done + take] = memoryview(source)[start:start + take]
            done += take
            index += 1
        return view


@dataclass
class IndexedWeight:
    """Where one manifest entry's bytes are, and what they decode to."""

    entry: Dict
    shards: _Shards
    offset: int
    nbytes: int

    @property
    def name(self) -> str:
        return self.entry["name"]

    @property
    def shape(self) -> List[int]:
        return self.entry["shape"]

    @property
    def dtype(self) -> str:
        return self.entry["dtype"]

    def load(self) -> np.ndarray:
        """The weight as its (dequantized) manifest dtype."""
        raw = self.shards.read(self.offset, self.nbytes, f"weight {self.name!r}")
        quant = self.entry.get("quantization")
        if self.dtype == "string":
            return _decode_strings(raw, self.shape, self.name)
        if quant:
            data = np.frombuffer(raw, _QUANTIZED_NUMPY[quant["dtype"]]).reshape(self.shape)
            return quantization.dequantize_weights(data, quant, np.float32)
        return np.frombuffer(raw, dtypes.MANIFEST_DTYPES[self.dtype].numpy).reshape(self.shape)


def _decode_strings(raw: memoryview, shape: Sequence[int], name: str) -> np.ndarray:
    count = math.prod(shape)
    out = np.empty(count, dtype=object)
    pos = 0
    for i in range(count):
        (length,) = struct.unpack_from("<I", raw, pos)
        out[i] = bytes(raw[pos + 4:pos + 4 + length])
        pos += 4 + length
    if pos != len(raw):
        raise ConversionError(f"string weight {name!r} is malformed")
    return out.reshape(shape)


def _is_key_of(value, table: Mapping) -> bool:
    """A manifest's dtype names are strings; a list or object there must not reach a dict lookup."""
    return isinstance(value, str) and value in table


def _check_entry(entry: Mapping, where: str) -> int:
    """Validates one manifest entry; returns its element count."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ConversionError(f"{where}: every weight needs a non-empty string 'name'")
    name = entry["name"]
    shape = entry.get("shape")
    if not isinstance(shape, list) or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 or d > _MAX_DIM for d in shape):
        raise ConversionError(f"{where}: weight {name!r} has an invalid shape {shape!r}; expected a list of non-negative integers")
    if not _is_key_of(entry.get("dtype"), dtypes.MANIFEST_DTYPES):
        raise ConversionError(f"{where}: weight {name!r} has unknown dtype {entry.get('dtype')!r}; expected one of {', '.join(dtypes.MANIFEST_DTYPES)}")
    quant = entry.get("quantization")
    if quant is not None:
        if not isinstance(quant, Mapping) or not _is_key_of(quant.get("dtype"), _QUANTIZED_NUMPY) or entry["dtype"] != "float32":
            raise ConversionError(f"{where}: weight {name!r} has invalid quantization {quant!r}; only float32 weights quantized to uint8, uint16 or float16 are supported")
        if quant["dtype"] != "float16" and not all(quantization.is_finite_number(quant.get(k)) for k in ("min", "scale")):
            raise ConversionError(f"{where}: weight {name!r} is {quant['dtype']}-quantized but lacks finite 'min' and 'scale'")
    return math.prod(shape)


def check_manifest(weights_manifest, where: str) -> None:
    """Structure of a weights manifest: a list of {paths, weights} groups."""
    if not isinstance(weights_manifest, list) or not all(
        isinstance(g, Mapping) and isinstance(g.get("paths"), list) and isinstance(g.get("weights"), list) for g in weights_manifest
    ):
        raise ConversionError(f"{where}: weightsManifest must be a list of {{'paths': [...], 'weights': [...]}} groups")


def _index_group(group: Mapping, shards: _Shards, where: str) -> List[IndexedWeight]:
    indexed, offset = [], 0
    for entry in group["weights"]:
        count = _check_entry(entry, where)
        quant = entry.get("quantization")
        if entry["dtype"] == "string":
            start = offset
            for _ in range(count):
                (length,) = struct.unpack("<I", shards.read(offset, 4, f"string weight {entry['name']!r}"))
                offset += 4 + length
            nbytes = offset - start
            offset = start
        else:
            itemsize = _QUANTIZED_NUMPY[quant["dtype"]].itemsize if quant else dtypes.MANIFEST_DTYPES[entry["dtype"]].itemsize
            nbytes = count * itemsize
        if offset + nbytes > shards.total:
            raise ConversionError(f"{where}: weight {entry['name']!r} needs bytes {offset}..{offset + nbytes} but the group's shards hold only {shards.total} bytes: a shard is missing or truncated")
        indexed.append(IndexedWeight(dict(entry), shards, offset, nbytes))
        offset += nbytes
    if offset != shards.total:
        raise ConversionError(f"{where}: the manifest describes {offset} bytes of weights but the shards hold {shards.total}; the manifest does not match its shards")
    return indexed


def index_weights(weights_manifest, base_path: Optional[str] = None, data_buffers: Optional[Sequence[bytes]] = None) -> List[List[IndexedWeight]]:
    """Every weight's location, per group, after validating the manifest against the shards."""
    where = os.path.join(base_path, "model.json") if base_path else "weights manifest"
    check_manifest(weights_manifest, where)
    if data_buffers is not None and len(data_buffers) != len(weights_manifest):
        raise ConversionError(f"{len(weights_manifest)} weight groups but {len(data_buffers)} data buffers")
    groups = []
    for g, group in enumerate(weights_manifest):
        if data_buffers is not None:
            shards = _Shards([data_buffers[g]], [f"group {g + 1} buffer"])
        else:
            shards = _Shards.from_files(base_path, group["paths"])
        groups.append(_index_group(group, shards, where))
    return groups


def _materialize(groups: List[List[IndexedWeight]], flatten: bool):
    result = [[{"name": w.name, "data": w.load()} for w in group] for group in groups]
    return [entry for group in result for entry in group] if flatten else result


def read_weights(weights_manifest, base_path: str, flatten: bool = False):
    """Public converter API: loads every weight (dequantized) from shards in base_path."""
    return _materialize(index_weights(weights_manifest, base_path=base_path), flatten)


def decode_weights(weights_manifest, data_buffers: Sequence[bytes], flatten: bool = False):
    """Public converter API: like read_weights, from one bytes buffer per group."""
    if isinstance(data_buffers, (bytes, bytearray, memoryview)):
        data_buffers = [data_buffers]
    return _materialize(index_weights(weights_manifest, data_buffers=data_buffers), flatten)
