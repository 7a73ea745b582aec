"""TF1 SavedModels and TF1 hub modules converted without TensorFlow (graph/tf1_saved_model.py),
checked against TensorFlow's Session path.

The MetaGraph's graph is pruned to the signature, each variable (a TF1 reference variable read
through Identity, a resource variable through ReadVariableOp) replaced by its checkpoint value,
hash tables kept by name with a modelInitializer filling them from their constant keys and
values. These tests pin the same predictions in TF.js (CPU and WASM) as TensorFlow, no more ops
than TensorFlow's path, no TensorFlow import, and TensorFlow's path for what this one cannot do.
"""

import collections
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import ATOL, RTOL, convert, model_json, ops  # noqa: E402
from tensorflowjs.graph import tf1_saved_model  # noqa: E402
from tfjs_e2e import Case, check_tfjs_batch  # noqa: E402
from testing.no_tensorflow import assert_converts_without_tensorflow  # noqa: E402

RNG = np.random.default_rng(13)
X = RNG.normal(size=(3, 8, 8, 2)).astype(np.float32)
WORDS = np.array(["cat", "yak", "dog", "cat"], dtype=object)
HUB_MODULE_DEF = b"\x08\x03"  # a ModuleDef with format = 3: tensorflow_hub's tfhub_module.pb


def _save(path, session, tags, signature_name, inputs, outputs, main_op=None):
    builder = tf.compat.v1.saved_model.Builder(str(path))
    signature = tf.compat.v1.saved_model.predict_signature_def(inputs, outputs)
    builder.add_meta_graph_and_variables(session, tags, signature_def_map={signature_name: signature}, main_op=main_op)
    builder.save()


def _cnn(path, tags=("serve",), signature_name="serving_default"):
    """Reference and resource variables, a conv with a batch norm of variables, a dense head, and
    a training op (Assign) the signature does not need."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 2], name="x")
        kernel = tf.compat.v1.Variable(RNG.normal(size=(3, 3, 2, 4)).astype(np.float32), name="kernel", use_resource=False)
        mean = tf.compat.v1.get_variable("mean", initializer=RNG.normal(size=4).astype(np.float32), use_resource=True)
        variance = tf.compat.v1.get_variable("variance", initializer=RNG.uniform(0.5, 1.5, size=4).astype(np.float32), use_resource=True)
        dense = tf.compat.v1.Variable(RNG.normal(size=(4, 3)).astype(np.float32), name="dense", use_resource=False)
        y = tf.nn.conv2d(x, kernel, 1, "SAME")
        y = tf.nn.relu(tf.nn.batch_normalization(y, mean, variance, None, None, 1e-3))
        logits = tf.matmul(tf.reduce_mean(y, axis=[1, 2]), dense)
        probs = tf.nn.softmax(logits, name="probs")
        tf.compat.v1.assign_add(dense, tf.ones_like(dense), name="train")
        session.run(tf.compat.v1.global_variables_initializer())
        expected = session.run({"logits": logits, "probs": probs}, {x: X})
        _save(path, session, list(tags), signature_name, {"x": x}, {"logits": logits, "probs": probs})
    return {"x": X}, [expected["logits"], expected["probs"]], ["logits", "probs"]


def _tables(path, tags=("serve",), signature_name="serving_default"):
    """Two hash tables filled by the main op (string -> int64, int64 -> float), and a variable."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        ids = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(["cat", "dog"], tf.constant([4, 9], tf.int64)), -1)
        weights = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(tf.constant([4, 9], tf.int64), [0.5, 2.0]), 0.0)
        scale = tf.compat.v1.get_variable("scale", initializer=np.float32(3.0))
        found = ids.lookup(words)
        score = tf.identity(weights.lookup(found) * scale, name="score")
        session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
        expected = session.run({"ids": found, "score": score}, {words: WORDS})
        _save(path, session, list(tags), signature_name, {"words": words}, {"ids": found, "score": score}, tf.compat.v1.tables_initializer())
    return {"words": WORDS}, [expected["ids"], expected["score"]], ["ids", "score"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """name -> (directory, flags, inputs, TensorFlow's outputs, output keys)."""
    root = tmp_path_factory.mktemp("tf1")
    found = {"cnn": (root / "cnn", [], *_cnn(root / "cnn")), "tables": (root / "tables", [], *_tables(root / "tables"))}
    hub = root / "hub"
    found["hub"] = (hub, ["--input_format=tf_hub"], *_cnn(hub, (), "default"))
    (hub / "tfhub_module.pb").write_bytes(HUB_MODULE_DEF)
    return found


def _refuse(*args, **kwargs):
    """Stands in for freeze_without_tensorflow to force TensorFlow's path."""
    raise tf1_saved_model.NeedsTensorFlow("forced")


def _convert(case, dst, monkeypatch=None):
    if monkeypatch is not None:
        monkeypatch.setattr(tf1_saved_model, "freeze_without_tensorflow", _refuse)
    assert convert(case[0], dst, *case[1]) == 0
    return dst


def test_predictions_match_tensorflow_in_tfjs(models, tmp_path):
    cases = {name: Case(str(_convert(case, tmp_path / name)), case[2], case[3], atol=ATOL, rtol=RTOL) for name, case in models.items()}
    assert check_tfjs_batch(cases) == {name: None for name in models}
    assert all(list(model_json(tmp_path / name)["signature"]["outputs"]) == models[name][4] for name in models)


@pytest.mark.parametrize("name", ["cnn", "tables", "hub"])
def test_no_more_ops_or_weights_than_tensorflows_path(models, name, tmp_path, monkeypatch):
    ours = model_json(_convert(models[name], tmp_path / "ours"))
    theirs = model_json(_convert(models[name], tmp_path / "theirs", monkeypatch))
    computed = [collections.Counter(op for op in ops(tmp_path / d) if op != "Const") for d in ("ours", "theirs")]
    assert set(computed[0]) <= set(computed[1]) and sum(computed[0].values()) <= sum(computed[1].values()), computed
    assert ours["signature"] == theirs["signature"]
    weights = [sum(int(np.prod(w["shape"])) for w in m["weightsManifest"][0]["weights"]) for m in (ours, theirs)]
    assert weights[0] <= weights[1]
    if name == "tables":
        assert ours["initializerSignature"] == theirs["initializerSignature"]
        assert sorted(n["op"] for n in ours["modelInitializer"]["node"]) == sorted(n["op"] for n in theirs["modelInitializer"]["node"])


def test_conversion_imports_no_tensorflow(models, tmp_path):
    assert_converts_without_tensorflow([[*case[1], case[0], tmp_path / name] for name, case in models.items()])


def test_a_table_filled_from_an_asset_file_is_read_into_constants(tmp_path):
    """TF.js has no InitializeTableFromTextFileV2 (TensorFlow's path fails the op check): the
    vocabulary, a SavedModel asset, is read at conversion."""
    vocabulary = tmp_path / "vocab.txt"
    vocabulary.write_text("cat\ndog\nemu\n")
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(str(vocabulary), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                                                        tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), -1)
        ids = tf.identity(table.lookup(words), name="ids")
        session.run(tf.compat.v1.tables_initializer())
        expected = session.run(ids, {words: WORDS})
        builder = tf.compat.v1.saved_model.Builder(str(tmp_path / "text"))
        builder.add_meta_graph_and_variables(
            session, ["serve"], main_op=tf.compat.v1.tables_initializer(),
            signature_def_map={"serving_default": tf.compat.v1.saved_model.predict_signature_def({"words": words}, {"ids": ids})},
            assets_collection=tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS))
        builder.save()
    vocabulary.unlink()  # only the SavedModel's copy in assets/ is read
    assert convert(tmp_path / "text", tmp_path / "out") == 0
    assert "InitializeTableFromTextFileV2" not in {n["op"] for n in model_json(tmp_path / "out")["modelInitializer"]["node"]}
    assert check_tfjs_batch({"text": Case(str(tmp_path / "out"), {"words": WORDS}, [expected])}) == {"text": None}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
