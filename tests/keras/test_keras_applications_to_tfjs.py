"""Real Keras 3 architectures (keras.applications, text classifiers) -> TF.js layers models.

Each model is built once with random weights and random BatchNormalization statistics,
saved as .keras and .h5, converted through the CLI and run in TF.js 4.22 on CPU and WASM
in one Node process, against Keras' own predictions. These are the models whose layers
Keras 3 writes in ways tfjs-layers spells differently (Normalization, keepdims pooling,
depthwise Conv2D(groups=C), LayerScale, `x + 3.0` op layers, explicit Embedding masks), so
every rewrite is checked on the architecture it was made for. What a layers model still
cannot express is refused before anything is written.
"""

import os
import sys

import numpy as np
import pytest

from tensorflowjs.converters import converter
from tfjs_e2e import Case, check_tfjs_batch

IMAGE_SIZE = 32


def _application(name, size=IMAGE_SIZE):
    def build(keras):
        return getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classes=5, classifier_activation=None)

    return build


def text_lstm(keras):
    tokens = keras.Input((9,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(40, 8, mask_zero=True, name="embedding")(tokens)
    h = keras.layers.LSTM(6, name="lstm")(h)
    return keras.Model(tokens, keras.layers.Dense(3, name="logits")(h), name="text_lstm")


def text_bidirectional_gru(keras, reset_after=False):
    tokens = keras.Input((9,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(40, 8, mask_zero=True, name="embedding")(tokens)
    h = keras.layers.Bidirectional(keras.layers.GRU(5, reset_after=reset_after), name="bi_gru")(h)
    return keras.Model(tokens, keras.layers.Dense(3, name="logits")(h), name="text_bi_gru")


MODELS = {
    "EfficientNetV2B0": _application("EfficientNetV2B0"),
    "MobileNetV3Small": _application("MobileNetV3Small"),
    "ConvNeXtTiny": _application("ConvNeXtTiny"),
    "EfficientNetB0": _application("EfficientNetB0"),
    "DenseNet121": _application("DenseNet121"),
    "Xception": _application("Xception", 71),  # its smallest input
    "NASNetMobile": _application("NASNetMobile"),
    "text_lstm": text_lstm,
    "text_bidirectional_gru": text_bidirectional_gru,
}
FORMATS = ("keras", "h5")


def randomize(model, seed=0):
    """Keras' own initial kernels (deep nets stay finite), but statistics and scales that matter."""
    rng = np.random.default_rng(seed)
    values = []
    for variable in model.weights:
        path, shape = variable.path, tuple(variable.shape)
        value = variable.numpy()
        if path.endswith("moving_variance") or path.endswith("/variance"):
            value = rng.uniform(0.5, 1.5, shape)
        elif path.endswith("moving_mean") or path.endswith("/mean") or path.endswith("beta") or path.endswith("bias"):
            value = rng.normal(0, 0.1, shape)
        elif path.endswith("gamma"):
            value = rng.uniform(0.5, 1.0, shape)
        elif "embeddings" in path:
            value = rng.normal(0, 1, shape)
        values.append(np.asarray(value).astype(variable.dtype))
    model.set_weights(values)


def inputs_for(model, seed=1, batch=2):
    rng = np.random.default_rng(seed)
    shape = (batch,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    if "int" in str(model.inputs[0].dtype):
        tokens = rng.integers(1, 40, shape).astype(np.int32)
        tokens[0, -3:] = 0  # padding the mask must hide
        return tokens
    return rng.uniform(0, 255, shape).astype(np.float32)


@pytest.fixture(scope="module")
def keras3():
    import keras

    return keras


@pytest.fixture(scope="module")
def zoo_run(keras3, tmp_path_factory):
    """Every model in every format converted and checked in TF.js in one batch."""
    root = tmp_path_factory.mktemp("applications")
    cases, failures = {}, {}
    for name, build in MODELS.items():
        model = build(keras3)
        randomize(model)
        inputs = inputs_for(model)
        expected = np.asarray(model.predict(inputs, verbose=0), dtype=np.float32)
        scale = max(float(np.abs(expected).max()), 1.0)
        for ext in FORMATS:
            source = root / f"{name}.{ext}"
            model.save(str(source))
            output = root / f"{name}_{ext}"
            if converter.main([str(source), str(output)]) != 0:
                failures[f"{name}/{ext}"] = "conversion failed (see stderr)"
                continue
            cases[f"{name}/{ext}"] = Case(str(output), [inputs], [expected], atol=1e-4 * scale, rtol=1e-3)
            os.remove(source)
        del model
        keras3.backend.clear_session()
    verdicts = check_tfjs_batch(cases)
    verdicts.update(failures)
    return verdicts


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("name", list(MODELS))
def test_converted_application_predicts_like_keras_in_tfjs(zoo_run, name, ext):
    assert zoo_run[f"{name}/{ext}"] is None, zoo_run[f"{name}/{ext}"]


def _refused(capsys, tmp_path, source):
    output = tmp_path / "out"
    assert converter.main([str(source), str(output)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tensorflowjs_converter: error: ") and "\n" not in err, err
    assert not output.exists()
    return err


@pytest.mark.parametrize("ext", FORMATS)
def test_gru_with_keras_default_reset_after_is_refused(keras3, tmp_path, capsys, ext):
    """tfjs-layers 4.22's GRUCell throws on reset_after=True (Keras' default): refused, pinned."""
    text_bidirectional_gru(keras3, reset_after=True).save(str(tmp_path / f"gru.{ext}"))
    assert "reset_after=False" in _refused(capsys, tmp_path, tmp_path / f"gru.{ext}")


def test_an_option_tfjs_would_drop_is_refused_naming_layer_and_option(keras3, tmp_path, capsys):
    x = keras3.Input((6,))
    keras3.Model(x, keras3.layers.ReLU(threshold=0.5, name="thresholded")(x)).save(str(tmp_path / "relu.keras"))
    err = _refused(capsys, tmp_path, tmp_path / "relu.keras")
    assert "layer 'thresholded' (ReLU) has threshold=0.5, which tfjs-layers 4.22 does not implement" in err
    assert "--output_format=tfjs_graph_model" in err


def test_a_keras_layer_tfjs_lacks_is_refused(keras3, tmp_path, capsys):
    x = keras3.Input((6,))
    keras3.Model(x, keras3.layers.UnitNormalization(name="unit")(x)).save(str(tmp_path / "unit.keras"))
    err = _refused(capsys, tmp_path, tmp_path / "unit.keras")
    assert "layer 'unit' is a Keras UnitNormalization, which tfjs-layers 4.22 does not have" in err and "tfjs_graph_model" in err


def test_a_mask_other_than_the_embeddings_own_is_refused(keras3, tmp_path, capsys):
    """Only `tokens != 0` from the Embedding's own input is the mask TF.js derives by itself."""
    tokens = keras3.Input((5,), dtype="int32")
    h = keras3.layers.Embedding(10, 4, mask_zero=True)(tokens)
    h = keras3.layers.LSTM(3, name="lstm")(h, mask=keras3.ops.not_equal(tokens, 2))
    keras3.Model(tokens, h).save(str(tmp_path / "mask.keras"))
    assert "'lstm' is called with a tensor as keyword argument 'mask'" in _refused(capsys, tmp_path, tmp_path / "mask.keras")


def test_a_grouped_conv_that_is_not_depthwise_is_refused(keras3, tmp_path, capsys):
    x = keras3.Input((6, 6, 4))
    keras3.Model(x, keras3.layers.Conv2D(2, 3, groups=2, name="grouped")(x)).save(str(tmp_path / "grouped.keras"))
    assert "'grouped' has groups=2 with 2 input channels per group" in _refused(capsys, tmp_path, tmp_path / "grouped.keras")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
