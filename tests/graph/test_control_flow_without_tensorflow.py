"""SavedModels with control flow converted without TensorFlow, checked against TensorFlow.

tf.while_loop and tf.cond (counter loops, data-dependent stops, TensorArrays, nested loops, a
loop in a cond and conds in a loop, a Keras LSTM) convert with default flags (lowered to v1
frames: graph/lower_control_flow.py) and with --control_flow_v2 (functional ops and their
frozen functions: graph/functional_control_flow.py), never importing TensorFlow. Each result
predicts what TensorFlow does in TF.js on CPU and WASM, and uses no op kind TensorFlow's path
(forced) does not, in no more nodes.
"""

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from control_flow_models import SIGNATURES, save_loops, save_lstm  # noqa: E402
from graph_models import ATOL, RTOL, convert, convert_saved_model_without_tensorflow, model_json, ops  # noqa: E402
from tensorflowjs.graph import saved_model, saved_model_graph  # noqa: E402
from tfjs_e2e import BACKENDS, Case, check_tfjs_batch, run_tfjs  # noqa: E402

MODES = {"v1": (), "v2": ("--control_flow_v2",)}
NAMES = [*SIGNATURES, "lstm_5", "lstm_any"]
# TF.js 4.22 loses the tensors of a TensorList written inside a While function: with
# --control_flow_v2 this model fails in TF.js, as TensorFlow's path's output does
# (test_control_flow_and_dtypes.py); its v1 conversion runs.
FAILS_IN_TFJS_AS_V2 = {"tensor_array"}
# TensorFlow's path's outputs TF.js 4.22 cannot run, where ours run: TensorFlow's lowering of a
# loop inside a tf.cond ("Cannot compute the outputs"), and its control flow v2 LSTM on WASM.
THEIRS_FAIL_IN_TFJS = {("loop_in_cond", "v1"), ("lstm_5", "v2"), ("lstm_any", "v2")}
# TensorFlow lowers tf.switch_case (Case) to a _SwitchN, which TF.js does not have: its path
# fails the op check, where ours is a chain of conds.
TENSORFLOWS_PATH_FAILS = {"case"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("control_flow"))
    return {**save_loops(root), "lstm_5": save_lstm(root, 5), "lstm_any": save_lstm(root, None)}


def _refuse(*args, **kwargs):
    raise saved_model_graph.NeedsTensorFlow("forced")


@pytest.fixture(scope="module")
def converted(models, tmp_path_factory):
    """(name, mode) -> (our conversion's directory, TensorFlow's path's); asserts ours did not
    take TensorFlow's path."""
    root = tmp_path_factory.mktemp("converted")
    result = {}
    for name in NAMES:
        model = models[name]
        for mode, flags in MODES.items():
            ours, theirs = root / f"{name}_{mode}", root / f"{name}_{mode}_tensorflow"
            convert_saved_model_without_tensorflow(model.path, ours, f"--signature_name={model.signature}", *flags)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(saved_model_graph, "freeze_signature", _refuse)
                code = convert(model.path, theirs, f"--signature_name={model.signature}", *flags)
            assert (code != 0) == (name in TENSORFLOWS_PATH_FAILS), f"{name} ({mode}): TensorFlow's path exited {code}"
            result[name, mode] = ours, theirs if code == 0 else None
    return result


def _cases(models, directory, name):
    """One TF.js check per feed: the model's inputs in its signature's order, TF's outputs by key."""
    signature = model_json(directory)["signature"]
    inputs, outputs = list(signature["inputs"]), list(signature["outputs"])
    model = models[name]
    def keyed(feed):  # an exported Keras model's input key is its own (not the Input's name)
        return feed if set(feed) == set(inputs) else dict(zip(inputs, feed.values()))

    return {f"{name}#{index}": Case(str(directory), keyed(feed), [expected[k] for k in outputs], ATOL, RTOL, outputs)
            for index, (feed, expected) in enumerate(zip(model.feeds, model.expected))}


@pytest.mark.parametrize("mode", MODES)
def test_predictions_match_tensorflow_on_cpu_and_wasm(models, converted, mode):
    cases = {}
    for name in NAMES:
        if not (mode == "v2" and name in FAILS_IN_TFJS_AS_V2):
            cases.update(_cases(models, converted[name, mode][0], name))
    failures = {case: verdict for case, verdict in check_tfjs_batch(cases, BACKENDS).items() if verdict is not None}
    assert not failures, failures


def test_tensor_array_in_a_while_function_fails_in_tfjs_as_tensorflows_output_does(models, converted):
    feed = models["tensor_array"].feeds[0]
    for directory in converted["tensor_array", "v2"]:
        with pytest.raises(AssertionError, match="Cannot read properties of undefined"):
            run_tfjs(str(directory), feed, "cpu")


def test_where_tensorflows_output_fails_in_tfjs_ours_runs(models, converted):
    """Pins the known failures of TensorFlow's path's output that ours does not share (the
    prediction test runs ours); if TF.js or TensorFlow fixes them, this test says so."""
    for name, mode in sorted(THEIRS_FAIL_IN_TFJS):
        cases = _cases(models, converted[name, mode][1], name)
        verdicts = check_tfjs_batch(cases, BACKENDS)
        assert any(v is not None for v in verdicts.values()), f"{name} ({mode}) from TensorFlow's path now runs in TF.js"


@pytest.mark.parametrize("mode", MODES)
def test_no_op_kind_or_node_more_than_tensorflows_path(converted, mode):
    for name in sorted(set(NAMES) - TENSORFLOWS_PATH_FAILS):
        ours, theirs = (ops(d) for d in converted[name, mode])
        assert set(ours) <= set(theirs), f"{name} ({mode}): {sorted(set(ours) - set(theirs))} only in ours"
        assert len(ours) <= len(theirs), f"{name} ({mode}): {len(ours)} nodes, TensorFlow's path {len(theirs)}"


def test_loops_with_a_known_trip_count_are_unrolled_as_on_tensorflows_path(converted):
    def frames(directory):
        return sum(1 for node in model_json(directory)["modelTopology"]["node"] if node["op"] == "Enter") > 0

    for name in sorted(set(NAMES) - TENSORFLOWS_PATH_FAILS):
        ours, theirs = converted[name, "v1"]
        assert frames(ours) == frames(theirs), name
    assert not frames(converted["counter", "v1"][0]) and not frames(converted["lstm_5", "v1"][0])
    assert frames(converted["data_dependent", "v1"][0]) and frames(converted["lstm_any", "v1"][0])


def test_switch_case_is_a_chain_of_conds_where_tensorflows_path_leaves_switch_n(models, tmp_path, capsys):
    model = models["case"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(saved_model_graph, "freeze_signature", _refuse)
        code = convert(model.path, tmp_path / "theirs", "--signature_name=case")
    assert code == 1 and "_SwitchN" in capsys.readouterr().err


def test_control_flow_v2_keeps_functional_ops_and_their_frozen_functions(converted):
    topology = model_json(converted["cond_in_loop", "v2"][0])["modelTopology"]
    functions = topology["library"]["function"]
    assert {"While", "If", "StatelessIf"} <= {op for function in functions for op in (n["op"] for n in function.get("nodeDef", []))} | {
        n["op"] for n in topology["node"]}
    arguments = [arg["type"] for function in functions for arg in function["signature"]["inputArg"]]
    assert "DT_RESOURCE" not in arguments  # captured variables are passed in as their values
    assert not {"ReadVariableOp", "StatefulPartitionedCall", "PartitionedCall"} & set(ops(converted["cond_in_loop", "v2"][0]))


@pytest.mark.parametrize("name", ["counter", "data_dependent", "nested", "cond", "loop_in_cond", "cond_in_loop"])
def test_the_lowered_graph_runs_in_tensorflow(models, name, tmp_path):
    """The frozen GraphDef (--frozen_graph_dir), lowered but not yet rewritten for TF.js, is a
    graph TensorFlow's executor accepts (frames entered and exited, constants placed) and
    computes TensorFlow's results with."""
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model

    model = models[name]
    convert_tf_saved_model(model.path, str(tmp_path / "out"), signature_def=model.signature, frozen_graph_dir=str(tmp_path / "frozen"))
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString((tmp_path / "frozen" / "model.json.frozen").read_bytes())
    assert {"Enter", "Switch"} & {node.op for node in graph_def.node}
    signature = model_json(tmp_path / "out")["signature"]
    keys = list(signature["outputs"])
    run = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
    prune = run.prune([signature["inputs"][k]["name"] for k in signature["inputs"]], [signature["outputs"][k]["name"] for k in keys])
    for feed, expected in zip(model.feeds, model.expected):
        results = prune(*[tf.constant(feed[k]) for k in signature["inputs"]])
        for key, value in zip(keys, results):
            np.testing.assert_allclose(value.numpy(), expected[key], rtol=RTOL, atol=ATOL, err_msg=f"{name}: {key}")


def test_conversion_imports_no_tensorflow(models, tmp_path):
    runs = [(models[name].path, str(tmp_path / f"{name}_{mode}"), models[name].signature, list(flags))
            for name in NAMES for mode, flags in MODES.items()]
    code = (
        "import sys\n"
        "from tensorflowjs.converters import converter\n"
        f"for src, dst, signature, flags in {runs!r}:\n"
        "    assert converter.main([*flags, f'--signature_name={signature}', src, dst]) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


class StillNeedsTensorFlow(tf.Module):
    """What the TensorFlow-free path leaves to TensorFlow: a table read inside a loop."""

    def __init__(self):
        super().__init__()
        initializer = tf.lookup.KeyValueTensorInitializer(tf.constant([0, 1, 2], tf.int64), tf.constant([2.0, 3.0, 4.0]))
        self.table = tf.lookup.StaticHashTable(initializer, default_value=0.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="k")])
    def table_in_loop(self, k):
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * self.table.lookup(k)), (tf.constant(0), tf.constant(1.0)))
        return {"y": y}


def test_a_table_read_inside_a_loop_is_left_to_tensorflow_with_its_reason(tmp_path):
    module = StillNeedsTensorFlow()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures={"serving_default": module.table_in_loop})
    choice = saved_model.choose_meta_graph(str(tmp_path / "saved"), "serve", "serving_default")
    with pytest.raises(saved_model_graph.NeedsTensorFlow, match="a table"):
        saved_model_graph.freeze_signature(str(tmp_path / "saved"), choice.meta_graph, "serving_default")
    assert convert(tmp_path / "saved", tmp_path / "out") == 0


def test_variables_read_in_a_loop_are_one_weight_each(converted):
    """A variable read in a loop body is one constant entered into the frame, not a copy per read."""
    ours = model_json(converted["data_dependent", "v1"][0])
    shapes = [w["shape"] for group in ours["weightsManifest"] for w in group["weights"]]
    assert shapes.count([3]) == 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
