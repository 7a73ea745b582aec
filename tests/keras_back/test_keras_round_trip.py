"""Keras -> TF.js layers -> Keras (.h5, Keras SavedModel, .keras): the same model comes back.

Each source model is built here with random weights (BatchNormalization's moving statistics
included), written as a layers model by `save_keras_model` and converted back with the CLI;
the model loaded from each Keras file must predict within 1e-6 of the source and hold
exactly its weights.
"""

import numpy as np
import pytest

from tensorflowjs.converters import converter, save_keras_model
from tensorflowjs.converters.keras_tfjs_loader import tfjs_weight_names

RNG = np.random.default_rng(11)


def cnn_bn(keras):
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="probs")(x), name="cnn_bn"), [RNG.normal(size=(2, 8, 8, 3))]


def lstm(keras):
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(6, return_sequences=True, name="lstm1"), keras.layers.LSTM(4, name="lstm2"), keras.layers.Dense(2, name="out")], name="rnn")
    return model, [RNG.normal(size=(2, 5, 3))]


def two_in_two_out(keras):
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    da = keras.layers.Dense(4, name="da")(a)
    db = keras.layers.Dense(4, activation="tanh", name="db")(b)
    merged = keras.layers.Concatenate(name="cat")([keras.layers.Add(name="sum")([da, db]), a])
    logits = keras.layers.Dense(2, name="logits")(merged)
    product = keras.layers.Multiply(name="product")([da, db])
    return keras.Model([a, b], [logits, product], name="two"), [RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))]


def recurrent_tf_keras(tf_keras):
    """A Keras 2 model: its weights reach TF.js with Keras 2's cell names (lstm1/lstm_cell/kernel)."""
    layers = tf_keras.layers
    model = tf_keras.Sequential([
        tf_keras.Input((5, 3)), layers.LSTM(6, return_sequences=True, name="lstm1"), layers.Bidirectional(layers.GRU(3, reset_after=False), name="bi"),
        layers.BatchNormalization(name="bn"), layers.Dense(2, name="out"),
    ], name="rnn2")
    return model, [RNG.normal(size=(2, 5, 3))]


# name -> (builder, which Keras builds the source model)
MODELS = {"cnn_bn": (cnn_bn, "keras3"), "lstm": (lstm, "keras3"), "two_in_two_out": (two_in_two_out, "keras3"), "recurrent_tf_keras": (recurrent_tf_keras, "tf_keras")}
# output format -> (file name, how to load it)
OUTPUTS = {"keras": ("model.h5", "tf_keras"), "keras_saved_model": ("saved_model", "tf_keras"), "keras_keras": ("model.keras", "keras3")}


def _randomize(model):
    """Random weights, positive where a variance is stored, so nothing is left at its initial value."""
    model.set_weights([np.abs(w) + 0.5 if "variance" in v.name else RNG.normal(0, 0.4, w.shape) for v, w in zip(model.weights, model.get_weights())])


def _load(loader, path):
    if loader == "tf_keras":
        import tf_keras

        return tf_keras.models.load_model(str(path), compile=False)
    import keras

    return keras.saving.load_model(str(path), compile=False)


def _predict(model, inputs):
    outputs = model.predict([x.astype(np.float32) for x in inputs] if len(inputs) > 1 else inputs[0].astype(np.float32), verbose=0)
    return outputs if isinstance(outputs, list) else [outputs]


def _weights(model):
    return {names[0]: np.asarray(variable) for variable, names in tfjs_weight_names(model)}


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory):
    """(model, output format) -> (source predictions, source weights, converted file)."""
    import keras
    import tf_keras

    root = tmp_path_factory.mktemp("round_trips")
    result = {}
    for name, (make, source_keras) in MODELS.items():
        model, inputs = make(keras if source_keras == "keras3" else tf_keras)
        _randomize(model)
        save_keras_model(model, str(root / name / "layers"))
        for output_format, (file_name, _) in OUTPUTS.items():
            if (name, output_format) not in CASES:
                continue
            target = root / name / output_format / file_name
            assert converter.main(["--input_format=tfjs_layers_model", f"--output_format={output_format}", str(root / name / "layers"), str(target)]) == 0
            result[name, output_format] = (inputs, _predict(model, inputs), _weights(model), target)
    return result


# A SavedModel costs seconds per recurrent layer to write; the Keras 3 LSTM already covers it.
CASES = [(name, output_format) for name in MODELS for output_format in OUTPUTS if (name, output_format) != ("recurrent_tf_keras", "keras_saved_model")]


@pytest.mark.parametrize("name,output_format", CASES, ids=["-".join(c) for c in CASES])
def test_round_trip_reproduces_predictions_and_weights(round_trips, name, output_format):
    inputs, expected, source_weights, path = round_trips[name, output_format]
    model = _load(OUTPUTS[output_format][1], path)
    outputs = _predict(model, inputs)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    weights = _weights(model)
    assert sorted(weights) == sorted(source_weights)
    for weight_name, value in source_weights.items():
        np.testing.assert_array_equal(weights[weight_name], value, err_msg=weight_name)


if __name__ == "__main__":
    import sys

    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
