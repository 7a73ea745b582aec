"""While loops in graph models converted with default flags (control flow v1), run in real TF.js
(CPU and WASM) against TensorFlow and Keras: loops with a trip count known at conversion time are
unrolled into straight-line ops (TensorLists become Pack / GatherV2 / ConcatV2), the others stay
loops that TF.js runs."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import convert, model_json, ops  # noqa: E402
from tfjs_e2e import assert_tfjs_matches, run_tfjs  # noqa: E402

from tensorflowjs.graph.rewrites import unroll_loops  # noqa: E402

ATOL, RTOL = 1e-5, 1e-4
LIST_OPS = {"TensorListReserve", "TensorListFromTensor", "TensorListSetItem", "TensorListGetItem", "TensorListStack"}


class WhileLoops(tf.Module):
    """Loops of every kind in one signature. The variable read in each body makes TensorFlow order
    the lowered body after its Switch nodes with control edges, as in a Keras RNN."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable([1.5, -0.5, 2.0])

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"), tf.TensorSpec([], tf.int32, name="steps")])
    def serve(self, x, steps):
        _, counted = tf.while_loop(lambda i, acc: i < 5, lambda i, acc: (i + 1, acc * 0.5 + self.w), (tf.constant(0), x))

        def grow(i, rows):
            return i + 1, tf.concat([rows, x * self.w * tf.cast(i, tf.float32)], axis=0)

        _, rows = tf.while_loop(lambda i, rows: i < 4, grow, (tf.constant(0), tf.zeros([0, 3])),
                                shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, 3])))
        array = tf.TensorArray(tf.float32, size=3)
        for i in tf.range(3):
            array = array.write(i, tf.reduce_sum(x * self.w, axis=0) * tf.cast(i + 1, tf.float32))
        times, doubled = tf.while_loop(lambda n, y: tf.reduce_sum(tf.abs(y)) < 100.0,
                                       lambda n, y: (n + 1, y * 2.0 + self.w), (tf.constant(0), x))
        _, stepped = tf.while_loop(lambda i, y: i < steps, lambda i, y: (i + 1, y - self.w), (tf.constant(0), x))
        _, long = tf.while_loop(lambda i, s: i < unroll_loops.MAX_ITERATIONS + 1, lambda i, s: (i + 1, s + self.w[0]),
                                (tf.constant(0), tf.constant(0.0)))
        _, branched, halved = tf.while_loop(
            lambda i, y, s: i < 3,
            lambda i, y, s: (i + 1, tf.cond(tf.reduce_sum(y) > 0, lambda: y * self.w, lambda: y - 1.0),
                             tf.cond(s > 1.0, lambda: s * 0.5, lambda: tf.constant(3.0))),
            (tf.constant(0), x, tf.reduce_sum(x)))

        def outer(i, y):
            _, inner = tf.while_loop(lambda j, a: j < 2, lambda j, a: (j + 1, a * self.w + 1.0), (tf.constant(0), y))
            return i + 1, inner

        _, nested = tf.while_loop(lambda i, y: i < 3, outer, (tf.constant(0), x))
        _, nested_stepped = tf.while_loop(lambda i, y: i < steps, outer, (tf.constant(0), x))
        return {"counted": counted, "rows": rows, "stacked": array.stack(), "times": times, "doubled": doubled,
                "stepped": stepped, "long": long, "branched": branched, "halved": halved, "nested": nested,
                "nested_stepped": nested_stepped}


@pytest.fixture(scope="module")
def while_loops(tmp_path_factory):
    """The module and the directory holding its SavedModel."""
    module = WhileLoops()
    root = tmp_path_factory.mktemp("while_loops")
    tf.saved_model.save(module, str(root / "saved_model"), signatures=module.serve)
    return module, root


def _frames(model_dir):
    return {node["attr"]["frame_name"]["s"] for node in model_json(model_dir)["modelTopology"]["node"] if node["op"] == "Enter"}


def test_loops_with_a_constant_trip_count_are_unrolled_and_the_others_run_as_loops_in_tfjs(while_loops, tmp_path, capsys):
    module, root = while_loops
    assert convert(root / "saved_model", tmp_path / "out") == 0
    err = capsys.readouterr().err
    # counted, rows, stacked, branched (tf.conds in its body, one with a constant branch), nested
    # and its inner loop, and the inner loop of nested_stepped.
    assert "unrolled 7 while loop(s)" in err and "(5 iterations)" in err and "(4 iterations)" in err and "(2 iterations)" in err, err
    assert f"kept 1 while loop(s) with a known trip count as loops: over {unroll_loops.MAX_ITERATIONS} iterations" in err, err
    # Left as loops: the data-dependent one, the ones bounded by an input, the one over the bound.
    assert len(_frames(tmp_path / "out")) == 4
    assert not set(ops(tmp_path / "out")) & LIST_OPS
    keys = ["branched", "counted", "doubled", "halved", "long", "nested", "nested_stepped", "rows", "stacked", "stepped", "times"]
    x = np.random.default_rng(3).normal(size=(2, 3)).astype(np.float32)
    for steps in (0, 3):
        result = module.serve(x=x, steps=np.int32(steps))
        assert_tfjs_matches(str(tmp_path / "out"), {"x": x, "steps": np.array(steps, np.int32)},
                            [result[k].numpy() for k in keys], atol=ATOL, rtol=RTOL, output_names=keys)


class TensorArrays(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"), tf.TensorSpec([], tf.int32, name="steps")])
    def serve(self, x, steps):
        fixed = tf.TensorArray(tf.float32, size=4, element_shape=[None, 3])
        for i in tf.range(4):
            fixed = fixed.write(i, x + tf.cast(i, tf.float32))
        ragged = tf.TensorArray(tf.float32, size=3, infer_shape=False)
        for i in tf.range(3):
            ragged = ragged.write(i, tf.fill([i + 1], tf.reduce_sum(x)))
        grown = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(steps):
            grown = grown.write(i, x * tf.cast(i, tf.float32))
        ragged_grown = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)
        for i in tf.range(steps):
            ragged_grown = ragged_grown.write(i, tf.fill([i + 1], 2.0))
        return {"fixed": fixed.stack(), "read": fixed.read(2), "concat": ragged.concat(), "grown": grown.stack(),
                "concat_grown": ragged_grown.concat()}


def test_tensor_arrays_of_unrolled_loops_become_plain_ops_and_the_others_run_in_tfjs_except_concat(tmp_path):
    """TensorArray.concat is TensorListConcatV2, whose element shape TF.js 4.22 reads as an
    attribute where TensorFlow gives an input: it fails, unless its loop is unrolled (ConcatV2).
    If TF.js fixes it, this test says so."""
    module = TensorArrays()
    tf.saved_model.save(module, str(tmp_path / "saved_model"), signatures=module.serve)
    assert convert(tmp_path / "saved_model", tmp_path / "out") == 0
    found = ops(tmp_path / "out")
    assert found.count("TensorListConcatV2") == 1 and found.count("TensorListReserve") == 2  # the loops bounded by steps
    x = np.random.default_rng(9).normal(size=(2, 3)).astype(np.float32)
    feed = {"x": x, "steps": np.array(3, np.int32)}
    keys = ["concat", "fixed", "grown", "read"]
    result = module.serve(x=x, steps=np.int32(3))
    assert_tfjs_matches(str(tmp_path / "out"), feed, [result[k].numpy() for k in keys], atol=ATOL, rtol=RTOL, output_names=keys)
    for backend in ("cpu", "wasm"):
        with pytest.raises(AssertionError, match="reading 'some'"):
            run_tfjs(str(tmp_path / "out"), feed, backend, ["concat_grown"])


@pytest.fixture(scope="module")
def recurrent(tmp_path_factory):
    """A Keras 3 model with an LSTM, a GRU, a SimpleRNN and a Bidirectional LSTM over 8 steps."""
    import keras

    keras.utils.set_random_seed(4)
    inputs = keras.Input((8, 3), name="sequence")
    outputs = [
        keras.layers.LSTM(4, name="lstm")(inputs),
        keras.layers.GRU(4, name="gru")(inputs),
        keras.layers.SimpleRNN(4, name="simple_rnn")(inputs),
        keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), name="bidirectional")(inputs),
    ]
    model = keras.Model(inputs, outputs)
    path = tmp_path_factory.mktemp("recurrent") / "saved_model"
    model.export(str(path), format="tf_saved_model", verbose=False)
    return model, path


def test_keras3_recurrent_layers_with_a_fixed_length_run_unrolled_on_cpu_and_wasm(recurrent, tmp_path, capsys):
    model, path = recurrent
    assert convert(path, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "unrolled 5 while loop(s)" in err and err.count("(8 iterations)") == 5, err
    found = set(ops(tmp_path / "out"))
    assert not found & ({"Enter", "Merge", "Switch", "Exit", "NextIteration", "LoopCond", "While", "StatelessWhile"} | LIST_OPS)
    x = np.random.default_rng(6).normal(size=(2, 8, 3)).astype(np.float32)
    expected = [np.asarray(y) for y in model(x)]
    signature_outputs = model_json(tmp_path / "out")["signature"]["outputs"]
    assert len(signature_outputs) == len(expected)
    key = list(model_json(tmp_path / "out")["signature"]["inputs"])[0]
    # The signature's outputs are in key order (output_0, output_1, ...), the model's order.
    assert_tfjs_matches(str(tmp_path / "out"), {key: x}, expected, atol=ATOL, rtol=RTOL)


def test_keras3_masked_text_model_runs_unrolled_on_cpu_and_wasm(tmp_path, capsys):
    """Embedding(mask_zero=True) into a LSTM and a GRU: the mask is a second list the loops read."""
    import keras

    keras.utils.set_random_seed(5)
    ids = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    x = keras.layers.GRU(3)(keras.layers.LSTM(5, return_sequences=True)(x))
    model = keras.Model(ids, x)
    model.export(str(tmp_path / "text"), format="tf_saved_model", verbose=False)
    assert convert(tmp_path / "text", tmp_path / "out") == 0
    assert "unrolled 2 while loop(s)" in capsys.readouterr().err
    assert not set(ops(tmp_path / "out")) & ({"Enter"} | LIST_OPS)
    batch = np.array([[3, 5, 7, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]], np.int32)
    assert_tfjs_matches(str(tmp_path / "out"), [batch], [np.asarray(model(batch))], atol=ATOL, rtol=RTOL)


def test_keras3_recurrent_layers_over_the_node_budget_stay_loops_that_run_on_cpu_and_wasm(recurrent, tmp_path, capsys, monkeypatch):
    model, path = recurrent
    monkeypatch.setattr(unroll_loops, "NODE_BUDGET", 50)
    assert convert(path, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "unrolled" not in err and "kept 5 while loop(s) with a known trip count as loops" in err, err
    assert len(_frames(tmp_path / "out")) == 5
    x = np.random.default_rng(8).normal(size=(2, 8, 3)).astype(np.float32)
    key = list(model_json(tmp_path / "out")["signature"]["inputs"])[0]
    assert_tfjs_matches(str(tmp_path / "out"), {key: x}, [np.asarray(y) for y in model(x)], atol=ATOL, rtol=RTOL)


def test_keras3_lstm_with_a_dynamic_length_stays_a_loop_that_runs_on_cpu_and_wasm(tmp_path, capsys):
    import keras

    keras.utils.set_random_seed(7)
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, keras.layers.LSTM(4)(inputs))
    model.export(str(tmp_path / "lstm"), format="tf_saved_model", verbose=False)
    assert convert(tmp_path / "lstm", tmp_path / "out") == 0
    assert "unrolled" not in capsys.readouterr().err
    assert len(_frames(tmp_path / "out")) == 1
    key = list(model_json(tmp_path / "out")["signature"]["inputs"])[0]
    for length in (2, 5):
        x = np.random.default_rng(length).normal(size=(2, length, 3)).astype(np.float32)
        assert_tfjs_matches(str(tmp_path / "out"), {key: x}, [np.asarray(model(x))], atol=ATOL, rtol=RTOL)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
