"""tensorflowjs_converter --verify: a good conversion prints the table and exits 0; a broken
one exits 3 and leaves the model in place; bad --verify flags fail before anything is written."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import make_mlp  # noqa: E402
from tensorflowjs import verify  # noqa: E402
from tensorflowjs.converters import converter  # noqa: E402
from tfjs_e2e import node_modules_dir  # noqa: E402

RNG = np.random.default_rng(3)
VOCABULARY = 5  # smaller than the 0..9 ids --verify would otherwise feed: Keras rejects ids out of range


@pytest.fixture(autouse=True)
def pinned_tfjs(monkeypatch):
    """The tests' npm ci'd TF.js, named the way a user names an existing install."""
    monkeypatch.setenv("TFJS_NODE_MODULES", node_modules_dir())


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """Two inputs (float features, int ids) and two outputs."""
    import tensorflow as tf

    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(RNG.normal(size=(6, 4)).astype(np.float32))
            self.table = tf.Variable(RNG.normal(size=(10, 4)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="features"), tf.TensorSpec([None, 3], tf.int32, name="ids")])
        def serve(self, features, ids):
            embedded = tf.reduce_sum(tf.gather(self.table, ids), axis=1)
            logits = tf.matmul(features, self.w) + embedded
            return {"logits": logits, "probs": tf.nn.softmax(logits)}

    model = Model()
    path = tmp_path_factory.mktemp("saved") / "saved_model"
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.serve})
    return path


@pytest.fixture(scope="module")
def keras_h5(tmp_path_factory):
    """A Keras 3 .h5 whose token input only accepts ids below VOCABULARY."""
    import keras

    tokens = keras.Input((4,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCABULARY, 8, name="embed")(tokens)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="tanh", name="head")(x)
    model = keras.Model(tokens, outputs)
    path = tmp_path_factory.mktemp("h5") / "model.h5"
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def layers_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlp")
    make_mlp.write(str(path))
    return path


def _table(out: str):
    """(output, backend, result) of each table row."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("output"))
    rows = [line.split() for line in lines[start + 1:] if line and not line.startswith(" ")]
    return [(row[0], row[1], row[-1]) for row in rows]


def test_saved_model_verifies_on_cpu_and_wasm(saved_model, tmp_path, capsys):
    assert converter.main(["--verify", str(saved_model), str(tmp_path / "web")]) == 0
    out, err = capsys.readouterr()
    assert "vs TensorFlow (signature serving_default)" in out
    assert sorted(_table(out)) == sorted((o, b, "ok") for o in ("logits", "probs") for b in ("cpu", "wasm"))
    assert "ok: TF.js matches" in err


def test_keras_h5_verifies_with_valid_token_ids(keras_h5, tmp_path, capsys):
    assert converter.main(["--verify", "--input_format=keras", str(keras_h5), str(tmp_path / "web")]) == 0
    out, _ = capsys.readouterr()
    assert "vs Keras 3." in out
    assert _table(out) == [("head", "cpu", "ok"), ("head", "wasm", "ok")]


@pytest.mark.parametrize("flags", [[], ["--quantize_uint8"]], ids=["float32", "uint8"])
def test_layers_model_verifies_against_the_input_model(layers_model, tmp_path, capsys, flags):
    code = converter.main(["--verify", "--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", *flags,
                           str(layers_model), str(tmp_path / "web")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "vs TF.js (the input layers model, cpu)" in out
    assert [result for _, _, result in _table(out)] == ["ok", "ok"]
    if flags:
        assert "uint8 weights" in out.splitlines()[0]


def _first_shard(model_dir: str) -> str:
    with open(os.path.join(model_dir, "model.json")) as f:
        return os.path.join(model_dir, json.load(f)["weightsManifest"][0]["paths"][0])


def test_perturbed_weight_exits_3_and_leaves_the_model(layers_model, tmp_path, capsys, monkeypatch):
    """A conversion that wrote one wrong weight (its shard is corrupted before verification)."""
    check_after = verify.run_after_cli

    def corrupt_then_check(plan, input_format, input_path, output_format, output_path, options):
        shard = _first_shard(output_path)
        data = np.fromfile(shard, dtype=np.float32)
        data[:4] += 10.0
        data.tofile(shard)
        check_after(plan, input_format, input_path, output_format, output_path, options)

    monkeypatch.setattr(verify, "run_after_cli", corrupt_then_check)
    web = tmp_path / "web"
    code = converter.main(["--verify", "--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", str(layers_model), str(web)])
    out, err = capsys.readouterr()
    assert code == verify.VERIFY_EXIT_CODE == 3
    assert {result for _, _, result in _table(out)} == {"FAIL"}
    assert "verify failed" in err and str(web) in err
    assert (web / "model.json").is_file()


def test_verify_inputs_npz_feeds_the_model(saved_model, tmp_path, capsys):
    npz = tmp_path / "inputs.npz"
    np.savez(npz, features=RNG.normal(size=(5, 6)).astype(np.float32), ids=np.full((5, 3), 9, np.int32))
    assert converter.main(["--verify", f"--verify_inputs={npz}", "--verify_backends=wasm", str(saved_model), str(tmp_path / "web")]) == 0
    out, _ = capsys.readouterr()
    assert f"on {npz}" in out
    assert sorted(_table(out)) == [("logits", "wasm", "ok"), ("probs", "wasm", "ok")]


def test_npz_with_other_names_fails_in_one_line_after_converting(saved_model, tmp_path, capsys):
    npz = tmp_path / "inputs.npz"
    np.savez(npz, x=np.zeros((1, 6), np.float32))
    web = tmp_path / "web"
    assert converter.main(["--verify", f"--verify_inputs={npz}", str(saved_model), str(web)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tensorflowjs_converter")]
    assert len(err) == 1 and "['features', 'ids']" in err[0] and str(web) in err[0]
    assert (web / "model.json").is_file()


@pytest.mark.parametrize("flags,words", [
    (["--output_format=keras"], "--output_format keras is not one"),
    (["--output_format=tfjs_layers_model", "--verify_backends=webgpu"], "webgpu"),
    (["--output_format=tfjs_layers_model", "--verify_inputs=nowhere.npz"], "nowhere.npz does not exist"),
])
def test_bad_verify_flags_fail_before_writing(layers_model, tmp_path, capsys, flags, words):
    out_path = tmp_path / "out"
    assert converter.main(["--verify", "--input_format=tfjs_layers_model", *flags, str(layers_model), str(out_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out_path.exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
