"""Large SavedModel variables stay in their checkpoint: converting never holds the model in memory.

A variable of tensors.STORED_MIN_BYTES or more becomes a stored constant (graph/tensors.py):
rewrites read it memory-mapped, and write_weights streams it from the file into the shards chunk
by chunk. Pinned here: a converting process's peak RSS stays far below the model's size, the
streamed shards are the bytes writing from memory gives (quantized too), the model predicts in
TF.js what TensorFlow predicts, and a stored constant becomes a real one wherever it must.
"""

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from large_saved_model import build, variables_bytes  # noqa: E402
from tensorflowjs import tf_protos  # noqa: E402
from tensorflowjs.converters import converter  # noqa: E402
from tensorflowjs.errors import ConversionError  # noqa: E402
from tensorflowjs.graph import tensors  # noqa: E402
from tensorflowjs.write_weights import Weight, write_weight_groups  # noqa: E402
from tfjs_e2e import assert_tfjs_matches  # noqa: E402

FLAGS = ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]
# Runs a command as its child and prints the child's peak RSS (KiB) and exit code: the RSS of
# this test process, or of other tests' children, never enters the number.
_PROBE = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n"
)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """About 150 MB of float32 variables: four 3072x3072 matrices multiplied in turn."""
    path = str(tmp_path_factory.mktemp("chain") / "saved_model")
    x, y = build(path, count=4, size=3072)
    return path, x, y


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The same model with 16 KB of variables: what converting costs whatever the model's size."""
    path = str(tmp_path_factory.mktemp("tiny") / "saved_model")
    build(path, count=1, size=64)
    return path


def _peak_rss(source: str, output: str, *flags: str) -> int:
    """Peak RSS in bytes of the converter CLI run in a fresh process, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "tensorflowjs.converters.converter", *FLAGS, *flags, source, output]
    result = subprocess.run([sys.executable, "-c", _PROBE, *command], capture_output=True, text=True, env=env, check=True)
    rss_kib, rc = result.stdout.split()
    assert rc == "0", result.stderr
    return int(rss_kib) * 1024


@pytest.mark.parametrize("flags", [[], ["--quantize_uint8=*"]], ids=["float32", "uint8"])
def test_peak_rss_is_a_small_fraction_of_the_model(chain, tiny, tmp_path, flags):
    model_bytes = variables_bytes(chain[0])
    baseline = _peak_rss(tiny, str(tmp_path / "tiny"), *flags)
    peak = _peak_rss(chain[0], str(tmp_path / "chain"), *flags)
    # Before stored constants this was about 2.1x the model (the variables copied into the graph,
    # then again per read); now it is the interpreter plus a few 8 MB chunks.
    assert peak - baseline < 0.25 * model_bytes, f"peak RSS {peak / 1e6:.0f} MB, {baseline / 1e6:.0f} MB for a 16 KB model, model {model_bytes / 1e6:.0f} MB"
    with open(tmp_path / "chain" / "model.json") as f:
        manifest = json.load(f)["weightsManifest"]
    assert sum(os.path.getsize(tmp_path / "chain" / p) for group in manifest for p in group["paths"]) == 4 * 3072 * 3072 * (1 if flags else 4)


def test_streamed_model_predicts_in_tfjs_what_tensorflow_predicts(chain, tmp_path):
    path, x, y = chain
    assert converter.main([*FLAGS, path, str(tmp_path / "out")]) == 0
    assert_tfjs_matches(str(tmp_path / "out"), [x], y, atol=1e-3, rtol=1e-3)


def _stored(tmp_path, values: np.ndarray, offset: int = 7, name: str = "shard") -> tensors.StoredTensor:
    """`values` written raw after `offset` bytes of something else, as in a checkpoint shard."""
    path = str(tmp_path / name)
    with open(path, "wb") as f:
        f.write(b"x" * offset + np.ascontiguousarray(values).tobytes())
    return tensors.StoredTensor(path, offset, values.dtype, tuple(values.shape))


@pytest.mark.parametrize("quantize", [None, "float16", "uint8", "uint16"])
def test_streamed_weight_writes_the_bytes_writing_from_memory_does(tmp_path, quantize):
    values = np.random.default_rng(3).normal(size=(300, 77)).astype(np.float32)
    values[5, 5], values[7, 1] = 0.0, -0.0
    stored = _stored(tmp_path, values)
    streamed = Weight("w", stored.array, "float32", values.shape, lambda: stored.chunks(4096))  # 23 pieces
    quantization = {quantize: True} if quantize else None
    os.makedirs(tmp_path / "streamed")
    os.makedirs(tmp_path / "memory")
    got = write_weight_groups([[streamed]], str(tmp_path / "streamed"), 20000, quantization)
    want = write_weight_groups([[Weight.of("w", values.copy())]], str(tmp_path / "memory"), 20000, quantization)
    assert got == want
    for path in got[0]["paths"]:
        assert (tmp_path / "streamed" / path).read_bytes() == (tmp_path / "memory" / path).read_bytes()


def test_streamed_weight_with_nan_is_refused_for_affine_quantization(tmp_path):
    values = np.ones((3000,), np.float32)
    values[2500] = np.nan  # in a later piece than the first
    stored = _stored(tmp_path, values)
    streamed = Weight("w", stored.array, "float32", values.shape, lambda: stored.chunks(4096))
    with pytest.raises(ConversionError, match="'w' contains NaN or Inf"):
        write_weight_groups([[streamed]], str(tmp_path), 1 << 20, {"uint8": True})


def test_truncated_file_is_a_conversion_error(tmp_path):
    stored = _stored(tmp_path, np.ones((4000,), np.float32))
    with open(stored.path, "r+b") as f:
        f.truncate(9000)
    with pytest.raises(ConversionError, match="truncated"):
        list(stored.chunks(4096))


def _const(graph_def, name, value):
    node = graph_def.node.add(name=name)
    tensors.set_const(node, value)
    return node.attr["value"].tensor


def test_stored_constant_keeps_its_value_out_of_the_proto_until_it_must_hold_it(tmp_path):
    values = np.arange(512 * 1024, dtype=np.float32).reshape(512, 1024)  # 2 MiB
    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    stored = _const(graph_def, "w", _stored(tmp_path, values))
    assert tensors.stored_tensor(stored) is not None and len(stored.tensor_content) < 100
    np.testing.assert_array_equal(tensors.to_ndarray(stored), values)
    # A folded Reshape is the same bytes: still stored. A Transpose is new data: a real constant.
    reshaped = _const(graph_def, "reshaped", tensors.to_ndarray(stored).reshape(-1))
    assert tensors.stored_tensor(reshaped) is not None and [d.size for d in reshaped.tensor_shape.dim] == [512 * 1024]
    transposed = _const(graph_def, "transposed", tensors.to_ndarray(stored).T)
    assert tensors.stored_tensor(transposed) is None
    np.testing.assert_array_equal(tensors.to_ndarray(transposed), values.T)
    # Small stored tensors are copied: a file read per use would cost more than the bytes.
    small = _const(graph_def, "small", _stored(tmp_path, values[:2], name="small"))
    assert tensors.stored_tensor(small) is None
    tensors.load_stored(graph_def)  # a GraphDef written to a file holds its values
    assert all(tensors.stored_tensor(node.attr["value"].tensor) is None for node in graph_def.node)
    parsed = tf_protos.message_class("tensorflow.GraphDef")()
    parsed.ParseFromString(graph_def.SerializeToString())
    np.testing.assert_array_equal(tensors.to_ndarray(parsed.node[1].attr["value"].tensor), values.reshape(-1))


def test_frozen_graph_copy_holds_the_variable_values(tmp_path):
    from tensorflowjs.converters.tf_graph_model import FROZEN_GRAPH_FILE_NAME
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model

    path = str(tmp_path / "saved_model")
    x, y = build(path, count=1, size=600)  # 1.4 MB: a stored constant
    convert_tf_saved_model(path, str(tmp_path / "out"), frozen_graph_dir=str(tmp_path / "frozen"))
    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    with open(tmp_path / "frozen" / FROZEN_GRAPH_FILE_NAME, "rb") as f:
        graph_def.ParseFromString(f.read())
    (weights,) = [tensors.to_ndarray(n.attr["value"].tensor) for n in graph_def.node if n.op == "Const"]
    np.testing.assert_allclose(x @ weights, y, rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
