"""tf_hub -> tfjs_graph_model (TF1 hub format and TF2 modules, local or in TFHUB_CACHE_DIR)
and TF1-style hash tables, checked in real TF.js (CPU and WASM)."""

import hashlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import ATOL, RTOL, assert_failed_cleanly, convert, model_json, output_keys  # noqa: E402
from tfjs_e2e import assert_tfjs_matches  # noqa: E402
from testing.tf1_models import table_saved_model  # noqa: E402

RNG = np.random.default_rng(9)
W = RNG.normal(size=(4, 2)).astype(np.float32)
X = RNG.normal(size=(3, 4)).astype(np.float32)
WORDS = np.array(["cat", "yak", "dog"], dtype=object)

# A ModuleDef proto with format = 3: what tensorflow_hub writes as tfhub_module.pb.
HUB_MODULE_DEF = b"\x08\x03"


EXPECTED = [np.array([4, -1, 9]), np.maximum(X @ W, 0)]


def test_tf1_saved_model_hash_table_runs_in_tfjs(tmp_path):
    table_saved_model(str(tmp_path / "tf1"), ["serve"], "serving_default", W)
    assert convert(tmp_path / "tf1", tmp_path / "out") == 0
    model = model_json(tmp_path / "out")
    assert {"HashTableV2", "LookupTableImportV2"} <= {n["op"] for n in model["modelInitializer"]["node"]}
    assert output_keys(tmp_path / "out") == ["ids", "scores"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X, "words": WORDS}, EXPECTED, atol=ATOL, rtol=RTOL)


@pytest.fixture(scope="module")
def hub_v1_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub") / "hub_v1"
    table_saved_model(str(path), [], "default", W)
    (path / "tfhub_module.pb").write_bytes(HUB_MODULE_DEF)
    return path


def test_tf1_hub_module_directory_converts(hub_v1_module, tmp_path):
    assert convert(hub_v1_module, tmp_path / "out", "--input_format=tf_hub") == 0
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X, "words": WORDS}, EXPECTED, atol=ATOL, rtol=RTOL)


class Scale(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(W)

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def default(self, x):
        return {"scores": tf.nn.relu(tf.matmul(x, self.w))}


def test_tf2_hub_module_found_in_tfhub_cache_dir(tmp_path, monkeypatch):
    handle = "https://tfhub.dev/example/scale/1"
    cached = tmp_path / "cache" / hashlib.sha1(handle.encode()).hexdigest()
    module = Scale()
    tf.saved_model.save(module, str(cached), signatures={"default": module.default})
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    from tensorflowjs.converters import convert_tf_hub_module

    convert_tf_hub_module(handle, str(tmp_path / "out"))
    assert output_keys(tmp_path / "out") == ["scores"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, [np.maximum(X @ W, 0)], atol=ATOL, rtol=RTOL)
    assert convert(handle, tmp_path / "from_cli", "--input_format=tf_hub") == 0
    assert output_keys(tmp_path / "from_cli") == ["scores"]


def test_uncached_hub_url_says_to_download_first(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    from tensorflowjs.converters import convert_tf_hub_module
    from tensorflowjs.errors import ConversionError

    with pytest.raises(ConversionError, match="download and extract the module first"):
        convert_tf_hub_module("https://tfhub.dev/example/missing/1", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    code = convert("https://tfhub.dev/example/missing/1", tmp_path / "out", "--input_format=tf_hub")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "download and extract the module first")


def test_hub_module_without_the_signature_lists_its_signatures(hub_v1_module, tmp_path, capsys):
    code = convert(hub_v1_module, tmp_path / "out", "--input_format=tf_hub", "--signature_name=tokens")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "'tokens'", "its signatures: default")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
