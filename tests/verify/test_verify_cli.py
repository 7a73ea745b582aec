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
from tensorflowjs.verify import sources  # noqa: E402
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


@pytest.mark.parametrize("model,flags", [
    ("layers_model", ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model"]),
    ("saved_model", ["--quantize_uint8"]),
], ids=["layers-float32", "graph-uint8"])
def test_perturbed_weight_exits_3_and_leaves_the_model(request, tmp_path, capsys, monkeypatch, model, flags):
    """A conversion that wrote wrong weights (bits of its first shard flipped before verification):
    caught even within uint8's looser tolerance."""
    check_after = verify.run_after_cli

    def corrupt_then_check(plan, input_format, input_path, output_format, output_path, options):
        shard = _first_shard(output_path)
        data = np.fromfile(shard, dtype=np.uint8)
        data[:16] = ~data[:16]
        data.tofile(shard)
        check_after(plan, input_format, input_path, output_format, output_path, options)

    monkeypatch.setattr(verify, "run_after_cli", corrupt_then_check)
    web = tmp_path / "web"
    code = converter.main(["--verify", *flags, str(request.getfixturevalue(model)), str(web)])
    out, err = capsys.readouterr()
    assert code == verify.VERIFY_EXIT_CODE == 3
    assert "FAIL" in {result for _, _, result in _table(out)}
    assert "verify failed" in err and str(web) in err
    assert (web / "model.json").is_file()


def test_source_that_cannot_run_is_one_line_and_exit_0(layers_model, tmp_path, capsys, monkeypatch):
    def broken(*args):
        return sources.Source("broken", lambda inputs, runtime: (_ for _ in ()).throw(ValueError("no such op\ndetails")))

    monkeypatch.setattr(sources, "for_input", broken)
    web = tmp_path / "web"
    assert converter.main(["--verify", "--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", str(layers_model), str(web)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "broken fails on generated inputs (seed 0) (no such op)" in err
    assert (web / "model.json").is_file()


def test_tfjs_failing_on_a_backend_exits_3(tmp_path, capsys):
    """WASM has no complex64 kernels: the model runs on CPU only, and --verify says so."""
    import tensorflow as tf

    class Complex(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            c = tf.complex(x, 2.0 * x)
            return {"y": tf.math.real(c * c)}

    module = Complex()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures={"serving_default": module.serve})
    assert converter.main(["--verify", str(tmp_path / "saved"), str(tmp_path / "web")]) == 3
    out, err = capsys.readouterr()
    assert _table(out) == [("y", "cpu", "ok"), ("y", "wasm", "FAIL")]
    assert "Kernel 'Complex' not registered for backend 'wasm'" in out
    assert "1 of 2 checks failed (y on wasm)" in err


@pytest.fixture(scope="module")
def other_sources(tmp_path_factory):
    """A frozen GraphDef, a two-input two-output .keras and a tf_keras SavedModel."""
    import keras
    import tensorflow as tf
    import tf_keras

    root = tmp_path_factory.mktemp("sources")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        tf.identity(tf.nn.relu(tf.matmul(x, tf.constant(RNG.normal(size=(3, 2)).astype(np.float32)))), name="y")
    (root / "frozen.pb").write_bytes(graph.as_graph_def().SerializeToString())
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    joined = keras.layers.Concatenate()([keras.layers.Dense(5, name="da")(a), b])
    two = keras.Model([a, b], [keras.layers.Dense(2, name="o1")(joined), keras.layers.Dense(1, activation="sigmoid", name="o2")(joined)])
    two.save(str(root / "two.keras"))
    sequential = tf_keras.Sequential([tf_keras.Input((6,)), tf_keras.layers.Dense(4, activation="relu"), tf_keras.layers.Dense(2)])
    sequential.save(str(root / "keras_saved_model"), save_format="tf")

    class Lookup(tf.Module):
        """String input, hash table, int64 and float outputs; a TF2 hub module's "default" signature."""

        def __init__(self):
            super().__init__()
            self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(["1", "2", "3"], tf.constant([10, 20, 30], tf.int64)), -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def serve(self, words):
            ids = self.table.lookup(words)
            return {"ids": ids, "half": tf.cast(ids, tf.float32) * 0.5}

    lookup = Lookup()
    tf.saved_model.save(lookup, str(root / "hub"), signatures={"default": lookup.serve})
    return root


@pytest.mark.parametrize("name,flags,source,outputs", [
    ("frozen.pb", ["--input_format=tf_frozen_model", "--output_node_names=y"], "TensorFlow (frozen graph)", ["y"]),
    ("two.keras", ["--output_format=tfjs_graph_model"], "Keras 3.", ["o1", "o2"]),
    ("two.keras", [], "Keras 3.", ["o1", "o2"]),
    ("keras_saved_model", ["--input_format=keras_saved_model"], "tf_keras", ["dense_1"]),
    ("keras_saved_model", ["--input_format=keras_saved_model", "--output_format=tfjs_graph_model"], "TensorFlow (signature serving_default)", ["dense_1"]),
    ("hub", ["--input_format=tf_hub"], "TensorFlow (signature default)", ["half", "ids"]),
])
def test_every_source_kind_verifies(other_sources, tmp_path, capsys, name, flags, source, outputs):
    assert converter.main(["--verify", *flags, str(other_sources / name), str(tmp_path / "web")]) == 0
    out, _ = capsys.readouterr()
    assert f"vs {source}" in out
    assert sorted(_table(out)) == sorted((o, b, "ok") for o in outputs for b in ("cpu", "wasm"))


def test_layers_model_to_graph_model_verifies(layers_model, tmp_path, capsys):
    assert converter.main(["--verify", "--input_format=tfjs_layers_model", "--output_format=tfjs_graph_model", str(layers_model), str(tmp_path / "web")]) == 0
    out, _ = capsys.readouterr()
    assert "vs TF.js (the input layers model, cpu)" in out
    assert [result for _, _, result in _table(out)] == ["ok", "ok"]


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
