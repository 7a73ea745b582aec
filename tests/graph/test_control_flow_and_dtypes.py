"""Control flow (v1 and v2), TensorArray, hash tables, strings and complex64 in graph models,
checked in real TF.js (CPU and WASM)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import ATOL, RTOL, convert, model_json, ops  # noqa: E402
from tfjs_e2e import assert_tfjs_matches, run_tfjs  # noqa: E402

X = np.random.default_rng(5).normal(size=(2, 3)).astype(np.float32)


class Loops(tf.Module):
    """tf.while_loop, tf.cond and a TensorArray in one signature."""

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"), tf.TensorSpec([], tf.int32, name="steps")])
    def serve(self, x, steps):
        _, looped = tf.while_loop(lambda i, acc: i < steps, lambda i, acc: (i + 1, acc * 0.5 + 1.0), (tf.constant(0), x))
        branched = tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)
        array = tf.TensorArray(tf.float32, size=3)
        for_rows = tf.range(3)
        for i in for_rows:
            array = array.write(i, tf.reduce_sum(x, axis=0) * tf.cast(i, tf.float32))
        return {"looped": looped, "branched": branched, "stacked": array.stack()}


@pytest.fixture(scope="module")
def loops(tmp_path_factory):
    module = Loops()
    path = tmp_path_factory.mktemp("loops") / "saved_model"
    tf.saved_model.save(module, str(path), signatures=module.serve)
    return module, path


def _check_loops(module, model_dir, keys):
    for x in (X, -np.abs(X)):
        steps = np.array(3, np.int32)
        result = module.serve(x=x, steps=steps)
        assert_tfjs_matches(str(model_dir), {"x": x, "steps": steps}, [result[k].numpy() for k in keys], atol=ATOL, rtol=RTOL, output_names=keys)


def test_control_flow_v1_runs_while_cond_and_tensor_array_in_tfjs(loops, tmp_path):
    module, path = loops
    assert convert(path, tmp_path / "out") == 0
    found = set(ops(tmp_path / "out"))
    assert {"Enter", "Exit", "Merge", "Switch"} <= found and not found & {"While", "StatelessWhile", "If", "StatelessIf"}
    # The TensorArray's loop runs 3 times whatever the input: unrolled, its list is a Pack.
    assert not found & {"TensorListReserve", "TensorListSetItem", "TensorListStack"}
    assert not model_json(tmp_path / "out")["modelTopology"].get("library", {}).get("function")
    _check_loops(module, tmp_path / "out", ["branched", "looped", "stacked"])


def test_control_flow_v2_keeps_while_and_if_functions_that_run_in_tfjs(loops, tmp_path):
    module, path = loops
    assert convert(path, tmp_path / "out", "--control_flow_v2") == 0
    found = set(ops(tmp_path / "out"))
    assert found & {"While", "StatelessWhile"} and found & {"If", "StatelessIf"}
    assert model_json(tmp_path / "out")["modelTopology"]["library"]["function"]
    _check_loops(module, tmp_path / "out", ["branched", "looped"])


def test_control_flow_v2_tensor_array_in_a_loop_fails_in_tfjs_4_22(loops, tmp_path):
    """A known TF.js 4.22 limitation: a TensorList written inside a While function loses its
    tensors (they are disposed with the loop body's intermediates). The default, control
    flow v1, runs it (test above); if TF.js fixes this, this test says so."""
    module, path = loops
    assert convert(path, tmp_path / "out", "--control_flow_v2") == 0
    with pytest.raises(AssertionError, match="Cannot read properties of undefined"):
        run_tfjs(str(tmp_path / "out"), {"x": X, "steps": np.array(3, np.int32)}, "cpu", ["stacked"])


def test_keras3_lstm_runs_unrolled_by_default_and_as_control_flow_v2(tmp_path):
    """With default flags the LSTM's loop (fixed length) is unrolled and runs on CPU and WASM
    (test_loops.py covers the other recurrent layers). With control flow v2 the While is kept;
    converted without TensorFlow, its functions' identities resolved, it runs on WASM too, where
    TensorFlow's path's output (and the public converter's) loses the loop's TensorList on WASM
    (test_control_flow_without_tensorflow.py pins that)."""
    import keras

    inputs = keras.Input((5, 3))
    model = keras.Model(inputs, keras.layers.LSTM(4)(inputs))
    model.export(str(tmp_path / "lstm"), format="tf_saved_model", verbose=False)
    x = np.random.default_rng(2).uniform(size=(2, 5, 3)).astype(np.float32)
    assert convert(tmp_path / "lstm", tmp_path / "v1") == 0
    assert not set(ops(tmp_path / "v1")) & {"Enter", "While", "StatelessWhile", "TensorListGetItem", "TensorListStack"}
    key = list(model_json(tmp_path / "v1")["signature"]["inputs"])[0]
    assert_tfjs_matches(str(tmp_path / "v1"), {key: x}, [model(x).numpy()], atol=ATOL, rtol=RTOL)
    assert convert(tmp_path / "lstm", tmp_path / "v2", "--control_flow_v2") == 0
    assert_tfjs_matches(str(tmp_path / "v2"), {key: x}, [model(x).numpy()], atol=ATOL, rtol=RTOL)


class ConstantBranch(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="s")])
    def serve(self, s):
        return {"picked": tf.cond(s > 1.0, lambda: s * 0.5, lambda: tf.constant(3.0))}


def test_tf_cond_with_a_constant_branch_returns_the_taken_branch_in_tfjs(tmp_path):
    """TF.js holds a Const as a weight, available from the start, and its Merge outputs the first
    input it finds: without place_branch_constants the constant came out for both predicates."""
    module = ConstantBranch()
    tf.saved_model.save(module, str(tmp_path / "saved_model"), signatures=module.serve)
    assert convert(tmp_path / "saved_model", tmp_path / "out") == 0
    for s in (0.5, 3.0):
        expected = module.serve(s=tf.constant(s))["picked"].numpy()
        assert_tfjs_matches(str(tmp_path / "out"), {"s": np.array(s, np.float32)}, [expected])


class Vocabulary(tf.Module):
    """A string input looked up string -> int64 in a StaticHashTable."""

    def __init__(self):
        super().__init__()
        initializer = tf.lookup.KeyValueTensorInitializer(["cat", "dog", "ému"], tf.constant([3, 5, 7], tf.int64))
        self.table = tf.lookup.StaticHashTable(initializer, default_value=-1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        return {"ids": self.table.lookup(words)}


def test_tf2_static_hash_table_and_strings_run_in_tfjs(tmp_path):
    module = Vocabulary()
    tf.saved_model.save(module, str(tmp_path / "vocab"), signatures=module.serve)
    assert convert(tmp_path / "vocab", tmp_path / "out") == 0
    model = model_json(tmp_path / "out")
    assert {n["op"] for n in model["modelInitializer"]["node"]} >= {"HashTableV2", "LookupTableImportV2"}
    resource_ids = [t["resourceId"] for t in model["signature"]["inputs"].values() if "resourceId" in t]
    assert resource_ids == [t["resourceId"] for t in model["initializerSignature"]["outputs"].values()]
    words = np.array(["dog", "ému", "yak"], dtype=object)
    result = module.serve(tf.constant(words))
    assert_tfjs_matches(str(tmp_path / "out"), {"words": words}, [result["ids"].numpy()])


def test_keras_string_lookup_on_a_matrix_of_words_runs_in_tfjs(tmp_path):
    """Keras 3's StringLookup, exported as a SavedModel and converted in memory; TF.js's lookup
    flattens its keys, so the converter reshapes the result back to the keys' shape."""
    import keras

    from tensorflowjs.converters import convert_keras_model_to_graph_model

    words = keras.Input((2,), dtype="string", name="words")
    model = keras.Model(words, keras.layers.StringLookup(vocabulary=["cat", "dog", "emu"], name="lookup")(words))
    batch = np.array([["dog", "yak"], ["emu", "cat"]], dtype=object)
    expected = np.asarray(model(tf.constant(batch)))
    model.export(str(tmp_path / "exported"), format="tf_saved_model")
    assert convert(tmp_path / "exported", tmp_path / "from_saved_model") == 0
    convert_keras_model_to_graph_model(model, str(tmp_path / "in_memory"))
    for converted in ("from_saved_model", "in_memory"):
        assert_tfjs_matches(str(tmp_path / converted), [batch], [expected])


class Complex(tf.Module):
    def __init__(self):
        super().__init__()
        self.scale = tf.constant(np.array([1 + 2j, -0.5j, 3], np.complex64))

    @tf.function(input_signature=[tf.TensorSpec([3], tf.float32, name="re"), tf.TensorSpec([3], tf.float32, name="im")])
    def serve(self, re, im):
        z = tf.complex(re, im) * self.scale + tf.complex(im, re)
        return {"real": tf.math.real(z), "imag": tf.math.imag(z)}


def test_complex64_weights_and_arithmetic_run_in_tfjs(tmp_path):
    module = Complex()
    tf.saved_model.save(module, str(tmp_path / "complex"), signatures=module.serve)
    assert convert(tmp_path / "complex", tmp_path / "out") == 0
    assert "complex64" in {w["dtype"] for w in model_json(tmp_path / "out")["weightsManifest"][0]["weights"]}
    re, im = X[0], X[1]
    result = module.serve(re=re, im=im)
    feed, keys = {"re": re, "im": im}, ["imag", "real"]
    assert_tfjs_matches(str(tmp_path / "out"), feed, [result[k].numpy() for k in keys], atol=ATOL, rtol=RTOL, output_names=keys, backends=("cpu",))
    # TF.js 4.22's WASM backend has no complex kernels at all: loading complex64 weights fails.
    with pytest.raises(AssertionError, match="Kernel 'Complex' not registered for backend 'wasm'"):
        run_tfjs(str(tmp_path / "out"), feed, "wasm", keys)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
