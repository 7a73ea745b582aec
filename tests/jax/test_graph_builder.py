"""The graph builder against TensorFlow: the same call emits the same op with the same shape.

The builder offers TensorFlow's op surface to the lowering handlers; each call below is made on
both (the builder's placeholders, TensorFlow's v1 placeholders with the same shapes, None for
an unknown size) and must give the same op type, dtype and static shape TensorFlow infers.
"""

import sys

import jax_testing  # noqa: F401  (sets TF's log level before TensorFlow loads)
import numpy as np
import pytest
import tensorflow as tf

from tensorflowjs.jax_lowering import graph_builder

F, I = np.float32, np.int32

# name -> (call(ops, *inputs), [(shape, dtype) of each input])
CALLS = {
    "reshape": (lambda ops, x: ops.reshape(x, [3, -1]), [((4, 6), F)]),
    "reshape_unknown": (lambda ops, x: ops.reshape(x, [-1, 3, 2]), [((None, 6), F)]),
    "transpose": (lambda ops, x: ops.transpose(x, [2, 0, 1]), [((2, None, 5), F)]),
    "expand_squeeze": (lambda ops, x: ops.squeeze(ops.expand_dims(x, -1), [0]), [((1, 4), F)]),
    "stack_unstack": (lambda ops, x: ops.stack(ops.unstack(x, num=3, axis=1), 2), [((2, 3, 4), F)]),
    "concat": (lambda ops, x, y: ops.concat([x, y], -1), [((2, 3), F), ((2, 5), F)]),
    "split": (lambda ops, x: ops.split(x, 2, axis=1)[1], [((3, 8), F)]),
    "split_sizes": (lambda ops, x: ops.split(x, [1, 5], axis=1, num=2)[1], [((3, 6), F)]),
    "pad": (lambda ops, x: ops.pad(x, [[1, 2], [0, 3]]), [((2, 3), F)]),
    "pad_value": (lambda ops, x: ops.pad(x, [[1, 0], [0, 0]], constant_values=ops.constant(2.0)), [((None, 3), F)]),
    "broadcast_tile_reverse": (lambda ops, x: ops.reverse(ops.tile(ops.broadcast_to(x, [2, 3, 4]), [1, 2, 1]), [1]), [((3, 1), F)]),
    "strided_slice": (lambda ops, x: ops.strided_slice(x, [1, 0, 0], [4, 0, 2], [2, 1, 1], end_mask=2, shrink_axis_mask=4),
                      [((5, 6, 7), F)]),
    "getitem": (lambda ops, x: x[..., 1:3][0], [((4, 5, 6), F)]),
    "slice": (lambda ops, x: ops.slice(x, [1, 2], [2, -1]), [((4, 6), F)]),
    "gather": (lambda ops, x, i: ops.gather(x, i, axis=1), [((4, 6, 2), F), ((3, 5), I)]),
    "gather_nd": (lambda ops, x, i: ops.gather_nd(x, i), [((4, 6, 2), F), ((3, 2), I)]),
    "scatter": (lambda ops, x, i, u: ops.tensor_scatter_nd_update(x, i, u), [((4, 6), F), ((3, 1), I), ((3, 6), F)]),
    "scatter_nd": (lambda ops, i, u: ops.scatter_nd(i, u, [5, 6]), [((3, 1), I), ((3, 6), F)]),
    "reductions": (lambda ops, x: ops.reduce_sum(ops.reduce_max(x, [0, 2]), 0), [((2, 3, 4), F)]),
    "reduce_all": (lambda ops, x: ops.reduce_all(ops.greater(x, 0.0), -1), [((2, 3), F)]),
    "argmax": (lambda ops, x: ops.argmax(x, 1, output_type=ops.int32), [((2, 3, 4), F)]),
    "cumsum": (lambda ops, x: ops.cumsum(x, 1, reverse=True), [((2, 3), F)]),
    "top_k": (lambda ops, x: ops.math.top_k(x, 2)[1], [((5, 4), F)]),
    "matmul": (lambda ops, a, b: ops.linalg.matmul(a, b, transpose_b=True), [((3, 4), F), ((5, 4), F)]),
    "batch_matmul": (lambda ops, a, b: ops.linalg.matmul(a, b, transpose_a=True), [((2, 1, 4, 3), F), ((3, 4, 5), F)]),
    "conv_same": (lambda ops, x, k: ops.nn.conv2d(x, k, [1, 2, 2, 1], "SAME", dilations=[1, 1, 1, 1]), [((1, 9, 8, 3), F), ((3, 3, 3, 4), F)]),
    "conv_valid_dilated": (lambda ops, x, k: ops.nn.conv2d(x, k, [1, 1, 1, 1], "VALID", dilations=[1, 2, 2, 1]),
                           [((None, 9, 8, 3), F), ((3, 2, 3, 4), F)]),
    "depthwise": (lambda ops, x, k: ops.raw_ops.DepthwiseConv2dNative(input=x, filter=k, strides=[1, 2, 2, 1], padding="VALID",
                                                                       dilations=[1, 1, 1, 1]), [((1, 9, 8, 3), F), ((3, 3, 3, 2), F)]),
    "pools": (lambda ops, x: ops.nn.max_pool2d(ops.nn.avg_pool2d(x, [2, 2], [1, 1], "SAME"), [3, 2], [2, 2], "VALID"), [((1, 9, 8, 3), F)]),
    "bias_relu": (lambda ops, x, b: ops.nn.relu(ops.nn.bias_add(x, b)), [((2, 5), F), ((5,), F)]),
    "where_broadcast": (lambda ops, c, x: ops.where(c, x, 0.0), [((3, 1), np.bool_), ((1, 4), F)]),
    "arithmetic": (lambda ops, x, y: (x * 2.0 - y) / ops.sqrt(ops.abs(y) + 1.0), [((3, 1), F), ((4,), F)]),
    "integer_ops": (lambda ops, x, y: ops.math.floormod(ops.math.floordiv(x, y), 3) + 1, [((3, 4), I), ((4,), I)]),
    "cast_compare": (lambda ops, x: ops.cast(ops.logical_and(x > 0.0, x <= 1.0), ops.int32), [((2, 3), F)]),
    "shape_of_unknown": (lambda ops, x: ops.shape(x, out_type=ops.int32)[0], [((None, 3), F)]),
}


def _shape(tensor):
    shape = tensor.shape
    return None if shape is None or getattr(shape, "rank", 0) is None else [None if d is None else int(d) for d in shape]


def _op_type(tensor):
    return tensor.op if isinstance(tensor.op, str) else tensor.op.type


@pytest.mark.parametrize("name", list(CALLS))
def test_builder_emits_what_tensorflow_does(name):
    call, inputs = CALLS[name]
    graph = graph_builder.Graph()
    with graph.as_default():
        ours = call(graph_builder, *(graph_builder.placeholder(f"x{i}", d, s) for i, (s, d) in enumerate(inputs)))
    with tf.Graph().as_default():
        theirs = call(tf, *(tf.compat.v1.placeholder(tf.as_dtype(d), s) for s, d in inputs))
    assert _op_type(ours) == _op_type(theirs)
    assert ours.dtype == theirs.dtype.as_numpy_dtype
    assert _shape(ours) == _shape(theirs)


def test_data_movement_on_constants_is_folded():
    """As Grappler folds it on TensorFlow's path: the result is a Const holding numpy's answer."""
    value = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    with graph_builder.Graph().as_default():
        x = graph_builder.constant(value)
        y = graph_builder.squeeze(graph_builder.expand_dims(graph_builder.transpose(graph_builder.reshape(x, [4, 6]), [1, 0]), 0), [0])
        y = graph_builder.broadcast_to(y[1:5:2, ::-1], [3, 2, 4])
    assert y.op == "Const"
    np.testing.assert_array_equal(y.value, np.broadcast_to(value.reshape(4, 6).T[1:5:2, ::-1], (3, 2, 4)))


def test_graph_def_imports_into_tensorflow_and_computes():
    """Every node carries the attributes TensorFlow requires (defaults from the op registry),
    and a loop built in v1 frames runs: 1, 3, 7, 15 -> 15."""
    graph = graph_builder.Graph()
    with graph.as_default():
        x = graph_builder.placeholder("x", np.float32, [None])
        (result,) = graph_builder.while_loop(lambda c: graph_builder.reduce_max(c, [0]) < 10.0, lambda c: [c * 2.0 + 1.0], [x])
        out = graph_builder.identity(graph_builder.reshape(result, [-1, 1]), name="out")
    graph_def = tf.compat.v1.GraphDef.FromString(graph.finish([out]).SerializeToString())
    with tf.Graph().as_default() as tf_graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=tf_graph) as session:
            got = session.run("out:0", {"x:0": np.array([1.0, 0.0], np.float32)})
    np.testing.assert_array_equal(got, [[15.0], [7.0]])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
