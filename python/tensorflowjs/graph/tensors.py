"""TensorProto <-> numpy without TensorFlow, for any GraphDef (TensorFlow's classes or tf_protos').

Graph rewrites and weight extraction run on graphs that never saw TensorFlow, so they read and
write constants through this table rather than tensor_util.

A large constant frozen from a checkpoint stays in its file (a StoredTensor): its TensorProto
holds dtype, shape and a token naming it, so a model of many gigabytes is never copied into
memory; readers get a memory-mapped array, and weight writing streams it in chunks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from tensorflowjs import tf_protos
from tensorflowjs.errors import ConversionError


class DataType(NamedTuple):
    numpy: Any  # numpy dtype, or None when numpy has no such type
    field: str  # the TensorProto repeated field holding values when tensor_content is empty


# TensorFlow DataType name -> numpy dtype and the TensorProto value field; each dtype in one row.
DATA_TYPES: Dict[str, DataType] = {
    "DT_FLOAT": DataType(np.float32, "float_val"),
    "DT_DOUBLE": DataType(np.float64, "double_val"),
    "DT_HALF": DataType(np.float16, "half_val"),
    "DT_INT8": DataType(np.int8, "int_val"),
    "DT_INT16": DataType(np.int16, "int_val"),
    "DT_INT32": DataType(np.int32, "int_val"),
    "DT_INT64": DataType(np.int64, "int64_val"),
    "DT_UINT8": DataType(np.uint8, "int_val"),
    "DT_UINT16": DataType(np.uint16, "int_val"),
    "DT_UINT32": DataType(np.uint32, "uint32_val"),
    "DT_UINT64": DataType(np.uint64, "uint64_val"),
    "DT_BOOL": DataType(np.bool_, "bool_val"),
    "DT_COMPLEX64": DataType(np.complex64, "scomplex_val"),
    "DT_COMPLEX128": DataType(np.complex128, "dcomplex_val"),
    "DT_STRING": DataType(np.object_, "string_val"),
}

_BY_NUMPY = {np.dtype(t.numpy): name for name, t in DATA_TYPES.items() if t.numpy is not np.object_}


def data_type_of(dtype: Any) -> int:
    """TensorFlow's DataType number of a numpy dtype (object/bytes arrays are DT_STRING)."""
    dtype = np.dtype(dtype)
    name = "DT_STRING" if dtype.kind in "OSU" else _BY_NUMPY.get(dtype.newbyteorder("="))
    if name is None:
        raise ValueError(f"no TensorFlow dtype for numpy {dtype}")
    return tf_protos.data_type(name)


def numpy_dtype(data_type: int) -> Optional[Any]:
    """The numpy dtype of a DataType number, or None when this table has no row for it."""
    row = DATA_TYPES.get(tf_protos.data_type_name(data_type))
    return None if row is None else np.dtype(row.numpy)


# Constants at least this big are kept in their file when they come from one; smaller ones are
# copied, which costs little and saves a file read per use.
STORED_MIN_BYTES = 1 << 20
# Bytes per piece when a stored tensor is streamed: bounds the memory of writing it.
CHUNK_BYTES = 8 << 20


class StoredArray(np.ndarray):
    """A read-only memory-mapped view of a StoredTensor; knows its source, so writing an
    unchanged view back as a constant (a folded Reshape) keeps it stored instead of copying it."""

    stored: Optional["StoredTensor"] = None
    address: int = 0

    def __array_finalize__(self, obj: Any) -> None:
        self.stored = getattr(obj, "stored", None)
        self.address = getattr(obj, "address", 0)

    def same_bytes(self) -> bool:
        """Whether this array is all of its source's bytes, in order."""
        return (self.stored is not None and self.flags.c_contiguous and self.ctypes.data == self.address
                and self.dtype == self.stored.dtype and self.nbytes == self.stored.nbytes)


@dataclass(frozen=True)
class StoredTensor:
    """A tensor whose raw little-endian bytes lie at `offset` in a file (a checkpoint shard)."""

    path: str
    offset: int
    dtype: np.dtype
    shape: Tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def array(self) -> np.ndarray:
        """The value, memory-mapped read-only: pages are read (and resident) only while used."""
        if self.nbytes == 0:
            return np.zeros(self.shape, self.dtype)
        try:
            mapped = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape)
        except (OSError, ValueError) as e:  # ValueError: the file shrank since it was indexed
            raise ConversionError(f"{self.path} cannot be read ({e}); copy the model again") from None
        view = mapped.view(StoredArray)
        view.stored, view.address = self, mapped.ctypes.data
        return view

    def chunks(self, max_bytes: int = CHUNK_BYTES) -> Iterator[np.ndarray]:
        """The value flattened, as consecutive pieces of at most max_bytes, read from the file
        (not mapped, so what was read does not stay resident)."""
        step = max(1, max_bytes // self.dtype.itemsize) * self.dtype.itemsize
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.offset)
            for start in range(0, self.nbytes, step):
                piece = np.empty(min(step, self.nbytes - start), np.uint8)
                view, filled = memoryview(piece), 0
                while filled < len(piece):
                    read = f.readinto(view[filled:])
                    if not read:
                        raise ConversionError(f"{self.path} ends before byte {self.offset + self.nbytes}; the file is truncated, copy the model again")
                    filled += read
                yield piece.view(self.dtype)


# A stored constant's tensor_content: this prefix, then its token in _STORED. No real tensor's
# bytes are mistaken for one: the token is random and known only to this process.
_STORED_PREFIX = b"\0tensorflowjs stored tensor\0"
_STORED: Dict[bytes, StoredTensor] = {}


def stored_tensor(tensor: Any) -> Optional[StoredTensor]:
    """The StoredTensor a TensorProto stands for, or None when it holds its value itself."""
    return _stored_by_content(tensor.tensor_content)


def _stored_by_content(content: bytes) -> Optional[StoredTensor]:
    return _STORED.get(content[len(_STORED_PREFIX):]) if content.startswith(_STORED_PREFIX) else None


class UnreadableConstant(ConversionError, ValueError):
    """A TensorProto this table cannot turn into numpy (a ValueError to the rewrites that try)."""


# A constant stored as a few values repeated to fill its shape is expanded in memory; a graph
# file of a few bytes must not make that take more than this.
MAX_CONSTANT_BYTES = 1 << 30


def _element_count(shape: List[int], name: str) -> int:
    """Elements of a constant's shape, refusing shapes no real constant has (negative, or too big to hold)."""
    count = 1
    for size in shape:
        if size < 0:
            raise UnreadableConstant(f"a {name} constant has shape {shape}, with a negative dimension; the graph is damaged")
        count *= size
    itemsize = 16 if name == "DT_STRING" else np.dtype(DATA_TYPES[name].numpy).itemsize
    if count * itemsize > MAX_CONSTANT_BYTES:
        raise UnreadableConstant(f"a {name} constant of shape {shape} would take {count * itemsize} bytes, more than the {MAX_CONSTANT_BYTES} allowed")
    return count


def to_ndarray(tensor: Any) -> np.ndarray:
    """The value of a TensorProto, as TensorFlow reads it: tensor_content, else the typed values
    with the last one repeated to fill the shape (an empty list means zeros). A stored constant's
    value is memory-mapped from its file."""
    content = tensor.tensor_content  # read once: each read of a bytes field copies it
    stored = _stored_by_content(content)
    if stored is not None:
        return stored.array()
    name = tf_protos.data_type_name(tensor.dtype)
    row = DATA_TYPES.get(name)
    if row is None:
        raise UnreadableConstant(f"a constant of dtype {name} cannot be read; TF.js has no such dtype")
    shape = [d.size for d in tensor.tensor_shape.dim]
    count = _element_count(shape, name)
    if name == "DT_STRING":
        values = list(tensor.string_val)
        array = np.empty(count, dtype=object)
        array[:] = (values + values[-1:] * (count - len(values)))[:count] if values else b""
        return array.reshape(shape)
    dtype = np.dtype(row.numpy)
    if content:
        if len(content) != count * dtype.itemsize:
            raise UnreadableConstant(f"a {name} constant of shape {shape} holds {len(content)} bytes instead of {count * dtype.itemsize}; the graph is damaged")
        return np.frombuffer(content, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)
    values = getattr(tensor, row.field)
    if name == "DT_HALF":
        values = np.asarray(values, dtype=np.int64).astype(np.uint16).view(np.float16)  # int32 field, 16 bits used
    elif name.startswith("DT_COMPLEX"):
        if len(values) % 2:
            raise UnreadableConstant(f"a {name} constant has an odd number of values, not (real, imaginary) pairs; the graph is damaged")
        # (real, imag) pairs as one complex each: arithmetic would turn -0.0 into 0.0 and, with an
        # infinite or NaN imaginary part, the real part into NaN.
        values = np.asarray(values, dtype=np.float64).reshape(-1, 2).view(np.complex128).reshape(-1)
    values = np.asarray(values).astype(dtype)
    if values.size == count:
        return values.reshape(shape)
    if values.size == 0:
        return np.zeros(shape, dtype)
    filled = np.empty(count, dtype)
    filled[: values.size] = values[:count]
    filled[values.size:] = values[-1]
    return filled.reshape(shape)


def set_const(node: Any, value: Any) -> None:
    """Makes `node` (a NodeDef of any pool) a Const holding `value`: op, value and dtype."""
    node.op = "Const"
    fill_tensor_proto(node.attr["value"].tensor, value)
    node.attr["dtype"].type = node.attr["value"].tensor.dtype


def fill_tensor_proto(tensor: Any, value: Any) -> None:
    """Writes `value` into `tensor` (a TensorProto of any pool) in place: dtype, shape, data.
    A StoredTensor (or an unchanged view of one) of at least STORED_MIN_BYTES stays in its file."""
    if isinstance(value, StoredArray) and value.same_bytes():
        value = StoredTensor(value.stored.path, value.stored.offset, value.dtype, tuple(value.shape))
    if isinstance(value, StoredTensor):
        if value.nbytes >= STORED_MIN_BYTES:
            _fill_stored(tensor, value)
            return
        value = value.array()
    array = np.asarray(value)
    tensor.Clear()
    tensor.dtype = data_type_of(array.dtype)
    for size in array.shape:
        tensor.tensor_shape.dim.add().size = size
    if tensor.dtype == tf_protos.data_type("DT_STRING"):
        tensor.string_val.extend(v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1))
    else:
        tensor.tensor_content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _fill_stored(tensor: Any, stored: StoredTensor) -> None:
    tensor.Clear()
    tensor.dtype = data_type_of(stored.dtype)
    for size in stored.shape:
        tensor.tensor_shape.dim.add().size = size
    token = os.urandom(16)
    _STORED[token] = stored
    tensor.tensor_content = _STORED_PREFIX + token


def load_stored(graph_def: Any) -> None:
    """Copies every stored constant's value into its TensorProto, so the GraphDef stands alone
    (serialised to a file)."""
    nodes = list(graph_def.node) + [node for function in graph_def.library.function for node in function.node_def]
    for node in nodes:
        if node.op == "Const" and stored_tensor(node.attr["value"].tensor) is not None:
            fill_tensor_proto(node.attr["value"].tensor, np.array(to_ndarray(node.attr["value"].tensor)))
