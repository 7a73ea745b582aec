"""The wheel in a fresh virtualenv with only its core dependencies (numpy, h5py, protobuf, tqdm):
every TensorFlow-free path converts (layers models to .h5 and .keras included), and a path that
needs an extra says which in one line."""

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import make_mlp  # noqa: E402
from wheel_testing import core_virtualenv, wheel_requirements  # noqa: E402


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    python = core_virtualenv(str(tmp_path_factory.mktemp("venv")))
    return os.path.dirname(python)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """An .h5 and a .keras (Keras 3), a tf.Module SavedModel, a TF1 SavedModel, a frozen GraphDef, a
    tf_keras SavedModel and a TF.js layers model, built here with this interpreter's TensorFlow."""
    import keras
    import tensorflow as tf
    import tf_keras

    root = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(3)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    model.save(root / "model.h5")
    model.save(root / "model.keras")

    module = tf.Module()
    module.w = tf.Variable(rng.normal(size=(5, 3)).astype(np.float32))
    module.f = tf.function(lambda x: {"y": tf.nn.relu(tf.matmul(x, module.w))}, input_signature=[tf.TensorSpec([None, 5], tf.float32)])
    tf.saved_model.save(module, str(root / "saved_model"), signatures=module.f)

    frozen = tf.function(lambda x: tf.nn.softmax(tf.matmul(x, tf.constant(rng.normal(size=(5, 3)).astype(np.float32))), name="probs"))
    graph_def = frozen.get_concrete_function(tf.TensorSpec([None, 5], tf.float32, name="x")).graph.as_graph_def()
    (root / "frozen.pb").write_bytes(graph_def.SerializeToString())

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:  # a TF1 SavedModel with a variable and a hash table
        x = tf.compat.v1.placeholder(tf.float32, [None, 5], name="x")
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        w = tf.compat.v1.get_variable("w", initializer=rng.normal(size=(5, 2)).astype(np.float32))
        table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(["cat", "dog"], tf.constant([4, 9], tf.int64)), -1)
        session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
        builder = tf.compat.v1.saved_model.Builder(str(root / "tf1_saved_model"))
        signature = tf.compat.v1.saved_model.predict_signature_def({"x": x, "words": words}, {"y": tf.matmul(x, w), "ids": table.lookup(words)})
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature},
                                             main_op=tf.compat.v1.tables_initializer())
        builder.save()

    legacy = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(5,))])
    legacy.save(str(root / "keras_saved_model"), save_format="tf")

    make_mlp.write(str(root / "layers_model"))
    return root


def _convert(venv, *args):
    return subprocess.run([os.path.join(venv, "tensorflowjs_converter"), *map(str, args)], capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.dirname(venv)}, timeout=300)


def test_core_requirements_are_ranges_and_cover_the_tensorflow_free_imports():
    requirements = {r.name: r for r in wheel_requirements()}
    assert set(requirements) == {"numpy", "h5py", "protobuf", "tqdm"}
    assert all(r.specifier and all(s.operator == ">=" for s in r.specifier) for r in requirements.values())


def test_the_virtualenv_has_no_tensorflow_keras_or_jax(venv):
    code = "import importlib.util as u; print([m for m in ('tensorflow', 'tf_keras', 'keras', 'jax', 'questionary') if u.find_spec(m)])"
    result = subprocess.run([os.path.join(venv, "python"), "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("source, flags, output_format", [
    ("model.h5", [], "layers-model"),
    ("model.keras", [], "layers-model"),
    ("keras_saved_model", ["--input_format=keras_saved_model"], "layers-model"),
    ("saved_model", [], "graph-model"),
    ("tf1_saved_model", [], "graph-model"),
    ("frozen.pb", ["--input_format=tf_frozen_model", "--output_node_names=probs"], "graph-model"),
    ("layers_model/model.json", ["--output_format=tfjs_layers_model", "--quantize_uint8"], "layers-model"),
])
def test_tensorflow_free_paths_convert(venv, models, tmp_path, source, flags, output_format):
    result = _convert(venv, *flags, models / source, tmp_path / "out")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    model = json.load(open(tmp_path / "out" / "model.json"))
    assert model["format"] == output_format and model["weightsManifest"][0]["weights"]


@pytest.mark.parametrize("output_format, file_name", [("keras", "model.h5"), ("keras_keras", "model.keras")])
def test_layers_model_converts_to_keras_files(venv, models, tmp_path, output_format, file_name):
    """Written without Keras; this interpreter's Keras 3 loads the file and predicts what the model computes."""
    import keras

    result = _convert(venv, f"--output_format={output_format}", models / "layers_model" / "model.json", tmp_path / file_name)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    model = keras.saving.load_model(str(tmp_path / file_name), compile=False)
    x = np.random.default_rng(4).normal(size=(3, make_mlp.INPUT_DIM)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), make_mlp.predict(make_mlp.weights(), x), atol=1e-5)


@pytest.mark.parametrize("source, flags", [
    ("model.h5", ["--output_format=tfjs_graph_model"]),  # Keras -> graph model traces with TensorFlow
    ("layers_model/model.json", ["--output_format=keras_saved_model"]),  # only tf_keras writes a SavedModel
])
def test_tensorflow_paths_name_the_extra_in_one_line(venv, models, tmp_path, source, flags):
    result = _convert(venv, *flags, models / source, tmp_path / "out")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install tensorflowjs[tensorflow]" in lines[0], result.stderr
    assert "No module named" not in result.stderr and not os.path.exists(tmp_path / "out")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
