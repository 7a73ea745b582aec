"""A SavedModel that is nothing but large variables: x @ w1 @ w2 @ ... (a tf.Module).

Used by the scale benchmark and by the streaming test: converting it must not cost memory in
proportion to its size. Weights are scaled by 1/sqrt(size) so the product stays near unit scale.
"""

import os
from typing import Tuple

import numpy as np


def build(path: str, count: int, size: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Saves a SavedModel of `count` float32 size x size variables at `path`; returns an input
    (shape [1, size]) and TensorFlow's output for it."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    class Chain(tf.Module):
        def __init__(self):
            super().__init__()
            self.weights = [tf.Variable(rng.standard_normal((size, size), dtype=np.float32) / np.float32(np.sqrt(size)), name=f"w{i}")
                            for i in range(count)]

        @tf.function(input_signature=[tf.TensorSpec([None, size], tf.float32, name="x")])
        def serve(self, x):
            for w in self.weights:
                x = tf.matmul(x, w)
            return {"y": x}

    module = Chain()
    tf.saved_model.save(module, path, signatures=module.serve)
    x = rng.standard_normal((1, size), dtype=np.float32)
    return x, module.serve(tf.constant(x))["y"].numpy()


def variables_bytes(path: str) -> int:
    """Bytes of the SavedModel's variable data shards."""
    directory = os.path.join(path, "variables")
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory) if ".data-" in f)
