"""unroll_loops on lowered tf.functions, checked in TensorFlow itself: the trip count bound is
exact, a loop that never runs gives its initial values, and a loop whose stop depends on data is
left alone. (test_loops.py checks converted models in TF.js.)"""

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tensorflowjs.graph import freeze, optimize, rewrites  # noqa: E402
from tensorflowjs.graph.rewrites import unroll_loops  # noqa: E402

X = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)


def run(graph_def, inputs, outputs):
    """graph_def run in TensorFlow on X."""
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run([f"{name}:0" for name in outputs], {f"{inputs[0]}:0": X})


def unrolled(fn):
    """(the lowered graph, the graph after the loop rewrites, the notices given), after checking
    TensorFlow computes the same with both."""
    concrete = tf.function(fn).get_concrete_function(tf.TensorSpec([2, 3], tf.float32))
    graph_def = freeze.freeze_function(concrete)
    inputs = [t.name.split(":")[0] for t in concrete.inputs]
    outputs = [t.name.split(":")[0] for t in concrete.outputs]
    folded = optimize.run_grappler(graph_def, inputs, outputs, ["constfold"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rewrites.apply_rewrites(folded, rewrites.LOOPS, [*inputs, *outputs])
    for want, got in zip(run(graph_def, inputs, outputs), run(folded, inputs, outputs)):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    return graph_def, folded, [str(w.message) for w in caught if issubclass(w.category, unroll_loops.LoopUnrollWarning)]


def frames(graph_def):
    return {node.attr["frame_name"].s for node in graph_def.node if node.op == "Enter"}


def test_a_loop_of_max_iterations_is_unrolled_and_one_of_one_more_is_kept():
    bound = unroll_loops.MAX_ITERATIONS

    def fn(x):
        _, at_bound = tf.while_loop(lambda i, y: i < bound, lambda i, y: (i + 1, y * 0.99 + 0.01), (0, x))
        _, over = tf.while_loop(lambda i, y: i < bound + 1, lambda i, y: (i + 1, y * 0.99 - 0.01), (0, x))
        return at_bound, over

    before, after, notices = unrolled(fn)
    assert len(frames(before)) == 2 and len(frames(after)) == 1
    assert len(notices) == 2 and f"({bound} iterations)" in notices[0] and "kept 1 while loop(s)" in notices[1], notices


def test_a_loop_that_never_runs_gives_its_initial_values():
    def fn(x):
        _, y = tf.while_loop(lambda i, y: i < 0, lambda i, y: (i + 1, y * 2.0), (0, x))
        return y + 1.0

    _, after, notices = unrolled(fn)
    assert not frames(after) and "(0 iterations)" in notices[0]
    assert not {"Merge", "Switch", "NextIteration", "LoopCond", "Exit"} & {node.op for node in after.node}


def test_a_loop_whose_stop_depends_on_data_is_kept_without_a_notice():
    def fn(x):
        _, y = tf.while_loop(lambda i, y: tf.reduce_max(y) < 10.0, lambda i, y: (i + 1, y * 2.0 + 1.0), (0, tf.abs(x)))
        return y

    before, after, notices = unrolled(fn)
    assert frames(after) == frames(before) and len(frames(after)) == 1 and not notices


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
