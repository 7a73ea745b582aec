"""tensorflowjs.graph.tensors (TensorProto <-> numpy without TensorFlow), with TensorFlow as the oracle.

Every proto is read twice by TF: by tf.make_ndarray (Python) and by the runtime (the proto as a
Const node's value, fetched in a Session). Arrays are compared by dtype, shape and bytes, so
-0.0, NaN and the last bit of every float count.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import graph_pb2, tensor_pb2  # noqa: E402

from tensorflowjs import tf_protos  # noqa: E402
from tensorflowjs.graph import tensors  # noqa: E402

NAMES = list(tensors.DATA_TYPES)
SHAPES = [(), (0,), (5,), (2, 3), (2, 0, 3), (1, 2, 1, 2)]
OURS = tf_protos.message_class("tensorflow.TensorProto")


def tf_dtype(name):
    return tf.as_dtype(tf_protos.data_type(name))


def sample(name, shape, seed=0):
    """Distinct, sign-mixed values of `shape` for DataType `name` (strings: bytes, some non-ASCII)."""
    count = int(np.prod(shape, dtype=np.int64))
    rng = np.random.default_rng(seed)
    if name == "DT_STRING":
        return np.array([f"s{i}-é".encode() * (i % 3) for i in range(count)], dtype=object).reshape(shape)
    dtype = tf_dtype(name).as_numpy_dtype
    if name == "DT_BOOL":
        return (rng.integers(0, 2, count) == 1).reshape(shape)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, count, dtype=dtype, endpoint=True).reshape(shape)
    values = rng.normal(size=count) * 100
    if np.issubdtype(dtype, np.complexfloating):
        values = values + 1j * rng.normal(size=count)
    return values.astype(dtype).reshape(shape)


def special(name):
    """The values a type's edges are made of: min/max, -0.0, inf, NaN, denormals."""
    dtype = tf_dtype(name).as_numpy_dtype
    if name == "DT_STRING":
        return np.array([b"", b"\x00\xff", "日本".encode()], dtype=object)
    if name == "DT_BOOL":
        return np.array([True, False, True])
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.array([info.min, info.max, 0, 1, info.max - 1], dtype=dtype)
    real = np.finfo(dtype if not np.issubdtype(dtype, np.complexfloating) else np.zeros(0, dtype).real.dtype)
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, real.max, real.min, real.tiny, real.smallest_subnormal])
    if np.issubdtype(dtype, np.complexfloating):
        parts, values = values, np.empty(len(values), dtype)
        values.real, values.imag = parts, parts[::-1]  # not parts + 1j * ...: 1j * inf has a NaN real part
    return values.astype(dtype)


def assert_same(got, want):
    """Same dtype, shape and contents (bytes for numbers, elements for strings)."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype == object:
        assert [bytes(v) for v in got.reshape(-1)] == [bytes(v) for v in want.reshape(-1)]
    else:
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes(), (got, want)


def runtime_value(proto) -> np.ndarray:
    """What TensorFlow's runtime makes of a TensorProto: a Const node holding it, fetched."""
    graph_def = graph_pb2.GraphDef()
    node = graph_def.node.add(name="c", op="Const")
    node.attr["dtype"].type = proto.dtype
    node.attr["value"].tensor.ParseFromString(proto.SerializeToString())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        value = session.run("c:0")
    return np.array(value, dtype=object) if proto.dtype == tf.string.as_datatype_enum else np.asarray(value)


def as_tf(proto) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto.FromString(proto.SerializeToString())


def as_ours(proto):
    return OURS.FromString(proto.SerializeToString())


# --- The table itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_table_numpy_dtype_is_tensorflows_numpy_dtype(name):
    want = tf_dtype(name).as_numpy_dtype
    assert np.dtype(tensors.DATA_TYPES[name].numpy) == np.dtype(want)
    assert tensors.numpy_dtype(tf_protos.data_type(name)) == np.dtype(want)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "DT_STRING"])
def test_table_field_is_the_one_tensorflow_writes_for_a_scalar(name):
    proto = tf.make_tensor_proto(sample(name, (), seed=1).reshape(()) + np.ones((), tf_dtype(name).as_numpy_dtype))
    written = [f.name for f, _ in proto.ListFields() if f.name.endswith("_val")]
    assert written == [tensors.DATA_TYPES[name].field]


def test_numpy_dtype_is_none_for_a_type_the_table_lacks():
    assert tensors.numpy_dtype(tf.bfloat16.as_datatype_enum) is None
    assert tensors.numpy_dtype(tf.resource.as_datatype_enum) is None


# --- to_ndarray ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_equals_make_ndarray_of_make_tensor_proto(name, shape):
    proto = tf.make_tensor_proto(sample(name, shape), dtype=tf_dtype(name))
    want = tf.make_ndarray(proto)
    assert_same(tensors.to_ndarray(proto), want)
    assert_same(tensors.to_ndarray(as_ours(proto)), want)


@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_keeps_extreme_and_special_values(name):
    for value in (special(name), special(name)[:1].reshape(())):
        proto = tf.make_tensor_proto(value, dtype=tf_dtype(name))
        assert_same(tensors.to_ndarray(proto), tf.make_ndarray(proto))
        assert_same(tensors.to_ndarray(proto), runtime_value(proto))


@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_of_a_scalar_broadcast_by_make_tensor_proto(name):
    # make_tensor_proto(scalar, shape=...) writes one value and the shape: the last value repeats.
    value = special(name)[1]
    proto = tf.make_tensor_proto(value, dtype=tf_dtype(name), shape=[3, 2])
    assert len(getattr(proto, tensors.DATA_TYPES[name].field)) < 6 or name == "DT_STRING"
    got = tensors.to_ndarray(proto)
    assert_same(got, tf.make_ndarray(proto))
    assert_same(got, runtime_value(proto))


def typed_proto(name, values, shape, cls=tensor_pb2.TensorProto):
    """A TensorProto with `values` in the dtype's typed field (not tensor_content), as TF encodes them."""
    proto = cls(dtype=tf_protos.data_type(name))
    for size in shape:
        proto.tensor_shape.dim.add().size = size
    values = np.asarray(values, dtype=tf_dtype(name).as_numpy_dtype if name != "DT_STRING" else object).reshape(-1)
    field = getattr(proto, tensors.DATA_TYPES[name].field)
    if name == "DT_HALF":
        field.extend(int(v) for v in values.view(np.uint16))
    elif name.startswith("DT_COMPLEX"):
        field.extend(float(x) for v in values for x in (v.real, v.imag))
    else:
        field.extend(values.tolist())
    return proto


@pytest.mark.parametrize("cls", [tensor_pb2.TensorProto, OURS], ids=["tf", "tf_protos"])
@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_of_typed_values_matches_tensorflow(name, cls):
    values = special(name)
    proto = typed_proto(name, values, [len(values)], cls)
    want = runtime_value(proto)
    assert_same(want, values)  # the hand-built encoding is TF's
    assert_same(tensors.to_ndarray(proto), want)
    assert_same(tensors.to_ndarray(proto), tf.make_ndarray(as_tf(proto)))


@pytest.mark.parametrize("cls", [tensor_pb2.TensorProto, OURS], ids=["tf", "tf_protos"])
@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_repeats_the_last_typed_value_to_fill_the_shape(name, cls):
    values = special(name)[:2]
    proto = typed_proto(name, values, [2, 3], cls)
    want = runtime_value(proto)
    assert_same(want.reshape(-1)[2:], np.repeat(values[1:], 4))
    assert_same(tensors.to_ndarray(proto), want)
    assert_same(tensors.to_ndarray(proto), tf.make_ndarray(as_tf(proto)))


@pytest.mark.parametrize("cls", [tensor_pb2.TensorProto, OURS], ids=["tf", "tf_protos"])
@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_of_no_values_is_zeros(name, cls):
    proto = typed_proto(name, [], [3, 1], cls)
    want = runtime_value(proto)
    got = tensors.to_ndarray(proto)
    assert_same(got, want)
    if name != "DT_STRING":  # make_ndarray fills a string tensor with str "" where the runtime has b""
        assert_same(got, tf.make_ndarray(as_tf(proto)))
    assert not got.any() if name != "DT_STRING" else list(got.reshape(-1)) == [b""] * 3


@pytest.mark.parametrize("name", NAMES)
def test_to_ndarray_of_more_typed_values_than_the_shape_keeps_the_first(name):
    values = special(name)
    proto = typed_proto(name, values, [2])
    got = tensors.to_ndarray(proto)
    assert_same(got, runtime_value(proto))
    assert_same(got, values[:2])


@pytest.mark.parametrize("name", [n for n in NAMES if n != "DT_STRING"])
def test_to_ndarray_of_hand_written_tensor_content(name):
    value = sample(name, (3, 2), seed=4)
    proto = OURS(dtype=tf_protos.data_type(name), tensor_content=value.astype(value.dtype.newbyteorder("<")).tobytes())
    for size in value.shape:
        proto.tensor_shape.dim.add().size = size
    got = tensors.to_ndarray(proto)
    assert_same(got, value)
    assert_same(got, tf.make_ndarray(as_tf(proto)))
    assert_same(got, runtime_value(proto))
    assert got.dtype.isnative


def test_to_ndarray_rejects_a_dtype_it_cannot_read():
    proto = tf.make_tensor_proto(np.ones(2, np.float32), dtype=tf.bfloat16)
    with pytest.raises(ValueError, match="DT_BFLOAT16"):
        tensors.to_ndarray(proto)


# --- fill_tensor_proto --------------------------------------------------------------------------


def filled(value, cls):
    proto = cls()
    tensors.fill_tensor_proto(proto, value)
    return proto


@pytest.mark.parametrize("cls", [tensor_pb2.TensorProto, OURS], ids=["tf", "tf_protos"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_fill_tensor_proto_is_read_back_by_tensorflow(name, shape, cls):
    value = sample(name, shape, seed=2)
    proto = as_tf(filled(value, cls))
    assert proto.dtype == tf_dtype(name).as_datatype_enum
    assert [d.size for d in proto.tensor_shape.dim] == list(shape)
    assert_same(tf.make_ndarray(proto), value)
    assert_same(tensors.to_ndarray(filled(value, cls)), value)


@pytest.mark.parametrize("cls", [tensor_pb2.TensorProto, OURS], ids=["tf", "tf_protos"])
@pytest.mark.parametrize("name", NAMES)
def test_fill_tensor_proto_keeps_special_values_for_the_runtime(name, cls):
    value = special(name)
    proto = as_tf(filled(value, cls))
    assert_same(runtime_value(proto), value)
    assert_same(tf.make_ndarray(proto), value)


@pytest.mark.parametrize("cls", [tensor_pb2.TensorProto, OURS], ids=["tf", "tf_protos"])
def test_fill_tensor_proto_replaces_what_the_proto_held(cls):
    proto = as_ours(tf.make_tensor_proto([1.5, 2.5, 3.5], shape=[3, 1])) if cls is OURS else tf.make_tensor_proto([1.5, 2.5, 3.5], shape=[3, 1])
    proto.version_number = 7
    tensors.fill_tensor_proto(proto, np.array([4, 5], np.int16))
    assert not proto.float_val and not proto.version_number
    assert_same(tf.make_ndarray(as_tf(proto)), np.array([4, 5], np.int16))


@pytest.mark.parametrize(
    "value, want",
    [
        (np.array([1.5, -2.0, 3.25], ">f4"), np.array([1.5, -2.0, 3.25], np.float32)),
        (np.array([[1, -(2**40)]], ">i8"), np.array([[1, -(2**40)]], np.int64)),
        (np.array([7, 65535], ">u2"), np.array([7, 65535], np.uint16)),
        (np.array([1 + 2j], ">c16"), np.array([1 + 2j], np.complex128)),
    ],
    ids=["f4", "i8", "u2", "c16"],
)
def test_fill_tensor_proto_of_a_big_endian_array_writes_little_endian_values(value, want):
    for cls in (tensor_pb2.TensorProto, OURS):
        proto = as_tf(filled(value, cls))
        assert_same(tf.make_ndarray(proto), want)
        assert_same(runtime_value(proto), want)


def test_fill_tensor_proto_of_non_contiguous_and_python_values():
    matrix = np.arange(12, dtype=np.float64).reshape(3, 4)
    cases = [
        (matrix.T, matrix.T.copy()),
        (matrix[::2, ::-1], matrix[::2, ::-1].copy()),
        (2.5, np.array(2.5)),
        ([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]], np.int64)),
        (True, np.array(True)),
        (["a", "日本"], np.array([b"a", "日本".encode()], dtype=object)),
        (np.array([b"x", b"yz"]), np.array([b"x", b"yz"], dtype=object)),
    ]
    for value, want in cases:
        for cls in (tensor_pb2.TensorProto, OURS):
            proto = as_tf(filled(value, cls))
            assert_same(tf.make_ndarray(proto), want)


# --- data_type_of -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype",
    [np.dtype(row.numpy) for row in tensors.DATA_TYPES.values()]
    + [np.dtype(t) for t in (np.intc, np.uintc, np.int_, np.uint, np.longlong, np.ulonglong, np.short, np.byte, np.half, np.double, np.cdouble)]
    + [np.dtype("U5"), np.dtype("S3"), np.dtype(">f4"), np.dtype(">i2"), np.dtype("<u8")],
    ids=str,
)
def test_data_type_of_agrees_with_tf_as_dtype(dtype):
    assert tensors.data_type_of(dtype) == tf.as_dtype(dtype).as_datatype_enum


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[ns]", "V4", "longdouble"])
def test_data_type_of_rejects_numpy_dtypes_tensorflow_lacks(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        pytest.skip("longdouble is float64 here")
    with pytest.raises(ValueError):
        tensors.data_type_of(dtype)
    with pytest.raises(TypeError):
        tf.as_dtype(dtype)


def test_data_type_of_and_numpy_dtype_are_inverse_for_every_row():
    for name, row in tensors.DATA_TYPES.items():
        number = tf_protos.data_type(name)
        assert tensors.data_type_of(tensors.numpy_dtype(number)) == number


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
