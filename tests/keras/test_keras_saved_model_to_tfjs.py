"""tf_keras SavedModel directories -> TF.js layers models, read without TensorFlow: the output is
byte for byte the one of loading the model with tf_keras and converting its .h5, TF.js (CPU and
WASM) predicts what tf_keras does, and the converter process never imports TensorFlow or Keras."""

import filecmp
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tensorflowjs.converters import converter, keras_h5_conversion
from tensorflowjs.options import ConversionOptions
from testing.no_tensorflow import assert_converts_without_tensorflow
from tfjs_e2e import Case, check_tfjs_batch


def _mlp(k):
    return k.Sequential([k.Input((6,)), k.layers.Dense(8, activation="relu"), k.layers.Dense(3, activation="softmax")])


def _conv_bn(k):
    L = k.layers
    return k.Sequential([k.Input((8, 8, 3)), L.Conv2D(4, 3), L.BatchNormalization(), L.ReLU(), L.DepthwiseConv2D(3), L.Flatten(), L.Dense(2)])


def _lstm_gru(k):
    inputs = k.Input((5, 4))
    return k.Model(inputs, k.layers.GRU(3, reset_after=False)(k.layers.LSTM(6, return_sequences=True)(inputs)))


def _bidirectional(k):
    L = k.layers
    return k.Sequential([k.Input((5, 4)), L.Bidirectional(L.LSTM(3, return_sequences=True)), L.Bidirectional(L.GRU(2, reset_after=False)), L.Dense(1)])


def _embedding(k):
    return k.Sequential([k.Input((7,), dtype="int32"), k.layers.Embedding(20, 4), k.layers.GlobalAveragePooling1D(), k.layers.Dense(2)])


def _nested_sequential(k):
    """A Sequential inside a Functional model: its weights are stored trainable ones first."""
    L = k.layers
    inputs = k.Input((8, 8, 3))
    x = L.Flatten()(L.BatchNormalization()(L.Conv2D(4, 3)(inputs)))
    inner = k.Sequential([L.Dense(5, activation="relu"), L.BatchNormalization(), L.Dense(3)], name="inner")
    return k.Model(inputs, inner(x))


def _nested_functional(k):
    i = k.Input((4,))
    inner = k.Model(i, k.layers.Dense(3)(k.layers.BatchNormalization()(i)), name="inner_fn")
    o = k.Input((4,))
    return k.Model(o, k.layers.Dense(1)(inner(o)))


def _multi_io(k):
    L = k.layers
    a, b = k.Input((4,), name="a"), k.Input((3,), name="b")
    x = L.Concatenate()([L.Dense(5)(a), L.Dense(5)(b)])
    return k.Model([a, b], [L.Dense(2, name="o1")(x), L.Dense(1, name="o2")(x)])


def _shared_layer(k):
    a, b = k.Input((4,)), k.Input((4,))
    shared = k.layers.Dense(3, name="shared")
    return k.Model([a, b], k.layers.Add()([shared(a), shared(b)]))


def _frozen_layer(k):
    model = k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.BatchNormalization(), k.layers.Dense(2)])
    model.layers[0].trainable = False
    return model


def _time_distributed(k):
    return k.Sequential([k.Input((3, 4)), k.layers.TimeDistributed(k.layers.Dense(2)), k.layers.SimpleRNN(3), k.layers.Dense(1)])


def _frozen_nested_model_called_twice(k):
    i = k.Input((4,))
    block = k.Sequential([k.Input((4,)), k.layers.Dense(4), k.layers.BatchNormalization()], name="block")
    block.trainable = False
    return k.Model(i, k.layers.Dense(1)(block(block(i))))


MODELS = {f.__name__[1:]: f for f in (_mlp, _conv_bn, _lstm_gru, _bidirectional, _embedding, _nested_sequential, _nested_functional, _multi_io,
                                      _shared_layer, _frozen_layer, _time_distributed, _frozen_nested_model_called_twice)}


def _inputs(model, rng):
    return [rng.integers(0, 20, size=(2, *t.shape[1:])).astype(np.int32) if t.dtype == "int32" else rng.normal(size=(2, *t.shape[1:])).astype(np.float32)
            for t in model.inputs]


def _randomize(model, rng):
    """Weights away from their initial values (BatchNormalization's moving statistics included)."""
    model.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype(w.dtype) for w in model.get_weights()])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> (SavedModel directory, inputs, tf_keras's predictions)."""
    import tf_keras

    root = tmp_path_factory.mktemp("saved")
    rng = np.random.default_rng(7)
    made = {}
    for name, build in MODELS.items():
        model = build(tf_keras)
        _randomize(model, rng)
        inputs = _inputs(model, rng)
        outputs = model.predict(inputs, verbose=0)
        model.save(str(root / name), save_format="tf")
        made[name] = (root / name, inputs, outputs if isinstance(outputs, list) else [outputs])
    return made


@pytest.fixture(scope="module")
def converted(saved, tmp_path_factory):
    root = tmp_path_factory.mktemp("converted")
    for name, (path, _, _) in saved.items():
        assert converter.main(["--input_format=keras_saved_model", str(path), str(root / name)]) == 0
    return root


def _convert_with_tf_keras(path, output):
    """The former path: tf_keras loads the SavedModel, which is then converted as an .h5."""
    import tf_keras

    model = tf_keras.models.load_model(str(path), compile=False)
    with keras_h5_conversion.saved_copy(model) as h5, keras_h5_conversion.open_keras_file(h5) as source:
        keras_h5_conversion.write_source(source, str(output), ConversionOptions())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_output_is_the_tf_keras_paths(saved, converted, tmp_path, name):
    _convert_with_tf_keras(saved[name][0], tmp_path / "tf_keras")
    ours, theirs = converted / name, tmp_path / "tf_keras"
    assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    assert json.load(open(ours / "model.json")) == json.load(open(theirs / "model.json"))
    for file_name in os.listdir(ours):
        assert filecmp.cmp(ours / file_name, theirs / file_name, shallow=False), file_name


def test_tfjs_predicts_like_tf_keras(saved, converted):
    cases = {name: Case(str(converted / name), inputs, expected, atol=1e-4, rtol=1e-4) for name, (_, inputs, expected) in saved.items()}
    verdicts = check_tfjs_batch(cases)
    assert all(v is None for v in verdicts.values()), {k: v for k, v in verdicts.items() if v}


def test_converts_without_tensorflow(saved, tmp_path):
    assert_converts_without_tensorflow([["--input_format=keras_saved_model", saved[name][0], tmp_path / name]
                                        for name in ("nested_sequential", "bidirectional", "multi_io")])


def _fails_cleanly(capsys, *args):
    assert converter.main([str(a) for a in args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tensorflowjs_converter: error: ") and "\n" not in err, err
    return err


def test_subclassed_model_is_refused_in_one_line(tmp_path, capsys):
    import tf_keras

    class Subclassed(tf_keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf_keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model.predict(np.zeros((1, 3), np.float32), verbose=0)
    model.save(str(tmp_path / "subclassed"), save_format="tf")
    err = _fails_cleanly(capsys, "--input_format=keras_saved_model", tmp_path / "subclassed", tmp_path / "out")
    assert "subclassed Keras model" in err and "--input_format tf_saved_model" in err
    assert not os.path.exists(tmp_path / "out")


def test_damaged_metadata_is_refused_in_one_line(saved, tmp_path, capsys):
    shutil.copytree(saved["mlp"][0], tmp_path / "damaged")
    (tmp_path / "damaged" / "keras_metadata.pb").write_bytes(b"\x0a\xff\xff\xff")
    err = _fails_cleanly(capsys, "--input_format=keras_saved_model", tmp_path / "damaged", tmp_path / "out")
    assert "keras_metadata.pb" in err and "re-save" in err
    assert not os.path.exists(tmp_path / "out")


_WITHOUT_TF_KERAS = (
    "import sys\n"
    "sys.modules['tf_keras'] = None\n"
    "from tensorflowjs.converters import converter\n"
    "sys.exit(converter.main(sys.argv[1:]))\n"
)


def test_a_variable_only_tensorflow_reads_needs_tf_keras(tmp_path):
    """A bfloat16 variable (numpy has no such dtype) is left to tf_keras; without it, one line names the extra."""
    import tf_keras

    model = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(2, dtype="bfloat16")])
    model.save(str(tmp_path / "bf16"), save_format="tf")
    result = subprocess.run([sys.executable, "-c", _WITHOUT_TF_KERAS, "--input_format=keras_saved_model", str(tmp_path / "bf16"), str(tmp_path / "out")],
                            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "DT_BFLOAT16" in lines[0] and "pip install tensorflowjs[tensorflow]" in lines[0]
    assert not os.path.exists(tmp_path / "out")
