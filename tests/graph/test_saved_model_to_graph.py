"""tf_saved_model / tf_frozen_model -> tfjs_graph_model, checked in real TF.js (CPU and WASM)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from graph_models import ATOL, RTOL, assert_failed_cleanly, convert, model_json, numpy_outputs, ops, output_keys  # noqa: E402
from tfjs_e2e import assert_tfjs_matches, run_tfjs  # noqa: E402

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 6)).astype(np.float32)
IMAGES = RNG.normal(size=(2, 8, 8, 3)).astype(np.float32)


class Mlp(tf.Module):
    """Two signatures: `serving_default` (logits and probs) and `embed`."""

    def __init__(self):
        super().__init__()
        self.w1 = tf.Variable(RNG.normal(size=(6, 16)).astype(np.float32))
        self.b1 = tf.Variable(RNG.normal(size=(16,)).astype(np.float32))
        self.w2 = tf.Variable(RNG.normal(size=(16, 4)).astype(np.float32))
        self.b2 = tf.Variable(RNG.normal(size=(4,)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="features")])
    def embed(self, features):
        return {"embedding": tf.nn.relu(tf.matmul(features, self.w1) + self.b1)}

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="features")])
    def serve(self, features):
        logits = tf.matmul(self.embed(features)["embedding"], self.w2) + self.b2
        return {"probs": tf.nn.softmax(logits), "logits": logits}


class Cnn(tf.Module):
    """Conv2D + batch norm (inference) + ReLU, pooled to a vector."""

    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(RNG.normal(size=(3, 3, 3, 5)).astype(np.float32))
        self.mean = tf.Variable(RNG.normal(size=(5,)).astype(np.float32))
        self.variance = tf.Variable(RNG.uniform(0.5, 2.0, size=(5,)).astype(np.float32))
        self.gamma = tf.Variable(RNG.normal(size=(5,)).astype(np.float32))
        self.beta = tf.Variable(RNG.normal(size=(5,)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32, name="images")])
    def serve(self, images):
        y = tf.nn.conv2d(images, self.kernel, strides=1, padding="SAME")
        y = tf.nn.batch_normalization(y, self.mean, self.variance, self.beta, self.gamma, 1e-3)
        return {"features": tf.reduce_mean(tf.nn.relu(y), axis=[1, 2])}


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    module = Mlp()
    path = tmp_path_factory.mktemp("mlp") / "saved_model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve, "embed": module.embed})
    return module, path


@pytest.fixture(scope="module")
def mlp_models(mlp, tmp_path_factory):
    """The MLP converted once per variant."""
    _, path = mlp
    root = tmp_path_factory.mktemp("mlp_out")
    variants = {
        "plain": [],
        "embed": ["--signature_name=embed"],
        "float16": ["--quantize_float16"],
        "uint16": ["--quantize_uint16"],
        "uint8": ["--quantize_uint8"],
        "structured": ["--use_structured_outputs_names", "--weight_shard_size_bytes=200"],
    }
    for name, flags in variants.items():
        assert convert(path, root / name, *flags) == 0, name
    return root


def test_mlp_saved_model_predicts_in_tfjs_with_signature_keys(mlp, mlp_models):
    module, _ = mlp
    keys = output_keys(mlp_models / "plain")
    assert keys == ["logits", "probs"]
    expected = numpy_outputs(module.serve(X), keys)
    assert_tfjs_matches(str(mlp_models / "plain"), {"features": X}, expected, atol=ATOL, rtol=RTOL, output_names=keys)


def test_model_json_describes_graph_model_and_dynamic_batch(mlp_models):
    model = model_json(mlp_models / "plain")
    assert model["format"] == "graph-model"
    assert model["generatedBy"] == tf.__version__ and model["convertedBy"].startswith("TensorFlow.js Converter v")
    features = model["signature"]["inputs"]["features"]
    assert features["dtype"] == "DT_FLOAT"
    assert features["tensorShape"] == {"dim": [{"size": "-1"}, {"size": "6"}]}
    assert all("tensorContent" not in str(n["attr"]) for n in model["modelTopology"]["node"] if n["op"] == "Const")


@pytest.mark.parametrize("batch", [1, 5])
def test_dynamic_batch_dimension_accepts_any_batch(mlp, mlp_models, batch):
    module, _ = mlp
    x = RNG.normal(size=(batch, 6)).astype(np.float32)
    (probs,) = run_tfjs(str(mlp_models / "plain"), {"features": x}, "cpu", ["probs"])
    np.testing.assert_allclose(probs, module.serve(x)["probs"].numpy(), atol=ATOL, rtol=RTOL)


def test_signature_name_chooses_the_signature(mlp, mlp_models):
    module, _ = mlp
    assert output_keys(mlp_models / "embed") == ["embedding"]
    assert_tfjs_matches(str(mlp_models / "embed"), {"features": X}, [module.embed(X)["embedding"].numpy()], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("variant,tolerance", [("float16", 2e-3), ("uint16", 1e-3), ("uint8", 5e-2)])
def test_quantized_models_stay_within_their_error(mlp, mlp_models, variant, tolerance):
    module, _ = mlp
    manifest = model_json(mlp_models / variant)["weightsManifest"][0]["weights"]
    assert {w["quantization"]["dtype"] for w in manifest} == {variant}
    logits = module.serve(X)["logits"].numpy()
    scale = np.abs(logits).max()
    assert_tfjs_matches(str(mlp_models / variant), {"features": X}, [logits], atol=tolerance * scale * 4, rtol=0, output_names=["logits"])


def test_structured_outputs_names_and_small_shards(mlp, mlp_models):
    module, _ = mlp
    model = model_json(mlp_models / "structured")
    assert model["userDefinedMetadata"]["structuredOutputKeys"] == ["logits", "probs"]
    assert len(model["weightsManifest"][0]["paths"]) > 1
    assert_tfjs_matches(str(mlp_models / "structured"), {"features": X}, numpy_outputs(module.serve(X), ["logits", "probs"]), atol=ATOL, rtol=RTOL)


def test_cnn_with_batch_norm_predicts_in_tfjs(tmp_path):
    module = Cnn()
    tf.saved_model.save(module, str(tmp_path / "cnn"), signatures=module.serve)
    assert convert(tmp_path / "cnn", tmp_path / "out", "--metadata", f"info:{_metadata_file(tmp_path)}") == 0
    assert model_json(tmp_path / "out")["userDefinedMetadata"] == {"info": {"labels": ["a", "b"]}}
    assert_tfjs_matches(str(tmp_path / "out"), [IMAGES], [module.serve(IMAGES)["features"].numpy()], atol=ATOL, rtol=RTOL)


def _metadata_file(tmp_path):
    path = tmp_path / "info.json"
    path.write_text('{"labels": ["a", "b"]}')
    return path


def test_tf1_style_saved_model_predicts_in_tfjs(tmp_path):
    weights = RNG.normal(size=(6, 2)).astype(np.float32)
    path = str(tmp_path / "tf1")
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.float32, [None, 6], name="x")
        w = tf.compat.v1.get_variable("w", initializer=weights)
        y = tf.nn.tanh(tf.matmul(x, w), name="y")
        session.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(path)
        signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"scores": y})
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    assert convert(path, tmp_path / "out") == 0
    assert output_keys(tmp_path / "out") == ["scores"]
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, [np.tanh(X @ weights)], atol=ATOL, rtol=RTOL)


class Checked(tf.Module):
    """Debug ops around a computation: Assert, Print and CheckNumerics."""

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="x")])
    def serve(self, x):
        tf.debugging.assert_greater(tf.reduce_sum(tf.abs(x)), -1.0)
        tf.print("x sum", tf.reduce_sum(x))
        return {"y": tf.debugging.check_numerics(tf.nn.relu(x) * 3.0, "bad y")}


def test_strip_debug_ops_removes_assert_print_and_check_numerics(tmp_path, capsys):
    module = Checked()
    tf.saved_model.save(module, str(tmp_path / "checked"), signatures=module.serve)
    # Without the flag, the op check refuses the ops TF.js cannot run, before writing anything.
    code = convert(tmp_path / "checked", tmp_path / "out")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "Assert", "CheckNumerics", "PrintV2")
    assert convert(tmp_path / "checked", tmp_path / "out", "--strip_debug_ops") == 0
    assert not set(ops(tmp_path / "out")) & {"Assert", "PrintV2", "CheckNumerics", "StringFormat"}
    assert_tfjs_matches(str(tmp_path / "out"), {"x": X}, [module.serve(X)["y"].numpy()], atol=ATOL, rtol=RTOL)


@pytest.fixture(scope="module")
def frozen_pb(tmp_path_factory):
    weights = RNG.normal(size=(6, 3)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 6], name="input")
        tf.nn.sigmoid(tf.matmul(x, tf.constant(weights)), name="output_probs")
    path = tmp_path_factory.mktemp("frozen") / "model.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path, weights


def test_frozen_graph_predicts_in_tfjs(frozen_pb, tmp_path):
    path, weights = frozen_pb
    assert convert(path, tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=output_probs") == 0
    assert output_keys(tmp_path / "out") == ["output_probs"]
    assert_tfjs_matches(str(tmp_path / "out"), {"input": X}, [1 / (1 + np.exp(-(X @ weights)))], atol=ATOL, rtol=RTOL)


def test_frozen_graph_unknown_output_suggests_close_names(frozen_pb, tmp_path, capsys):
    path, _ = frozen_pb
    code = convert(path, tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=output_prob")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "output_prob", "did you mean output_probs")


def test_frozen_graph_control_input_is_not_an_output(frozen_pb, tmp_path, capsys):
    path, _ = frozen_pb
    code = convert(path, tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=^output_probs")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "'^output_probs' is not in the graph", "did you mean output_probs")


def test_frozen_graph_without_output_node_names_says_they_are_required(frozen_pb, tmp_path, capsys):
    path, _ = frozen_pb
    code = convert(path, tmp_path / "out", "--input_format=tf_frozen_model")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "--output_node_names is required")


def test_pb_that_is_not_a_graph_def_fails_cleanly(tmp_path, capsys):
    path = tmp_path / "bogus.pb"
    path.write_bytes(b"this is not a protocol buffer \xff\xff\xff")
    code = convert(path, tmp_path / "out", "--input_format=tf_frozen_model", "--output_node_names=y")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "is not a frozen TensorFlow GraphDef")


def test_directory_without_saved_model_pb_fails_cleanly(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = convert(tmp_path / "empty", tmp_path / "out", "--input_format=tf_saved_model")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "has no saved_model.pb")


def test_wrong_tags_list_the_existing_tag_sets(mlp, tmp_path, capsys):
    _, path = mlp
    code = convert(path, tmp_path / "out", "--saved_model_tags=serve,gpu")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "{gpu,serve}", "its tag sets: {serve}")


def test_wrong_signature_lists_the_existing_ones(mlp, tmp_path, capsys):
    _, path = mlp
    code = convert(path, tmp_path / "out", "--signature_name=predict")
    assert_failed_cleanly(code, capsys, tmp_path / "out", "'predict'", "embed, serving_default")


def test_failed_conversion_leaves_existing_output_untouched(mlp, tmp_path, capsys):
    _, path = mlp
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert convert(path, tmp_path / "out", "--signature_name=nope") == 1
    assert os.listdir(tmp_path / "out") == ["keep.txt"]


def test_python_api_embeds_metadata_and_writes_frozen_graph_copy(mlp, tmp_path):
    from tensorflowjs.converters import convert_tf_saved_model

    module, path = mlp
    convert_tf_saved_model(str(path), str(tmp_path / "out"), signature_def="embed", frozen_graph_dir=str(tmp_path / "frozen"),
                           metadata={"vocab": {"size": 3}})
    assert (tmp_path / "frozen" / "model.json.frozen").stat().st_size > 0
    assert output_keys(tmp_path / "out") == ["embedding"]
    assert model_json(tmp_path / "out")["userDefinedMetadata"] == {"vocab": {"size": 3}}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
