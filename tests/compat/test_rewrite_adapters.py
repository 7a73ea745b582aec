"""The public rewrite functions (converters.fold_batch_norms, fuse_depthwise_conv2d, fuse_prelu) on
the graphs their callers have: TF1 graphs in any layout, freshly frozen graphs whose weights are
read through Identity nodes, PReLUs whose alpha is not one value per channel. They rewrite as the
public functions do; folded graphs still compute the same in TensorFlow."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from tensorflowjs.converters import fold_batch_norms, fuse_depthwise_conv2d, fuse_prelu, graph_rewrite_util

RNG = np.random.default_rng(5)


def _const(*shape, low=-1.0, high=1.0):
    return tf.constant(RNG.uniform(low, high, shape).astype(np.float32))


def _run(graph_def, output):
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            return session.run(output)


def _ops(graph_def):
    return [node.op for node in graph_def.node]


def _frozen(fn, *args):
    """A frozen GraphDef of fn, as tf_saved_model_conversion_v2._freeze_saved_model_v2 gives it."""
    from tensorflowjs.converters import tf_saved_model_conversion_v2

    return tf_saved_model_conversion_v2._freeze_saved_model_v2(tf.function(fn).get_concrete_function(*args)).as_graph_def()


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("conv", [tf.compat.v1.nn.conv2d, tf.compat.v1.nn.depthwise_conv2d_native])
def test_fold_batch_norms_folds_both_layouts_and_computes_the_same(data_format, conv):
    graph = tf.Graph()
    with graph.as_default():
        x = _const(2, 5, 5, 3) if data_format == "NHWC" else _const(2, 3, 5, 5)
        weights = _const(3, 3, 3, 6) if conv is tf.compat.v1.nn.conv2d else _const(3, 3, 3, 2)  # 6 channels out
        y = conv(x, weights, [1, 1, 1, 1], "SAME", data_format=data_format)
        tf.compat.v1.nn.fused_batch_norm(y, _const(6), _const(6), _const(6), _const(6, low=0.5, high=1.5),
                                         epsilon=0.001, is_training=False, data_format=data_format, name="bn")
    graph_def = graph.as_graph_def()
    folded = fold_batch_norms.fold_batch_norms(graph_def)
    assert not {"FusedBatchNorm", "FusedBatchNormV3"} & set(_ops(folded))
    (bias_add,) = [n for n in folded.node if n.op == "BiasAdd"]
    assert bias_add.attr["data_format"].s.decode() == data_format
    np.testing.assert_allclose(_run(folded, "bn:0"), _run(graph_def, "bn:0"), rtol=1e-4, atol=1e-5)


def test_identity_wrapped_weights_of_a_frozen_graph_fuse_and_the_relu_joins_without_a_bias():
    kernel = tf.Variable(RNG.uniform(-1, 1, (3, 3, 2, 1)).astype(np.float32))
    bias = tf.Variable(np.float32([0.5, -0.5]))
    frozen = _frozen(lambda x: tf.nn.relu(tf.nn.bias_add(tf.nn.depthwise_conv2d(x, kernel, [1] * 4, "SAME"), bias)),
                     tf.TensorSpec([1, 4, 4, 2]))
    assert "Identity" in [frozen.node[[n.name for n in frozen.node].index(i)].op for n in frozen.node
                          if n.op == "DepthwiseConv2dNative" for i in n.input[1:]]
    (fused,) = [n for n in fuse_depthwise_conv2d.fuse_depthwise_conv2d(frozen).node if n.op == "FusedDepthwiseConv2dNative"]
    assert fused.attr["fused_ops"].list.s == [b"BiasAdd", b"Relu"] and fused.attr["num_args"].i == 1

    no_bias = _frozen(lambda x: tf.nn.relu6(tf.nn.depthwise_conv2d(x, kernel, [1] * 4, "SAME")), tf.TensorSpec([1, 4, 4, 2]))
    result = fuse_depthwise_conv2d.fuse_depthwise_conv2d(no_bias)
    (fused,) = [n for n in result.node if n.op == "FusedDepthwiseConv2dNative"]
    assert fused.attr["fused_ops"].list.s == [b"NoOp", b"Relu6"] and fused.attr["num_args"].i == 0
    assert "Relu6" not in _ops(result)


def test_prelu_with_a_per_position_alpha_is_made_and_fused_into_the_conv():
    """alpha (4, 4, 3) varies along H and W: the converter keeps that PReLU apart for WASM, the
    public functions make a Prelu of it and fuse it."""
    kernel, bias = _const(3, 3, 2, 3), _const(3)
    alpha = RNG.uniform(0.1, 0.3, (4, 1, 3)).astype(np.float32)

    def fn(x):
        y = tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias)
        return tf.nn.relu(y) + (-alpha) * tf.nn.relu(-y)

    graph_def = _frozen(fn, tf.TensorSpec([1, 4, 4, 2]))
    with_prelu = fuse_prelu.fuse_ops_for_prelu(graph_def)
    (prelu,) = [n for n in with_prelu.node if n.op == "Prelu"]
    alpha_node = next(n for n in with_prelu.node if n.name == prelu.input[1])
    np.testing.assert_array_equal(graph_rewrite_util.values_from_const(alpha_node), alpha)
    fused = fuse_prelu.fuse_prelu_with_fused_conv2d_or_matmul(with_prelu)
    assert "Prelu" not in _ops(fused)
    (conv,) = [n for n in fused.node if n.op == "_FusedConv2D"]
    assert conv.attr["fused_ops"].list.s == [b"BiasAdd", b"Prelu"] and conv.attr["num_args"].i == 2


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
