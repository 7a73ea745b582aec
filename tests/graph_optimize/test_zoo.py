"""Keras models as SavedModels -> TF.js graph models, run in TF.js 4.22 on CPU and WASM.

MobileNetV2 and ResNet50 (weights=None, batch-norm statistics randomised so folding is
exercised), and three small models that each isolate one rewrite: PReLU, depthwise + ReLU6,
Conv2D + batch norm. Tolerance: 1e-5 absolute plus 1e-4 relative, the project's float32
standard. Folding batch norm into the weights rounds differently from TF (one float32 rounding
of w * scale instead of two roundings per activation), a few ulps per layer; over ResNet50's
53 convolutions the largest difference measured was about a quarter of that tolerance.

EfficientNetB0, MobileNetV3Small and a small transformer block go through Keras 3's own
`model.export(format="tf_saved_model")` instead, and are converted with TensorFlow's path
disabled: they must freeze without TensorFlow (saved_model_graph), captured constants
(EfficientNet's normalisation) included. Keras 3 writes swish as x * sigmoid(1.0 * x), hard
swish as x * relu6(x + 3) / 6, batch norm as Rsqrt arithmetic and exact GELU with Erfc (which
TF.js lacks); each test first checks the frozen graph still has the pattern, then that the
converted graph is what a correct one holds, op counts derived from the Keras model's layers.
Their batch is left dynamic as exported and fed two images, so the run-time shape arithmetic
(squeeze-excite reshapes, Tensordot, the lowered attention Einsums) runs with a batch above 1.
"""

import collections
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from optimize_testing import ATOL, RTOL, randomize, randomize_batch_norms  # noqa: E402
from tensorflowjs import read_weights  # noqa: E402
from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model  # noqa: E402
from tensorflowjs.graph import saved_model as saved_model_lib  # noqa: E402
from tensorflowjs.graph import saved_model_graph  # noqa: E402
from tfjs_e2e import Case, check_tfjs_batch  # noqa: E402

FUSED = ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative")


def save_and_convert(model, shape, directory):
    """model as a SavedModel (one serving signature, fixed input shape), then converted."""
    module = tf.Module()
    module.weights_ = list(model.weights)
    module.serve = tf.function(lambda images: {"output": model(images, training=False)},
                               input_signature=[tf.TensorSpec(shape, tf.float32, name="images")])
    saved_model = os.path.join(directory, "saved_model")
    tf.saved_model.save(module, saved_model, signatures=module.serve)
    converted = os.path.join(directory, "tfjs")
    convert_tf_saved_model(saved_model, converted)
    return converted


class Converted:
    def __init__(self, model, shape, directory, seed=1, high=1.0):
        self.images = np.random.default_rng(seed).uniform(0, high, shape).astype(np.float32)
        self.expected = model(self.images, training=False).numpy()
        self.dir = self.save(model, shape, directory)
        with open(os.path.join(self.dir, "model.json")) as f:
            self.json = json.load(f)
        self.nodes = self.json["modelTopology"]["node"]
        self.named = {node["name"]: node for node in self.nodes}
        self.shapes = {w["name"]: w["shape"] for group in self.json["weightsManifest"] for w in group["weights"]}

    def save(self, model, shape, directory):
        return save_and_convert(model, shape, directory)

    def ops(self):
        return collections.Counter(node["op"] for node in self.nodes)

    def weights(self):
        if not hasattr(self, "_weights"):
            entries = read_weights.read_weights(self.json["weightsManifest"], self.dir, flatten=True)
            self._weights = {w["name"]: w["data"] for w in entries}
        return self._weights

    def constant(self, node, index):
        """The value of node's input `index` if it is a Const, else None."""
        producer = self.producer(node, index)
        return self.weights()[producer["name"]] if producer["op"] == "Const" else None

    def producer(self, node, index=0):
        return self.named[node["input"][index].split(":")[0]]

    def consumers(self, node):
        return [n for n in self.nodes if any(i.split(":")[0] == node["name"] for i in n.get("input", []))]

    def nodes_of(self, op):
        return [n for n in self.nodes if n["op"] == op]

    def fused(self, op=None):
        return [n for n in self.nodes if (n["op"] == op if op else n["op"] in FUSED)]

    def assert_fused_ops_run_on_wasm(self):
        for node in self.fused():
            ops = fused_ops(node)
            assert ops[0] == "BiasAdd" and len(ops) <= 2, (node["name"], ops)
            bias = self.shapes[node["input"][2].split(":")[0]]
            assert len(bias) == 1, (node["name"], bias)

    def fused_op_lists(self):
        """{fused_ops of a fused conv/matmul: how many}."""
        return dict(collections.Counter(tuple(fused_ops(n)) for n in self.fused()))

    def assert_batch_norms_folded(self):
        """Every batch norm folded into a conv and every conv fused: none of their pieces left."""
        left = {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "Rsqrt", "Sqrt", "Conv2D", "DepthwiseConv2dNative",
                "MatMul"} & set(self.ops())
        assert not left, self.ops()
        # A BiasAdd is left only where it cannot fuse: its conv's output is also read elsewhere.
        for node in self.nodes_of("BiasAdd"):
            producer = self.producer(node)
            assert producer["op"] in FUSED and len(self.consumers(producer)) > 1, (node["name"], producer["op"])

    def assert_matches_tf(self):
        # Both backends in one Node process.
        (verdict,) = check_tfjs_batch({"model": Case(self.dir, self.images, self.expected, atol=ATOL, rtol=RTOL)}).values()
        assert verdict is None, verdict


def no_tensorflow_fallback(*args, **kwargs):
    raise AssertionError("the conversion fell back to TensorFlow's path (saved_model.load_signature)")


class Exported(Converted):
    """Keras 3's own model.export, frozen without TensorFlow and converted with its path disabled.

    self.frozen: the GraphDef saved_model_graph.freeze_signature makes (it raises NeedsTensorFlow
    where the converter would fall back); self.layers: the model's layers as
    {(class, activation, ReLU max_value): count}, the source of the expected op counts.
    """

    def save(self, model, shape, directory):
        self.layers = collections.Counter(
            (type(layer).__name__, getattr(getattr(layer, "activation", None), "__name__", None),
             getattr(layer, "max_value", None))
            for layer in model.layers
        )
        saved_model = os.path.join(directory, "saved_model")
        model.export(saved_model, format="tf_saved_model", verbose=False)
        meta_graph = saved_model_lib.choose_meta_graph(saved_model, "serve", "serving_default").meta_graph
        self.captured_constants = [n.WhichOneof("kind") for n in meta_graph.object_graph_def.nodes].count("constant")
        self.frozen, _ = saved_model_graph.freeze_signature(saved_model, meta_graph, "serving_default")
        converted = os.path.join(directory, "tfjs")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(saved_model_lib, "load_signature", no_tensorflow_fallback)
            convert_tf_saved_model(saved_model, converted)
        return converted

    def frozen_ops(self):
        return collections.Counter(node.op for node in self.frozen.node)

    def frozen_producer(self, node, index=0):
        return next(n for n in self.frozen.node if n.name == node.input[index].split(":")[0])

    def layer_count(self, kind, activation=None, max_value=None):
        return self.layers[(kind, activation, max_value)]


def fused_ops(node):
    import base64

    return [base64.b64decode(s).decode() for s in node["attr"]["fused_ops"]["list"]["s"]]


@pytest.fixture(scope="module")
def mobilenet_v2(tmp_path_factory):
    model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classifier_activation=None)
    randomize_batch_norms(model)
    return Converted(model, (1, 96, 96, 3), str(tmp_path_factory.mktemp("mobilenet_v2")))


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory):
    model = keras.applications.ResNet50(input_shape=(64, 64, 3), weights=None, classifier_activation=None)
    randomize_batch_norms(model)
    return Converted(model, (1, 64, 64, 3), str(tmp_path_factory.mktemp("resnet50")))


def small(tmp_path_factory, name, *layers):
    inputs = keras.Input((8, 8, 3), batch_size=1)
    x = inputs
    for layer in layers:
        x = layer(x)
    model = keras.Model(inputs, x)
    randomize(model)
    return Converted(model, (1, 8, 8, 3), str(tmp_path_factory.mktemp(name)))


def test_mobilenet_v2_runs_in_tfjs_with_every_depthwise_relu6_chain_fused(mobilenet_v2):
    ops = mobilenet_v2.ops()
    depthwise = mobilenet_v2.fused("FusedDepthwiseConv2dNative")
    assert len(depthwise) == 17 and all(fused_ops(n) == ["BiasAdd", "Relu6"] for n in depthwise)
    assert not {"DepthwiseConv2dNative", "Conv2D", "BiasAdd", "Relu6", "Mul", "FusedBatchNormV3"} & set(ops), ops
    mobilenet_v2.assert_fused_ops_run_on_wasm()
    mobilenet_v2.assert_matches_tf()


def test_resnet50_runs_on_wasm_with_no_residual_add_fused_as_bias(resnet50):
    ops = resnet50.ops()
    assert ops["_FusedConv2D"] == 53 and ops["AddV2"] == 16 and "FusedBatchNormV3" not in ops, ops
    resnet50.assert_fused_ops_run_on_wasm()
    resnet50.assert_matches_tf()


def test_prelu_model(tmp_path_factory):
    converted = small(tmp_path_factory, "prelu", keras.layers.Conv2D(4, 3), keras.layers.PReLU(shared_axes=[1, 2]),
                      keras.layers.Conv2D(4, 1), keras.layers.PReLU())
    assert [fused_ops(n) for n in converted.fused()] == [["BiasAdd", "Prelu"], ["BiasAdd"]]
    assert converted.ops()["Prelu"] == 1 and "Neg" not in converted.ops()
    converted.assert_matches_tf()


def test_depthwise_relu6_model(tmp_path_factory):
    converted = small(tmp_path_factory, "depthwise", keras.layers.DepthwiseConv2D(3, depth_multiplier=2), keras.layers.ReLU(6.0))
    (node,) = converted.fused()
    assert node["op"] == "FusedDepthwiseConv2dNative" and fused_ops(node) == ["BiasAdd", "Relu6"]
    converted.assert_matches_tf()


def test_conv_batch_norm_model(tmp_path_factory):
    converted = small(tmp_path_factory, "conv_bn", keras.layers.Conv2D(5, 3, use_bias=False), keras.layers.BatchNormalization(),
                      keras.layers.ReLU(), keras.layers.Conv2D(4, 1), keras.layers.BatchNormalization())
    assert sorted(fused_ops(n) for n in converted.fused("_FusedConv2D")) == [["BiasAdd"], ["BiasAdd", "Relu"]]
    assert {"Placeholder", "Const", "_FusedConv2D", "Identity"} >= set(converted.ops()), converted.ops()
    converted.assert_matches_tf()


def randomize_normalizations(model, seed=0):
    """Normalization statistics away from mean 0, variance 1 (they are the export's captured
    constants, so a wrong or dropped capture would show)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Normalization):
            layer.adapt_mean.assign(rng.uniform(0.3, 0.6, layer.adapt_mean.shape).astype(np.float32))
            layer.adapt_variance.assign(rng.uniform(0.04, 0.09, layer.adapt_variance.shape).astype(np.float32))
            layer.finalize_state()


@pytest.fixture(scope="module")
def efficientnet_b0(tmp_path_factory):
    keras.utils.set_random_seed(0)  # the same kernels every run
    model = keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None, classifier_activation=None)
    randomize_batch_norms(model)
    randomize_normalizations(model)
    return Exported(model, (2, 64, 64, 3), str(tmp_path_factory.mktemp("efficientnet_b0")), high=255.0)


@pytest.fixture(scope="module")
def mobilenet_v3_small(tmp_path_factory):
    keras.utils.set_random_seed(0)  # the same kernels every run
    model = keras.applications.MobileNetV3Small(input_shape=(64, 64, 3), weights=None, classifier_activation=None)
    randomize_batch_norms(model)
    return Exported(model, (2, 64, 64, 3), str(tmp_path_factory.mktemp("mobilenet_v3_small")), high=255.0)


@pytest.fixture(scope="module")
def transformer_block(tmp_path_factory):
    keras.utils.set_random_seed(0)  # the same kernels every run
    inputs = keras.Input((8, 16))
    attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(inputs, inputs)
    x = keras.layers.LayerNormalization()(keras.layers.Add()([inputs, attention]))
    hidden = keras.layers.Dense(32, activation="gelu")(x)  # exact GELU: Keras 3 writes it with Erfc
    x = keras.layers.LayerNormalization()(keras.layers.Add()([x, keras.layers.Dense(16)(hidden)]))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x))
    randomize(model)
    return Exported(model, (2, 8, 16), str(tmp_path_factory.mktemp("transformer_block")))


def test_efficientnet_b0_export_runs_in_tfjs_with_swish_unscaled_and_batch_norms_folded(efficientnet_b0):
    net = efficientnet_b0
    swish = net.layer_count("Activation", "silu") + net.layer_count("Conv2D", "silu")
    gates = net.layer_count("Conv2D", "sigmoid")  # squeeze-excite
    convs = net.layer_count("Conv2D", "linear") + net.layer_count("Conv2D", "silu") + gates
    # What Keras 3 wrote: the normalisation's mean and variance as captured constants, batch
    # norms as Rsqrt arithmetic, swish as x * sigmoid(1.0 * x).
    assert net.captured_constants == 2
    assert net.frozen_ops()["Rsqrt"] == net.layer_count("BatchNormalization") == 49
    assert sum(net.frozen_producer(n).op == "Mul" for n in net.frozen.node if n.op == "Sigmoid") == swish == 49

    ops = net.ops()
    # One Mul per swish and per squeeze-excite product, one for the rescaling: no 1.0 * x.
    assert ops["Mul"] == swish + net.layer_count("Multiply") + 1 and ops["Sigmoid"] == swish, ops
    (rescaling,) = [n for n in net.nodes_of("Mul") if any(net.constant(n, i) is not None for i in (0, 1))]
    assert net.producer(rescaling)["op"] == "Placeholder", rescaling
    for sigmoid in net.nodes_of("Sigmoid"):  # x * sigmoid(x), x straight out of a fused conv
        x = net.producer(sigmoid)
        (mul,) = net.consumers(sigmoid)
        assert x["op"] in FUSED and mul["op"] == "Mul", (sigmoid["name"], x["op"], mul["op"])
        assert {net.producer(mul, 0)["name"], net.producer(mul, 1)["name"]} == {x["name"], sigmoid["name"]}, mul["name"]
    # Residual adds only: the rescaling's + 0 is gone.
    assert ops["AddV2"] == net.layer_count("Add") and ops["_FusedConv2D"] == convs, ops
    assert net.fused_op_lists() == {("BiasAdd",): ops["_FusedConv2D"] - gates + ops["FusedDepthwiseConv2dNative"] + 1,
                                    ("BiasAdd", "Sigmoid"): gates}
    assert ops["FusedDepthwiseConv2dNative"] == net.layer_count("DepthwiseConv2D", "linear") and ops["_FusedMatMul"] == 1, ops
    net.assert_batch_norms_folded()
    net.assert_fused_ops_run_on_wasm()
    net.assert_matches_tf()


def test_mobilenet_v3_small_export_runs_in_tfjs_with_hard_swish_and_gates_folded(mobilenet_v3_small):
    net = mobilenet_v3_small
    hard_swish = net.layer_count("Activation", "hard_silu")
    gates = net.layer_count("ReLU", None, 6.0)  # squeeze-excite hard sigmoid: relu6(conv + 3) * (1 / 6)
    assert net.frozen_ops()["Rsqrt"] == net.layer_count("BatchNormalization") == 34

    ops = net.ops()
    # Hard swish x * (relu6(x + 3) / 6): x is read twice, so its conv cannot take the + 3,
    # which stays a BiasAdd of 3s (assert_batch_norms_folded checks the conv has two readers).
    assert ops["Relu6"] == ops["RealDiv"] == ops["BiasAdd"] == hard_swish == 19, ops
    for bias_add in net.nodes_of("BiasAdd"):
        np.testing.assert_array_equal(net.constant(bias_add, 1), 3.0)
        (relu6,) = net.consumers(bias_add)
        (divide,) = net.consumers(relu6)
        assert relu6["op"] == "Relu6" and divide["op"] == "RealDiv", (relu6["op"], divide["op"])
        np.testing.assert_array_equal(net.constant(divide, 1), 6.0)
    # The gates' + 3 is in their conv's bias and relu6 fused; every other ReLU fused too.
    assert net.fused_op_lists() == {("BiasAdd", "Relu6"): gates, ("BiasAdd", "Relu"): net.layer_count("ReLU"),
                                    ("BiasAdd",): len(net.fused()) - gates - net.layer_count("ReLU")}
    assert "Relu" not in ops and ops["_FusedConv2D"] == net.layer_count("Conv2D", "linear"), ops
    assert ops["FusedDepthwiseConv2dNative"] == net.layer_count("DepthwiseConv2D", "linear"), ops
    # One Mul per hard swish, two per gate (* 1/6 and the excitation), one for the rescaling;
    # AddV2: the residuals and the rescaling's - 1.
    assert ops["Mul"] == hard_swish + 2 * gates + 1 and ops["AddV2"] == net.layer_count("Add") + 1, ops
    net.assert_batch_norms_folded()
    net.assert_fused_ops_run_on_wasm()
    net.assert_matches_tf()


def test_transformer_block_export_runs_in_tfjs_with_exact_gelu_as_erf(transformer_block):
    net = transformer_block
    frozen = net.frozen_ops()
    # Keras 3's exact GELU: 0.5 * x * erfc(-x / sqrt(2)); its attention: two Einsums.
    assert frozen["Erfc"] == 1 and frozen["Einsum"] == 2, frozen
    ops = net.ops()
    # No Erfc in TF.js; no Einsum kernel in its WASM backend.
    assert not {"Erfc", "Einsum", "Tanh", "Pow"} & set(ops), ops
    (erf,) = net.nodes_of("Erf")
    (erfc,) = net.consumers(erf)  # erfc(y) = 1 - erf(y)
    assert erfc["op"] == "Sub" and net.producer(erfc, 1) is erf, erfc
    np.testing.assert_array_equal(net.constant(erfc, 0), 1.0)
    net.assert_matches_tf()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"] + sys.argv[1:]))
