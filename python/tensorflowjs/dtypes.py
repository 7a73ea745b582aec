"""The dtypes a TF.js weights manifest can hold, and how numpy arrays map onto them."""

import struct
import warnings
from typing import Dict, NamedTuple, Optional

import numpy as np

from tensorflowjs.errors import ConversionError


class ManifestDtype(NamedTuple):
    numpy: np.dtype
    itemsize: Optional[int]  # None: variable length (strings)


# Every dtype TF.js loads from a manifest. Bool is one byte; strings are length-prefixed.
MANIFEST_DTYPES: Dict[str, ManifestDtype] = {
    "float32": ManifestDtype(np.dtype("<f4"), 4),
    "int32": ManifestDtype(np.dtype("<i4"), 4),
    "bool": ManifestDtype(np.dtype(np.bool_), 1),
    "complex64": ManifestDtype(np.dtype("<c8"), 8),
    "string": ManifestDtype(np.dtype(object), None),
}

# numpy dtypes TF.js has no twin for, narrowed with a notice (kind, itemsize) -> manifest dtype.
_NARROWED = {
    ("f", 8): "float32",
    ("f", 2): "float32",
    ("i", 8): "int32",
    ("i", 2): "int32",
    ("i", 1): "int32",
    ("u", 2): "int32",
    ("u", 1): "int32",
    ("c", 16): "complex64",
}
_EXACT = {("f", 4): "float32", ("i", 4): "int32", ("b", 1): "bool", ("c", 8): "complex64"}


class DtypeWarning(UserWarning):
    """A weight was stored in a narrower dtype than it came in."""


def manifest_dtype_of(array: np.ndarray, name: str) -> str:
    """The manifest dtype a numpy array is written as."""
    kind = array.dtype.kind
    if kind in "OSU":
        return "string"
    key = (kind, array.dtype.itemsize)
    if key in _EXACT:
        return _EXACT[key]
    if key in _NARROWED:
        return _NARROWED[key]
    raise ConversionError(
        f"weight {name!r} has dtype {array.dtype}, which TF.js cannot load; "
        f"supported: {', '.join(MANIFEST_DTYPES)}"
    )


def to_manifest_array(array: np.ndarray, name: str) -> np.ndarray:
    """The array in its manifest dtype, little-endian and contiguous; narrowing is announced."""
    dtype = manifest_dtype_of(array, name)
    if dtype == "string":
        return array
    target = MANIFEST_DTYPES[dtype].numpy
    if array.dtype != target and (array.dtype.kind, array.dtype.itemsize) in _NARROWED:
        if dtype == "int32" and array.size and (array.min() < -(2**31) or array.max() >= 2**31):
            raise ConversionError(f"weight {name!r} ({array.dtype}) has values outside the int32 range TF.js supports")
        warnings.warn(f"weight {name!r}: {array.dtype} stored as {dtype} (TF.js has no {array.dtype})", DtypeWarning, stacklevel=2)
    return np.ascontiguousarray(array, dtype=target)


def encode_strings(array: np.ndarray) -> bytes:
    """Row-major elements, each a little-endian uint32 byte length then its UTF-8 bytes."""
    parts = []
    for item in np.asarray(array, dtype=object).reshape(-1):
        raw = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        parts.append(struct.pack("<I", len(raw)))
        parts.append(raw)
    return b"".join(parts)
