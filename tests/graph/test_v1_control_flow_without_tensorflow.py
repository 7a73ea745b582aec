"""Frozen GraphDefs and TF1 SavedModels holding v1 control flow, converted without TensorFlow.

tf.compat.v1 graphs made with control flow v1 (a counted tf.while_loop, a data-dependent one, a
tf.cond with a constant branch, a loop holding a cond, a data-dependent loop in a counted one)
hold Enter/Merge/Switch/NextIteration/Exit/LoopCond nodes; frozen with convert_variables_to_constants, or saved with a variable by
SavedModelBuilder, they take the TensorFlow-free path (frozen_graph, tf1_saved_model), never
importing TensorFlow. Each result predicts what TensorFlow computes, in TF.js on CPU and WASM,
and uses no op kind TensorFlow's path (forced) does not.
"""

import contextlib
import os
import sys
from typing import Dict, List, NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.ops import control_flow_util  # noqa: E402

from graph_models import ATOL, RTOL, convert, convert_saved_model_without_tensorflow, model_json, ops  # noqa: E402
from tensorflowjs.graph import frozen_graph, tf1_saved_model  # noqa: E402
from tfjs_e2e import BACKENDS, Case, check_tfjs_batch  # noqa: E402
from testing.no_tensorflow import assert_converts_without_tensorflow  # noqa: E402

WEIGHTS = np.array([0.5, -1.5, 2.0], np.float32)


@contextlib.contextmanager
def _control_flow_v1():
    """tf.compat.v1.while_loop and cond build v1 frames (as TF1 did) while this lasts."""
    saved = control_flow_util.ENABLE_CONTROL_FLOW_V2
    control_flow_util.ENABLE_CONTROL_FLOW_V2 = False
    try:
        yield
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved


def _counted(x, w):
    _, y = tf.compat.v1.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y * 0.5 + x * w), (tf.constant(0), x))
    return {"y": y}


def _data_dependent(x, w):
    s, n = tf.compat.v1.while_loop(lambda s, n: tf.reduce_sum(tf.abs(s)) < 100.0, lambda s, n: (s * 2.0 + w, n + 1),
                                   (x, tf.constant(0)))
    return {"s": s, "n": n}


def _cond(x, w):
    return {"y": tf.compat.v1.cond(tf.reduce_sum(x) > 0.0, lambda: x * w, lambda: tf.constant([7.0, 8.0, 9.0]))}


def _cond_in_loop(x, w):
    def body(i, y):
        return i + 1, tf.compat.v1.cond(tf.reduce_sum(y) > 0.0, lambda: y - w, lambda: y + 2.0 * w)

    _, y = tf.compat.v1.while_loop(lambda i, y: i < 4, body, (tf.constant(0), x))
    return {"y": y}


def _nested(x, w):
    def outer(i, y):
        _, z = tf.compat.v1.while_loop(lambda j, z: tf.reduce_sum(tf.abs(z)) < 50.0, lambda j, z: (j + 1, z * 1.5 + w), (tf.constant(0), y))
        return i + 1, z * 0.5

    _, y = tf.compat.v1.while_loop(lambda i, y: i < 3, outer, (tf.constant(0), x))
    return {"y": y}


BUILDERS = {"counted": _counted, "data_dependent": _data_dependent, "cond": _cond, "cond_in_loop": _cond_in_loop, "nested": _nested,
            # a loop reading a resource variable (what tf.compat.v1.get_variable makes under TF2) inside it
            "data_dependent_resource": _data_dependent}
FEEDS = [np.array([1.0, 2.0, 3.0], np.float32), np.array([-3.0, 0.5, -1.0], np.float32)]


class Model(NamedTuple):
    frozen: str  # the .pb file
    saved_model: str  # a TF1 SavedModel directory
    outputs: List[str]  # output node names (the frozen graph's) = signature keys (the SavedModel's)
    expected: List[Dict[str, np.ndarray]]  # per feed


def _build(name: str, root: str) -> Model:
    graph = tf.Graph()
    with _control_flow_v1(), graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        w = tf.compat.v1.Variable(WEIGHTS, name="w", use_resource=name.endswith("_resource"))
        results = {key: tf.identity(value, name=key) for key, value in BUILDERS[name](x, w).items()}
        types = {op.type for op in graph.get_operations()}
        assert {"Switch", "Merge"} <= types and not {"While", "StatelessWhile", "If", "StatelessIf"} & types, types
        session.run(tf.compat.v1.global_variables_initializer())
        expected = [session.run(results, {x: feed}) for feed in FEEDS]
        outputs = list(results)
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), outputs)
        path = os.path.join(root, f"{name}.pb")
        with open(path, "wb") as f:
            f.write(frozen.SerializeToString())
        saved_model = os.path.join(root, f"{name}_saved_model")
        builder = tf.compat.v1.saved_model.Builder(saved_model)
        signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, results)
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    return Model(path, saved_model, outputs, expected)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("v1_control_flow"))
    return {name: _build(name, root) for name in BUILDERS}


def _refuse(*args, **kwargs):
    raise frozen_graph.NeedsTensorFlow("forced")


def _frozen_flags(model: Model) -> List[str]:
    return ["--input_format=tf_frozen_model", f"--output_node_names={','.join(model.outputs)}"]


@pytest.fixture(scope="module")
def converted(models, tmp_path_factory):
    """(name, source) -> (our conversion's directory, TensorFlow's path's); asserts ours did not
    take TensorFlow's path. source: "frozen" (the .pb) or "tf1" (the TF1 SavedModel)."""
    root = tmp_path_factory.mktemp("converted")
    result = {}
    for name, model in models.items():
        ours, theirs = root / f"{name}_frozen", root / f"{name}_frozen_tensorflow"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(frozen_graph, "signature_of", _refuse)  # TensorFlow's path only
            assert convert(model.frozen, ours, *_frozen_flags(model)) == 0, name
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(frozen_graph, "freeze_without_tensorflow", _refuse)
            assert convert(model.frozen, theirs, *_frozen_flags(model)) == 0, name
        result[name, "frozen"] = ours, theirs
        ours, theirs = root / f"{name}_tf1", root / f"{name}_tf1_tensorflow"
        convert_saved_model_without_tensorflow(model.saved_model, ours)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tf1_saved_model, "freeze_without_tensorflow", _refuse)
            assert convert(model.saved_model, theirs) == 0, name
        result[name, "tf1"] = ours, theirs
    return result


@pytest.mark.parametrize("source", ["frozen", "tf1"])
def test_predictions_match_tensorflow_on_cpu_and_wasm(models, converted, source):
    cases = {}
    for name, model in models.items():
        directory = converted[name, source][0]
        keys = list(model_json(directory)["signature"]["outputs"])
        for index, (feed, expected) in enumerate(zip(FEEDS, model.expected)):
            cases[f"{name}#{index}"] = Case(str(directory), {"x": feed}, [expected[k] for k in keys], ATOL, RTOL, keys)
    failures = {case: verdict for case, verdict in check_tfjs_batch(cases, BACKENDS).items() if verdict is not None}
    assert not failures, failures


@pytest.mark.parametrize("source", ["frozen", "tf1"])
def test_no_op_kind_more_than_tensorflows_path(converted, source):
    for name in BUILDERS:
        ours, theirs = (ops(d) for d in converted[name, source])
        assert set(ours) <= set(theirs), f"{name} ({source}): {sorted(set(ours) - set(theirs))} only in ours"


def test_loops_with_a_known_trip_count_are_unrolled_others_keep_their_frames(converted):
    frames = {key: "Enter" in ops(directories[0]) for key, directories in converted.items()}
    assert not frames["counted", "frozen"] and not frames["counted", "tf1"]
    assert frames["data_dependent", "frozen"] and frames["data_dependent", "tf1"]


def test_conversion_imports_no_tensorflow(models, tmp_path):
    assert_converts_without_tensorflow([*([*_frozen_flags(model), model.frozen, tmp_path / f"{name}_frozen"] for name, model in models.items()),
                                        *([model.saved_model, tmp_path / f"{name}_tf1"] for name, model in models.items())])


def test_a_debug_op_in_a_v1_loop_still_goes_to_tensorflow_with_its_reason(tmp_path):
    graph = tf.Graph()
    with _control_flow_v1(), graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")

        def body(i, y):
            with tf.control_dependencies([tf.debugging.assert_all_finite(y, "finite")]):
                return i + 1, y * 2.0

        tf.identity(tf.compat.v1.while_loop(lambda i, y: tf.reduce_sum(y) < 10.0, body, (tf.constant(0), x))[1], name="y")
    (tmp_path / "g.pb").write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(frozen_graph.NeedsTensorFlow, match="CheckNumerics"):
        frozen_graph.freeze_without_tensorflow(frozen_graph.read_graph_def(str(tmp_path / "g.pb")), ["y"], "g.pb")


def test_a_constant_placed_by_a_switch_of_itself_is_a_cycle_not_a_crash(tmp_path):
    """A damaged graph: the control input placing a constant comes from a Switch of that constant."""
    graph_def = tf.compat.v1.GraphDef()
    graph_def.node.add(name="p", op="Placeholder").attr["dtype"].type = tf.bool.as_datatype_enum
    constant = graph_def.node.add(name="a", op="Const", input=["^s"])
    constant.attr["dtype"].type = tf.float32.as_datatype_enum
    constant.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(1.0))
    graph_def.node.add(name="s", op="Switch", input=["a", "p"]).attr["T"].type = tf.float32.as_datatype_enum
    merge = graph_def.node.add(name="m", op="Merge", input=["s", "s:1"])
    merge.attr["T"].type, merge.attr["N"].i = tf.float32.as_datatype_enum, 2
    with pytest.raises(frozen_graph.NeedsTensorFlow, match="cycle"):
        (tmp_path / "g.pb").write_bytes(graph_def.SerializeToString())
        frozen_graph.freeze_without_tensorflow(frozen_graph.read_graph_def(str(tmp_path / "g.pb")), ["m"], "g.pb")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
