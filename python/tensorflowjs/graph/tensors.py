"""TensorProto <-> numpy without TensorFlow, for any GraphDef (TensorFlow's classes or tf_protos').

Graph rewrites and weight extraction run on graphs that never saw TensorFlow, so they read and
write constants through this table rather than tensor_util.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

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
    with the last one repeated to fill the shape (an empty list means zeros)."""
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
    if tensor.tensor_content:
        if len(tensor.tensor_content) != count * dtype.itemsize:
            raise UnreadableConstant(f"a {name} constant of shape {shape} holds {len(tensor.tensor_content)} bytes instead of {count * dtype.itemsize}; the graph is damaged")
        return np.frombuffer(tensor.tensor_content, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)
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
    """Writes `value` into `tensor` (a TensorProto of any pool) in place: dtype, shape, data."""
    array = np.asarray(value)
    tensor.Clear()
    tensor.dtype = data_type_of(array.dtype)
    for size in array.shape:
        tensor.tensor_shape.dim.add().size = size
    if tensor.dtype == tf_protos.data_type("DT_STRING"):
        tensor.string_val.extend(v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1))
    else:
        tensor.tensor_content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
