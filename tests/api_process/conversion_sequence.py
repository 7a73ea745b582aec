"""The Python API's conversions one after another in ONE process, as a script or notebook
calls them; run as a child process by test_conversions_in_one_process.py, so that an abort
inside TensorFlow's C++ shows up as a failed test instead of ending the test runner.

After each call TensorFlow's and Keras's global state must be what it was before (eager
mode, default graph and session, tf_keras's session and eager learning phase, floatx; a
tf_keras model built in the caller's own graph may add its learning phase to that graph, as
Keras always does there); the converted models and the inputs and predictions to check them against are listed in
`cases.pkl` in the work directory, for the test to run in TF.js.

usage: conversion_sequence.py WORK_DIR
"""

import os
import pickle
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

from tensorflowjs.converters import (  # noqa: E402
    convert_keras_model_to_graph_model,
    convert_tf_frozen_model,
    convert_tf_hub_module,
    convert_tf_saved_model,
    load_keras_model,
    save_keras_model,
)
from testing.tf1_models import table_saved_model  # noqa: E402

RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 4)).astype(np.float32)
W = RNG.normal(size=(4, 2)).astype(np.float32)
WORDS = np.array(["cat", "yak", "dog"], dtype=object)
# tensorflow_hub's ModuleDef with format 3, what marks a TF1 hub module directory.
HUB_MODULE_DEF = b"\x08\x03"


def global_state():
    """What a library call must leave as it found it."""
    import keras
    from tf_keras.src import backend

    return {
        "executing_eagerly": tf.executing_eagerly(),
        "default_graph": tf.compat.v1.get_default_graph(),
        "default_session": tf.compat.v1.get_default_session(),
        "functions_run_eagerly": tf.config.functions_run_eagerly(),
        "tf_keras_session": getattr(backend._SESSION, "session", None),
        "tf_keras_learning_phase_set": backend._DUMMY_EAGER_GRAPH.learning_phase_is_set,
        "floatx": (tf_keras.backend.floatx(), keras.config.floatx()),
        "image_data_format": (tf_keras.backend.image_data_format(), keras.config.image_data_format()),
    }


def call(name, function, *args, **kwargs):
    before = global_state()
    result = function(*args, **kwargs)
    after = global_state()
    changed = {key: (before[key], after[key]) for key in before if before[key] is not after[key] and before[key] != after[key]}
    if changed:
        raise AssertionError(f"{name} changed TensorFlow's global state: {changed}")
    print(f"survived: {name}", flush=True)
    return result


class Loop(tf.Module):
    """Control flow: a TF2 SavedModel whose While and If are lowered without TensorFlow
    (Keras -> graph above goes through TensorFlow's freezing and Grappler)."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(W)

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        y = tf.matmul(x, self.w)
        y = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 0.5 + 1.0), (tf.constant(0), y))[1]
        return {"y": tf.cond(tf.reduce_sum(y) > 0, lambda: y, lambda: -y)}


def frozen_graph(path):
    """A frozen GraphDef with a Const weight, as TF1 tools write one."""
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        tf.nn.tanh(tf.matmul(x, tf.constant(W)), name="probs")
    with open(path, "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())


def keras_model():
    layers = tf_keras.layers
    model = tf_keras.Sequential([tf_keras.Input((4,)), layers.Dense(5, activation="relu", name="block/dense"), layers.BatchNormalization(name="bn"), layers.Dense(2, name="out")])
    model.set_weights([RNG.normal(0.2, 0.5, w.shape).astype(np.float32) + (0.5 if i == 5 else 0.0) for i, w in enumerate(model.get_weights())])
    return model


def main(work):
    cases = {}
    model = keras_model()
    keras_expected = model.predict(X, verbose=0)

    call("save_keras_model", save_keras_model, model, f"{work}/layers")
    cases["layers"] = (f"{work}/layers", X, [keras_expected])
    loaded = call("load_keras_model (eager)", load_keras_model, f"{work}/layers/model.json")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), keras_expected, atol=1e-5, rtol=1e-5)

    call("convert_keras_model_to_graph_model", convert_keras_model_to_graph_model, model, f"{work}/keras_graph")
    cases["keras_graph"] = (f"{work}/keras_graph", X, [keras_expected])

    loop = Loop()
    tf.saved_model.save(loop, f"{work}/loop_saved_model", signatures={"serving_default": loop.serve})
    call("convert_tf_saved_model (TF2, control flow)", convert_tf_saved_model, f"{work}/loop_saved_model", f"{work}/loop")
    cases["loop"] = (f"{work}/loop", {"x": X}, [loop.serve(tf.constant(X))["y"].numpy()])

    tables_expected = [np.array([4, -1, 9]), np.maximum(X @ W, 0)]
    table_saved_model(f"{work}/tf1_saved_model", ["serve"], "serving_default", W)
    call("convert_tf_saved_model (TF1, hash table)", convert_tf_saved_model, f"{work}/tf1_saved_model", f"{work}/tf1")
    cases["tf1"] = (f"{work}/tf1", {"x": X, "words": WORDS}, tables_expected)

    table_saved_model(f"{work}/tf1_cast_saved_model", ["serve"], "serving_default", W, cast_input=True)
    call("convert_tf_saved_model (TF1, hash table, Cast input)", convert_tf_saved_model, f"{work}/tf1_cast_saved_model", f"{work}/tf1_cast")
    cases["tf1_cast"] = (f"{work}/tf1_cast", {"x": X, "words": WORDS}, tables_expected)

    frozen_graph(f"{work}/frozen.pb")
    call("convert_tf_frozen_model", convert_tf_frozen_model, f"{work}/frozen.pb", "probs", f"{work}/frozen")
    cases["frozen"] = (f"{work}/frozen", X, [np.tanh(X @ W)])

    table_saved_model(f"{work}/hub_module", [], "default", W)
    with open(f"{work}/hub_module/tfhub_module.pb", "wb") as f:
        f.write(HUB_MODULE_DEF)
    call("convert_tf_hub_module (TF1 hub format)", convert_tf_hub_module, f"{work}/hub_module", f"{work}/hub")
    cases["hub"] = (f"{work}/hub", {"x": X, "words": WORDS}, tables_expected)

    with tf.Graph().as_default(), tf.compat.v1.Session():
        loaded = call("load_keras_model (graph and v1 Session)", load_keras_model, f"{work}/layers/model.json")
        np.testing.assert_allclose(loaded.predict(X, verbose=0), keras_expected, atol=1e-5, rtol=1e-5)
    loaded = call("load_keras_model (eager, after everything)", load_keras_model, f"{work}/layers/model.json")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), keras_expected, atol=1e-5, rtol=1e-5)

    with open(f"{work}/cases.pkl", "wb") as f:
        pickle.dump(cases, f)
    print("all conversions survived", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
