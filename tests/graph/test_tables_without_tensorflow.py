"""TF2 hash tables converted without TensorFlow (graph/resources.py initializer_without_tensorflow),
checked against TensorFlow's path.

A signature capturing a table keeps it as a resource input; the table's creator and initializer
functions, inlined from saved_model.pb with their captured keys and values, become the
modelInitializer TF.js runs first. These tests pin the same predictions in TF.js (CPU and WASM)
as TensorFlow, the same signatures and op sets as TensorFlow's path, and no TensorFlow import.
"""

import collections
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import convert, model_json, ops  # noqa: E402
from tensorflowjs.graph import saved_model_graph  # noqa: E402
from tfjs_e2e import Case, check_tfjs_batch  # noqa: E402
from testing.no_tensorflow import assert_converts_without_tensorflow  # noqa: E402

WORDS = np.array(["dog", "ému", "yak", "cat"], dtype=object)
MATRIX = np.array([["dog", "yak"], ["emu", "cat"]], dtype=object)


class Vocabulary(tf.Module):
    """Two tables (string -> int64, then int64 -> float) and a variable, one signature."""

    def __init__(self):
        super().__init__()
        self.ids = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(["cat", "dog", "ému"], tf.constant([3, 5, 7], tf.int64)), -1)
        self.weights = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(tf.constant([3, 7], tf.int64), [0.5, 2.0]), 1.0)
        self.scale = tf.Variable(3.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        ids = self.ids.lookup(words)
        return {"ids": ids, "score": self.weights.lookup(ids) * self.scale}


class TextFiles(tf.Module):
    """Tables filled from vocabulary files (SavedModel assets): word -> line number, id -> weight."""

    def __init__(self, words_path, weights_path):
        super().__init__()
        self.ids = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            str(words_path), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), -1)
        self.weights = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(str(weights_path), tf.int64, 0, tf.float32, 2, delimiter=" "), -1.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        ids = self.ids.lookup(words)
        return {"ids": ids, "weight": self.weights.lookup(ids)}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """name -> (SavedModel dir, inputs, TensorFlow's outputs in key order)."""
    root = tmp_path_factory.mktemp("tables")
    module = Vocabulary()
    tf.saved_model.save(module, str(root / "vocabulary"), signatures=module.serve)
    result = module.serve(tf.constant(WORDS))
    words = keras.Input((2,), dtype="string", name="words")
    lookup = keras.Model(words, keras.layers.StringLookup(vocabulary=["cat", "dog", "emu"], name="lookup")(words))
    lookup.export(str(root / "string_lookup"), format="tf_saved_model")
    (root / "words.txt").write_bytes("cat\r\ndog\némû\n".encode())
    (root / "weights.txt").write_text("0 x 0.5\n2 y 1.25\n")
    text = TextFiles(root / "words.txt", root / "weights.txt")
    tf.saved_model.save(text, str(root / "text_files"), signatures=text.serve)
    (root / "words.txt").unlink()  # only the SavedModel's copy in assets/ is read
    text_words = np.array(["dog", "émû", "cat", "yak"], dtype=object)
    text_result = text.serve(tf.constant(text_words))
    return {
        "vocabulary": (root / "vocabulary", {"words": WORDS}, [result["ids"].numpy(), result["score"].numpy()]),
        "text_files": (root / "text_files", {"words": text_words}, [text_result["ids"].numpy(), text_result["weight"].numpy()]),
        "string_lookup": (root / "string_lookup", [MATRIX], [np.asarray(lookup(tf.constant(MATRIX)))]),
    }


def _refuse(*args, **kwargs):
    """Stands in for freeze_signature to force TensorFlow's path."""
    raise saved_model_graph.NeedsTensorFlow("forced")


def _convert(case, dst, monkeypatch=None):
    if monkeypatch is not None:
        monkeypatch.setattr(saved_model_graph, "freeze_signature", _refuse)
    assert convert(case[0], dst) == 0
    return dst


def test_predictions_match_tensorflow_in_tfjs(models, tmp_path):
    cases = {name: Case(str(_convert(case, tmp_path / name)), case[1], case[2]) for name, case in models.items()}
    assert check_tfjs_batch(cases) == {name: None for name in models}


@pytest.mark.parametrize("name", ["vocabulary", "string_lookup"])  # text_files: TensorFlow's path fails (below)
def test_same_signatures_and_no_more_ops_than_tensorflows_path(models, name, tmp_path, monkeypatch):
    ours = model_json(_convert(models[name], tmp_path / "ours"))
    theirs = model_json(_convert(models[name], tmp_path / "theirs", monkeypatch))
    assert ours["signature"] == theirs["signature"]
    assert ours["initializerSignature"] == theirs["initializerSignature"]
    computed = [collections.Counter(op for op in ops(tmp_path / d) if op != "Const") for d in ("ours", "theirs")]
    assert set(computed[0]) <= set(computed[1]) and sum(computed[0].values()) <= sum(computed[1].values()), computed
    initializers = [collections.Counter(n["op"] for n in m["modelInitializer"]["node"] if n["op"] not in ("Const", "Identity", "NoOp"))
                    for m in (ours, theirs)]
    assert initializers[0] == initializers[1]


def test_text_file_tables_are_read_into_constants_where_tensorflows_path_fails(models, tmp_path, monkeypatch, capsys):
    """TF.js has no InitializeTableFromTextFileV2: the file is read at conversion, as TensorFlow reads it."""
    initializer = model_json(_convert(models["text_files"], tmp_path / "ours"))["modelInitializer"]
    assert {n["op"] for n in initializer["node"]} == {"HashTableV2", "Const", "LookupTableImportV2", "Identity"}
    monkeypatch.setattr(saved_model_graph, "freeze_signature", _refuse)
    assert convert(models["text_files"][0], tmp_path / "theirs") == 1
    assert "InitializeTableFromTextFileV2" in capsys.readouterr().err


@pytest.mark.parametrize("content, key_index, value_index, options", [
    (b"cat\ndog\r\nemu", -2, -1, {}),
    (b"cat\ndog\nemu\nyak\n", -2, -1, {"vocab_size": 2}),
    (b"1,a,0.5\n3,b,-2e3\n", 0, 2, {"delimiter": ","}),
    (b"a b\nc d\n", 1, 0, {"delimiter": " "}),
])
def test_text_files_are_read_as_tensorflow_reads_them(tmp_path, content, key_index, value_index, options):
    from tensorflowjs.graph import resources

    path = tmp_path / "vocab.txt"
    path.write_bytes(content)
    key_type = tf.string if key_index == -2 or (content[:1].isalpha() and key_index >= 0) else tf.int64
    value_type = {-1: tf.int64, 0: tf.string, 2: tf.float32}[value_index]
    table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(str(path), key_type, key_index, value_type, value_index, **options),
                                      tf.constant("" if value_type == tf.string else -1, value_type))
    expected_keys, expected_values = (t.numpy() for t in table.export())
    keys, values = resources.read_text_file_table(str(path), key_index, value_index, options.get("delimiter", "\t").encode(),
                                                  options.get("vocab_size", -1), key_type.as_datatype_enum, value_type.as_datatype_enum, "m")
    assert len(keys) == len(values) == len(expected_keys)
    assert dict(zip(keys.tolist(), values.tolist())) == dict(zip(expected_keys.tolist(), expected_values.tolist()))


def test_conversion_imports_no_tensorflow(models, tmp_path):
    assert_converts_without_tensorflow([[case[0], tmp_path / name] for name, case in models.items()])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
