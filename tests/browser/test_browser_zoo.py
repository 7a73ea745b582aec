"""The zoo that users convert, in Node (CPU, WASM) and headless Chromium (WebGL, WASM, CPU).

Layers models: every model of tests/keras/zoo.py, saved by Keras 3 as `.keras` and converted by
the CLI. Graph models: Keras 3 `model.export` SavedModels of the architectures users convert
most (MobileNetV2, MobileNetV3Small, EfficientNetB0/V2B0, ConvNeXtTiny, a ViT, a transformer
encoder block, a masked Embedding + LSTM + GRU text classifier) and a YOLO-style detector whose boxes go through NonMaxSuppressionV5. In the
browser models load over HTTP from 127.0.0.1 and WebGL must really be the backend in use.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from tensorflowjs.converters import converter  # noqa: E402
from tfjs_browser import check_browser_batch  # noqa: E402
from tfjs_e2e import Case, check_tfjs_batch  # noqa: E402


def transformer_block():
    tokens = keras.Input((6, 16))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(tokens, tokens)
    x = keras.layers.LayerNormalization()(tokens + attended)
    x = x + keras.layers.Dense(16)(keras.layers.Dense(32, activation="gelu")(x))
    return keras.Model(tokens, keras.layers.LayerNormalization()(x))


def vit():
    """A small Vision Transformer: patch embedding, position embedding, two encoder blocks."""
    images = keras.Input((32, 32, 3))
    x = keras.layers.Reshape((16, 24))(keras.layers.Conv2D(24, 8, strides=8)(images))
    positions = keras.layers.Embedding(16, 24)(keras.ops.arange(16))
    x = x + positions
    for _ in range(2):
        y = keras.layers.LayerNormalization(epsilon=1e-6)(x)
        x = x + keras.layers.MultiHeadAttention(num_heads=3, key_dim=8)(y, y)
        y = keras.layers.LayerNormalization(epsilon=1e-6)(x)
        x = x + keras.layers.Dense(24)(keras.layers.Dense(48, activation="gelu")(y))
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.LayerNormalization(epsilon=1e-6)(x))
    return keras.Model(images, keras.layers.Dense(7)(x))


def text_classifier():
    """Embedding (masked) -> LSTM -> GRU -> Dense over 8 tokens: the loops unroll (graph/rewrites/unroll_loops)."""
    tokens = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(20, 8, mask_zero=True)(tokens)
    x = keras.layers.GRU(6)(keras.layers.LSTM(6, return_sequences=True)(x))
    return keras.Model(tokens, keras.layers.Dense(3)(x))


GRAPH_MODELS = {
    "text_classifier": text_classifier,
    "mobilenet_v2": lambda: keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=7),
    "mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, classes=7),
    "efficientnet_b0": lambda: keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=7),
    "efficientnet_v2_b0": lambda: keras.applications.EfficientNetV2B0(input_shape=(32, 32, 3), weights=None, classes=7, classifier_activation=None),
    "convnext_tiny": lambda: keras.applications.ConvNeXtTiny(input_shape=(32, 32, 3), weights=None, classes=7, classifier_activation=None),
    "vit": vit,
    "transformer_block": transformer_block,
}


class Detector(tf.Module):
    """A YOLO-style detector: a conv head predicts boxes and scores per cell, then
    NonMaxSuppressionV5 (tf.image.non_max_suppression_with_scores) keeps the best ones."""

    def __init__(self):
        rng = np.random.default_rng(5)
        self.kernel = tf.Variable(rng.normal(0, 0.3, (3, 3, 3, 5)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 16, 16, 3], tf.float32, name="images")])
    def serve(self, images):
        head = tf.nn.conv2d(images, self.kernel, 2, "SAME")  # 8x8 cells: (y, x, h, w, score)
        cells = tf.reshape(head, [64, 5])
        centres, sizes = tf.sigmoid(cells[:, :2]), tf.exp(cells[:, 2:4]) * 0.1
        boxes = tf.concat([centres - sizes / 2, centres + sizes / 2], axis=1)
        scores = tf.sigmoid(cells[:, 4])
        keep, kept_scores = tf.image.non_max_suppression_with_scores(boxes, scores, 20, iou_threshold=0.1, score_threshold=0.5)
        return {"boxes": tf.gather(boxes, keep), "scores": kept_scores, "candidates": tf.reduce_sum(tf.cast(scores > 0.5, tf.int32))}


def _convert(source, output):
    assert converter.main([str(source), str(output)]) == 0, f"conversion of {source} failed"
    return str(output)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser_zoo")
    cases = {}
    for name in zoo.ZOO:
        model, inputs, expected = zoo.prepare(keras, name)
        model.save(str(root / f"{name}.keras"))
        cases[f"layers/{name}"] = Case(_convert(root / f"{name}.keras", root / f"layers_{name}"), inputs, expected)
    for name, build in GRAPH_MODELS.items():
        model = build()
        zoo.randomize(model)
        inputs = zoo.inputs_for(model, batch=2)
        saved_model = str(root / f"{name}_saved_model")
        model.export(saved_model, format="tf_saved_model", verbose=False)
        loaded = tf.saved_model.load(saved_model)  # kept alive while serve() runs
        expected = np.asarray(loaded.serve(inputs[0]), dtype=np.float32)
        # Random weights blow deep nets' logits up (EfficientNetV2B0: about 2000), where float32
        # rounding alone moves them by 1e-3 of that (Keras eager vs its own SavedModel).
        atol = max(1e-4, 5e-4 * float(np.abs(expected).max()))
        cases[f"graph/{name}"] = Case(_convert(saved_model, root / f"graph_{name}"), inputs, [expected], atol=atol, rtol=1e-3)
    detector = Detector()
    tf.saved_model.save(detector, str(root / "detector"), signatures=detector.serve)
    images = np.random.default_rng(6).uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)
    result = detector.serve(images)
    expected = [result["boxes"].numpy(), result["candidates"].numpy(), result["scores"].numpy()]
    assert 1 < len(expected[2]) < expected[1]  # some boxes suppressed, some kept: NMS is exercised
    cases["graph/yolo_style_nms"] = Case(_convert(root / "detector", root / "graph_detector"), [images], expected, atol=1e-5, rtol=1e-4)
    return cases


NAMES = [f"layers/{n}" for n in zoo.ZOO] + [f"graph/{n}" for n in GRAPH_MODELS] + ["graph/yolo_style_nms"]


@pytest.fixture(scope="module")
def node_verdicts(cases):
    return check_tfjs_batch(cases)


@pytest.fixture(scope="module")
def browser_verdicts(cases):
    return check_browser_batch(cases)


@pytest.mark.parametrize("name", NAMES)
def test_model_predicts_like_its_source_in_node_on_cpu_and_wasm(node_verdicts, name):
    assert node_verdicts[name] is None, node_verdicts[name]


@pytest.mark.parametrize("name", NAMES)
def test_model_predicts_like_its_source_in_chromium_on_webgl_wasm_and_cpu(browser_verdicts, name):
    assert browser_verdicts[name] is None, browser_verdicts[name]
