"""load_keras_model in every TensorFlow mode: eagerly, inside `tf.Graph().as_default()`, and
inside a v1 Session, predicting what the source model predicts (in graph mode Keras's weight
assignments are ops that only a session runs); and which Keras it returns.

The sources are tf_keras models converted to TF.js layers models by the CLI: Dense, Conv2D
with BatchNorm, LSTM and GRU with TF.js's default hard_sigmoid gates, names with '/'.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tensorflowjs.converters import converter, deserialize_keras_model, load_keras_model  # noqa: E402
from tensorflowjs.errors import ConversionError  # noqa: E402

tf_keras = pytest.importorskip("tf_keras")
RNG = np.random.default_rng(11)


def _randomize(model):
    """Weights far from any initializer, so a model left with its initial weights predicts otherwise."""
    model.set_weights([RNG.normal(0.3, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma, beta, mean, np.abs(variance) + 0.5])
    return model


def dense_slash_names():
    layers = tf_keras.layers
    return tf_keras.Sequential([tf_keras.Input((6,)), layers.Dense(5, activation="relu", name="block/dense"), layers.Dense(3, name="head/out")]), (4, 6)


def plain_dense():
    layers = tf_keras.layers
    return tf_keras.Sequential([tf_keras.Input((6,)), layers.Dense(5, activation="tanh", name="hidden"), layers.Dense(3, name="out")]), (4, 6)


def conv_bn():
    layers = tf_keras.layers
    inputs = tf_keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", name="stem/conv")(inputs)
    x = layers.BatchNormalization(name="stem/bn")(x)
    x = layers.Activation("relu")(x)
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(x))
    return tf_keras.Model(inputs, outputs), (2, 8, 8, 3)


def recurrent_hard_sigmoid():
    layers = tf_keras.layers
    return tf_keras.Sequential([
        tf_keras.Input((5, 3)),
        layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True, name="rnn/lstm"),
        layers.GRU(3, recurrent_activation="hard_sigmoid", reset_after=False, name="rnn/gru"),
        layers.Dense(2),
    ]), (3, 5, 3)


MODELS = {"dense_slash_names": dense_slash_names, "plain_dense": plain_dense, "conv_bn": conv_bn, "recurrent_hard_sigmoid": recurrent_hard_sigmoid}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """name -> (model.json path, input, the source model's prediction)."""
    root = tmp_path_factory.mktemp("modes")
    result = {}
    for name, make in MODELS.items():
        model, shape = make()
        _randomize(model)
        x = RNG.normal(size=shape).astype(np.float32)
        model.save(str(root / f"{name}.h5"), save_format="h5")
        assert converter.main(["--input_format=keras", str(root / f"{name}.h5"), str(root / name)]) == 0
        result[name] = (str(root / name / "model.json"), x, model.predict(x, verbose=0))
    return result


def _initial_prediction(path, x):
    """What the model predicts with its initial weights: the test must be able to fail."""
    untrained = load_keras_model(path, load_weights=False)
    return untrained.predict(x, verbose=0)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("mode", ["eager", "graph", "graph_and_session"])
def test_loaded_model_predicts_like_the_source_in_every_mode(sources, name, mode):
    path, x, expected = sources[name]
    assert np.abs(_initial_prediction(path, x) - expected).max() > 1e-2
    if mode == "eager":
        model = load_keras_model(path)
        assert isinstance(model, tf_keras.Model)
        got = model.predict(x, verbose=0)
    elif mode == "graph":
        with tf.Graph().as_default():
            got = load_keras_model(path).predict(x, verbose=0)
    else:
        with tf.Graph().as_default(), tf.compat.v1.Session():
            got = load_keras_model(path).predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
    assert tf.executing_eagerly()


def test_two_models_in_one_session_with_unique_name_scopes(sources):
    path, x, expected = sources["conv_bn"]
    with tf.Graph().as_default() as graph, tf.compat.v1.Session():
        first = load_keras_model(path, use_unique_name_scope=True)
        second = load_keras_model(path, use_unique_name_scope=True)
        names = [v.name for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)]
        assert len(names) == len(set(names)) == len(first.weights) + len(second.weights)
        for model in (first, second):
            np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5, rtol=1e-5)


def test_deserialize_keras_model_sets_weights_inside_a_session(sources):
    path, x, expected = sources["recurrent_hard_sigmoid"]
    text = open(path).read()
    directory = os.path.dirname(path)
    manifest = json.loads(text)["weightsManifest"]
    data = [b"".join(open(os.path.join(directory, p), "rb").read() for p in group["paths"]) for group in manifest]
    with tf.Graph().as_default(), tf.compat.v1.Session():
        model = deserialize_keras_model(text, weight_data=data)
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5, rtol=1e-5)


def test_keras3_on_request_predicts_like_the_source(sources):
    import keras

    path, x, expected = sources["plain_dense"]
    model = load_keras_model(path, use_tf_keras=False)
    assert isinstance(model, keras.Model) and not isinstance(model, tf_keras.Model)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5, rtol=1e-5)


def test_keras3_is_refused_in_graph_mode_for_hard_sigmoid_and_for_names_with_slashes(sources):
    with tf.Graph().as_default(), pytest.raises(ConversionError, match="eagerly only"):
        load_keras_model(sources["plain_dense"][0], use_tf_keras=False)
    with pytest.raises(ConversionError, match="hard_sigmoid"):
        load_keras_model(sources["recurrent_hard_sigmoid"][0], use_tf_keras=False)
    with pytest.raises(ConversionError, match="Keras 3 cannot build"):
        load_keras_model(sources["dense_slash_names"][0], use_tf_keras=False)


def test_without_tf_keras_keras3_when_exact_else_one_error_naming_the_install(sources, monkeypatch):
    import keras

    monkeypatch.setitem(sys.modules, "tf_keras", None)
    path, x, expected = sources["plain_dense"]
    model = load_keras_model(path)
    assert isinstance(model, keras.Model)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5, rtol=1e-5)
    for refused, reason in (("recurrent_hard_sigmoid", "hard_sigmoid"), ("dense_slash_names", "block/dense")):
        with pytest.raises(ConversionError) as error:
            load_keras_model(sources[refused][0])
        message = str(error.value)
        assert "pip install tf-keras" in message and reason in message and "\n" not in message, message
    with pytest.raises(ConversionError, match="pip install tf-keras"):
        load_keras_model(path, use_tf_keras=True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
