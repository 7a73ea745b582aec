"""pb2json: a pre-1.0 TF.js model directory, made here, migrated and run in real TF.js."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import pb2json
import update_tf_schema
from tensorflowjs import tf_protos, write_weights
from tfjs_e2e import assert_tfjs_matches

RNG = np.random.default_rng(7)
W1, B1 = RNG.normal(size=(4, 8)).astype(np.float32), RNG.normal(size=8).astype(np.float32)
W2, B2 = RNG.normal(size=(8, 3)).astype(np.float32), RNG.normal(size=3).astype(np.float32)
X = RNG.normal(size=(5, 4)).astype(np.float32)


def _frozen_mlp():
    """(GraphDef of relu(x W1 + b1) W2 + b2 with weights as Consts, expected outputs on X)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    variables = [tf.Variable(v) for v in (W1, B1, W2, B2)]

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def mlp(x):
        hidden = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, variables[0]), variables[1]))
        return tf.nn.bias_add(tf.matmul(hidden, variables[2]), variables[3])

    frozen = convert_variables_to_constants_v2(mlp.get_concrete_function())
    return frozen.graph.as_graph_def(), frozen(tf.constant(X))[0].numpy(), frozen.outputs[0].name.split(":")[0]


def _write_pre_1_0_model(directory, graph_def):
    """What TF.js converter 0.x wrote: Const data moved to shards, the GraphDef kept as .pb."""
    from tensorflow.python.framework import tensor_util

    weights = []
    for node in graph_def.node:
        if node.op == "Const":
            weights.append({"name": node.name, "data": tensor_util.MakeNdarray(node.attr["value"].tensor)})
            node.attr["value"].tensor.ClearField("tensor_content")
            node.attr["value"].tensor.ClearField("float_val")
            node.attr["value"].tensor.ClearField("int_val")
    os.makedirs(directory)
    write_weights.write_weights([weights], str(directory), shard_size_bytes=64)
    with open(os.path.join(directory, pb2json.GRAPH_FILE), "wb") as f:
        f.write(graph_def.SerializeToString())


@pytest.fixture(scope="module")
def old_model(tmp_path_factory):
    graph_def, expected, output = _frozen_mlp()
    directory = tmp_path_factory.mktemp("old") / "model"
    _write_pre_1_0_model(str(directory), graph_def)
    return directory, graph_def, expected, output


@pytest.fixture(scope="module")
def migrated(old_model, tmp_path_factory):
    new = tmp_path_factory.mktemp("new") / "model"
    assert pb2json.main([str(old_model[0]), str(new)]) == 0
    return new


def test_migrated_model_runs_in_tfjs_like_tensorflow(old_model, migrated):
    _, _, expected, output = old_model
    assert_tfjs_matches(str(migrated), {"x": X}, expected, atol=1e-5, rtol=1e-5, output_names=[output])


def test_topology_is_tensorflows_own_json_of_the_graph(old_model, migrated):
    from google.protobuf import json_format

    model = json.load(open(migrated / "model.json"))
    assert model["format"] == "graph-model"
    assert model["modelTopology"] == json_format.MessageToDict(old_model[1])
    assert model["weightsManifest"] == json.load(open(old_model[0] / pb2json.MANIFEST_FILE))
    shards = [p for group in model["weightsManifest"] for p in group["paths"]]
    assert len(shards) > 1
    for shard in shards:
        assert (migrated / shard).read_bytes() == (old_model[0] / shard).read_bytes()


def test_shipped_schema_is_tensorflows_schema():
    with open(tf_protos.SCHEMA_PATH, "rb") as f:
        assert f.read() == update_tf_schema.tf_descriptor_set(), "run `bazel run //tools:update_tf_schema`"


def test_migration_does_not_import_tensorflow(old_model, tmp_path):
    code = f"import sys, pb2json; assert pb2json.main([{str(old_model[0])!r}, {str(tmp_path / 'out')!r}]) == 0; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _copy(old_model, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(old_model[0], copy)
    return copy


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: os.remove(d / pb2json.GRAPH_FILE), "tensorflowjs_model.pb does not exist"),
        (lambda d: (d / pb2json.GRAPH_FILE).write_bytes(b"\xff\xff\xff not a graph"), "is not a binary GraphDef"),
        (lambda d: os.remove(d / pb2json.MANIFEST_FILE), "weights_manifest.json does not exist"),
        (lambda d: (d / pb2json.MANIFEST_FILE).write_text("[{"), "is not a JSON file"),
        (lambda d: os.remove(sorted(d.glob("group1-shard*.bin"))[-1]), "is missing"),
        (lambda d: (d / pb2json.MANIFEST_FILE).write_text(json.dumps([{"paths": ["../escape.bin"], "weights": []}])), "outside the model directory"),
    ],
    ids=["no-graph", "not-a-graph", "no-manifest", "manifest-not-json", "missing-shard", "escaping-shard"],
)
def test_bad_input_is_one_line_and_writes_nothing(old_model, tmp_path, capsys, damage, message):
    old = _copy(old_model, tmp_path)
    damage(old)
    before = sorted(os.listdir(tmp_path))
    assert pb2json.main([str(old), str(tmp_path / "new")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert sorted(os.listdir(tmp_path)) == before


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
