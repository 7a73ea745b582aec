"""Einsum lowered to Transpose / Reshape / BatchMatMulV2 (rewrites/lower_einsum.py).

Each equation runs in TF before and after the rewrite, with its operands as graph inputs of
partly unknown shape, behind a Relu (so no size is known until run time), and with the second
operand a constant (as in Keras's EinsumDense and MultiHeadAttention projections). A converted
SavedModel then runs in TF.js on WASM, which has no Einsum kernel.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from optimize_testing import assert_same_outputs, freeze, op_counts  # noqa: E402
from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model  # noqa: E402
from tensorflowjs.graph.optimize import optimize_without_tensorflow  # noqa: E402
from tfjs_e2e import assert_tfjs_matches  # noqa: E402

RNG = np.random.default_rng(5)

# (equation, first operand's shape, second operand's shape): Keras's attention and dense
# equations, then matmul variants, outer products, contractions over several labels, labels
# summed away in one operand, and a scalar result.
EQUATIONS = [
    ("abc,cde->abde", (2, 5, 4), (4, 3, 6)),
    ("aecd,abcd->acbe", (2, 5, 3, 4), (2, 7, 3, 4)),
    ("acbe,aecd->abcd", (2, 3, 7, 5), (2, 5, 3, 4)),
    ("abcd,cde->abe", (2, 7, 3, 4), (3, 4, 6)),
    ("ab,bc->ac", (3, 4), (4, 5)),
    ("ij,jk->ki", (3, 4), (4, 5)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    ("ij,kl->ijkl", (2, 3), (4, 5)),
    ("abc,abd->cd", (2, 3, 4), (2, 3, 5)),
    ("abc,bd->ad", (2, 3, 4), (3, 5)),
    ("ab,ab->a", (3, 4), (3, 4)),
    ("ab,cb->", (3, 4), (2, 4)),
]


def _lowered(fn, specs, values):
    graph_def, inputs, outputs = freeze(fn, *specs)
    before = type(graph_def)()
    before.CopyFrom(graph_def)
    after = optimize_without_tensorflow(graph_def, inputs, outputs)
    assert_same_outputs(before, after, inputs, outputs, values, atol=1e-5, rtol=1e-5)
    return op_counts(after)


def _spec(shape):
    return tf.TensorSpec([None] + list(shape[1:]), tf.float32)


@pytest.mark.parametrize("equation, shape_a, shape_b", EQUATIONS, ids=[e[0] for e in EQUATIONS])
@pytest.mark.parametrize("second", ["input", "input behind relu", "constant"])
def test_einsum_lowers_to_ops_every_backend_runs(equation, shape_a, shape_b, second):
    a = RNG.normal(size=shape_a).astype(np.float32)
    b = RNG.normal(size=shape_b).astype(np.float32)
    if second == "constant":
        b_const = tf.constant(b)
        counts = _lowered(lambda x: tf.einsum(equation, tf.nn.relu(x), b_const), [_spec(shape_a)], [a])
    else:
        wrap = tf.nn.relu if second == "input behind relu" else tf.identity
        b_spec = _spec(shape_b) if shape_a[0] == shape_b[0] else tf.TensorSpec(shape_b, tf.float32)
        counts = _lowered(lambda x, y: tf.einsum(equation, wrap(x), wrap(y)), [_spec(shape_a), b_spec], [a, b])
    assert "Einsum" not in counts and counts.get("BatchMatMulV2") == 1, counts


@pytest.mark.parametrize("equation, shapes", [("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("ii->i", [(3, 3)]), ("iij,jk->ik", [(3, 3, 4), (4, 5)])])
def test_equations_it_does_not_handle_stay_einsum(equation, shapes):
    values = [RNG.normal(size=s).astype(np.float32) for s in shapes]
    specs = [tf.TensorSpec(s, tf.float32) for s in shapes]
    counts = _lowered(lambda *xs: tf.einsum(equation, *xs), specs, values)
    assert counts.get("Einsum") == 1, counts


class Attention(tf.Module):
    def __init__(self):
        super().__init__()
        self.query = tf.Variable(RNG.normal(size=(16, 2, 8)).astype(np.float32))
        self.out = tf.Variable(RNG.normal(size=(2, 8, 16)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, None, 16], tf.float32, name="x")])
    def serve(self, x):
        q = tf.einsum("abc,cde->abde", x, self.query)
        scores = tf.nn.softmax(tf.einsum("aecd,abcd->acbe", q, q) / 4.0)
        context = tf.einsum("acbe,aecd->abcd", scores, q)
        return {"y": tf.einsum("abcd,cde->abe", context, self.out)}


def test_attention_runs_on_wasm(tmp_path):
    module = Attention()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures=module.serve)
    convert_tf_saved_model(str(tmp_path / "saved"), str(tmp_path / "tfjs"))
    x = RNG.normal(size=(2, 5, 16)).astype(np.float32)
    assert_tfjs_matches(str(tmp_path / "tfjs"), {"x": x}, [module.serve(x)["y"].numpy()], atol=1e-4, rtol=1e-4)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
