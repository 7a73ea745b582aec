"""Frozen GraphDefs converted without TensorFlow (graph/frozen_graph.py), checked against TF.

The frozen path parses the .pb with the shipped schema, prunes it to --output_node_names and
folds constants with numpy. These tests pin that it predicts what TensorFlow's own frozen
function predicts in TF.js (CPU and WASM), with no more ops than TensorFlow's path, without
importing TensorFlow, and that what it cannot reproduce goes to TensorFlow's path, or, without
TensorFlow, fails in one line naming the node and the extra to install.
"""

import collections
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import convert_to_constants  # noqa: E402

import update_op_defs  # noqa: E402
from graph_models import ATOL, RTOL, convert, model_json, ops  # noqa: E402
from tensorflowjs.graph import frozen_graph, op_registry  # noqa: E402
from tfjs_e2e import Case, check_tfjs_batch  # noqa: E402
from testing.no_tensorflow import assert_converts_without_tensorflow, convert_with_tensorflow_blocked  # noqa: E402

RNG = np.random.default_rng(5)
IMAGES = RNG.uniform(size=(2, 64, 64, 3)).astype(np.float32)


def test_shipped_op_registry_is_tensorflows():
    with open(op_registry.OP_DEFS_PATH, "rb") as f:
        assert f.read() == update_op_defs.tf_op_list(), "run `bazel run //tools:update_op_defs`"


def _randomize(model):
    for weight in model.weights:  # no zeros or ones: folding them away would hide differences
        low = 0.5 if "variance" in weight.path else -0.5
        weight.assign(RNG.uniform(low, 1.0, size=weight.shape).astype(np.float32))
    return model


def _yolo_like():
    """Conv + BN + SiLU blocks, a max pool, an upsampled branch concatenated back, and a detection
    head reshaped and split into boxes and class scores, as in YOLO exports."""
    def block(x, filters, stride=1):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        return keras.layers.Activation("silu")(x)

    inputs = keras.Input((64, 64, 3))
    p1 = block(inputs, 8, 2)
    p2 = block(keras.layers.MaxPooling2D(2)(p1), 16, 1)
    up = keras.layers.UpSampling2D(2)(block(p2, 8))
    x = keras.layers.Concatenate()([p1, up])
    head = keras.layers.Conv2D(3 * 9, 1)(x)
    head = keras.layers.Reshape((-1, 9))(head)
    boxes, scores = keras.layers.Lambda(lambda t: tf.split(t, [4, 5], axis=-1))(head)
    return _randomize(keras.Model(inputs, [boxes, keras.layers.Activation("sigmoid")(scores)]))


def _freeze(model, path):
    """The model's inference function frozen (TensorFlow's convert_variables_to_constants_v2), written
    as a binary GraphDef; returns (the frozen function, its output node names)."""
    function = tf.function(lambda images: model(images, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec([None, 64, 64, 3], tf.float32, name="images"))
    frozen = convert_to_constants.convert_variables_to_constants_v2(concrete)
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    return frozen, [t.name.split(":")[0] for t in frozen.outputs]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """name -> (.pb path, output node names, TensorFlow's outputs on IMAGES)."""
    root = tmp_path_factory.mktemp("frozen")
    models = {
        "mobilenet_v2": _randomize(keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), alpha=0.35, classes=7)),
        "yolo_like": _yolo_like(),
    }
    cases = {}
    for name, model in models.items():
        frozen, outputs = _freeze(model, root / f"{name}.pb")
        result = frozen(tf.constant(IMAGES))
        cases[name] = (root / f"{name}.pb", outputs, [np.asarray(t) for t in (result if isinstance(result, (list, tuple)) else [result])])
    return cases


def _convert(case, dst, monkeypatch=None):
    path, outputs, _ = case
    if monkeypatch is not None:
        monkeypatch.setattr(frozen_graph, "freeze_without_tensorflow", _refuse)
    assert convert(path, dst, "--input_format=tf_frozen_model", f"--output_node_names={','.join(outputs)}") == 0
    return dst


def _refuse(*args, **kwargs):
    """Stands in for freeze_without_tensorflow to force TensorFlow's path."""
    raise frozen_graph.NeedsTensorFlow("forced")


def _atol(outputs):
    """Float32 rounding grows with the values (random weights give activations in the hundreds)."""
    return max(ATOL, 1e-5 * max(float(np.abs(o).max()) for o in outputs))


def test_predictions_match_tensorflow_in_tfjs(graphs, tmp_path):
    cases = {name: Case(str(_convert(case, tmp_path / name)), {"images": IMAGES}, case[2], atol=_atol(case[2]), rtol=RTOL, output_names=case[1])
             for name, case in graphs.items()}
    assert check_tfjs_batch(cases) == {name: None for name in graphs}


@pytest.mark.parametrize("name", ["mobilenet_v2", "yolo_like"])
def test_no_more_ops_than_tensorflows_path_and_the_same_inputs(graphs, name, tmp_path, monkeypatch):
    ours = model_json(_convert(graphs[name], tmp_path / "ours"))
    theirs = model_json(_convert(graphs[name], tmp_path / "theirs", monkeypatch))
    computed = [collections.Counter(op for op in ops(tmp_path / d) if op != "Const") for d in ("ours", "theirs")]
    assert set(computed[0]) <= set(computed[1]) and sum(computed[0].values()) <= sum(computed[1].values()), computed
    assert ours["signature"]["inputs"] == theirs["signature"]["inputs"]
    assert [(k, v["name"], v["dtype"]) for k, v in ours["signature"]["outputs"].items()] == \
        [(k, v["name"], v["dtype"]) for k, v in theirs["signature"]["outputs"].items()]


def test_conversion_imports_no_tensorflow(graphs, tmp_path):
    assert_converts_without_tensorflow([["--input_format=tf_frozen_model", f"--output_node_names={','.join(case[1])}", case[0], tmp_path / name]
                                        for name, case in graphs.items()])


def test_an_identity_output_keeps_its_name(tmp_path):
    """TensorFlow names a function's results Identity, Identity_1: the names the user gives stay
    the node names TF.js executes, though the inliner resolves identities."""
    function = tf.function(lambda x: (x * 2.0, tf.nn.relu(x)))
    concrete = function.get_concrete_function(tf.TensorSpec([None, 3], tf.float32, name="x"))
    outputs = [t.name.split(":")[0] for t in concrete.outputs]
    assert outputs == ["Identity", "Identity_1"]
    (tmp_path / "g.pb").write_bytes(concrete.graph.as_graph_def().SerializeToString())
    assert convert(tmp_path / "g.pb", tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=Identity,Identity_1") == 0
    names = {node["name"] for node in model_json(tmp_path / "out")["modelTopology"]["node"]}
    assert {"Identity", "Identity_1", "x"} <= names
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    case = Case(str(tmp_path / "out"), {"x": x}, [x * 2.0, np.maximum(x, 0)], output_names=outputs)
    assert check_tfjs_batch({"identity": case}) == {"identity": None}


def _control_flow_graph(path, lower_control_flow):
    """A tf.cond and a tf.while_loop frozen by convert_variables_to_constants_v2, a variable captured
    by both: lowered by it to v1 frames (its default), or kept as StatelessIf and While with their
    functions in the graph's library."""
    w = tf.Variable(np.linspace(-1.0, 1.0, 3, dtype=np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"), tf.TensorSpec([], tf.bool, name="flag")])
    def f(x, flag):
        chosen = tf.cond(flag, lambda: x * w, lambda: x - w)
        _, looped = tf.while_loop(lambda i, y: i < 4, lambda i, y: (i + 1, tf.tanh(y + w)), (tf.constant(0), chosen))
        return tf.identity(looped, name="y")

    frozen = convert_to_constants.convert_variables_to_constants_v2(f.get_concrete_function(), lower_control_flow=lower_control_flow)
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    found = {node.op for node in frozen.graph.as_graph_def().node}
    assert {"Enter", "Merge", "Switch", "NextIteration"} <= found if lower_control_flow else "While" in found and found & {"If", "StatelessIf"}
    return frozen


@pytest.mark.parametrize("lower_control_flow", [False, True], ids=["functional", "v1_frames"])
def test_control_flow_converts_without_tensorflow(tmp_path, monkeypatch, lower_control_flow):
    frozen = _control_flow_graph(tmp_path / "cf.pb", lower_control_flow)
    monkeypatch.setattr(frozen_graph, "signature_of", lambda *a: pytest.fail("took TensorFlow's path"))
    assert convert(tmp_path / "cf.pb", tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=y") == 0
    assert not {"If", "StatelessIf", "While", "StatelessWhile", "LoopExecuted"} & set(ops(tmp_path / "out"))
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    cases = {str(flag): Case(str(tmp_path / "out"), {"x": x, "flag": np.array(flag)}, frozen(tf.constant(x), tf.constant(flag))[0].numpy(),
                             atol=ATOL, rtol=RTOL)
             for flag in (True, False)}
    assert check_tfjs_batch(cases) == {name: None for name in cases}
    assert_converts_without_tensorflow([["--input_format=tf_frozen_model", "--output_node_names=y", tmp_path / "cf.pb", tmp_path / "again"]])


def _checked_graph(path):
    """A graph with a debug op (CheckNumerics) the outputs depend on: only TensorFlow's path strips it."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        tf.identity(tf.debugging.check_numerics(x * 2.0, "finite"), name="y")
    path.write_bytes(graph.as_graph_def().SerializeToString())


def test_a_graph_that_needs_tensorflow_goes_through_it(tmp_path):
    _checked_graph(tmp_path / "checked.pb")
    with pytest.raises(frozen_graph.NeedsTensorFlow, match="CheckNumerics"):
        frozen_graph.freeze_without_tensorflow(frozen_graph.read_graph_def(str(tmp_path / "checked.pb")), ["y"], "checked.pb")
    assert convert(tmp_path / "checked.pb", tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=y", "--strip_debug_ops") == 0
    assert "CheckNumerics" not in ops(tmp_path / "out")


def test_without_tensorflow_a_graph_that_needs_it_fails_in_one_line_naming_node_and_extra(tmp_path):
    _checked_graph(tmp_path / "checked.pb")
    result = convert_with_tensorflow_blocked("--input_format=tf_frozen_model", "--output_node_names=y", tmp_path / "checked.pb", tmp_path / "out")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "CheckNumerics" in lines[0] and "pip install tensorflowjs[tensorflow]" in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
