"""One userDefinedMetadata rule for both writers, and the Python API's refusal of an output
that is its input (the CLI's wider refusal is pinned in test_output.py and tests/hostile)."""

import json
import os
import sys

import numpy as np
import pytest

from tensorflowjs import metadata, model_json
from tensorflowjs.converters import converter
from tensorflowjs.converters.tfjs_layers_model import write_layers_model
from tensorflowjs.errors import ConversionError
from tensorflowjs.options import ConversionOptions
from tensorflowjs.write_weights import Weight


def test_the_users_metadata_replaces_what_the_source_carried_and_converter_keys_go_on_top():
    assert metadata.user_defined_metadata({"a": 1}, {"old": 2}) == {"a": 1}
    assert metadata.user_defined_metadata(None, {"old": 2}) == {"old": 2}
    assert metadata.user_defined_metadata({"structuredOutputKeys": "mine"}, structuredOutputKeys=["y"]) == {"structuredOutputKeys": ["y"]}
    assert metadata.user_defined_metadata(None) is None and metadata.user_defined_metadata({}, {}) is None


def _written_layers_metadata(tmp_path, user, carried):
    out = tmp_path / "out"
    out.mkdir(parents=True)
    weights = [Weight.of("dense/kernel", np.ones((2, 2), np.float32))]
    write_layers_model(str(out), {"model_config": {}}, weights, ConversionOptions(metadata=user), "test", carried_metadata=carried)
    return json.loads((out / model_json.MODEL_JSON).read_text()).get("userDefinedMetadata")


def test_layers_writer_follows_the_rule(tmp_path):
    assert _written_layers_metadata(tmp_path / "given", {"vocab": [1, 2]}, {"old": True}) == {"vocab": [1, 2]}
    assert _written_layers_metadata(tmp_path / "kept", None, {"old": True}) == {"old": True}
    assert _written_layers_metadata(tmp_path / "none", None, None) is None


def test_graph_writer_follows_the_rule(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from tensorflowjs.converters import convert_tf_saved_model

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def __call__(self, x):
            return {"doubled": x * 2.0}

    tf.saved_model.save(Doubler(), str(tmp_path / "sm"))
    convert_tf_saved_model(str(tmp_path / "sm"), str(tmp_path / "out"), use_structured_outputs_names=True,
                           metadata={"vocab": [1, 2], "structuredOutputKeys": "mine"})
    written = json.loads((tmp_path / "out" / model_json.MODEL_JSON).read_text())["userDefinedMetadata"]
    assert written == {"vocab": [1, 2], "structuredOutputKeys": ["doubled"]}


def _layers_model(directory):
    os.makedirs(directory)
    write_layers_model(str(directory), {"model_config": {}}, [Weight.of("d/k", np.ones(3, np.float32))], ConversionOptions(), "test")
    return str(directory / model_json.MODEL_JSON)


@pytest.mark.parametrize("output,says", [(".", "is the input"), ("model.json", "the input")])
def test_the_python_api_refuses_an_output_that_would_overwrite_its_input(tmp_path, output, says):
    path = _layers_model(tmp_path / "in")
    before = sorted(os.listdir(tmp_path / "in"))
    with pytest.raises(ConversionError, match=says):
        converter.dispatch_tensorflowjs_to_tensorflowjs_conversion(path, os.path.normpath(str(tmp_path / "in" / output)))
    assert sorted(os.listdir(tmp_path / "in")) == before


def test_the_graph_api_writes_into_or_inside_a_saved_model_directory_as_the_public_one_does(tmp_path):
    """The public converter's own tests convert a SavedModel into its own directory and into one
    inside it: neither is refused as an overlap, and the input's files stay as they were."""
    from tensorflowjs.converters import convert_tf_saved_model

    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    for output in (tmp_path / "sm", tmp_path / "sm" / "web"):
        with pytest.raises(ConversionError) as refused:  # the empty saved_model.pb is refused
            convert_tf_saved_model(str(tmp_path / "sm"), str(output))
        assert "overwrite the input" not in str(refused.value)
        assert os.listdir(tmp_path / "sm") == ["saved_model.pb"]


def test_the_graph_api_writes_a_graph_model_into_the_saved_model_directory_keeping_its_files(tmp_path):
    import tensorflow as tf
    from tensorflowjs.converters import convert_tf_saved_model

    module = tf.Module()
    module.v = tf.Variable([1.0, 2.0])
    module.f = tf.function(lambda x: {"y": x * module.v}, input_signature=[tf.TensorSpec([2], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures=module.f)
    before = {p.relative_to(tmp_path / "sm"): p.read_bytes() for p in (tmp_path / "sm").rglob("*") if p.is_file()}
    convert_tf_saved_model(str(tmp_path / "sm"), str(tmp_path / "sm"))
    after = {p.relative_to(tmp_path / "sm"): p.read_bytes() for p in (tmp_path / "sm").rglob("*") if p.is_file()}
    assert {name: after[name] for name in before} == before
    assert "model.json" in {str(name) for name in after}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
