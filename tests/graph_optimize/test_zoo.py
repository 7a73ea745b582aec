"""Keras models as SavedModels -> TF.js graph models, run in TF.js 4.22 on CPU and WASM.

MobileNetV2 and ResNet50 (weights=None, batch-norm statistics randomised so folding is
exercised), and three small models that each isolate one rewrite: PReLU, depthwise + ReLU6,
Conv2D + batch norm. Tolerance: 1e-5 absolute plus 1e-4 relative, the project's float32
standard. Folding batch norm into the weights rounds differently from TF (one float32 rounding
of w * scale instead of two roundings per activation), a few ulps per layer; over ResNet50's
53 convolutions the largest difference measured was about a quarter of that tolerance.
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
from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model  # noqa: E402
from tfjs_e2e import assert_tfjs_matches  # noqa: E402

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
    def __init__(self, model, shape, directory, seed=1):
        self.images = np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)
        self.expected = model(self.images, training=False).numpy()
        self.dir = save_and_convert(model, shape, directory)
        with open(os.path.join(self.dir, "model.json")) as f:
            self.json = json.load(f)
        self.nodes = self.json["modelTopology"]["node"]
        self.shapes = {w["name"]: w["shape"] for group in self.json["weightsManifest"] for w in group["weights"]}

    def ops(self):
        return collections.Counter(node["op"] for node in self.nodes)

    def fused(self, op=None):
        return [n for n in self.nodes if (n["op"] == op if op else n["op"] in FUSED)]

    def assert_fused_ops_run_on_wasm(self):
        for node in self.fused():
            ops = fused_ops(node)
            assert ops[0] == "BiasAdd" and len(ops) <= 2, (node["name"], ops)
            bias = self.shapes[node["input"][2].split(":")[0]]
            assert len(bias) == 1, (node["name"], bias)

    def assert_matches_tf(self):
        assert_tfjs_matches(self.dir, self.images, self.expected, atol=ATOL, rtol=RTOL)


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


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"] + sys.argv[1:]))
