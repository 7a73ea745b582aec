"""Constant folding without TensorFlow: a node whose inputs are all constants becomes a constant.

Used where Grappler is not (graphs frozen without TensorFlow). Each op it can evaluate is one
small numpy handler in FOLDERS, written to give TensorFlow's result (dtype included); an op
without a handler is left to run in TF.js. Results larger than their inputs are not folded, so a
Fill or a broadcast never inflates the weights. A constant folded from constants placed by control
inputs (in a lowered tf.cond's branch) keeps their control inputs.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from tensorflowjs.graph import tensors
from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr
from tensorflowjs.tensor_names import is_control

Folder = Callable[[Any, List[np.ndarray]], np.ndarray]

FOLDERS: Dict[str, Folder] = {}


def folds(*ops: str) -> Callable[[Folder], Folder]:
    """Registers a numpy evaluation of `ops`: (node, input values) -> the output value."""

    def decorate(function: Folder) -> Folder:
        for op in ops:
            FOLDERS[op] = function
        return function

    return decorate


def _same_dtype(function: Callable[..., np.ndarray]) -> Folder:
    return lambda node, values: np.asarray(function(*values)).astype(values[0].dtype, copy=False)


for _op, _function in {
    "Add": np.add, "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply, "Maximum": np.maximum,
    "Minimum": np.minimum, "Neg": np.negative, "Sqrt": np.sqrt, "Square": np.square, "Abs": np.abs,
    "Rsqrt": lambda x: 1 / np.sqrt(x), "Reciprocal": lambda x: 1 / x,
}.items():
    FOLDERS[_op] = _same_dtype(_function)


@folds("RealDiv")
def _real_div(node, values):
    return (values[0] / values[1]).astype(values[0].dtype, copy=False)


@folds("Cast")
def _cast(node, values):
    dtype = tensors.numpy_dtype(attr(node, "DstT").type)
    if dtype is None or dtype == object:
        raise _CannotFold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)  # complex -> real keeps the real part, as TF does
        return values[0].astype(dtype)


@folds("Reshape")
def _reshape(node, values):
    return values[0].reshape([int(d) for d in values[1].reshape(-1)])


@folds("Transpose")
def _transpose(node, values):
    return np.transpose(values[0], [int(d) for d in values[1].reshape(-1)])


@folds("ExpandDims")
def _expand_dims(node, values):
    return np.expand_dims(values[0], int(values[1].reshape(-1)[0]))


@folds("Squeeze")
def _squeeze(node, values):
    axes = tuple(attr(node, "squeeze_dims").list.i)
    return np.squeeze(values[0], axis=axes or None)


@folds("ConcatV2")
def _concat(node, values):
    return np.concatenate(values[:-1], axis=int(values[-1]))


@folds("Pack")
def _pack(node, values):
    return np.stack(values, axis=attr(node, "axis").i)


@folds("Sum", "Prod", "Mean", "Max", "Min")
def _reduce(node, values):
    rank = values[0].ndim
    if any(not -max(rank, 1) <= int(a) < max(rank, 1) for a in values[1].reshape(-1)):
        raise _CannotFold  # TensorFlow rejects the axis; leave the node for it to say so
    axes = tuple(int(a) % max(rank, 1) for a in values[1].reshape(-1))
    if node.op == "Mean" and values[0].dtype.kind in "iu":
        return _integer_mean(values[0], axes, attr(node, "keep_dims").b)
    function = {"Sum": np.sum, "Prod": np.prod, "Mean": np.mean, "Max": np.max, "Min": np.min}[node.op]
    return function(values[0], axis=axes, keepdims=attr(node, "keep_dims").b).astype(values[0].dtype, copy=False)


def _integer_mean(x, axes, keepdims):
    """TensorFlow's integer Mean: the sum in 64 bits (wrapping for 64-bit inputs, where np.mean's
    float64 would round), divided rounding toward zero."""
    wide = np.int64 if x.dtype.kind == "i" else np.uint64
    total = np.sum(x, axis=axes, keepdims=keepdims, dtype=wide)
    count = wide(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if count == 0:
        raise _CannotFold
    quotient = total // count
    if x.dtype.kind == "i":
        quotient = quotient + ((total % count != 0) & (total < 0))  # floor -> toward zero
    return quotient.astype(x.dtype)


@folds("Cumsum")
def _cumsum(node, values):
    x, axis = values[0], int(values[1].reshape(-1)[0])
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise _CannotFold
    reverse = attr(node, "reverse").b
    if reverse:
        x = np.flip(x, axis)
    if attr(node, "exclusive").b:  # the sums of the elements before each one, zero first
        before = np.take(x, range(x.shape[axis] - 1), axis=axis)
        x = np.concatenate([np.zeros_like(np.take(x, [0], axis=axis)), before], axis=axis)
    total = np.cumsum(x, axis=axis, dtype=x.dtype) + x.dtype.type(0)  # TF's sums start at +0: no -0
    return np.flip(total, axis) if reverse else total


for _op, _function in {
    "Less": np.less, "LessEqual": np.less_equal, "Greater": np.greater, "GreaterEqual": np.greater_equal,
    "Equal": np.equal, "NotEqual": np.not_equal, "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or,
    "LogicalNot": np.logical_not,
}.items():
    FOLDERS[_op] = lambda node, values, function=_function: function(*values)


@folds("Range")
def _range(node, values):
    start, limit, delta = (v.reshape(-1)[0] for v in values)
    if delta == 0:
        raise _CannotFold  # TensorFlow rejects it; leave the node for it to say so
    return np.arange(start, limit, delta).astype(values[0].dtype, copy=False)


@folds("Shape")
def _shape(node, values):
    dtype = tensors.numpy_dtype(attr(node, "out_type").type) if "out_type" in node.attr else np.int32
    return np.asarray(values[0].shape, dtype=dtype)


class _CannotFold(Exception):
    pass


@register("fold_constants")
def fold_constants(view: GraphView) -> int:
    count = 0
    pending = list(view.graph_def.node)
    while pending:
        node = pending.pop()
        if view.nodes.get(node.name) is not node or node.name in view.keep:
            continue
        value = _evaluate(view, node)
        if value is None:
            continue
        consumers = list(view.consumers(node.name))
        placement = _placement(view, node)
        view.replace_with_const(node, value)
        if placement:
            view.set_control_inputs(node, [t for t in placement if t[1:] in view.nodes])
        pending.extend(consumers)
        count += 1
    return count


def _placement(view: GraphView, node) -> List[str]:
    """The control inputs of the constants `node` reads: what places them in a tf.cond branch or
    a loop's frame (the folded constant stays there, as Grappler's folding keeps it)."""
    control: List[str] = []
    for tensor in node.input:
        for source_input in view.producer(tensor).input:
            if source_input.startswith("^") and source_input not in control:
                control.append(source_input)
    return control


def _evaluate(view: GraphView, node) -> Optional[np.ndarray]:
    folder = FOLDERS.get(node.op)
    if folder is None or not node.input or any(is_control(t) for t in node.input):
        return None
    values = [view.const_value(t) for t in node.input]
    if any(v is None or v.dtype == object for v in values):
        return None
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(folder(node, values))
    except (_CannotFold, ValueError, IndexError, TypeError):
        return None
    if value.size > sum(v.size for v in values):
        return None
    return value
