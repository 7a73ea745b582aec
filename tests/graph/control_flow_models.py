"""SavedModels with control flow (tf.while_loop, tf.cond, TensorArrays, a Keras LSTM), each with
the inputs to check it on and TensorFlow's outputs for them."""

from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import tensorflow as tf

RNG = np.random.default_rng(21)
X = RNG.normal(size=(2, 3)).astype(np.float32)
SEQUENCE = RNG.normal(size=(2, 5, 3)).astype(np.float32)
X_SPEC = tf.TensorSpec([None, 3], tf.float32, name="x")
STEPS_SPEC = tf.TensorSpec([], tf.int32, name="steps")


class Loops(tf.Module):
    """One signature per kind of control flow; every body reads a variable, as a Keras layer does."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable([1.5, -0.5, 2.0])
        self.scale = tf.Variable(0.5)

    @tf.function(input_signature=[X_SPEC])
    def counter(self, x):
        _, y = tf.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y * self.scale + self.w), (tf.constant(0), x))
        return {"y": y}

    @tf.function(input_signature=[X_SPEC, STEPS_SPEC])
    def data_dependent(self, x, steps):
        times, doubled = tf.while_loop(lambda n, y: tf.reduce_sum(tf.abs(y)) < 100.0, lambda n, y: (n + 1, y * 2.0 + self.w), (tf.constant(0), x))
        _, stepped = tf.while_loop(lambda i, y: i < steps, lambda i, y: (i + 1, y - self.w), (tf.constant(0), x))
        return {"times": times, "doubled": doubled, "stepped": stepped}

    @tf.function(input_signature=[X_SPEC, STEPS_SPEC])
    def tensor_array(self, x, steps):
        fixed = tf.TensorArray(tf.float32, size=3)
        for i in tf.range(3):
            fixed = fixed.write(i, tf.reduce_sum(x * self.w, axis=0) * tf.cast(i + 1, tf.float32))
        grown = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(steps):
            grown = grown.write(i, x * self.w * tf.cast(i, tf.float32))
        return {"fixed": fixed.stack(), "grown": grown.stack()}

    @tf.function(input_signature=[X_SPEC, STEPS_SPEC])
    def nested(self, x, steps):
        def outer(i, y):
            _, inner = tf.while_loop(lambda j, a: j < 2, lambda j, a: (j + 1, a * self.w + 1.0), (tf.constant(0), y))
            return i + 1, inner

        _, fixed = tf.while_loop(lambda i, y: i < 3, outer, (tf.constant(0), x))
        _, stepped = tf.while_loop(lambda i, y: i < steps, outer, (tf.constant(0), x))
        return {"fixed": fixed, "stepped": stepped}

    @tf.function(input_signature=[X_SPEC])
    def cond(self, x):
        total = tf.reduce_sum(x)
        return {"branched": tf.cond(total > 0, lambda: x * self.w, lambda: x - 1.0),
                "constant": tf.cond(total > 0, lambda: total * 0.5, lambda: tf.constant(3.0)),
                "read": tf.cond(total < 0, lambda: self.w * 1.0, lambda: self.w + 0.0),
                "folded": tf.cond(total > 0, lambda: tf.constant(2.0) * 3.0, lambda: total)}

    @tf.function(input_signature=[X_SPEC, STEPS_SPEC])
    def loop_in_cond(self, x, steps):
        def looped():
            return tf.while_loop(lambda i, y: i < steps, lambda i, y: (i + 1, y * self.w), (tf.constant(0), x))[1]

        return {"y": tf.cond(tf.reduce_sum(x) > 0, looped, lambda: x - self.w)}

    @tf.function(input_signature=[X_SPEC, STEPS_SPEC])
    def cond_in_loop(self, x, steps):
        def body(i, y, s):
            return (i + 1, tf.cond(tf.reduce_sum(y) > 0, lambda: y * self.w, lambda: y - 1.0),
                    tf.cond(s > 1.0, lambda: s * 0.5, lambda: tf.constant(3.0)))

        _, fixed, halved = tf.while_loop(lambda i, y, s: i < 3, body, (tf.constant(0), x, tf.reduce_sum(x)))
        _, stepped, _ = tf.while_loop(lambda i, y, s: i < steps, body, (tf.constant(0), x, tf.reduce_sum(x)))
        return {"fixed": fixed, "halved": halved, "stepped": stepped}


    @tf.function(input_signature=[X_SPEC, STEPS_SPEC])
    def case(self, x, steps):
        """tf.switch_case; an index out of range takes the default (the last branch)."""
        return {"y": tf.switch_case(steps, [lambda: x * self.w, lambda: x - 1.0, lambda: tf.constant([[7.0, 8.0, 9.0]])],
                                    default=lambda: tf.while_loop(lambda i, y: i < steps, lambda i, y: (i + 1, y * self.scale), (0, x))[1])}


SIGNATURES = ["counter", "data_dependent", "tensor_array", "nested", "cond", "loop_in_cond", "cond_in_loop", "case"]
# The `steps` each signature is checked with (TensorFlow cannot stack an empty list of unknown shape).
STEPS = {"tensor_array": (3, 1, 4), "case": (0, 1, 2, 3, 5)}


@dataclass
class Model:
    """A SavedModel directory and the feeds to check it on, each with TensorFlow's outputs by key."""

    path: str
    signature: str
    feeds: List[Dict[str, np.ndarray]]
    expected: List[Dict[str, np.ndarray]]


def _numpy(result) -> Dict[str, np.ndarray]:
    return {key: np.asarray(value) for key, value in result.items()}


def save_loops(root: str) -> Dict[str, Model]:
    module = Loops()
    path = f"{root}/loops"
    tf.saved_model.save(module, path, signatures={name: getattr(module, name) for name in SIGNATURES})
    models = {}
    for name in SIGNATURES:
        function = getattr(module, name)
        takes_steps = len(function.input_signature) == 2
        xs = [X, -np.abs(X), np.abs(X)]
        feeds = [{"x": xs[i % 3], **({"steps": np.array(steps, np.int32)} if takes_steps else {})}
                 for i, steps in enumerate(STEPS.get(name, (3, 0, 4)))]
        models[name] = Model(path, name, feeds, [_numpy(function(**feed)) for feed in feeds])
    return models


def save_lstm(root: str, length) -> Model:
    """A Keras 3 LSTM (unroll=False: a while loop) exported as a SavedModel; length None: any length."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((length, 3), name="sequence")
    model = keras.Model(inputs, keras.layers.LSTM(4, unroll=False)(inputs))
    path = f"{root}/lstm_{length}"
    model.export(path, format="tf_saved_model", verbose=False)
    feeds = [SEQUENCE, SEQUENCE[:, :2]] if length is None else [SEQUENCE]
    return Model(path, "serving_default", [{"sequence": s} for s in feeds], [{"output_0": np.asarray(model(s))} for s in feeds])
