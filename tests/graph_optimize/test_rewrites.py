"""Each TF.js rewrite on a small TF graph: the expected ops come out, and TF computes the same.

Graphs are frozen tf.functions; before and after optimize_graph they run in TF (the TF.js-only
ops Prelu and FusedDepthwiseConv2dNative spelled out again by optimize_testing.tf_runnable).
"""

import sys

import numpy as np
import pytest
import tensorflow as tf

from optimize_testing import assert_same_outputs, freeze, fused_ops, nodes_of, op_counts
from tensorflowjs.graph.op_check import check_supported_ops
from tensorflowjs.graph.optimize import optimize_graph, optimize_without_tensorflow

RNG = np.random.default_rng(3)
IMAGE = tf.TensorSpec([2, 5, 5, 3], tf.float32)
IMAGES = [RNG.normal(size=(2, 5, 5, 3)).astype(np.float32)]


def const(*shape, low=-1.0, high=1.0):
    return tf.constant(RNG.uniform(low, high, shape).astype(np.float32))


def optimized(fn, spec=IMAGE, values=IMAGES, **flags):
    """(optimised GraphDef, its input and output names), after checking TF computes the same."""
    graph_def, inputs, outputs = freeze(fn, spec)
    result = optimize_graph(graph_def, inputs, outputs, **flags)
    assert_same_outputs(graph_def, result, inputs, outputs, values)
    return result, inputs, outputs


def assert_tfjs_safe(graph_def):
    """Every fused op is one TF.js runs on CPU and WASM: [BiasAdd(, act)], rank-1 bias."""
    nodes = {node.name: node for node in graph_def.node}
    for node in graph_def.node:
        if node.op in ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative"):
            ops = fused_ops(node)
            assert ops[0] == "BiasAdd" and len(ops) <= 2, (node.name, ops)
            bias = nodes[node.input[2]]
            assert bias.op == "Const" and len(bias.attr["value"].tensor.tensor_shape.dim) == 1, node.name


def test_fused_batch_norm_folds_into_conv_weights_and_fuses_with_relu():
    kernel, scale, offset, mean, variance = const(3, 3, 3, 4), const(4, low=0.5, high=1.5), const(4), const(4), const(4, low=0.5, high=1.5)

    def fn(x):
        y = tf.nn.conv2d(x, kernel, 1, "SAME")
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(y, scale, offset, mean, variance, epsilon=0.001, is_training=False)
        return tf.nn.relu(y)

    graph_def, _, _ = optimized(fn)
    counts = op_counts(graph_def)
    assert "FusedBatchNormV3" not in counts and "Conv2D" not in counts, counts
    (fused,) = nodes_of(graph_def, "_FusedConv2D")
    assert fused_ops(fused) == ["BiasAdd", "Relu"]
    assert_tfjs_safe(graph_def)


@pytest.mark.parametrize("scale_after_normalization", [True, False])
def test_tf1_batch_norm_with_global_normalization_folds_into_the_conv(scale_after_normalization):
    """Old TF1 frozen graphs (GraphDef version < 9) hold this op, which TF.js has no kernel for."""
    graph = tf.Graph()
    with graph.as_default():
        old = tf.compat.v1.GraphDef()
        old.versions.producer = 8
        tf.graph_util.import_graph_def(old)  # the only way to lower a graph's producer version
        x = tf.compat.v1.placeholder(tf.float32, [2, 5, 5, 3], name="x")
        y = tf.nn.conv2d(x, const(3, 3, 3, 4), 1, "SAME")
        tf.raw_ops.BatchNormWithGlobalNormalization(
            t=y, m=const(4), v=const(4, low=0.5, high=1.5), beta=const(4), gamma=const(4, low=0.5, high=1.5),
            variance_epsilon=0.001, scale_after_normalization=scale_after_normalization, name="y")
    graph_def = graph.as_graph_def()
    result = optimize_graph(graph_def, ["x"], ["y"])
    assert_same_outputs(graph_def, result, ["x"], ["y"], IMAGES)
    counts = op_counts(result)
    assert "BatchNormWithGlobalNormalization" not in counts and "Conv2D" not in counts, counts
    (fused,) = nodes_of(result, "_FusedConv2D")
    assert fused_ops(fused) == ["BiasAdd"]
    check_supported_ops(result, "model")


def test_keras2_fused_batch_norms_fold_into_conv_and_depthwise():
    import tf_keras

    inputs = tf_keras.Input((5, 5, 3), batch_size=2)
    x = tf_keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = tf_keras.layers.ReLU()(tf_keras.layers.BatchNormalization()(x))
    x = tf_keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)(x)
    x = tf_keras.layers.ReLU(6.0)(tf_keras.layers.BatchNormalization()(x))
    model = tf_keras.Model(inputs, x)
    for variable in model.weights:
        low = 0.5 if "variance" in variable.name or "gamma" in variable.name else -1.0
        variable.assign(RNG.uniform(low, 1.5, variable.shape).astype(np.float32))
    graph_def, _, _ = optimized(lambda t: model(t, training=False))
    counts = op_counts(graph_def)
    assert counts.get("_FusedConv2D") == 1 and counts.get("FusedDepthwiseConv2dNative") == 1, counts
    assert not {"FusedBatchNormV3", "Relu", "Relu6", "BiasAdd"} & set(counts), counts
    assert_tfjs_safe(graph_def)


def test_mul_add_batch_norm_folds_into_depthwise_and_fuses_relu6():
    kernel, scale, shift = const(3, 3, 3, 2), const(6, low=0.5, high=1.5), const(6)

    def fn(x):
        y = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")
        return tf.nn.relu6(y * scale + shift)

    graph_def, _, _ = optimized(fn)
    counts = op_counts(graph_def)
    assert "Mul" not in counts and "DepthwiseConv2dNative" not in counts, counts
    (fused,) = nodes_of(graph_def, "FusedDepthwiseConv2dNative")
    assert fused_ops(fused) == ["BiasAdd", "Relu6"] and fused.attr["num_args"].i == 1
    assert_tfjs_safe(graph_def)


def test_channel_constant_add_becomes_bias_but_residual_add_stays_an_add():
    k1, k2, b1, b2 = const(1, 1, 3, 3), const(3, 3, 3, 3), const(1, 1, 1, 3), const(3)

    def fn(x):
        shortcut = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "SAME") + b1)
        return tf.nn.relu(tf.nn.conv2d(shortcut, k2, 1, "SAME") + b2 + shortcut)

    graph_def, _, _ = optimized(fn)
    counts = op_counts(graph_def)
    assert counts.get("_FusedConv2D") == 2 and counts.get("AddV2") == 1 and counts.get("Relu") == 1, counts
    assert sorted(fused_ops(n) for n in nodes_of(graph_def, "_FusedConv2D")) == [["BiasAdd"], ["BiasAdd", "Relu"]]
    assert_tfjs_safe(graph_def)


def test_add_of_a_whole_map_constant_is_not_a_bias():
    kernel, offsets = const(1, 1, 3, 3), const(5, 5, 3)

    def fn(x):
        return tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + offsets)

    graph_def, _, _ = optimized(fn)
    counts = op_counts(graph_def)
    assert "_FusedConv2D" not in counts and "BiasAdd" not in counts and counts.get("AddV2") == 1, counts


@pytest.mark.parametrize("activation, expected", [(tf.nn.relu, "Relu"), (tf.nn.elu, "Elu"), (tf.sigmoid, "Sigmoid")])
def test_matmul_bias_activation_fuses(activation, expected):
    weights, bias = const(6, 4), const(4)
    graph_def, _, _ = optimized(lambda x: activation(tf.matmul(x, weights) + bias), tf.TensorSpec([3, 6]), [RNG.normal(size=(3, 6)).astype(np.float32)])
    (fused,) = nodes_of(graph_def, "_FusedMatMul")
    assert fused_ops(fused) == ["BiasAdd", expected]


def test_leaky_relu_keeps_its_alpha_in_conv_but_is_not_fused_into_depthwise():
    k, d, b1, b2 = const(1, 1, 3, 3), const(3, 3, 3, 1), const(3), const(3)

    def fn(x):
        y = tf.nn.leaky_relu(tf.nn.bias_add(tf.nn.conv2d(x, k, 1, "SAME"), b1), alpha=0.3)
        return tf.nn.leaky_relu(tf.nn.bias_add(tf.nn.depthwise_conv2d(y, d, [1, 1, 1, 1], "SAME"), b2), alpha=0.3)

    graph_def, _, _ = optimized(fn)
    (conv,) = nodes_of(graph_def, "_FusedConv2D")
    assert fused_ops(conv) == ["BiasAdd", "LeakyRelu"] and conv.attr["leakyrelu_alpha"].f == pytest.approx(0.3)
    (depthwise,) = nodes_of(graph_def, "FusedDepthwiseConv2dNative")
    assert fused_ops(depthwise) == ["BiasAdd"]
    assert len(nodes_of(graph_def, "LeakyRelu")) == 1


def test_prelu_pattern_fuses_per_channel_alpha_and_leaves_broadcast_alpha_alone():
    import keras

    inputs = keras.Input((5, 5, 3), batch_size=2)
    x = keras.layers.Conv2D(4, 1)(inputs)
    x = keras.layers.PReLU(shared_axes=[1, 2])(x)  # alpha (1, 1, 4): per channel
    x = keras.layers.PReLU()(x)  # alpha (5, 5, 4): a whole map, WASM-safe on its own
    x = keras.layers.PReLU(shared_axes=[2])(x)  # alpha (5, 1, 4): a broadcast axis inside
    model = keras.Model(inputs, x)
    for variable in model.weights:
        variable.assign(RNG.uniform(-1, 1, variable.shape).astype(np.float32))
    graph_def, _, _ = optimized(lambda t: model(t, training=False))
    (conv,) = nodes_of(graph_def, "_FusedConv2D")
    assert fused_ops(conv) == ["BiasAdd", "Prelu"] and conv.attr["num_args"].i == 2
    (prelu,) = nodes_of(graph_def, "Prelu")
    assert [d.size for d in {n.name: n for n in graph_def.node}[prelu.input[1]].attr["value"].tensor.tensor_shape.dim] == [5, 5, 4]
    assert op_counts(graph_def).get("Neg") == 1  # the third PReLU keeps its Relu/Neg/Mul form


def test_fused_conv_with_residual_add_and_4d_bias_is_taken_apart_for_wasm():
    """A _FusedConv2D already in the input, as TF's remapper writes it, made TF.js-safe."""
    from optimize_testing import run

    kernel, bias = const(1, 1, 3, 3), const(1, 1, 1, 3)
    reference, inputs, outputs = freeze(lambda x: tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias + x), IMAGE)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, IMAGE.shape, name="x")
        tf.constant(kernel.numpy(), name="kernel")
        tf.constant(bias.numpy(), name="bias")
        tf.identity(x, name="out")
    fused_graph = graph.as_graph_def()
    fused = fused_graph.node.add(name="fused", op="_FusedConv2D", input=["x", "kernel", "bias", "x"])
    fused.attr["T"].type = 1
    fused.attr["strides"].list.i.extend([1, 1, 1, 1])
    fused.attr["padding"].s = b"SAME"
    fused.attr["fused_ops"].list.s.extend([b"BiasAdd", b"Add", b"Relu"])
    fused.attr["num_args"].i = 2
    [out] = [n for n in fused_graph.node if n.name == "out"]
    out.input[0] = "fused"
    after = optimize_graph(fused_graph, ["x"], ["out"])
    np.testing.assert_allclose(run(after, ["x"], ["out"], IMAGES)[0], run(reference, inputs, outputs, IMAGES)[0], atol=1e-5, rtol=1e-4)
    assert_tfjs_safe(after)
    counts = op_counts(after)
    assert counts.get("_FusedConv2D") == 1 and counts.get("AddV2") == 1 and counts.get("Relu") == 1, counts
    assert counts["Const"] == 2, "the (1, 1, 1, 3) bias is replaced, not kept beside its (3,) copy"


def test_erfc_becomes_one_minus_erf_which_tfjs_has():
    def fn(x):
        return 0.5 * x * tf.math.erfc(-x / np.sqrt(2.0))  # Keras 3's exact GELU

    graph_def, _, _ = optimized(fn)
    counts = op_counts(graph_def)
    assert "Erfc" not in counts and counts.get("Erf") == 1, counts
    check_supported_ops(graph_def, "gelu")


SCORES = tf.TensorSpec([2, 4, 4], tf.float32)
SCORE_VALUES = [RNG.normal(size=(2, 4, 4)).astype(np.float32)]
KEEP = tf.constant(np.tril(np.ones((4, 4), bool)))


def const_values(graph_def):
    return [tf.make_ndarray(node.attr["value"].tensor) for node in graph_def.node if node.op == "Const"]


@pytest.mark.parametrize("fill", [-1e9, np.finfo(np.float32).min * 0.7], ids=["bert", "keras3"])
def test_softmax_mask_constants_become_finite_in_float16(fill):
    def select_mask(x):  # Keras 3's MultiHeadAttention
        return tf.nn.softmax(tf.where(KEEP, x, tf.constant(fill)))

    def additive_mask(x):  # BERT: (1 - mask) * -1e9 added to the scores
        return tf.nn.softmax(x + (1.0 - tf.cast(KEEP, tf.float32)) * tf.constant(fill))

    for fn in (select_mask, additive_mask):
        with pytest.warns(UserWarning, match="float16"):
            graph_def, _, _ = optimized(fn, SCORES, SCORE_VALUES)
        assert all(np.abs(v).max() <= 65504 for v in const_values(graph_def) if v.dtype == np.float32), fn.__name__


def test_large_constants_that_do_not_end_in_a_softmax_stay():
    def fn(x):
        return {"scaled": x * tf.constant(-1e9), "masked": tf.nn.softmax(tf.where(KEEP, x, -1e9)) + tf.where(KEEP, x, -1e9)}

    graph_def, _, _ = optimized(fn, SCORES, SCORE_VALUES)
    big = [v for v in const_values(graph_def) if v.dtype == np.float32 and v.size and np.abs(v).max() > 65504]
    assert len(big) >= 1 and all(v.max() == -1e9 for v in big)


@pytest.mark.parametrize("lower, upper", [(-1, 0), (0, -1), (1, 2), (0, 0), (-1, -1), (2, 0)])
def test_matrix_band_part_becomes_a_band_mask_tfjs_computes_right(lower, upper):
    """TF.js 4.22 reads num_upper from num_lower's input: band_part(x, -1, 0) kept everything."""

    def fn(x):
        n = tf.shape(x)[1]
        causal = tf.linalg.band_part(tf.ones(tf.stack([n, n]), tf.bool), lower, upper)  # Keras's tril
        return {"values": tf.linalg.band_part(x, lower, upper), "mask": tf.cast(causal, tf.float32)}

    graph_def, _, _ = optimized(fn, SCORES, SCORE_VALUES)
    assert "MatrixBandPart" not in op_counts(graph_def)
    check_supported_ops(graph_def, "band part")
    graph_def = without_tensorflow(fn, SCORES, SCORE_VALUES)
    assert "MatrixBandPart" not in op_counts(graph_def)


def without_tensorflow(fn, spec=IMAGE, values=IMAGES):
    """optimize_without_tensorflow's result on a frozen tf.function, checked in TF."""
    graph_def, inputs, outputs = freeze(fn, spec)
    before = type(graph_def)()
    before.CopyFrom(graph_def)
    result = optimize_without_tensorflow(graph_def, inputs, outputs)
    assert_same_outputs(before, result, inputs, outputs, values)
    return result


def test_scalar_neutral_operands_disappear_but_broadcasting_ones_stay():
    one, zero, ones = tf.constant(1.0), tf.constant(0.0), tf.ones([1, 1, 1, 1, 1])

    def fn(x):
        y = tf.nn.relu(x)
        return {"same": ((y * one + zero) - zero) / one, "bigger": y * ones, "kept": one * y + 2.0}

    counts = op_counts(without_tensorflow(fn))
    assert counts.get("Mul") == 1 and counts.get("AddV2") == 1 and "Sub" not in counts and "RealDiv" not in counts, counts


def test_chained_constant_adds_and_muls_combine_into_one():
    c1, c2, s1, s2 = const(3), const(1, 1, 3), const(1, 1, 1, 3), const(3)

    def fn(x):
        y = tf.nn.relu(x)
        return {"sum": (y + c1) + c2, "product": (y * s1) * s2, "shared": tf.concat([y + c1, (y + c1) + c2], 0)}

    counts = op_counts(without_tensorflow(fn))
    # "shared": y + c1 has two readers, so it stays and only the outer add is new.
    assert counts.get("Mul") == 1 and counts.get("AddV2") == 3, counts


def test_grouped_conv_with_one_channel_per_group_becomes_depthwise_and_fuses():
    pointwise, grouped, bias = const(1, 1, 3, 6), const(3, 3, 1, 12), const(12)
    gray = const(3, 3, 1, 4)

    def fn(x):
        y = tf.nn.relu(tf.nn.conv2d(x, pointwise, 1, "SAME"))
        # 6 groups of 2. (Written as an Add so TF's own runtime, which has no fused grouped conv, runs it.)
        z = tf.nn.relu(tf.nn.conv2d(y, grouped, 1, "SAME") + bias)
        first = tf.nn.conv2d(x[..., :1], gray, 1, "SAME")  # one input channel: an ordinary conv
        return {"z": z, "first": first}

    graph_def, _, _ = optimized(fn)
    (depthwise,) = nodes_of(graph_def, "FusedDepthwiseConv2dNative")
    assert fused_ops(depthwise) == ["BiasAdd", "Relu"]
    assert op_counts(graph_def).get("Conv2D", 0) + op_counts(graph_def).get("_FusedConv2D", 0) == 2
    assert_tfjs_safe(graph_def)


def test_debug_ops_are_stripped_only_when_asked():
    def fn(x):
        tf.debugging.assert_all_finite(x, "finite")
        tf.print(x)
        return tf.debugging.check_numerics(x * 2.0, "numbers")

    graph_def, inputs, outputs = freeze(fn, tf.TensorSpec([3]))
    debug = {"Assert", "PrintV2", "CheckNumerics"}
    kept = optimize_graph(graph_def, inputs, outputs)
    stripped = optimize_graph(graph_def, inputs, outputs, strip_debug_ops=True)
    assert {"CheckNumerics"} <= set(op_counts(kept)), op_counts(kept)
    assert not debug & set(op_counts(stripped)), op_counts(stripped)
    check_supported_ops(stripped, "model")
    assert_same_outputs(graph_def, stripped, inputs, outputs, [np.arange(3, dtype=np.float32)])


def test_unused_input_and_output_names_survive():
    def fn(x, unused):
        return tf.identity(x * 3.0, name="scaled")

    graph_def, inputs, outputs = freeze(fn, tf.TensorSpec([2]), tf.TensorSpec([2]))
    result = optimize_graph(graph_def, inputs, outputs)
    names = {node.name for node in result.node}
    assert set(inputs) <= names and set(outputs) <= names


def test_control_flow_v2_while_loop_keeps_its_functions():
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    weight = const(3, 3)

    @tf.function
    def fn(x):
        return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.nn.relu(tf.matmul(y, weight))), (0, x))[1]

    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(tf.TensorSpec([2, 3])), lower_control_flow=False)
    graph_def = frozen.graph.as_graph_def()
    inputs = [t.name.split(":")[0] for t in frozen.inputs]
    outputs = [t.name.split(":")[0] for t in frozen.outputs]
    result = optimize_graph(graph_def, inputs, outputs)
    assert {"While", "StatelessWhile"} & set(op_counts(result)), op_counts(result)
    assert len(result.library.function) >= 2
    assert_same_outputs(graph_def, result, inputs, outputs, [RNG.normal(size=(2, 3)).astype(np.float32)])


def _node(graph_def, name, op, inputs=(), **attrs):
    node = graph_def.node.add(name=name, op=op, input=list(inputs))
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node


def _constant(graph_def, name, value):
    return _node(graph_def, name, "Const", dtype=tf.compat.v1.AttrValue(type=tf.float32.as_datatype_enum),
                 value=tf.compat.v1.AttrValue(tensor=tf.make_tensor_proto(np.float32(value))))


def test_a_loop_invariant_enter_of_a_constant_is_read_as_the_constant():
    """TF.js computes a node reading only such an Enter and constants in a loop's first iteration
    only; the constant itself is a weight every iteration reads."""
    from tensorflowjs.graph.rewrites import apply_rewrites

    graph_def = tf.compat.v1.GraphDef()
    _constant(graph_def, "c", 2.0)
    frame = {"frame_name": tf.compat.v1.AttrValue(s=b"loop"), "T": tf.compat.v1.AttrValue(type=tf.float32.as_datatype_enum)}
    _node(graph_def, "invariant", "Enter", ["c"], is_constant=tf.compat.v1.AttrValue(b=True), **frame)
    _node(graph_def, "variable", "Enter", ["c"], is_constant=tf.compat.v1.AttrValue(b=False), **frame)
    _node(graph_def, "exp", "Exp", ["invariant"])
    _node(graph_def, "sum", "AddV2", ["exp", "variable"])
    assert apply_rewrites(graph_def, ["bypass_constant_enters"], ["sum"])["bypass_constant_enters"] == 1
    assert {n.name: list(n.input) for n in graph_def.node if n.op != "Const"} == {"variable": ["c"], "exp": ["c"], "sum": ["exp", "variable"]}


def test_nodes_nothing_reads_go_but_inputs_and_outputs_stay():
    from tensorflowjs.graph.rewrites import apply_rewrites

    graph_def = tf.compat.v1.GraphDef()
    _constant(graph_def, "c", 2.0)
    _node(graph_def, "x", "Placeholder", dtype=tf.compat.v1.AttrValue(type=tf.float32.as_datatype_enum))
    _node(graph_def, "unused_input", "Placeholder", dtype=tf.compat.v1.AttrValue(type=tf.float32.as_datatype_enum))
    _node(graph_def, "y", "Mul", ["x", "c"])
    _node(graph_def, "counter", "AddV2", ["c", "c"])
    _node(graph_def, "last", "Identity", ["counter"])
    assert apply_rewrites(graph_def, ["remove_unread"], ["x", "unused_input", "y"])["remove_unread"] == 2
    assert sorted(n.name for n in graph_def.node) == ["c", "unused_input", "x", "y"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"] + sys.argv[1:]))
