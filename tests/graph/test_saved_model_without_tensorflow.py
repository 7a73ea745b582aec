"""TF2 SavedModels frozen without TensorFlow (graph/saved_model_graph.py), checked against TF.

Most SavedModels convert without importing TensorFlow. These tests pin that this path is taken
when it can be, that it gives the graph TensorFlow's path gives (same ops, same weights, same
predictions in TF.js), and that what it cannot freeze goes to TensorFlow's path, for a reason.
"""

import collections
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import ATOL, RTOL, assert_failed_cleanly, convert, model_json, numpy_outputs, ops, output_keys  # noqa: E402
from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model  # noqa: E402
from tensorflowjs.graph import saved_model, saved_model_graph  # noqa: E402
from tfjs_e2e import assert_tfjs_matches  # noqa: E402
from testing.no_tensorflow import assert_converts_without_tensorflow  # noqa: E402

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 6)).astype(np.float32)
IMAGES = RNG.uniform(size=(2, 16, 16, 3)).astype(np.float32)
TOKENS = np.array([[1, 4, 2, 0], [3, 3, 9, 5]], dtype=np.int32)


class Shared(tf.Module):
    """One variable read by two functions, an embedding lookup (ResourceGather), two signatures."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(RNG.normal(size=(6, 6)).astype(np.float32))
        self.table = tf.Variable(RNG.normal(size=(10, 6)).astype(np.float32))
        self.filter = tf.Variable(RNG.normal(size=(3, 3, 3, 2)).astype(np.float32))
        self.grouped = tf.Variable(RNG.normal(size=(3, 3, 1, 6)).astype(np.float32))  # 3 groups of 2
        self.offset = tf.constant(RNG.normal(size=(6,)).astype(np.float32))  # saved as a captured constant
        self.mask = tf.Variable([True, False, True, True, False, True])
        self.shift = tf.Variable(np.array([3], np.int32))

    @tf.function
    def layer(self, x):
        return tf.nn.tanh(tf.matmul(x, self.w))

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="x")])
    def twice(self, x):
        y = self.layer(self.layer(x)) * 2.0 + tf.reduce_sum(self.w) + self.offset
        return {"y": tf.where(self.mask, y, -y)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.int32, name="tokens")])
    def embed(self, tokens):
        rows = tf.math.floormod(tokens + self.shift, 10)
        return {"pooled": tf.reduce_mean(tf.nn.embedding_lookup(self.table, rows), axis=1), "count": tf.shape(tokens)[1:]}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.int32, name="tokens")])
    def table_size(self, tokens):
        return {"rows": tf.raw_ops.VariableShape(input=self.table.handle, out_type=tf.int32)[:1] * tf.shape(tokens)[:1]}


    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="images")])
    def depthwise(self, images):
        return {"maps": tf.nn.depthwise_conv2d(images, self.filter, [1, 2, 2, 1], "SAME"),
                "grouped": tf.nn.conv2d(images, self.grouped, 1, "SAME")}


def _keras3_cnn():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    for weight in model.weights:  # no zero biases: Grappler would drop them, and the graphs are compared
        low = 0.5 if "variance" in weight.path else -0.5
        weight.assign(RNG.uniform(low, 1.0, size=weight.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> (SavedModel dir, signature name, inputs, TF's outputs by key)."""
    root = tmp_path_factory.mktemp("saved")
    module = Shared()
    tf.saved_model.save(module, str(root / "shared"), signatures={"serving_default": module.twice, "embed": module.embed, "depthwise": module.depthwise,
                                                      "table_size": module.table_size})
    cnn = _keras3_cnn()
    cnn.export(str(root / "keras3"), format="tf_saved_model")
    return {
        "shared": (root / "shared", "serving_default", {"x": X}, module.twice(X)),
        "embed": (root / "shared", "embed", {"tokens": TOKENS}, module.embed(TOKENS)),
        "depthwise": (root / "shared", "depthwise", {"images": IMAGES}, module.depthwise(IMAGES)),
        "table_size": (root / "shared", "table_size", {"tokens": TOKENS}, module.table_size(TOKENS)),
        "keras3": (root / "keras3", "serving_default", {"keras_tensor": IMAGES}, {"output_0": cnn(IMAGES)}),
    }


def _refuse(*args, **kwargs):
    """Stands in for freeze_signature to force TensorFlow's path."""
    raise saved_model_graph.NeedsTensorFlow("forced")


def _convert(case, dst, monkeypatch=None):
    directory, signature, _, _ = case
    if monkeypatch is not None:
        monkeypatch.setattr(saved_model_graph, "freeze_signature", _refuse)
    assert convert(directory, dst, f"--signature_name={signature}") == 0
    return dst


@pytest.mark.parametrize("name", ["shared", "embed", "depthwise", "table_size", "keras3"])
def test_predictions_match_tensorflow_in_tfjs(saved, name, tmp_path):
    case = saved[name]
    converted = _convert(case, tmp_path / "out")
    expected = case[3]
    assert_tfjs_matches(str(converted), case[2], numpy_outputs(expected, output_keys(converted)), atol=ATOL, rtol=RTOL)


def _weight_elements(model):
    return sum(int(np.prod(w["shape"])) for group in model["weightsManifest"] for w in group["weights"])


@pytest.mark.parametrize("name", ["shared", "embed", "keras3"])
def test_same_graph_as_tensorflows_freezing_with_no_more_weights(saved, name, tmp_path, monkeypatch):
    """TensorFlow's freezing makes one constant per variable read; ours one per variable."""
    ours = model_json(_convert(saved[name], tmp_path / "ours"))
    theirs = model_json(_convert(saved[name], tmp_path / "theirs", monkeypatch))
    computed = [collections.Counter(op for op in ops(tmp_path / d) if op != "Const") for d in ("ours", "theirs")]
    assert computed[0] == computed[1]
    assert ours["signature"] == theirs["signature"]
    assert _weight_elements(ours) <= _weight_elements(theirs)


def test_conversion_imports_no_tensorflow(saved, tmp_path):
    assert_converts_without_tensorflow([[f"--signature_name={saved[name][1]}", saved[name][0], tmp_path / name] for name in ("shared", "embed", "keras3")])


def test_a_variable_read_in_two_functions_is_one_weight(saved, tmp_path, monkeypatch):
    ours = model_json(_convert(saved["shared"], tmp_path / "ours"))
    shapes = [w["shape"] for group in ours["weightsManifest"] for w in group["weights"]]
    assert shapes.count([6, 6]) == 1
    assert _weight_elements(ours) < _weight_elements(model_json(_convert(saved["shared"], tmp_path / "theirs", monkeypatch)))


def test_attributes_saved_models_leave_at_their_defaults_are_written(saved, tmp_path):
    """SavedModels strip default-valued attributes; TF.js needs them (dilations of a depthwise conv)."""
    nodes = model_json(_convert(saved["depthwise"], tmp_path / "out"))["modelTopology"]["node"]
    depthwise = [n for n in nodes if n["op"] == "DepthwiseConv2dNative"]
    assert len(depthwise) == 2 and all(n["attr"]["dilations"]["list"]["i"] == ["1", "1", "1", "1"] for n in depthwise)


def test_captured_constants_are_frozen_too(saved):
    directory, signature = saved["shared"][:2]
    meta_graph = saved_model.choose_meta_graph(str(directory), "serve", signature).meta_graph
    function = saved_model_graph._signature_function(meta_graph, meta_graph.signature_def[signature])[1]
    captures = saved_model_graph._captures(meta_graph, function, str(directory))
    assert [c.op for c in captures if not isinstance(c, saved_model_graph.Variable)] == ["Const"]


def test_bool_and_int32_variables_are_weights_of_their_dtype(saved, tmp_path):
    dtypes = set()
    for name in ("shared", "embed"):
        model = model_json(_convert(saved[name], tmp_path / name))
        dtypes |= {w["dtype"] for group in model["weightsManifest"] for w in group["weights"]}
    assert {"bool", "int32", "float32"} <= dtypes


def test_a_variables_shape_becomes_a_constant_where_tensorflows_freezing_leaves_variable_shape(saved, tmp_path, monkeypatch, capsys):
    assert "VariableShape" not in ops(_convert(saved["table_size"], tmp_path / "ours"))
    monkeypatch.setattr(saved_model_graph, "freeze_signature", _refuse)
    code = convert(saved["table_size"][0], tmp_path / "theirs", "--signature_name=table_size")
    assert_failed_cleanly(code, capsys, tmp_path / "theirs", "VariableShape")


def test_embedding_lookup_reads_the_table_with_gather(saved, tmp_path):
    _convert(saved["embed"], tmp_path / "out")
    assert "GatherV2" in ops(tmp_path / "out")
    assert not {"ResourceGather", "ReadVariableOp", "VarHandleOp"} & set(ops(tmp_path / "out"))


def test_frozen_graph_dir_holds_a_graph_tensorflow_runs(saved, tmp_path):
    directory, _, inputs, expected = saved["shared"]
    convert_tf_saved_model(str(directory), str(tmp_path / "out"), frozen_graph_dir=str(tmp_path / "frozen"))
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString((tmp_path / "frozen" / "model.json.frozen").read_bytes())
    signature = model_json(tmp_path / "out")["signature"]
    run = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
    prune = run.prune([signature["inputs"]["x"]["name"]], [signature["outputs"]["y"]["name"]])
    np.testing.assert_allclose(prune(tf.constant(X))[0].numpy(), expected["y"].numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("damage", ["truncated data", "missing index"])
def test_damaged_variables_fail_with_one_line_and_write_nothing(saved, damage, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(saved["shared"][0], copy)
    variables = copy / "variables"
    if damage == "truncated data":
        data = next(variables.glob("variables.data-*"))
        data.write_bytes(data.read_bytes()[:100])
    else:
        (variables / "variables.index").unlink()
    code = convert(copy, tmp_path / "out")
    line = assert_failed_cleanly(code, capsys, tmp_path / "out", "variables")
    assert ("truncated" in line) if damage == "truncated data" else ("copy the whole SavedModel directory" in line), line


class Diagonal(tf.Module):
    """diag(v) has no TF.js kernel; Grappler folds it (v is a constant once frozen), numpy folding does not."""

    def __init__(self):
        super().__init__()
        self.v = tf.Variable(RNG.normal(size=(6,)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.matmul(x, tf.linalg.diag(self.v))}


def test_ops_only_grapplers_folding_removes_send_the_model_through_tensorflow(tmp_path):
    module = Diagonal()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures=module.serve)
    assert convert(tmp_path / "saved", tmp_path / "out") == 0
    assert "MatrixDiagV3" not in ops(tmp_path / "out")
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, [module.serve(X)["y"].numpy()], atol=ATOL, rtol=RTOL)


class Effects(tf.Module):
    """What stays on TensorFlow's path (a table read inside a loop: test_control_flow_without_tensorflow.py)."""

    def __init__(self):
        super().__init__()
        self.v = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def checked(self, x):
        tf.debugging.assert_all_finite(x, "finite")
        tf.debugging.Assert(tf.reduce_all(x > -100.0), [x])
        return {"y": x * self.v}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def counting(self, x):
        self.v.assign_add(1.0)
        return {"y": x * 2.0}


@pytest.mark.parametrize("module_class, signature, reason", [
    (Effects, "checked", "debug ops"),
    (Effects, "counting", "effects no output depends on"),
])
def test_what_needs_tensorflow_is_refused_with_its_reason(module_class, signature, reason, tmp_path):
    module = module_class()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures={"serving_default": getattr(module, signature)})
    choice = saved_model.choose_meta_graph(str(tmp_path / "saved"), "serve", "serving_default")
    with pytest.raises(saved_model_graph.NeedsTensorFlow, match=reason):
        saved_model_graph.freeze_signature(str(tmp_path / "saved"), choice.meta_graph, "serving_default")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
