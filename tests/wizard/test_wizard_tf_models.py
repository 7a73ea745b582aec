"""The real wizard through models that TensorFlow and Keras wrote: .h5, .keras, a SavedModel
with two signatures, a tf.keras SavedModel and a frozen graph.

Dry runs check the printed command. In real runs the wizard's output must equal, byte for
byte, what its printed command writes, and must predict in TF.js what TensorFlow predicts.
"""

import json
import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

import numpy as np
import pytest

from tensorflowjs.formats import detect_format
from tensorflowjs.wizard import model_info
from tfjs_e2e import assert_tfjs_matches
from wizard_driver import Wizard, assert_no_traceback, listed_files, printed_command, rerun_printed_command, tree

X = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
K = np.array(3, dtype=np.int32)
W = np.arange(8, dtype=np.float32).reshape(4, 2) / 8  # exact in float16 too


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Writes every model once; returns (directory, {name: expected predictions})."""
    import keras
    import tensorflow as tf
    import tf_keras
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    root = tmp_path_factory.mktemp("models")
    expected = {}

    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", name="hidden"), keras.layers.Dense(2, name="out")])
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    (root / "keras models").mkdir()
    model.save(str(root / "keras models" / "model.h5"))
    model.save(str(root / "keras models" / "model.keras"))
    expected["keras"] = model.predict(X, verbose=0)

    class TwoSignatures(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(W)

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def predict(self, x):
            return {"y": tf.matmul(x, self.w)}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="a"), tf.TensorSpec([], tf.int32, name="k")])
        def scaled(self, a, k):
            return {"z": tf.matmul(a, self.w) * tf.cast(k, tf.float32)}

    module = TwoSignatures()
    tf.saved_model.save(module, str(root / "saved model"), signatures={"serving_default": module.predict, "scaled": module.scaled})
    expected["saved_model"] = module.scaled(X, K)["z"].numpy()

    legacy = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(4,), name="dense")])
    legacy.set_weights([W, np.array([0.5, -0.5], np.float32)])
    legacy.save(str(root / "keras saved model"), save_format="tf")
    expected["keras_saved_model"] = legacy.predict(X, verbose=0)

    weights = tf.Variable(W)
    function = tf.function(lambda x: tf.nn.relu(tf.matmul(x, weights))).get_concrete_function(tf.TensorSpec([None, 4], tf.float32, name="x"))
    graph = convert_variables_to_constants_v2(function).graph.as_graph_def()
    (root / "graph.bin").write_bytes(graph.SerializeToString())  # a frozen graph under any name
    expected["frozen"] = np.maximum(X @ W, 0)

    _write_hub_module(root / "hub module")
    return root, expected


def _write_hub_module(path):
    """A TF1 Hub module's layout: two MetaGraphs (no tags, and 'train') with a 'default' signature."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    for tags in ([], ["train"]):
        meta_graph = saved_model.meta_graphs.add()
        meta_graph.meta_info_def.tags.extend(tags)
        signature = meta_graph.signature_def["default"]
        signature.method_name = "tensorflow/serving/predict"
        for key, info, dims in (("images", signature.inputs["images"], (-1, 224, 224, 3)), ("default", signature.outputs["default"], (-1, 1001))):
            info.name, info.dtype = f"{key}:0", types_pb2.DT_FLOAT
            for d in dims:
                info.tensor_shape.dim.add(size=d)
    path.mkdir()
    (path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (path / "tfhub_module.pb").write_bytes(b"\x08\x03")  # ModuleDef format 3


# --- detection and inspection of real models ----------------------------------------------

@pytest.mark.parametrize("path,expected", [
    ("keras models/model.h5", "keras"),
    ("keras models/model.keras", "keras_keras"),
    ("saved model", "tf_saved_model"),
    ("keras saved model", "keras_saved_model"),
    ("graph.bin", "tf_frozen_model"),
    ("hub module", "tf_hub"),
    ("saved model/saved_model.pb", None),
    ("saved model/variables/variables.index", None),
    ("keras models", None),
])
def test_detection_of_models_tensorflow_wrote(models, path, expected):
    root, _ = models
    assert detect_format(str(root / path)) == expected


def test_hub_module_tag_sets(models):
    root, _ = models
    meta_graphs = model_info.read_saved_model(str(root / "hub module"))
    assert [m.tags_flag for m in meta_graphs] == ["", "train"]
    assert all([s.name for s in m.signatures] == ["default"] for m in meta_graphs)


def test_saved_model_tag_sets_and_signatures(models):
    root, _ = models
    (meta_graph,) = model_info.read_saved_model(str(root / "saved model"))
    assert meta_graph.tags == ("serve",) and meta_graph.tags_flag == "serve"
    by_name = {s.name: s for s in meta_graph.signatures}
    assert sorted(by_name) == ["scaled", "serving_default"]  # __saved_model_init_op is not one
    scaled = by_name["scaled"]
    assert scaled.inputs == (model_info.TensorSpec("a", "float32", (-1, 4)), model_info.TensorSpec("k", "int32", ()))
    assert scaled.outputs == (model_info.TensorSpec("z", "float32", (-1, 2)),)
    assert scaled.describe() == "inputs (a: float32 [None, 4], k: int32 []) -> outputs (z: float32 [None, 2])"


def test_frozen_graph_output_suggestion(models):
    root, _ = models
    outputs = model_info.frozen_graph_outputs(str(root / "graph.bin"))
    assert len(outputs) == 1 and outputs[0] not in ("x", "NoOp")


def test_inspecting_models_imports_no_tensorflow(models):
    import subprocess

    root, _ = models
    code = (
        "import sys\n"
        "from tensorflowjs.wizard import model_info\n"
        f"assert model_info.read_saved_model({str(root / 'saved model')!r})\n"
        f"assert model_info.frozen_graph_outputs({str(root / 'graph.bin')!r})\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# --- the wizard, dry run and real ----------------------------------------------------------

def _layers_answers(wizard, output):
    wizard.choose("Convert it to", "tfjs_layers_model")
    wizard.choose("Compress (quantize) the weights?", "none")
    wizard.type("Shard size in bytes")
    wizard.no("Split the weights by layer")
    wizard.no("Embed metadata JSON files")
    wizard.type("Output directory", output)


def _graph_answers(wizard, output):
    wizard.choose("Compress (quantize) the weights?", "float16")
    wizard.choose("Which weights?", "all")
    wizard.type("Shard size in bytes")
    wizard.yes("Strip debug ops")
    wizard.no("Keep TF2 control flow")
    wizard.no("Skip the check for ops")
    wizard.no("Embed metadata JSON files")
    wizard.type("Output directory", output)


def _saved_model_answers(wizard, output):
    wizard.choose("Convert it to", "tfjs_graph_model")
    wizard.wait_for("scaled: inputs (a: float32 [None, 4], k: int32 []) -> outputs (z: float32 [None, 2])")
    wizard.wait_for("serving_default: inputs (x: float32 [None, 4]) -> outputs (y: float32 [None, 2])")
    wizard.choose("Which signature?", "scaled")
    _graph_answers(wizard, output)


def _hub_answers(wizard, output):
    wizard.choose("Convert it to", "tfjs_graph_model")
    wizard.wait_for("default: inputs (images: float32 [None, 224, 224, 3]) -> outputs (default: float32 [None, 1001])")
    wizard.choose("Which tag set (MetaGraph)?")  # (no tags) is the default for Hub modules
    wizard.choose("Which signature?")  # and so is 'default'
    _graph_answers(wizard, output)


def _frozen_answers(wizard, output):
    wizard.choose("Convert it to", "tfjs_graph_model")
    wizard.type("Output node names")  # the suggested ones
    _graph_answers(wizard, output)


# name -> (path typed, detection question, answers, input format, output format, expected flags)
CASES = {
    "h5": ("keras models/model.h5", "This is a Keras HDF5 model", _layers_answers, "keras", "tfjs_layers_model", ""),
    "keras": ("keras models/model.keras", "This is a Keras v3 model archive", _layers_answers, "keras_keras", "tfjs_layers_model", ""),
    "saved_model": ("saved model", "This is a TensorFlow SavedModel", _saved_model_answers, "tf_saved_model", "tfjs_graph_model",
                    " --saved_model_tags=serve --signature_name=scaled --quantize_float16 --strip_debug_ops=true"),
    "keras_saved_model": ("keras saved model", "This is a Keras SavedModel", _layers_answers, "keras_saved_model", "tfjs_layers_model", ""),
    "frozen": ("graph.bin", "This is a TensorFlow frozen model", _frozen_answers, "tf_frozen_model", "tfjs_graph_model",
               " --output_node_names={outputs} --quantize_float16 --strip_debug_ops=true"),
    "hub": ("hub module", "This is a TensorFlow Hub module", _hub_answers, "tf_hub", "tfjs_graph_model",
            " --saved_model_tags= --signature_name=default --quantize_float16 --strip_debug_ops=true"),
}


def _expected_command(root, case, output):
    typed, _, _, input_format, output_format, flags = CASES[case]
    flags = flags.format(outputs=",".join(model_info.frozen_graph_outputs(str(root / "graph.bin"))) if case == "frozen" else "")
    return f"tensorflowjs_converter --input_format={input_format} --output_format={output_format}{flags} {shlex.quote(typed)} {shlex.quote(str(output))}"


def _drive(root, case, output, dry_run):
    typed, detected, answers, _, _, _ = CASES[case]
    wizard = Wizard(*(["--dryrun"] if dry_run else []), cwd=root)
    wizard.type("Path of the model", typed)
    wizard.yes(detected)
    answers(wizard, str(output))
    if not dry_run:
        wizard.yes("Convert now?")
    status = wizard.finish()
    assert status == 0, wizard.transcript
    assert_no_traceback(wizard.transcript)
    return wizard.transcript


@pytest.mark.parametrize("case", list(CASES))
def test_dry_run_command(models, tmp_path, case):
    root, _ = models
    transcript = _drive(root, case, tmp_path / "web", dry_run=True)
    assert printed_command(transcript) == _expected_command(root, case, tmp_path / "web")
    assert not (tmp_path / "web").exists()


def _graph_inputs(model_dir):
    """The saved model's inputs (a, k) in the order of the converted model's signature."""
    signature = json.load(open(os.path.join(model_dir, "model.json"))).get("signature", {}).get("inputs", {})
    if not signature:
        return [X, K]
    return [K if entry.get("dtype") == "DT_INT32" else X for entry in signature.values()]


@pytest.mark.parametrize("case", ["h5", "keras", "saved_model", "keras_saved_model", "frozen"])
def test_real_run(models, tmp_path, case):
    root, expected = models
    output_format = CASES[case][4]
    output = tmp_path / "web"
    transcript = _drive(root, case, output, dry_run=False)
    assert printed_command(transcript) == _expected_command(root, case, output)
    files = tree(str(output))
    assert listed_files(transcript) == {name: len(data) for name, data in files.items()}

    result = rerun_printed_command(transcript, root, tmp_path / "again")
    assert result.returncode == 0, result.stderr
    assert tree(str(tmp_path / "again")) == files

    if output_format == "tfjs_layers_model":
        assert_tfjs_matches(str(output), [X], [expected["keras_saved_model" if case == "keras_saved_model" else "keras"]], atol=1e-5, rtol=1e-5)
    elif case == "saved_model":
        assert_tfjs_matches(str(output), _graph_inputs(str(output)), [expected["saved_model"]], atol=1e-4, rtol=1e-4)
    else:
        assert_tfjs_matches(str(output), [X], [expected["frozen"]], atol=1e-4, rtol=1e-4)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
