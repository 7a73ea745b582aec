"""The fold_constants rewrite (numpy, no TensorFlow), with TensorFlow as the oracle.

Each graph is built from tf.raw_ops on tf.constant inputs, run in a TF Session as it is, then
folded: the Const left in the op's place must hold TF's value, with TF's dtype.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import graph_pb2  # noqa: E402

from tensorflowjs import tf_protos  # noqa: E402
from tensorflowjs.graph import tensors  # noqa: E402
from tensorflowjs.graph.rewrites import apply_rewrites  # noqa: E402
from tensorflowjs.graph.rewrites.fold_constants import FOLDERS  # noqa: E402

RNG = np.random.default_rng(11)
raw = tf.raw_ops


def build(fn):
    """(GraphDef, output node name) of what fn adds to a fresh graph; fn returns one tensor."""
    graph = tf.Graph()
    with graph.as_default():
        output = fn()
    return graph.as_graph_def(), output.op.name


def run(graph_def, outputs, feed=None):
    """Values of `outputs` (node names) when TensorFlow runs graph_def."""
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(tf_graph_def(graph_def), name="")
    with tf.compat.v1.Session(graph=graph) as session:
        values = session.run([f"{name}:0" for name in outputs], {f"{k}:0": v for k, v in (feed or {}).items()})
    return [np.asarray(v) for v in values]


def tf_graph_def(graph_def):
    return graph_pb2.GraphDef.FromString(graph_def.SerializeToString())


def fold(graph_def, keep=()):
    """A folded copy of graph_def (same classes) and the number of nodes folded."""
    folded = type(graph_def).FromString(graph_def.SerializeToString())
    count = apply_rewrites(folded, ["fold_constants"], keep=list(keep))["fold_constants"]
    return folded, count


def nodes(graph_def):
    return {node.name: node for node in graph_def.node}


def ops(graph_def):
    return sorted(node.op for node in graph_def.node)


def const_value(node):
    assert node.op == "Const", (node.name, node.op)
    value = tensors.to_ndarray(node.attr["value"].tensor)
    assert node.attr["dtype"].type == node.attr["value"].tensor.dtype
    return value


def eps(dtype):
    """Machine epsilon of a float or complex dtype's components."""
    return float(np.finfo(np.zeros(0, dtype).real.dtype).eps)


def assert_same(got, want, rtol=0.0, atol=0.0, signed_zeros=True):
    """Same dtype and shape, equal values (NaN equals NaN; unless told, the sign of zero counts).

    A tolerance is for results TF computes in another order or with approximations (Eigen's
    rsqrt and reciprocal, complex products, summation trees); exact otherwise.
    """
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if rtol or atol:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)
    if want.dtype.kind in "fc" and signed_zeros:
        for part in (np.real, np.imag):
            known = ~np.isnan(part(want))
            assert (np.signbit(part(got))[known] == np.signbit(part(want))[known]).all(), (got, want)


def assert_folds_like_tensorflow(fn, **tolerance):
    """fn's graph folds to a single Const under fn's output name, holding what TF computes."""
    graph_def, output = build(fn)
    (want,) = run(graph_def, [output])
    folded, count = fold(graph_def)
    assert [node.name for node in folded.node] == [output], ops(folded)  # inputs dropped
    assert count >= 1
    got = const_value(folded.node[0])
    assert_same(got, want, **tolerance)
    (again,) = run(folded, [output])
    assert_same(again, got)  # TF reads the folded Const back unchanged


# --- Values --------------------------------------------------------------------------------------

FLOATS = ("float32", "float64", "float16")
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
COMPLEX = ("complex64", "complex128")


def values(dtype, shape, positive=False):
    """Random values of dtype covering its range: wrapping integers, fractions and signed zeros."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    if dtype == np.bool_:
        return RNG.integers(0, 2, count).astype(bool).reshape(shape)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low = 1 if positive else info.min
        return RNG.integers(low, info.max, count, dtype=dtype, endpoint=True).reshape(shape)
    real = RNG.normal(size=count) * 10
    real[: count // 4] = np.round(real[: count // 4])
    if count > 2:
        real[1] = -0.0
    if positive:
        real = np.abs(real) + 0.25
    if dtype.kind == "c":
        return (real + 1j * RNG.normal(size=count)).astype(dtype).reshape(shape)
    return real.astype(dtype).reshape(shape)


def const(value):
    return tf.constant(value)


# --- Each handler against TensorFlow -------------------------------------------------------------

BINARY = {
    "Add": FLOATS + ("int8", "int16", "int32", "int64", "uint8") + COMPLEX,
    "AddV2": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Sub": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Mul": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Maximum": FLOATS + SIGNED + UNSIGNED,
    "Minimum": FLOATS + SIGNED + UNSIGNED,
    "RealDiv": FLOATS + COMPLEX,
}
UNARY = {
    "Neg": FLOATS + SIGNED + COMPLEX,
    "Square": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Abs": FLOATS + SIGNED,
    "Sqrt": FLOATS + COMPLEX,
    "Rsqrt": FLOATS + COMPLEX,
    "Reciprocal": FLOATS + COMPLEX,
}
SHAPES = {"same": ([2, 3], [2, 3]), "row": ([2, 3], [3]), "scalar": ([], [4]), "column": ([3, 1], [3, 4])}


@pytest.mark.parametrize("shapes", list(SHAPES), ids=str)
@pytest.mark.parametrize("op, dtype", [(op, dtype) for op, dtypes in BINARY.items() for dtype in dtypes])
def test_binary_op_folds_to_tensorflows_value_and_dtype(op, dtype, shapes):
    x_shape, y_shape = SHAPES[shapes]
    x = values(dtype, x_shape)
    y = values(dtype, y_shape, positive=op == "RealDiv")
    approximate = dtype in COMPLEX and op in ("Mul", "RealDiv")
    assert_folds_like_tensorflow(lambda: getattr(raw, op)(x=const(x), y=const(y)), rtol=4 * eps(dtype) if approximate else 0.0)


@pytest.mark.parametrize("op", ["Maximum", "Minimum", "Add", "Mul", "RealDiv"])
def test_binary_op_on_nan_inf_and_zero_matches_tensorflow(op):
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], np.float32)
    x, y = np.repeat(special, 6), np.tile(special, 6)
    assert_folds_like_tensorflow(lambda: getattr(raw, op)(x=const(x), y=const(y)))


@pytest.mark.parametrize("op, dtype", [(op, dtype) for op, dtypes in UNARY.items() for dtype in dtypes])
def test_unary_op_folds_to_tensorflows_value_and_dtype(op, dtype):
    positive = op in ("Sqrt", "Rsqrt", "Reciprocal") and dtype not in COMPLEX
    x = values(dtype, [3, 4], positive=positive)
    approximate = op in ("Rsqrt", "Reciprocal") or (dtype in COMPLEX and op in ("Square", "Sqrt"))
    assert_folds_like_tensorflow(lambda: getattr(raw, op)(x=const(x)), rtol=4 * eps(dtype) if approximate else 0.0)


CASTS = FLOATS + SIGNED + UNSIGNED + COMPLEX + ("bool",)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # complex -> real keeps the real part, as in TF
@pytest.mark.parametrize("dst", CASTS)
@pytest.mark.parametrize("src", CASTS)
def test_cast_folds_to_tensorflows_value_and_dtype(src, dst):
    if np.dtype(src).kind in "fc" and np.dtype(dst).kind in "iub":
        # In range for every integer type (out of range is undefined in C++): truncation, and
        # for bool any non-zero (NaN included) is True.
        x = np.array([0.0, -0.0, 0.5, 1.5, 2.7, 99.9, 127.0, np.nan if dst == "bool" else 3.0], np.float64)
        x = -x if np.dtype(dst).kind == "i" and dst != "bool" else x
        x = x.astype(src)
    elif np.dtype(src).kind in "iu" and np.dtype(dst).kind in "fc":
        x = values(src, [8])  # int64 -> float32 rounds, uint64 -> float16 overflows to inf
    elif np.dtype(src).kind in "fc" and np.dtype(dst).kind in "fc":
        with np.errstate(over="ignore"):  # float16 rounding edges
            x = np.array([0.1, -0.0, 1.0009765625, 65520.0, 1e-8, -3.25, np.inf, np.nan]).astype(src)
    else:
        x = values(src, [8])  # integers and bools wrap and compare with zero alike in C++ and numpy
    assert_folds_like_tensorflow(lambda: raw.Cast(x=const(x), DstT=tf.as_dtype(dst)))


def test_cast_to_a_dtype_without_a_numpy_type_is_not_folded():
    graph_def, output = build(lambda: raw.Cast(x=const(np.ones(3, np.float32)), DstT=tf.bfloat16))
    folded, count = fold(graph_def)
    assert count == 0 and nodes(folded)[output].op == "Cast"
    assert folded == graph_def


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize(
    "dtype, shape, new_shape",
    [("float32", [2, 3], [3, -1]), ("int32", [2, 3, 1], [6]), ("bool", [1, 1], []), ("float16", [4], [2, 1, 2]), ("uint8", [0, 3], [3, 0])],
)
def test_reshape_folds_like_tensorflow(dtype, shape, new_shape, index_dtype):
    x = values(dtype, shape)
    assert_folds_like_tensorflow(lambda: raw.Reshape(tensor=const(x), shape=const(np.array(new_shape, index_dtype))))


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype, shape, perm", [("float32", [2, 3, 4], [2, 0, 1]), ("int64", [2, 3], [1, 0]), ("bool", [1, 2, 3], [0, 2, 1]), ("float64", [5], [0])])
def test_transpose_folds_like_tensorflow(dtype, shape, perm, index_dtype):
    x = values(dtype, shape)
    assert_folds_like_tensorflow(lambda: raw.Transpose(x=const(x), perm=const(np.array(perm, index_dtype))))


@pytest.mark.parametrize("dim", [np.int32(0), np.int32(1), np.int32(2), np.int32(-1), np.int32(-3), np.int64(1), np.int32([1])], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_expand_dims_folds_like_tensorflow(dtype, dim):
    x = values(dtype, [2, 3])
    assert_folds_like_tensorflow(lambda: raw.ExpandDims(input=const(x), axis=const(dim)))


@pytest.mark.parametrize("axis", [[], [0], [2], [-1, 0], [0, 2, 3]], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_squeeze_folds_like_tensorflow(dtype, axis):
    x = values(dtype, [1, 3, 1, 1])
    assert_folds_like_tensorflow(lambda: raw.Squeeze(input=const(x), axis=axis))


@pytest.mark.parametrize("axis", [np.int32(0), np.int32(1), np.int32(-1), np.int64(-2)], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "int32", "float16", "bool", "uint8"])
def test_concat_folds_like_tensorflow(dtype, axis):
    parts = [values(dtype, [2, 3]), values(dtype, [2, 3]), values(dtype, [2, 3])]
    assert_folds_like_tensorflow(lambda: raw.ConcatV2(values=[const(p) for p in parts], axis=const(axis)))


def test_concat_of_unequal_lengths_folds_like_tensorflow():
    a, b = values("float32", [2, 1]), values("float32", [2, 4])
    assert_folds_like_tensorflow(lambda: raw.ConcatV2(values=[const(a), const(b)], axis=const(np.int32(1))))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "complex64"])
def test_pack_folds_like_tensorflow(dtype, axis):
    parts = [values(dtype, [2, 3]) for _ in range(3)]
    assert_folds_like_tensorflow(lambda: raw.Pack(values=[const(p) for p in parts], axis=axis))


def test_pack_of_scalars_folds_like_tensorflow():
    assert_folds_like_tensorflow(lambda: raw.Pack(values=[const(np.int32(i)) for i in (3, -1, 7)], axis=0))


@pytest.mark.parametrize("out_type", [tf.int32, tf.int64])
@pytest.mark.parametrize("shape", [[2, 3], [4], [1, 2, 1, 2]], ids=str)
def test_shape_folds_like_tensorflow(shape, out_type):
    x = values("float32", shape)
    assert_folds_like_tensorflow(lambda: raw.Shape(input=const(x), out_type=out_type))


def test_shape_without_out_type_attribute_is_int32():
    graph_def, output = build(lambda: raw.Shape(input=const(values("int64", [2, 2])), out_type=tf.int32))
    del nodes(graph_def)[output].attr["out_type"]
    folded, _ = fold(graph_def)
    assert_same(const_value(nodes(folded)[output]), np.array([2, 2], np.int32))


REDUCTIONS = {
    "Sum": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Prod": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Mean": FLOATS + SIGNED + UNSIGNED + COMPLEX,
    "Max": FLOATS + SIGNED + UNSIGNED,
    "Min": FLOATS + SIGNED + UNSIGNED,
}
AXES = {"one": [1], "two": [0, 2], "negative": [-1], "none": [], "all": [0, 1, 2], "all_int64": np.int64([2, -2, 0])}


@pytest.mark.parametrize("keep_dims", [False, True])
@pytest.mark.parametrize("axes", list(AXES))
@pytest.mark.parametrize("op, dtype", [(op, dtype) for op, dtypes in REDUCTIONS.items() for dtype in dtypes])
def test_reduction_folds_to_tensorflows_value_and_dtype(op, dtype, axes, keep_dims):
    # Integers over their whole range: Sum and Prod wrap; Mean sums in 64 bits (wrapping only
    # for 64-bit inputs) and rounds toward zero.
    x = values(dtype, [2, 3, 4])
    if op == "Prod" and np.dtype(dtype).kind in "fc":
        x = (x / 8).astype(dtype)  # no overflow to inf
    axis = np.asarray(AXES[axes], np.int64 if axes == "all_int64" else np.int32)
    tolerance = {}
    if np.dtype(dtype).kind in "fc" and op in ("Sum", "Prod", "Mean"):  # TF sums in another order
        tolerance = {"rtol": 8 * eps(dtype), "atol": 24 * eps(dtype) * float(np.abs(x).max()), "signed_zeros": False}
    elif op in ("Max", "Min"):
        tolerance = {"signed_zeros": False}  # max(0.0, -0.0) is either
    assert_folds_like_tensorflow(lambda: getattr(raw, op)(input=const(x), axis=const(axis), keep_dims=keep_dims), **tolerance)


@pytest.mark.parametrize(
    "x, want",
    [
        (np.int64([[-7, 0, 0], [7, 0, 0]]), np.int64([-2, 2])),  # toward zero, not floor
        (np.int8([[-128, -128, -127], [127, 127, 1]]), np.int8([-127, 85])),  # no int8 wrap
        (np.int64([[2**62, 2**62, 2**62, 4]]), np.int64([-(2**60) + 1])),  # the int64 sum wraps
        (np.uint64([[2**63, 2**63, 6]]), np.uint64([2])),
        (np.int64([[2**53 + 1, 2**53 + 3]]), np.int64([2**53 + 2])),  # beyond float64
    ],
)
def test_integer_mean_is_tensorflows_integer_division(x, want):
    graph_def, output = build(lambda: raw.Mean(input=const(x), axis=const(np.int32([1]))))
    (tf_value,) = run(graph_def, [output])
    assert_same(tf_value, want)
    folded, count = fold(graph_def)
    assert count == 1
    assert_same(const_value(folded.node[0]), want)


def test_reduction_with_nan_matches_tensorflow():
    x = np.float32([[np.nan, 1, 2], [1, np.nan, -1], [3, 2, np.inf]])
    for op in ("Max", "Min", "Sum", "Prod", "Mean"):
        assert_folds_like_tensorflow(lambda: getattr(raw, op)(input=const(x), axis=const(np.int32([1]))))


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_cumsum_folds_like_tensorflow(dtype, axis, reverse, exclusive):
    x = values(dtype, [3, 4])
    assert_folds_like_tensorflow(lambda: raw.Cumsum(x=const(x), axis=const(np.int32(axis)), exclusive=exclusive, reverse=reverse))


COMPARISONS = ("Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual")
LOGICAL = ("LogicalAnd", "LogicalOr")


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("op", COMPARISONS)
def test_comparison_folds_like_tensorflow(op, dtype):
    x, y = values(dtype, [3, 4]), values(dtype, [3, 4])
    y[0, :2] = x[0, :2]  # some equal pairs
    assert_folds_like_tensorflow(lambda: getattr(raw, op)(x=const(x), y=const(y)))


@pytest.mark.parametrize("op", LOGICAL)
def test_logical_op_folds_like_tensorflow(op):
    x, y = np.array([True, True, False, False]), np.array([True, False, True, False])
    assert_folds_like_tensorflow(lambda: getattr(raw, op)(x=const(x), y=const(y)))


def test_logical_not_folds_like_tensorflow():
    assert_folds_like_tensorflow(lambda: raw.LogicalNot(x=const(np.array([True, False, False]))))


def test_keras_causal_mask_folds_to_one_bool_constant():
    """Keras 3's causal attention mask: two Cumsums of ones compared, a constant for a fixed length.

    Left unfolded it fails in TF.js: WASM aborts and WebGL's shader does not compile."""
    ones = np.ones((5, 5), np.int32)
    assert_folds_like_tensorflow(lambda: raw.GreaterEqual(
        x=raw.Cumsum(x=const(ones), axis=const(np.int32(-2))), y=raw.Cumsum(x=const(ones), axis=const(np.int32(-1)))))


@pytest.mark.parametrize("dtype, start, limit, delta", [
    ("int32", 0, 0, 1), ("int32", 0, 3, 1), ("int64", 5, -1, -2), ("float32", 0.5, 2.0, 0.5),
])
def test_range_folds_like_tensorflow(dtype, start, limit, delta):
    """Keras's RNN loop bound is Max over Range(0, rank, 1): folded, the loop's trip count is known."""
    assert_folds_like_tensorflow(lambda: raw.Range(start=const(np.array(start, dtype)), limit=const(np.array(limit, dtype)),
                                                   delta=const(np.array(delta, dtype))))


def test_a_range_with_a_zero_step_is_left_to_tensorflow():
    graph_def, output = build(lambda: raw.Range(start=const(np.int32(0)), limit=const(np.int32(3)), delta=const(np.int32(1))))
    delta = nodes(graph_def)[nodes(graph_def)[output].input[2]]
    delta.attr["value"].tensor.int_val[:] = [0]  # TensorFlow refuses to build it: the graph of a damaged file
    folded, count = fold(graph_def)
    assert count == 0 and nodes(folded)[output].op == "Range"


def test_every_handler_is_tested_against_tensorflow():
    covered = set(BINARY) | set(UNARY) | set(REDUCTIONS) | set(COMPARISONS) | set(LOGICAL) | {
        "Cast", "Reshape", "Transpose", "ExpandDims", "Squeeze", "ConcatV2", "Pack", "Shape", "Cumsum", "LogicalNot", "Range"}
    assert set(FOLDERS) == covered


def test_a_constant_folded_from_constants_placed_in_a_branch_stays_placed():
    """Constants a lowered tf.cond places in its branch by control inputs: what is folded from them
    keeps those control inputs, else TF.js's Merge would take it whichever branch runs."""
    graph = tf.Graph()
    with graph.as_default():
        pivot = tf.identity(tf.compat.v1.placeholder(tf.bool, [], name="p"), name="pivot")
        with tf.control_dependencies([pivot]):
            a, b = tf.constant(2.0, name="a"), tf.constant(3.0, name="b")
        tf.identity(tf.multiply(a, b, name="product"), name="read")
    folded, count = fold(graph.as_graph_def(), keep=["read", "p"])
    product = nodes(folded)["product"]
    assert count == 1 and const_value(product) == 6.0 and list(product.input) == ["^pivot"]


# --- What gets folded ----------------------------------------------------------------------------


def test_chain_of_foldable_ops_collapses_to_one_const():
    def fn():
        x = const(values("float32", [2, 3]))
        y = raw.Mul(x=x, y=const(np.float32(2.5)))
        y = raw.AddV2(x=y, y=const(values("float32", [3])))
        y = raw.Reshape(tensor=y, shape=const(np.array([3, 2], np.int32)))
        y = raw.Transpose(x=y, perm=const(np.array([1, 0], np.int32)))
        y = raw.Cast(x=raw.Neg(x=y), DstT=tf.float16)
        return raw.Identity(input=y)

    graph_def, output = build(fn)
    (want,) = run(graph_def, [output])
    folded, count = fold(graph_def, keep=[output])
    assert count == 6
    assert ops(folded) == ["Const", "Identity"]
    (const_node,) = [n for n in folded.node if n.op == "Const"]
    assert list(nodes(folded)[output].input) == [const_node.name]
    assert_same(const_value(const_node), want)
    assert_same(run(folded, [output])[0], want)


def test_node_reading_a_placeholder_is_not_folded_but_its_constant_inputs_are():
    weights = values("float32", [3])

    def fn():
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        w = raw.Mul(x=const(weights), y=const(np.float32(3.0)), name="w")
        y = raw.AddV2(x=x, y=w, name="y")
        return raw.Neg(x=y, name="out")

    graph_def, output = build(fn)
    feed = {"x": values("float32", [3])}
    folded, count = fold(graph_def, keep=["x", output])
    assert count == 1
    found = nodes(folded)
    assert found["w"].op == "Const" and found["y"].op == "AddV2" and found[output].op == "Neg"
    assert list(found["y"].input) == ["x", "w"]
    assert ops(folded) == ["AddV2", "Const", "Neg", "Placeholder"]
    assert_same(run(folded, [output], feed)[0], run(graph_def, [output], feed)[0])


def test_node_in_keep_is_not_folded_and_keeps_its_inputs():
    graph_def, output = build(lambda: raw.Neg(x=raw.AddV2(x=const(np.float32(1)), y=const(np.float32(2)), name="sum"), name="out"))
    folded, count = fold(graph_def, keep=["sum"])
    assert count == 0
    found = nodes(folded)
    assert found["sum"].op == "AddV2" and len(found["sum"].input) == 2
    assert all(found[name].op == "Const" for name in found["sum"].input)
    assert found[output].op == "Neg"  # its only input is not a constant
    assert_same(run(folded, [output])[0], np.float32(-3))


def test_inputs_left_without_consumers_are_removed_and_shared_ones_stay():
    def fn():
        a = const(np.float32([1, 2, 3]))
        b = const(np.float32([4, 5, 6]))
        s = raw.AddV2(x=a, y=b, name="sum")
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        return raw.Pack(values=[raw.Mul(x=x, y=a, name="scaled"), s], axis=0, name="out")

    graph_def, output = build(fn)
    a_name, b_name = nodes(graph_def)["sum"].input
    folded, count = fold(graph_def, keep=["x", output])
    found = nodes(folded)
    assert count == 1 and found["sum"].op == "Const"
    assert a_name in found and b_name not in found  # a still feeds Mul
    assert_same(const_value(found["sum"]), np.float32([5, 7, 9]))
    feed = {"x": np.float32([1, 1, 2])}
    assert_same(run(folded, [output], feed)[0], run(graph_def, [output], feed)[0])


def test_op_without_a_handler_stays_and_stops_the_fold():
    assert "Relu" not in FOLDERS
    graph_def, output = build(lambda: raw.Neg(x=raw.Relu(features=raw.Neg(x=const(np.float32([1, -2])), name="inner"), name="relu"), name="out"))
    folded, count = fold(graph_def)
    found = nodes(folded)
    assert count == 1
    assert found["inner"].op == "Const" and found["relu"].op == "Relu" and found[output].op == "Neg"
    assert_same(run(folded, [output])[0], np.float32([-0.0, -2]))


def test_result_larger_than_its_inputs_is_not_folded():
    graph_def, output = build(lambda: raw.AddV2(x=const(values("float32", [3, 1])), y=const(values("float32", [1, 3]))))
    folded, count = fold(graph_def)
    assert count == 0 and folded == graph_def

    graph_def, output = build(lambda: raw.Mul(x=const(values("int32", [8, 1])), y=const(values("int32", [1, 2]))))
    assert fold(graph_def)[1] == 0


def test_result_no_larger_than_its_inputs_together_is_folded():
    # Concat and Pack outputs are as large as all inputs together, not as the largest one.
    graph_def, output = build(lambda: raw.Pack(values=[const(values("float32", [4])) for _ in range(3)], axis=1))
    folded, count = fold(graph_def)
    assert count == 1 and ops(folded) == ["Const"]
    assert const_value(folded.node[0]).shape == (4, 3)


def test_node_with_a_control_input_is_not_folded():
    graph_def, output = build(lambda: raw.Neg(x=raw.Neg(x=const(np.float32(2)), name="controlled"), name="out"))
    graph_def.node.add(name="trigger", op="NoOp")
    nodes(graph_def)["controlled"].input.append("^trigger")
    folded, count = fold(graph_def)
    assert count == 0 and folded == graph_def


def test_node_with_a_string_input_is_not_folded():
    graph_def, output = build(lambda: raw.Add(x=const(np.array([b"a", b"b"])), y=const(np.array([b"c", b"d"]))))
    assert_same(run(graph_def, [output])[0].astype(object), np.array([b"ac", b"bd"], dtype=object))
    folded, count = fold(graph_def)
    assert count == 0 and folded == graph_def


def test_node_its_handler_cannot_evaluate_is_left_alone():
    # Shapes that do not fit (TF would fail at run time): no fold, no exception.
    graph_def, output = build(lambda: raw.Reshape(tensor=const(values("float32", [2, 3])), shape=const(np.int32([3, 2]))))
    tensors.fill_tensor_proto(nodes(graph_def)[nodes(graph_def)[output].input[1]].attr["value"].tensor, np.int32([4, 2]))
    folded, count = fold(graph_def)
    assert count == 0 and folded == graph_def

    graph_def, output = build(lambda: raw.Squeeze(input=const(values("float32", [1, 3])), axis=[0]))
    nodes(graph_def)[output].attr["squeeze_dims"].list.i[:] = [1]
    folded, count = fold(graph_def)
    assert count == 0 and folded == graph_def


def test_folds_a_graph_def_of_tf_protos_classes():
    """A GraphDef built only from tensorflowjs.tf_protos classes folds, and TF agrees with the result."""
    graph_class = tf_protos.message_class("tensorflow.GraphDef")
    graph_def = graph_class()

    def add(name, op, inputs=(), value=None, **types):
        node = graph_def.node.add(name=name, op=op)
        node.input.extend(inputs)
        if value is not None:
            tensors.fill_tensor_proto(node.attr["value"].tensor, value)
            node.attr["dtype"].type = node.attr["value"].tensor.dtype
        for key, dtype in types.items():
            node.attr[key].type = tensors.data_type_of(dtype)
        return node

    float_type = {"T": np.float32}
    add("a", "Const", value=np.float32([[1.5, -2], [3, 4]]))
    add("b", "Const", value=np.float32([0.5, 2]))
    add("perm", "Const", value=np.int32([1, 0]))
    add("sum", "AddV2", ["a", "b"], **float_type)
    add("t", "Transpose", ["sum", "perm"], **float_type, Tperm=np.int32)
    add("x", "Placeholder", dtype=np.float32).attr["shape"].shape.unknown_rank = True
    add("out", "Mul", ["x", "t"], **float_type)
    feed = {"x": np.float32([[1, 2], [3, 4]])}
    (want,) = run(graph_def, ["out"], feed)

    folded, count = fold(graph_def, keep=["x", "out"])
    assert count == 2 and type(folded) is graph_class
    assert all(type(node).DESCRIPTOR.file.pool is not graph_pb2.GraphDef.DESCRIPTOR.file.pool for node in folded.node)
    assert ops(folded) == ["Const", "Mul", "Placeholder"]
    assert_same(const_value(nodes(folded)["t"]), np.float32([[2, 3.5], [0, 6]]))
    assert_same(run(folded, ["out"], feed)[0], want)


def test_folding_a_tf_protos_copy_gives_the_same_graph_as_a_tf_one():
    graph_def, output = build(lambda: raw.Squeeze(input=raw.Cast(x=raw.Sqrt(x=const(values("float64", [1, 3], positive=True))), DstT=tf.float32), axis=[0]))
    ours = tf_protos.message_class("tensorflow.GraphDef").FromString(graph_def.SerializeToString())
    folded_tf, count_tf = fold(graph_def)
    folded_ours, count_ours = fold(ours)
    assert count_tf == count_ours == 3
    assert folded_ours.SerializeToString(deterministic=True) == folded_tf.SerializeToString(deterministic=True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
