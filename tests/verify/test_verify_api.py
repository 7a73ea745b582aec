"""verify=True in the Python API: the same table, compared with the in-memory source (a
Keras model, a SavedModel, a JAX function); a mismatch raises VerificationError."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tensorflowjs import verify  # noqa: E402
from tensorflowjs.converters import convert_jax, convert_keras_model_to_graph_model, convert_tf_saved_model, save_keras_model  # noqa: E402
from tensorflowjs.converters import keras_h5_conversion  # noqa: E402
from tfjs_e2e import node_modules_dir  # noqa: E402


@pytest.fixture(autouse=True)
def pinned_tfjs(monkeypatch):
    monkeypatch.setenv("TFJS_NODE_MODULES", node_modules_dir())


@pytest.fixture(scope="module")
def keras_model():
    import keras

    inputs = keras.Input((5,), name="x")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))


def _results(out: str):
    rows = out.splitlines()[out.splitlines().index(next(line for line in out.splitlines() if line.startswith("output"))) + 1:]
    return [(row.split()[1], row.split()[-1]) for row in rows if row and not row.startswith(" ")]


def test_save_keras_model_verify(keras_model, tmp_path, capsys):
    save_keras_model(keras_model, str(tmp_path / "web"), quantization_dtype_map={"float16": "*"}, verify=True)
    out = capsys.readouterr().out
    assert "vs keras model" in out and "float16 weights" in out
    assert _results(out) == [("cpu", "ok"), ("wasm", "ok")]


def test_keras_model_to_graph_model_verify(keras_model, tmp_path, capsys):
    convert_keras_model_to_graph_model(keras_model, str(tmp_path / "web"), verify=True)
    assert _results(capsys.readouterr().out) == [("cpu", "ok"), ("wasm", "ok")]


def test_mismatch_raises_and_keeps_the_model(keras_model, tmp_path, capsys, monkeypatch):
    """The model changes between conversion and verification, as a broken conversion would look."""
    import keras

    check = verify.keras_model

    def changed_then_check(model_dir, model):
        other = keras.models.clone_model(model)
        other.set_weights([w + 0.5 for w in model.get_weights()])
        check(model_dir, other)

    monkeypatch.setattr(keras_h5_conversion.verification, "keras_model", changed_then_check)
    with pytest.raises(verify.VerificationError, match="checks failed"):
        save_keras_model(keras_model, str(tmp_path / "web"), verify=True)
    assert _results(capsys.readouterr().out) == [("cpu", "FAIL"), ("wasm", "FAIL")]
    assert (tmp_path / "web" / "model.json").is_file()


def test_without_node_the_api_says_one_line_and_returns(keras_model, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TFJS_NODE_MODULES")
    monkeypatch.setenv("PATH", str(tmp_path))
    save_keras_model(keras_model, str(tmp_path / "web"), verify=True)
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "Node.js >= 18 is not on PATH" in err
    assert (tmp_path / "web" / "model.json").is_file()


def test_convert_tf_saved_model_verify(tmp_path, capsys):
    import tensorflow as tf

    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.nn.sigmoid(tf.matmul(x, self.w))}

    module = Scale()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures={"serving_default": module.serve})
    convert_tf_saved_model(str(tmp_path / "saved"), str(tmp_path / "web"), quantization_dtype_map={"uint8": "*"}, verify=True)
    out = capsys.readouterr().out
    assert "vs TensorFlow (signature serving_default)" in out and "uint8 weights" in out
    assert _results(out) == [("cpu", "ok"), ("wasm", "ok")]


def test_convert_jax_verify(tmp_path, capsys):
    flax = pytest.importorskip("flax")
    import jax
    import jax.numpy as jnp

    module = flax.linen.Dense(features=3)
    params = module.init(jax.random.PRNGKey(0), jnp.ones((2, 4)))["params"]
    convert_jax(apply_fn=module.apply, params=params, input_signatures=[((None, 4), np.float32)], polymorphic_shapes=["(b, 4)"],
                model_dir=str(tmp_path / "web"), verify=True)
    out = capsys.readouterr().out
    assert "vs JAX" in out
    assert _results(out) == [("cpu", "ok"), ("wasm", "ok")]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
