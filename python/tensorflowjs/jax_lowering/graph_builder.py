"""A GraphDef builder with the op surface the lowering handlers use, without TensorFlow.

The handlers were written against TensorFlow's Python API (`tf.reshape`, `tf.nn.conv2d`, `x + 1`,
`tf.while_loop`); this module offers the same names and signatures, so a handler emits the same
nodes whether `ops` is this builder or TensorFlow itself (the tests' reference). Nodes are
NodeDefs of the shipped schema (tf_protos) with TensorFlow's default attributes (op_registry);
each output's dtype and static shape (None for an unknown size) is tracked by a small rule per
op, so handlers can ask `x.dtype` and `x.shape` as they would of a TF tensor. Constants carry
their value, and data movement on constants is folded here as Grappler folds it on
TensorFlow's path: Range, BroadcastTo and Tile (bigger than their inputs, which the graph
model's folding leaves), and reshapes, transposes and slices (so a slice of a weight inside a
loop body is a constant, not an op run each iteration).
"""

from __future__ import annotations

import builtins
import contextlib
import math as _math
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tensorflowjs import tf_protos

Shape = Optional[Tuple[Optional[int], ...]]  # None: unknown rank; None in it: unknown size


class DType:
    """A tensor's element type; compares equal to numpy dtypes and to other DTypes."""

    __slots__ = ("numpy",)

    def __init__(self, dtype: Any):
        self.numpy = np.dtype(dtype.numpy if isinstance(dtype, DType) else getattr(dtype, "as_numpy_dtype", dtype))

    is_floating = property(lambda self: self.numpy.kind == "f")
    is_integer = property(lambda self: self.numpy.kind in "iu")
    is_bool = property(lambda self: self.numpy.kind == "b")
    name = property(lambda self: self.numpy.name)
    as_numpy_dtype = property(lambda self: self.numpy.type)

    @property
    def as_datatype_enum(self) -> int:
        return tf_protos.data_type(_DATA_TYPES[self.numpy])

    def __eq__(self, other: Any) -> bool:
        try:
            return self.numpy == as_dtype(other).numpy
        except TypeError:
            return False

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.numpy)

    def __repr__(self) -> str:
        return f"DType({self.numpy.name})"


_DATA_TYPES = {
    np.dtype(k): v
    for k, v in {
        "float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF", "int32": "DT_INT32", "int64": "DT_INT64",
        "int16": "DT_INT16", "int8": "DT_INT8", "uint8": "DT_UINT8", "uint16": "DT_UINT16", "uint32": "DT_UINT32",
        "uint64": "DT_UINT64", "bool": "DT_BOOL",
    }.items()
}


def as_dtype(dtype: Any) -> DType:
    result = dtype if isinstance(dtype, DType) else DType(dtype)
    if result.numpy not in _DATA_TYPES:
        raise TypeError(f"no graph dtype for {result.numpy}")
    return result


float32, int32, int64 = DType("float32"), DType("int32"), DType("int64")
bool = DType("bool")  # noqa: A001  (tf.bool; the builtin is builtins.bool here)
_BOOL = as_dtype("bool")


class Frame:
    """A while loop's frame: tensors made inside it read outer ones through Enter nodes."""

    def __init__(self, name: str, parent: Optional["Frame"]):
        self.name, self.parent = name, parent
        self.entered: Dict[str, Tensor] = {}


class Tensor:
    """One output of a node: its name ("node:i"), dtype, static shape, and value if constant."""

    def __init__(self, graph: "Graph", node: Any, index: int, dtype: DType, shape: Shape):
        self.graph, self.node, self.index = graph, node, index
        self.dtype, self._shape = dtype, shape
        self.value: Optional[np.ndarray] = None
        self.frame = graph.frame
        self.partial: Optional[List[Optional[int]]] = None  # an int vector's known elements

    @property
    def name(self) -> str:
        return self.node.name if self.index == 0 else f"{self.node.name}:{self.index}"

    @property
    def op(self) -> str:
        return self.node.op

    @property
    def shape(self) -> Shape:
        return self._shape

    def set_shape(self, shape: Sequence[Optional[int]]) -> None:
        """Takes the shape of the jaxpr's aval (None for a symbolic size): the avals are the
        truth, the rules here only fill in between equations."""
        self._shape = tuple(shape)

    def known(self) -> Optional[List[Optional[int]]]:
        """The elements of a constant or partly constant int vector (None: unknown)."""
        if self.value is not None:
            return [int(v) for v in np.reshape(self.value, [-1])]
        return self.partial

    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return subtract(self, other)
    def __rsub__(self, other): return subtract(other, self)
    def __mul__(self, other): return multiply(self, other)
    def __rmul__(self, other): return multiply(other, self)
    def __truediv__(self, other): return divide(self, other)
    def __rtruediv__(self, other): return divide(other, self)
    def __floordiv__(self, other): return _binary("FloorDiv", self, other)
    def __mod__(self, other): return _binary("FloorMod", self, other)
    def __neg__(self): return negative(self)
    def __lt__(self, other): return less(self, other)
    def __le__(self, other): return less_equal(self, other)
    def __gt__(self, other): return greater(self, other)
    def __ge__(self, other): return greater_equal(self, other)
    __hash__ = object.__hash__

    def __getitem__(self, key: Any) -> "Tensor":
        """Python indexing (ints, slices with constant bounds, one Ellipsis) as StridedSlice."""
        key = key if isinstance(key, tuple) else (key,)
        rank = len(self.shape)
        if Ellipsis in key:
            at = key.index(Ellipsis)
            key = key[:at] + (builtins.slice(None),) * (rank - len(key) + 1) + key[at + 1:]
        key = key + (builtins.slice(None),) * (rank - len(key))
        begin, end, strides, begin_mask, end_mask, shrink = [], [], [], 0, 0, 0
        for axis, item in enumerate(key):
            if isinstance(item, builtins.slice):
                begin.append(item.start or 0)
                end.append(item.stop or 0)
                strides.append(item.step or 1)
                begin_mask |= (item.start is None) << axis
                end_mask |= (item.stop is None) << axis
            else:
                begin.append(int(item))
                end.append(int(item) + 1)
                strides.append(1)
                shrink |= 1 << axis
        return strided_slice(self, begin, end, strides, begin_mask=begin_mask, end_mask=end_mask, shrink_axis_mask=shrink)

    def __repr__(self) -> str:
        return f"<Tensor {self.name} {self.dtype.name} {self.shape}>"


class Graph:
    """The GraphDef under construction; one is current while a lowering runs (`as_default`)."""

    def __init__(self) -> None:
        self.graph_def = tf_protos.message_class("tensorflow.GraphDef")()
        self.graph_def.versions.producer = 1
        self._names: Dict[str, int] = {}
        self.frame: Optional[Frame] = None

    def unique_name(self, base: str) -> str:
        count = self._names.get(base, 0)
        name = base if count == 0 else f"{base}_{count}"
        while name in self._names:
            count += 1
            name = f"{base}_{count}"
        self._names[base] = count + 1
        self._names[name] = max(self._names.get(name, 0), 1)
        return name

    def node(self, op: str, inputs: Sequence[Tensor], attrs: Dict[str, Any], outputs: Sequence[Tuple[DType, Shape]],
             name: Optional[str] = None, capture: builtins.bool = True) -> List[Tensor]:
        node = self.graph_def.node.add()
        node.name = self.unique_name(name or op)
        node.op = op
        for tensor in inputs:
            node.input.append((self._captured(tensor) if capture else tensor).name)
        for key, value in attrs.items():
            _set_attr(node.attr[key], value)
        outs = [Tensor(self, node, i, dtype, shape) for i, (dtype, shape) in enumerate(outputs)]
        if not inputs:  # a constant is made once, outside any loop, and enters the loops that read it
            for out in outs:
                out.frame = None
        return outs

    def _captured(self, tensor: Tensor) -> Tensor:
        """`tensor` as seen from the current frame: an outer tensor (a constant too, as
        TensorFlow's executor wants) comes in through an Enter (is_constant) per frame."""
        if tensor.frame is self.frame or self.frame is None:
            return tensor
        chain, frame = [], self.frame
        while frame is not None and frame is not tensor.frame:
            chain.append(frame)
            frame = frame.parent
        current = self.frame
        for frame in reversed(chain):
            key = tensor.name
            if key not in frame.entered:
                self.frame = frame
                (entered,) = self.node("Enter", [tensor], {"T": tensor.dtype, "frame_name": frame.name, "is_constant": True,
                                                           "parallel_iterations": 10}, [(tensor.dtype, tensor.shape)],
                                       name=f"{frame.name.rsplit('/', 1)[0]}/Enter", capture=False)
                frame.entered[key] = entered
            tensor = frame.entered[key]
        self.frame = current
        return tensor

    def finish(self, outputs: Sequence[Tensor]) -> Any:
        """The GraphDef of what `outputs` need, plus every Placeholder (a signature input the
        function ignores stays an input), each node given its op's default attributes."""
        from tensorflowjs.graph.op_registry import op_defs

        nodes = {node.name: node for node in self.graph_def.node}
        needed = {n.name for n in self.graph_def.node if n.op == "Placeholder"}
        pending = [t.node.name for t in outputs]
        while pending:
            name = pending.pop()
            if name not in needed:
                needed.add(name)
                pending.extend(i.lstrip("^").split(":")[0] for i in nodes[name].input)
        kept = [node for node in self.graph_def.node if node.name in needed]
        del self.graph_def.node[:]
        self.graph_def.node.extend(kept)
        defs = op_defs()
        for node in self.graph_def.node:
            op_def = defs.get(node.op)
            for attr_def in op_def.attr if op_def is not None else ():
                if attr_def.name not in node.attr and attr_def.HasField("default_value"):
                    node.attr[attr_def.name].CopyFrom(attr_def.default_value)
        return self.graph_def

    @contextlib.contextmanager
    def as_default(self) -> Iterator["Graph"]:
        global _CURRENT
        previous, _CURRENT = _CURRENT, self
        try:
            yield self
        finally:
            _CURRENT = previous


_CURRENT: Optional[Graph] = None


def _graph() -> Graph:
    if _CURRENT is None:
        raise RuntimeError("no graph is being built (use Graph().as_default())")
    return _CURRENT


def _set_attr(attr: Any, value: Any) -> None:
    if isinstance(value, DType):
        attr.type = value.as_datatype_enum
    elif isinstance(value, builtins.bool):
        attr.b = value
    elif isinstance(value, (int, np.integer)):
        attr.i = int(value)
    elif isinstance(value, float):
        attr.f = value
    elif isinstance(value, str):
        attr.s = value.encode()
    elif isinstance(value, _ShapeAttr):
        for size in value.dims:
            attr.shape.dim.add().size = -1 if size is None else size
    elif isinstance(value, np.ndarray):
        _fill_tensor(attr.tensor, value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, DType) for v in value) and value:
        attr.list.type.extend(v.as_datatype_enum for v in value)
    else:
        attr.list.i.extend(int(v) for v in value)
        if not value:
            attr.list.SetInParent()


class _ShapeAttr:
    def __init__(self, dims: Sequence[Optional[int]]):
        self.dims = list(dims)


def _fill_tensor(tensor: Any, array: np.ndarray) -> None:
    tensor.dtype = as_dtype(array.dtype).as_datatype_enum
    for size in array.shape:
        tensor.tensor_shape.dim.add().size = size
    tensor.tensor_content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


# ----------------------------------------------------------------------------------------------
# Creating tensors


def _static(value: Any) -> builtins.bool:
    return isinstance(value, (int, np.integer))


def constant(value: Any, dtype: Any = None, name: Optional[str] = None) -> Tensor:
    if isinstance(value, Tensor):
        return value if dtype is None or value.dtype == dtype else cast(value, dtype)
    array = _array(value, dtype)
    (out,) = _graph().node("Const", [], {"value": array, "dtype": as_dtype(array.dtype)}, [(as_dtype(array.dtype), array.shape)], name=name)
    out.value = array
    return out


def _array(value: Any, dtype: Any = None) -> np.ndarray:
    """A Python value as TensorFlow would make it a tensor: floats are float32, ints int32."""
    if dtype is not None:
        return np.asarray(value, dtype=as_dtype(dtype).numpy)
    array = np.asarray(value)
    if array.dtype == np.float64 and not isinstance(value, np.ndarray):
        array = array.astype(np.float32)
    elif array.dtype == np.int64 and not isinstance(value, (np.ndarray, np.integer)):
        array = array.astype(np.int32)
    return array


def convert(value: Any, dtype: Any = None) -> Tensor:
    """A tensor, a Python value, or a list mixing both (packed, as TensorFlow does)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Tensor, list, tuple)) for v in value):
        return stack([convert(v, dtype) for v in value])
    return constant(value, dtype)


def placeholder(name: str, dtype: Any, shape: Sequence[Optional[int]]) -> Tensor:
    dtype = as_dtype(dtype)
    (out,) = _graph().node("Placeholder", [], {"dtype": dtype, "shape": _ShapeAttr(shape)}, [(dtype, tuple(shape))], name=name)
    return out


def identity(x: Tensor, name: Optional[str] = None) -> Tensor:
    (out,) = _graph().node("Identity", [x], {"T": x.dtype}, [(x.dtype, x.shape)], name=name)
    out.value = x.value
    return out


def zeros(shape: Sequence[int], dtype: Any = float32) -> Tensor:
    return constant(np.zeros(shape, as_dtype(dtype).numpy))


def ones_like(x: Tensor) -> Tensor:
    if x.shape is not None and all(d is not None for d in x.shape):
        return constant(np.ones(x.shape, x.dtype.numpy))
    return fill(shape(x), constant(1, x.dtype))


def fill(dims: Tensor, value: Tensor) -> Tensor:
    dims = convert(dims, int32)
    (out,) = _graph().node("Fill", [dims, value], {"T": value.dtype, "index_type": dims.dtype},
                           [(value.dtype, _shape_from(dims))])
    return out


def shape(x: Tensor, out_type: Any = int32) -> Tensor:
    out_type = as_dtype(out_type)
    (out,) = _graph().node("Shape", [x], {"T": x.dtype, "out_type": out_type}, [(out_type, None if x.shape is None else (len(x.shape),))])
    if x.shape is not None:
        if all(d is not None for d in x.shape):
            return constant(np.asarray(x.shape, out_type.numpy))
        out.partial = list(x.shape)
    return out


def range(limit: Any, dtype: Any = int32) -> Tensor:  # noqa: A001  (tf.range)
    dtype = as_dtype(dtype)
    if _static(limit):
        return constant(np.arange(int(limit), dtype=dtype.numpy))
    start, limit, delta = constant(0, dtype), convert(limit, dtype), constant(1, dtype)
    (out,) = _graph().node("Range", [start, limit, delta], {"Tidx": dtype}, [(dtype, (None,))])
    return out


# ----------------------------------------------------------------------------------------------
# Elementwise ops


def _unary(op: str, x: Any, out_dtype: Optional[DType] = None) -> Tensor:
    x = convert(x)
    (out,) = _graph().node(op, [x], {"T": x.dtype}, [(out_dtype or x.dtype, x.shape)])
    return out


def broadcast_shape(*shapes: Shape) -> Shape:
    if any(s is None for s in shapes):
        return None
    rank = max(len(s) for s in shapes)
    result = []
    for axis in builtins.range(rank):
        sizes = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        if known:
            result.append(known.pop())
        elif any(d is None for d in sizes):
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def _operands(x: Any, y: Any) -> Tuple[Tensor, Tensor]:
    """Binary operands; a Python value takes the other operand's dtype."""
    if not isinstance(x, Tensor) and isinstance(y, Tensor):
        return convert(x, y.dtype), y
    x = convert(x)
    return x, convert(y, x.dtype)


def _binary(op: str, x: Any, y: Any, out_dtype: Optional[DType] = None) -> Tensor:
    x, y = _operands(x, y)
    if x.dtype != y.dtype:
        raise TypeError(f"{op}: {x.dtype.name} and {y.dtype.name} operands")
    (out,) = _graph().node(op, [x, y], {"T": x.dtype}, [(out_dtype or x.dtype, broadcast_shape(x.shape, y.shape))])
    return out


def _unary_op(op: str, out_dtype: Optional[DType] = None) -> Callable[..., Tensor]:
    return lambda x, name=None: _unary(op, x, out_dtype)


def _binary_op(op: str, out_dtype: Optional[DType] = None) -> Callable[..., Tensor]:
    return lambda x, y, name=None: _binary(op, x, y, out_dtype)


negative, exp, tanh, sigmoid = _unary_op("Neg"), _unary_op("Exp"), _unary_op("Tanh"), _unary_op("Sigmoid")
sin, cos, tan, asin, acos, atan = (_unary_op(op) for op in ("Sin", "Cos", "Tan", "Asin", "Acos", "Atan"))
sinh, cosh, asinh, acosh, atanh = (_unary_op(op) for op in ("Sinh", "Cosh", "Asinh", "Acosh", "Atanh"))
sqrt, abs, sign, floor, square = (_unary_op(op) for op in ("Sqrt", "Abs", "Sign", "Floor", "Square"))  # noqa: A001
round, logical_not = _unary_op("Round"), _unary_op("LogicalNot")  # noqa: A001
add, subtract, multiply, minimum, maximum = (_binary_op(op) for op in ("AddV2", "Sub", "Mul", "Minimum", "Maximum"))
pow, atan2 = _binary_op("Pow"), _binary_op("Atan2")  # noqa: A001
equal, not_equal, less, less_equal, greater, greater_equal = (
    _binary_op(op, _BOOL) for op in ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual"))
logical_and, logical_or = _binary_op("LogicalAnd", _BOOL), _binary_op("LogicalOr", _BOOL)


def divide(x: Any, y: Any) -> Tensor:
    return _binary("RealDiv", x, y)


def cast(x: Any, dtype: Any) -> Tensor:
    x, dtype = convert(x), as_dtype(dtype)
    if x.dtype == dtype:
        return x
    (out,) = _graph().node("Cast", [x], {"SrcT": x.dtype, "DstT": dtype, "Truncate": False}, [(dtype, x.shape)])
    return out


def where(condition: Tensor, x: Any, y: Any) -> Tensor:
    x, y = _operands(x, y)
    (out,) = _graph().node("SelectV2", [condition, x, y], {"T": x.dtype},
                           [(x.dtype, broadcast_shape(condition.shape, x.shape, y.shape))])
    return out


math = types.SimpleNamespace(
    log=_unary_op("Log"), log1p=_unary_op("Log1p"), expm1=_unary_op("Expm1"), rsqrt=_unary_op("Rsqrt"),
    ceil=_unary_op("Ceil"), erf=_unary_op("Erf"), reciprocal=_unary_op("Reciprocal"), is_finite=_unary_op("IsFinite", _BOOL),
    floordiv=_binary_op("FloorDiv"), floormod=_binary_op("FloorMod"),
    cumprod=lambda x, axis, reverse=False: _cumulative("Cumprod", x, axis, reverse),
    top_k=lambda x, k: _top_k(x, k),
)
bitwise = types.SimpleNamespace(bitwise_and=_binary_op("BitwiseAnd"))


# ----------------------------------------------------------------------------------------------
# Shapes and data movement


def _int_vector(values: Any) -> Tensor:
    return convert(values, int32) if not isinstance(values, Tensor) else values


def _shape_from(vector: Tensor) -> Shape:
    """The shape a shape-valued int vector describes (None where an element is unknown)."""
    known = vector.known()
    if known is not None:
        return tuple(None if d is None or d < 0 else d for d in known)
    if vector.shape is not None and vector.shape[0] is not None:
        return (None,) * vector.shape[0]
    return None


def reshape(x: Tensor, new_shape: Any) -> Tensor:
    target = _int_vector(new_shape)
    if x.value is not None and target.value is not None:
        return constant(x.value.reshape(target.value), name="Reshape")
    known = target.known()
    out_shape = _shape_from(target)
    if known is not None and -1 in known and x.shape is not None and all(d is not None for d in x.shape):
        rest = int(np.prod([d for d in known if d != -1]))
        out_shape = tuple(int(np.prod(x.shape)) // rest if d == -1 else d for d in known) if rest else out_shape
    (out,) = _graph().node("Reshape", [x, target], {"T": x.dtype, "Tshape": int32}, [(x.dtype, out_shape)])
    return out


def transpose(x: Tensor, perm: Sequence[int]) -> Tensor:
    perm = [int(p) for p in perm]
    if x.value is not None:
        return constant(np.transpose(x.value, perm), name="Transpose")
    out_shape = None if x.shape is None else tuple(x.shape[p] for p in perm)
    (out,) = _graph().node("Transpose", [x, constant(perm, int32)], {"T": x.dtype, "Tperm": int32}, [(x.dtype, out_shape)])
    return out


def expand_dims(x: Tensor, axis: int) -> Tensor:
    x = convert(x)
    rank = len(x.shape)
    axis = axis % (rank + 1)
    if x.value is not None:
        return constant(np.expand_dims(x.value, axis), name="ExpandDims")
    out_shape = x.shape[:axis] + (1,) + x.shape[axis:]
    (out,) = _graph().node("ExpandDims", [x, constant(axis, int32)], {"T": x.dtype, "Tdim": int32}, [(x.dtype, out_shape)])
    return out


def squeeze(x: Tensor, axis: Sequence[int]) -> Tensor:
    rank = len(x.shape)
    axes = sorted(a % rank for a in axis)
    if x.value is not None:
        return constant(np.squeeze(x.value, tuple(axes)), name="Squeeze")
    out_shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    (out,) = _graph().node("Squeeze", [x], {"T": x.dtype, "squeeze_dims": axes}, [(x.dtype, out_shape)])
    return out


def stack(values: Sequence[Any], axis: int = 0) -> Tensor:
    values = list(values)
    first = next((v for v in values if isinstance(v, Tensor)), None)
    tensors = [convert(v, None if first is None else first.dtype) for v in values]
    if all(t.value is not None for t in tensors):
        return constant(np.stack([t.value for t in tensors], axis))
    element = tensors[0].shape
    rank = len(element)
    axis = axis % (rank + 1)
    out_shape = element[:axis] + (len(tensors),) + element[axis:]
    (out,) = _graph().node("Pack", tensors, {"T": tensors[0].dtype, "N": len(tensors), "axis": axis}, [(tensors[0].dtype, out_shape)])
    if rank == 0:
        out.partial = [None if t.value is None else int(t.value) for t in tensors]
    return out


def unstack(x: Tensor, num: Optional[int] = None, axis: int = 0) -> List[Tensor]:
    axis = axis % len(x.shape)
    num = num if num is not None else x.shape[axis]
    element = x.shape[:axis] + x.shape[axis + 1:]
    return _graph().node("Unpack", [x], {"T": x.dtype, "num": num, "axis": axis}, [(x.dtype, element)] * num)


def concat(values: Sequence[Tensor], axis: int) -> Tensor:
    values = [convert(v) for v in values]
    rank = len(values[0].shape)
    axis = axis % rank
    sizes = [v.shape[axis] for v in values]
    out_shape = list(broadcast_shape(*(v.shape[:axis] + (1,) + v.shape[axis + 1:] for v in values)))
    out_shape[axis] = None if None in sizes else sum(sizes)
    (out,) = _graph().node("ConcatV2", [*values, constant(axis, int32)], {"T": values[0].dtype, "N": len(values), "Tidx": int32},
                           [(values[0].dtype, tuple(out_shape))])
    return out


def split(x: Tensor, num_or_size_splits: Any, axis: int = 0, num: Optional[int] = None) -> List[Tensor]:
    axis = axis % len(x.shape)

    def with_size(size):
        return tuple(size if a == axis else d for a, d in enumerate(x.shape))

    if _static(num_or_size_splits):
        count = int(num_or_size_splits)
        size = None if x.shape[axis] is None else x.shape[axis] // count
        return _graph().node("Split", [constant(axis, int32), x], {"T": x.dtype, "num_split": count}, [(x.dtype, with_size(size))] * count)
    sizes = _int_vector(num_or_size_splits)
    known = sizes.known() or [None] * num
    return _graph().node("SplitV", [x, sizes, constant(axis, int32)], {"T": x.dtype, "Tlen": int32, "num_split": len(known)},
                         [(x.dtype, with_size(s)) for s in known])


def pad(x: Tensor, paddings: Any, constant_values: Any = 0) -> Tensor:
    paddings = _int_vector(paddings)
    known = paddings.known()
    out_shape = None
    if known is not None:
        pairs = list(zip(known[0::2], known[1::2]))
        out_shape = tuple(None if d is None or lo is None or hi is None else d + lo + hi for d, (lo, hi) in zip(x.shape, pairs))
    elif x.shape is not None:
        out_shape = (None,) * len(x.shape)
    if not isinstance(constant_values, Tensor) and constant_values == 0:
        (out,) = _graph().node("Pad", [x, paddings], {"T": x.dtype, "Tpaddings": int32}, [(x.dtype, out_shape)])
    else:
        value = convert(constant_values, x.dtype)
        (out,) = _graph().node("PadV2", [x, paddings, value], {"T": x.dtype, "Tpaddings": int32}, [(x.dtype, out_shape)])
    return out


def broadcast_to(x: Tensor, target: Any) -> Tensor:
    target = _int_vector(target)
    if x.value is not None and target.value is not None:
        return constant(np.broadcast_to(x.value, target.value))
    (out,) = _graph().node("BroadcastTo", [x, target], {"T": x.dtype, "Tidx": int32}, [(x.dtype, _shape_from(target))])
    return out


def tile(x: Tensor, multiples: Sequence[int]) -> Tensor:
    multiples = [int(m) for m in multiples]
    if x.value is not None:
        return constant(np.tile(x.value, multiples))
    out_shape = tuple(None if d is None else d * m for d, m in zip(x.shape, multiples))
    (out,) = _graph().node("Tile", [x, constant(multiples, int32)], {"T": x.dtype, "Tmultiples": int32}, [(x.dtype, out_shape)])
    return out


def reverse(x: Tensor, axis: Sequence[int]) -> Tensor:
    (out,) = _graph().node("ReverseV2", [x, constant([int(a) for a in axis], int32)], {"T": x.dtype, "Tidx": int32}, [(x.dtype, x.shape)])
    return out


def _mask_bits(mask: int, rank: int) -> List[builtins.bool]:
    return [builtins.bool(mask >> i & 1) for i in builtins.range(rank)]


def strided_slice(x: Tensor, begin: Any, end: Any, strides: Any, begin_mask: int = 0, end_mask: int = 0,
                  shrink_axis_mask: int = 0) -> Tensor:
    begin, end, strides = _int_vector(begin), _int_vector(end), _int_vector(strides)
    b, e, s = begin.known(), end.known(), strides.known()
    rank = len(x.shape)
    if x.value is not None and all(v is not None for v in (begin.value, end.value, strides.value)):
        index = tuple(b[axis] if shrink_axis_mask >> axis & 1 else
                      builtins.slice(None if begin_mask >> axis & 1 else b[axis], None if end_mask >> axis & 1 else e[axis], s[axis])
                      for axis in builtins.range(rank))
        return constant(np.asarray(x.value[index]), name="StridedSlice")
    out_shape = []
    for axis, size in enumerate(x.shape):
        if shrink_axis_mask >> axis & 1:
            continue
        if axis >= len(s or []) or None in (size, s[axis]) or (not begin_mask >> axis & 1 and b[axis] is None) or \
                (not end_mask >> axis & 1 and e[axis] is None):
            out_shape.append(None if axis < rank else size)
            continue
        start = None if begin_mask >> axis & 1 else b[axis]
        stop = None if end_mask >> axis & 1 else e[axis]
        out_shape.append(len(builtins.range(*builtins.slice(start, stop, s[axis]).indices(size))))
    (out,) = _graph().node("StridedSlice", [x, begin, end, strides],
                           {"T": x.dtype, "Index": int32, "begin_mask": begin_mask, "end_mask": end_mask,
                            "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": shrink_axis_mask},
                           [(x.dtype, tuple(out_shape))])
    return out


def slice(x: Tensor, begin: Any, size: Any) -> Tensor:  # noqa: A001  (tf.slice)
    begin, size = _int_vector(begin), _int_vector(size)
    b, s = begin.known(), size.known()
    out_shape = tuple(None if s is None or s[i] is None or (s[i] == -1 and (b is None or b[i] is None or d is None))
                      else (d - b[i] if s[i] == -1 else s[i]) for i, d in enumerate(x.shape))
    (out,) = _graph().node("Slice", [x, begin, size], {"T": x.dtype, "Index": int32}, [(x.dtype, out_shape)])
    return out


def gather(params: Tensor, indices: Tensor, axis: int = 0) -> Tensor:
    axis = axis % len(params.shape)
    out_shape = params.shape[:axis] + indices.shape + params.shape[axis + 1:]
    (out,) = _graph().node("GatherV2", [params, indices, constant(axis, int32)],
                           {"Tparams": params.dtype, "Tindices": indices.dtype, "Taxis": int32, "batch_dims": 0},
                           [(params.dtype, out_shape)])
    return out


def gather_nd(params: Tensor, indices: Tensor) -> Tensor:
    depth = indices.shape[-1]
    out_shape = indices.shape[:-1] + params.shape[depth:]
    (out,) = _graph().node("GatherNd", [params, indices], {"Tparams": params.dtype, "Tindices": indices.dtype},
                           [(params.dtype, out_shape)])
    return out


def scatter_nd(indices: Tensor, updates: Tensor, target: Any) -> Tensor:
    target = _int_vector(target)
    (out,) = _graph().node("ScatterNd", [indices, updates, target], {"T": updates.dtype, "Tindices": indices.dtype},
                           [(updates.dtype, _shape_from(target))])
    return out


def tensor_scatter_nd_update(x: Tensor, indices: Tensor, updates: Tensor) -> Tensor:
    (out,) = _graph().node("TensorScatterUpdate", [x, indices, updates], {"T": x.dtype, "Tindices": indices.dtype},
                           [(x.dtype, x.shape)])
    return out


# ----------------------------------------------------------------------------------------------
# Reductions


def _reduce(op: str, x: Tensor, axis: Sequence[int]) -> Tensor:
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in ([axis] if _static(axis) else axis)})
    out_shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    attrs = {"keep_dims": False, "Tidx": int32} if op in ("All", "Any") else {"T": x.dtype, "keep_dims": False, "Tidx": int32}
    (out,) = _graph().node(op, [x, constant(axes, int32)], attrs, [(x.dtype, out_shape)])
    return out


def _reduction(op: str) -> Callable[..., Tensor]:
    return lambda x, axis: _reduce(op, x, axis)


reduce_sum, reduce_max, reduce_min, reduce_prod = (_reduction(op) for op in ("Sum", "Max", "Min", "Prod"))
reduce_all, reduce_any = _reduction("All"), _reduction("Any")


def _arg(op: str, x: Tensor, axis: int, output_type: Any) -> Tensor:
    output_type = as_dtype(output_type)
    axis = axis % len(x.shape)
    out_shape = x.shape[:axis] + x.shape[axis + 1:]
    (out,) = _graph().node(op, [x, constant(axis, int32)], {"T": x.dtype, "Tidx": int32, "output_type": output_type},
                           [(output_type, out_shape)])
    return out


def argmax(x: Tensor, axis: int, output_type: Any = int64) -> Tensor:
    return _arg("ArgMax", x, axis, output_type)


def argmin(x: Tensor, axis: int, output_type: Any = int64) -> Tensor:
    return _arg("ArgMin", x, axis, output_type)


def _cumulative(op: str, x: Tensor, axis: int, reverse: builtins.bool) -> Tensor:
    (out,) = _graph().node(op, [x, constant(int(axis), int32)], {"T": x.dtype, "Tidx": int32, "exclusive": False, "reverse": reverse},
                           [(x.dtype, x.shape)])
    return out


def cumsum(x: Tensor, axis: int, reverse: builtins.bool = False) -> Tensor:
    return _cumulative("Cumsum", x, axis, reverse)


def _top_k(x: Tensor, k: Any) -> Tuple[Tensor, Tensor]:
    k = convert(k, int32)
    size = k.value.item() if k.value is not None else None
    out_shape = x.shape[:-1] + (size,)
    return tuple(_graph().node("TopKV2", [x, k], {"T": x.dtype, "sorted": True, "index_type": int32},
                               [(x.dtype, out_shape), (int32, out_shape)]))


# ----------------------------------------------------------------------------------------------
# Linear algebra, convolution and pooling


def _matmul(a: Tensor, b: Tensor, transpose_a: builtins.bool = False, transpose_b: builtins.bool = False) -> Tensor:
    m = a.shape[-1] if transpose_a else a.shape[-2]
    n = b.shape[-2] if transpose_b else b.shape[-1]
    if len(a.shape) == 2 and len(b.shape) == 2:
        (out,) = _graph().node("MatMul", [a, b], {"T": a.dtype, "transpose_a": transpose_a, "transpose_b": transpose_b},
                               [(a.dtype, (m, n))])
        return out
    batch = broadcast_shape(a.shape[:-2], b.shape[:-2])
    (out,) = _graph().node("BatchMatMulV2", [a, b], {"T": a.dtype, "adj_x": transpose_a, "adj_y": transpose_b},
                           [(a.dtype, batch + (m, n))])
    return out


def _matrix_transpose(x: Tensor) -> Tensor:
    rank = len(x.shape)
    return transpose(x, [*builtins.range(rank - 2), rank - 1, rank - 2])


linalg = types.SimpleNamespace(matmul=_matmul, matrix_transpose=_matrix_transpose)


def _window_size(size: Optional[int], window: int, stride: int, dilation: int, padding: str) -> Optional[int]:
    if size is None:
        return None
    if padding == "SAME":
        return -(-size // stride)
    return max(_math.ceil((size - (window - 1) * dilation) / stride), 0)


def _spatial(x: Tensor, window: Sequence[int], strides: Sequence[int], dilations: Sequence[int], padding: str, channels: Optional[int]) -> Shape:
    n, h, w, c = x.shape
    return (n, _window_size(h, window[0], strides[1], dilations[1], padding), _window_size(w, window[1], strides[2], dilations[2], padding),
            c if channels is None else channels)


def _conv2d(x: Tensor, kernel: Tensor, strides: Sequence[int], padding: str, dilations: Sequence[int]) -> Tensor:
    out_shape = _spatial(x, kernel.shape[:2], strides, dilations, padding, kernel.shape[3])
    (out,) = _graph().node("Conv2D", [x, kernel], {"T": x.dtype, "strides": list(strides), "padding": padding, "data_format": "NHWC",
                                                   "dilations": list(dilations), "use_cudnn_on_gpu": True, "explicit_paddings": []},
                           [(x.dtype, out_shape)])
    return out


def _depthwise(input: Tensor, filter: Tensor, strides: Sequence[int], padding: str, dilations: Sequence[int]) -> Tensor:  # noqa: A002
    out_shape = _spatial(input, filter.shape[:2], strides, dilations, padding, filter.shape[2] * filter.shape[3])
    (out,) = _graph().node("DepthwiseConv2dNative", [input, filter], {"T": input.dtype, "strides": list(strides), "padding": padding,
                                                                       "data_format": "NHWC", "dilations": list(dilations),
                                                                       "explicit_paddings": []},
                           [(input.dtype, out_shape)])
    return out


def _pool(op: str, x: Tensor, ksize: Sequence[int], strides: Sequence[int], padding: str) -> Tensor:
    ksize, strides = [1, *ksize, 1], [1, *strides, 1]
    out_shape = _spatial(x, ksize[1:3], strides, [1, 1, 1, 1], padding, None)
    (out,) = _graph().node(op, [x], {"T": x.dtype, "ksize": ksize, "strides": strides, "padding": padding, "data_format": "NHWC"},
                           [(x.dtype, out_shape)])
    return out


def _bias_add(x: Tensor, bias: Tensor) -> Tensor:
    (out,) = _graph().node("BiasAdd", [x, bias], {"T": x.dtype, "data_format": "NHWC"}, [(x.dtype, x.shape)])
    return out


nn = types.SimpleNamespace(
    conv2d=lambda x, kernel, strides, padding, dilations: _conv2d(x, kernel, strides, padding, dilations),
    bias_add=_bias_add,
    relu=lambda x: _unary("Relu", x),
    avg_pool2d=lambda x, ksize, strides, padding: _pool("AvgPool", x, ksize, strides, padding),
    max_pool2d=lambda x, ksize, strides, padding: _pool("MaxPool", x, ksize, strides, padding),
)
raw_ops = types.SimpleNamespace(DepthwiseConv2dNative=_depthwise)


# tf.errors.OpError's place: the builder reports bad arguments as ValueError (or TypeError).
errors = types.SimpleNamespace(OpError=ValueError)


# ----------------------------------------------------------------------------------------------
# Control flow


def while_loop(cond: Callable[..., Tensor], body: Callable[..., Sequence[Tensor]], loop_vars: Sequence[Any]) -> List[Tensor]:
    """A v1 while loop, as TensorFlow lowers one for TF.js: Enter, Merge, LoopCond, Switch,
    Identity, body, NextIteration back into the Merge, Exit. Tensors the body reads from
    outside come in through constant Enters (Graph._captured)."""
    graph = _graph()
    scope = graph.unique_name("while")
    frame = Frame(f"{scope}/while_context", graph.frame)
    values = [convert(v) for v in loop_vars]
    outer = graph.frame
    graph.frame = frame
    try:
        enters = [graph.node("Enter", [v], {"T": v.dtype, "frame_name": frame.name, "is_constant": False, "parallel_iterations": 10},
                             [(v.dtype, v.shape)], name=f"{scope}/Enter", capture=False)[0] for v in values]
        merges = [graph.node("Merge", [e, e], {"T": e.dtype, "N": 2}, [(e.dtype, e.shape), (int32, ())], name=f"{scope}/Merge")[0]
                  for e in enters]
        predicate = cond(*merges)
        (loop_cond,) = graph.node("LoopCond", [predicate], {}, [(_BOOL, ())], name=f"{scope}/LoopCond")
        switches = [graph.node("Switch", [m, loop_cond], {"T": m.dtype}, [(m.dtype, m.shape)] * 2, name=f"{scope}/Switch")
                    for m in merges]
        identities = [identity(s[1], name=f"{scope}/Identity") for s in switches]
        results = [convert(r) for r in body(*identities)]
        for merge, result in zip(merges, results):
            (following,) = graph.node("NextIteration", [result], {"T": result.dtype}, [(result.dtype, result.shape)],
                                      name=f"{scope}/NextIteration")
            merge.node.input[1] = following.name
        exits = [graph.node("Exit", [s[0]], {"T": s[0].dtype}, [(s[0].dtype, s[0].shape)], name=f"{scope}/Exit")[0] for s in switches]
    finally:
        graph.frame = outer
    for exit_ in exits:
        exit_.frame = outer
    return exits

