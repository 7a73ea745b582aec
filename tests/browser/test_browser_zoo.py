"""The zoos in headless Chromium: WebGL (SwiftShader), WASM and CPU, models loaded over HTTP.

Layers models: every model of tests/keras/zoo.py, saved by Keras 3 as `.keras` and converted by
the CLI. Graph models: Keras 3 `model.export` SavedModels of the architectures users convert
most (MobileNetV2, MobileNetV3Small, EfficientNetB0, a transformer encoder block). All of them
also run in Node (tests/keras, tests/graph_optimize); here the browser must agree, and WebGL
must really be the backend in use.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402
from tensorflowjs.converters import converter  # noqa: E402
from tfjs_browser import check_browser_batch  # noqa: E402
from tfjs_e2e import Case  # noqa: E402


def transformer_block():
    tokens = keras.Input((6, 16))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(tokens, tokens)
    x = keras.layers.LayerNormalization()(tokens + attended)
    x = x + keras.layers.Dense(16)(keras.layers.Dense(32, activation="gelu")(x))
    return keras.Model(tokens, keras.layers.LayerNormalization()(x))


GRAPH_MODELS = {
    "mobilenet_v2": lambda: keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=7),
    "mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, classes=7),
    "efficientnet_b0": lambda: keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=7),
    "transformer_block": transformer_block,
}


def _convert(source, output):
    assert converter.main([str(source), str(output)]) == 0, f"conversion of {source} failed"
    return str(output)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
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
        expected = [np.asarray(model(inputs[0], training=False), dtype=np.float32)]
        model.export(str(root / f"{name}_saved_model"), format="tf_saved_model", verbose=False)
        cases[f"graph/{name}"] = Case(_convert(root / f"{name}_saved_model", root / f"graph_{name}"), inputs, expected, atol=1e-4, rtol=1e-3)
    return check_browser_batch(cases)


@pytest.mark.parametrize("name", [f"layers/{n}" for n in zoo.ZOO] + [f"graph/{n}" for n in GRAPH_MODELS])
def test_model_predicts_like_keras_in_chromium_on_webgl_wasm_and_cpu(verdicts, name):
    assert verdicts[name] is None, verdicts[name]
