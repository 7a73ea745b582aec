"""The command the wizard prints: flags exactly as the converter parses them, shell-quoted."""

import shlex
import subprocess
import sys

import pytest

from tensorflowjs import quantization
from tensorflowjs.converters import converter
from tensorflowjs.metadata import parse_metadata_flag
from tensorflowjs.wizard.command import Plan, converter_argv, shell_command


def _parsed(plan: Plan):
    """What the converter makes of the printed command, after a round trip through a shell."""
    words = shlex.split(shell_command(converter_argv(plan)))
    assert words[0] == "tensorflowjs_converter"
    return converter._parse(words[1:])


def test_minimal_plan():
    plan = Plan("in", "out", "tfjs_layers_model", "tfjs_layers_model")
    assert shell_command(converter_argv(plan)) == "tensorflowjs_converter --input_format=tfjs_layers_model --output_format=tfjs_layers_model in out"


@pytest.mark.parametrize("path", [
    "my model/model.json",
    "it's here/model.json",
    'say "hi"/m.h5',
    "$HOME/not expanded",
    "semi;colon & pipe|",
    "tab\there",
    "ünïcödé/模型",
    "*.h5",
])
def test_paths_are_quoted_for_the_shell(path):
    plan = Plan(path, path + " out", "keras", "tfjs_layers_model")
    line = shell_command(converter_argv(plan))
    assert shlex.split(line)[-2:] == [path, path + " out"]
    args = _parsed(plan)
    assert (args.input_path, args.output_path) == (path, path + " out")
    # And a real shell hands the same words to the program.
    words = subprocess.run(["sh", "-c", "printf '%s\\0' " + line.split(" ", 1)[1]], capture_output=True, text=True, check=True).stdout
    assert words.split("\0")[-3:-1] == [path, path + " out"]


def test_a_path_starting_with_a_dash_is_not_a_flag():
    args = _parsed(Plan("-model.h5", "--out", "keras", "tfjs_layers_model"))
    assert (args.input_path, args.output_path) == ("./-model.h5", "./--out")


def test_every_option_reaches_the_converter_as_asked():
    plan = Plan(
        "sm dir", "web model", "tf_saved_model", "tfjs_graph_model",
        saved_model_tags="serve,gpu", signature_name="scaled", compression="uint16",
        quantize_patterns=" conv*/kernel , dense/* ", weight_shard_size_bytes=1000,
        strip_debug_ops=True, control_flow_v2=True, skip_op_check=True, use_structured_outputs_names=True,
        metadata={"vocab": "/data/my vocab.json", "labels": "labels.json"},
    )
    argv = converter_argv(plan)
    assert argv == [
        "--input_format=tf_saved_model", "--output_format=tfjs_graph_model", "--saved_model_tags=serve,gpu",
        "--signature_name=scaled", "--quantize_uint16=conv*/kernel,dense/*", "--weight_shard_size_bytes=1000",
        "--skip_op_check", "--strip_debug_ops=true", "--control_flow_v2=true", "--use_structured_outputs_names=true",
        "--metadata=vocab:/data/my vocab.json,labels:labels.json", "sm dir", "web model",
    ]
    args = _parsed(plan)
    assert args.input_format == "tf_saved_model" and args.output_format == "tfjs_graph_model"
    assert args.saved_model_tags == "serve,gpu" and args.signature_name == "scaled"
    assert args.quantize_uint16 == "conv*/kernel,dense/*" and args.quantize_uint8 is None and args.quantize_float16 is None
    assert args.weight_shard_size_bytes == 1000
    assert args.strip_debug_ops and args.control_flow_v2 and args.skip_op_check and args.use_structured_outputs_names
    assert not args.split_weights_by_layer
    assert parse_metadata_flag(args.metadata) == {"vocab": "/data/my vocab.json", "labels": "labels.json"}


def test_false_options_and_the_default_shard_size_are_left_out():
    argv = converter_argv(Plan("a", "b", "keras", "tfjs_layers_model", weight_shard_size_bytes=4194304))
    assert argv == ["--input_format=keras", "--output_format=tfjs_layers_model", "a", "b"]
    args = _parsed(Plan("a", "b", "keras", "tfjs_layers_model"))
    assert not (args.strip_debug_ops or args.control_flow_v2 or args.skip_op_check or args.split_weights_by_layer)


@pytest.mark.parametrize("dtype", ["float16", "uint16", "uint8"])
def test_quantizing_every_weight_is_the_bare_flag_and_keeps_the_paths(dtype):
    plan = Plan("in dir", "out", "tfjs_layers_model", "tfjs_layers_model", compression=dtype)
    assert f"--quantize_{dtype}" in converter_argv(plan)
    args = _parsed(plan)
    assert (args.input_path, args.output_path) == ("in dir", "out")
    names = ["dense/kernel", "dense/bias"]
    assert quantization.dtype_names_by_weight(names, converter.options_from_args(args).quantization_dtype_map) == dict.fromkeys(names, dtype)


def test_empty_tag_set_is_written_explicitly():
    plan = Plan("hub", "web", "tf_hub", "tfjs_graph_model", saved_model_tags="", signature_name="default")
    assert "--saved_model_tags=" in converter_argv(plan)
    assert _parsed(plan).saved_model_tags == ""


def test_split_weights_by_layer_flag():
    plan = Plan("in", "out", "tfjs_layers_model", "tfjs_layers_model", split_weights_by_layer=True)
    assert "--split_weights_by_layer" in converter_argv(plan) and _parsed(plan).split_weights_by_layer


def test_output_node_names_for_frozen_models():
    plan = Plan("frozen.pb", "web", "tf_frozen_model", "tfjs_graph_model", output_node_names="a/b,c")
    assert _parsed(plan).output_node_names == "a/b,c"


@pytest.mark.parametrize("metadata", [{"a,b": "x.json"}, {"a:b": "x.json"}, {"a": "x,y.json"}, {" ": "x.json"}])
def test_metadata_that_the_flag_cannot_carry_is_refused(metadata):
    with pytest.raises(ValueError):
        converter_argv(Plan("in", "out", "tfjs_layers_model", "tfjs_layers_model", metadata=metadata))


def test_unknown_compression_is_refused():
    with pytest.raises(ValueError):
        converter_argv(Plan("in", "out", "tfjs_layers_model", "tfjs_layers_model", compression="int4"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
