"""keras (.h5 of Keras 2 and Keras 3, .keras), keras_saved_model and in-memory Keras models
-> tfjs_graph_model, checked in real TF.js (CPU and WASM)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from graph_models import ATOL, RTOL, convert, output_keys  # noqa: E402
from tfjs_e2e import assert_tfjs_matches  # noqa: E402

X = np.random.default_rng(3).normal(size=(4, 5)).astype(np.float32)


def _two_headed(keras):
    """Functional model with named outputs listed in a non-alphabetical order."""
    inputs = keras.Input((5,), name="x")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    probs = keras.layers.Dense(3, activation="softmax", name="probs")(hidden)
    logits = keras.layers.Dense(2, name="logits")(hidden)
    model = keras.Model(inputs, [probs, logits])
    rng = np.random.default_rng(11)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def keras3_model():
    import keras

    return _two_headed(keras)


@pytest.fixture(scope="module")
def tf_keras_model():
    import tf_keras

    return _two_headed(tf_keras)


def _expected(model):
    return [np.asarray(y) for y in model(X, training=False)]


def test_keras3_h5_keeps_output_names_and_order(keras3_model, tmp_path):
    keras3_model.save(str(tmp_path / "model.h5"))
    assert convert(tmp_path / "model.h5", tmp_path / "out", "--input_format=keras", "--output_format=tfjs_graph_model") == 0
    assert output_keys(tmp_path / "out") == ["probs", "logits"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, _expected(keras3_model), atol=ATOL, rtol=RTOL)


def test_keras3_archive_converts(keras3_model, tmp_path):
    keras3_model.save(str(tmp_path / "model.keras"))
    assert convert(tmp_path / "model.keras", tmp_path / "out", "--input_format=keras_keras", "--output_format=tfjs_graph_model") == 0
    assert output_keys(tmp_path / "out") == ["probs", "logits"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, _expected(keras3_model), atol=ATOL, rtol=RTOL, backends=("cpu",))


def test_keras2_h5_converts(tf_keras_model, tmp_path):
    tf_keras_model.save(str(tmp_path / "model.h5"), save_format="h5")
    assert convert(tmp_path / "model.h5", tmp_path / "out", "--input_format=keras", "--output_format=tfjs_graph_model", "--quantize_float16") == 0
    assert output_keys(tmp_path / "out") == ["probs", "logits"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, _expected(tf_keras_model), atol=5e-3, rtol=5e-3)


def test_keras_saved_model_converts(tf_keras_model, tmp_path):
    tf_keras_model.save(str(tmp_path / "saved"), save_format="tf")
    assert convert(tmp_path / "saved", tmp_path / "out", "--input_format=keras_saved_model", "--output_format=tfjs_graph_model") == 0
    assert sorted(output_keys(tmp_path / "out")) == ["logits", "probs"]
    outputs = dict(zip(["probs", "logits"], _expected(tf_keras_model)))
    keys = output_keys(tmp_path / "out")
    assert_tfjs_matches(str(tmp_path / "out"), [X], [outputs[k] for k in keys], atol=ATOL, rtol=RTOL)


def test_python_api_converts_in_memory_keras_model(keras3_model, tmp_path):
    from tensorflowjs.converters import convert_keras_model_to_graph_model

    convert_keras_model_to_graph_model(keras3_model, str(tmp_path / "out"), use_structured_outputs_names=True)
    assert output_keys(tmp_path / "out") == ["probs", "logits"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, _expected(keras3_model), atol=ATOL, rtol=RTOL, backends=("cpu",))


def test_tfjs_layers_model_converts_to_graph_model(tmp_path):
    import make_mlp

    make_mlp.write(str(tmp_path / "layers"))
    assert convert(tmp_path / "layers" / "model.json", tmp_path / "out", "--input_format=tfjs_layers_model", "--output_format=tfjs_graph_model") == 0
    x = np.random.default_rng(2).normal(size=(3, make_mlp.INPUT_DIM)).astype(np.float32)
    assert_tfjs_matches(str(tmp_path / "out"), [x], [make_mlp.predict(make_mlp.weights(), x)], atol=ATOL, rtol=RTOL)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
