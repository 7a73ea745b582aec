"""Writes weight groups as TF.js shards plus their manifest, streaming one weight at a time.

Each weight is encoded (and quantized) chunk by chunk straight into the shard files by the
native ShardWriter, so writing a model never needs a second copy of it in memory. A weight that
offers its value in pieces (a constant still in its checkpoint file) is never whole in memory.
"""

import json
import os
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from tensorflowjs import _quantize, dtypes, progress, quantization
from tensorflowjs.errors import ConversionError

DEFAULT_SHARD_SIZE_BYTES = 4 * 1024 * 1024


@dataclass
class Weight:
    """A weight to write. `load` is called when its turn comes, so sources can stream."""

    name: str
    load: Callable[[], np.ndarray]
    # Known up front for streamed sources, so planning need not read the data.
    dtype: Optional[str] = None
    shape: Optional[Sequence[int]] = None
    # The value flattened, in consecutive pieces, for weights too big to load whole.
    chunks: Optional[Callable[[], Iterable[np.ndarray]]] = None

    @classmethod
    def of(cls, name: str, data: np.ndarray) -> "Weight":
        data = np.asarray(data)
        return cls(name, lambda: data)


@dataclass
class _Planned:
    """A weight with its manifest entry fixed before any byte is written."""

    weight: Weight
    dtype: str
    shape: List[int]
    quantize_to: Optional[str]
    nbytes: int
    string_bytes: Optional[bytes] = None


def _plan(weight: Weight, quantize_to: Optional[str]) -> _Planned:
    if weight.dtype is None or weight.shape is None or weight.dtype == "string":
        array = weight.load()
        dtype, shape = dtypes.manifest_dtype_of(array, weight.name), [int(d) for d in array.shape]
        if dtype == "string":
            encoded = dtypes.encode_strings(array)
            return _Planned(weight, dtype, shape, None, len(encoded), encoded)
    else:
        dtype, shape = weight.dtype, [int(d) for d in weight.shape]
    if dtype != "float32":
        quantize_to = None
    itemsize = quantization.QUANTIZED_ITEMSIZE[quantize_to] if quantize_to else dtypes.MANIFEST_DTYPES[dtype].itemsize
    return _Planned(weight, dtype, shape, quantize_to, int(np.prod(shape, dtype=np.int64)) * itemsize)


def _pieces(weight: Weight) -> Callable[[], Iterable[np.ndarray]]:
    """The weight's value in its manifest dtype, as pieces written in order; a loaded value is
    loaded once, however often the pieces are read."""
    if weight.chunks is not None:
        return lambda: (dtypes.to_manifest_array(chunk, weight.name) for chunk in weight.chunks())
    whole = [dtypes.to_manifest_array(weight.load(), weight.name)]
    return lambda: whole


def _affine_range(weight: Weight, pieces: Callable[[], Iterable[np.ndarray]]) -> np.ndarray:
    """What the affine parameters are computed from: the value, or for a streamed one each
    piece's min and max (the parameters depend only on the range, and a NaN or Inf anywhere
    still makes it non-finite)."""
    if weight.chunks is None:
        return next(iter(pieces()))
    return np.asarray([extreme for piece in pieces() if piece.size for extreme in (np.min(piece), np.max(piece))], np.float32)


def _write_one(writer, planned: _Planned) -> Dict:
    entry = {"name": planned.weight.name, "shape": planned.shape, "dtype": planned.dtype}
    if planned.string_bytes is not None:
        writer.write(planned.string_bytes)
        return entry
    pieces = _pieces(planned.weight)
    if planned.quantize_to == quantization.QUANTIZATION_DTYPE_FLOAT16:
        for piece in pieces():
            writer.write_float16(piece)
        entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
    elif planned.quantize_to:
        minimum, scale = quantization.affine_params(_affine_range(planned.weight, pieces), planned.quantize_to, planned.weight.name)
        for piece in pieces():
            writer.write_affine(piece, quantization.AFFINE_BITS[planned.quantize_to], minimum, scale)
        entry["quantization"] = {"dtype": planned.quantize_to, "min": minimum, "scale": scale, "original_dtype": "float32"}
    else:
        for piece in pieces():
            writer.write(piece.reshape(-1).view(np.uint8))
    return entry


def check_shard_size(shard_size_bytes: int) -> int:
    if isinstance(shard_size_bytes, bool) or not isinstance(shard_size_bytes, (int, np.integer)) or shard_size_bytes <= 0:
        raise ConversionError(f"weight shard size must be a positive number of bytes, got {shard_size_bytes!r}")
    return int(shard_size_bytes)


def write_weight_groups(
    groups: Sequence[Sequence[Weight]],
    write_dir: str,
    shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    quantization_dtype_map: Optional[Mapping] = None,
) -> List[Dict]:
    """Writes `group{g}-shard{i}of{n}.bin` files into write_dir; returns the manifest."""
    shard_size_bytes = check_shard_size(shard_size_bytes)
    names = [w.name for group in groups for w in group]
    seen = set()
    for name in names:
        if name in seen:
            raise ConversionError(f"weight name {name!r} appears twice; weight names must be unique across groups")
        seen.add(name)
    quantize_to = quantization.dtype_names_by_weight(names, quantization_dtype_map)
    plans = [[_plan(w, quantize_to.get(w.name)) for w in group] for group in groups]
    manifest = []
    with progress.counting_bytes("writing weights", sum(p.nbytes for group in plans for p in group)) as advance:
        for index, group in enumerate(plans, start=1):
            writer = _quantize.ShardWriter(write_dir, index, sum(p.nbytes for p in group), shard_size_bytes)
            entries = []
            for planned in group:
                entries.append(_write_one(writer, planned))
                advance(planned.nbytes)
            manifest.append({"paths": writer.close(), "weights": entries})
    return manifest


def write_weights(
    weight_groups: Sequence[Sequence[Mapping]],
    write_dir: str,
    shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES,
    write_manifest: bool = True,
    quantization_dtype_map: Optional[Mapping] = None,
) -> List[Dict]:
    """Public converter API: groups of {'name', 'data'} dicts to shards and a manifest."""
    if not weight_groups:
        raise ConversionError("weight_groups is empty; give a list of groups, each a list of {'name', 'data'} dicts")
    groups = []
    for group in weight_groups:
        if not isinstance(group, (list, tuple)):
            raise ConversionError("weight_groups must be a list of groups, each a list of {'name', 'data'} dicts")
        groups.append([Weight.of(entry["name"], entry["data"]) for entry in group])
    manifest = write_weight_groups(groups, write_dir, shard_size_bytes, quantization_dtype_map)
    if write_manifest:
        with open(os.path.join(write_dir, "weights_manifest.json"), "w") as f:
            json.dump(manifest, f)
    return manifest
