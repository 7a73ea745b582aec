"""The tensorflowjs_converter command line: flags, dispatch, and one-line errors."""

import json
import os
import subprocess
import sys

import pytest

import make_mlp
from tensorflowjs.converters import converter

CLI = [sys.executable, "-m", "tensorflowjs.converters.converter"]


def run_cli(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), **(env_extra or {}))
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env, timeout=120)


def _no_tensorflow(*args):
    code = (
        "import sys\n"
        "from tensorflowjs.converters import converter\n"
        "try:\n"
        f"    rc = converter.main({list(args)!r})\n"
        "except SystemExit as e:\n"
        "    rc = e.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tf_keras', 'jax') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    return result


def test_help_and_version_do_not_import_tensorflow():
    assert "--quantize_uint8" in _no_tensorflow("--help").stdout
    assert _no_tensorflow("--version").stdout.startswith("tensorflowjs ")


def test_layers_to_layers_does_not_import_tensorflow(tmp_path):
    make_mlp.write(str(tmp_path / "in"))
    result = _no_tensorflow("--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "--quantize_uint8", str(tmp_path / "in" / "model.json"), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "model.json").exists()


@pytest.mark.parametrize("text,expected", [("true", True), ("True", True), ("1", True), ("false", False), ("False", False), ("0", False), ("no", False)])
def test_boolean_flags_take_true_and_false(text, expected):
    argv = converter._attach_boolean_values([f"--control_flow_v2={text}", "--split_weights_by_layer", text, "a", "b"])
    args = converter.build_parser().parse_args(argv)
    assert args.control_flow_v2 is expected and args.split_weights_by_layer is expected
    assert (args.input_path, args.output_path) == ("a", "b")


def test_bare_boolean_flag_is_true_and_never_takes_a_path():
    args = converter.build_parser().parse_args(converter._attach_boolean_values(["--skip_op_check", "a", "b", "--strip_debug_ops"]))
    assert args.skip_op_check is True and args.strip_debug_ops is True and args.control_flow_v2 is False
    assert (args.input_path, args.output_path) == ("a", "b")


def test_bad_boolean_is_one_line_usage_error():
    result = run_cli("--control_flow_v2=maybe", "a", "b")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "expected true or false" in result.stderr


def test_quantize_flags_with_and_without_patterns():
    args = converter.build_parser().parse_args(["--quantize_float16", "--quantize_uint8", "conv/*,dense/kernel", "a", "b"])
    assert converter._quantization_map(args) == {"float16": True, "uint8": "conv/*,dense/kernel"}


def test_bare_quantize_flag_before_the_paths_does_not_take_the_input_as_patterns():
    args = converter._parse(["--quantize_uint8", "in_dir", "out_dir"])
    assert (args.input_path, args.output_path) == ("in_dir", "out_dir")
    assert converter._quantization_map(args) == {"uint8": ""}
    args = converter._parse(["--quantize_uint8", "conv/*", "in_dir", "out_dir"])
    assert args.quantize_uint8 == "conv/*" and args.output_path == "out_dir"


def test_deprecated_quantization_bytes_still_works_with_a_warning():
    args = converter.build_parser().parse_args(["--quantization_bytes", "2", "a", "b"])
    with pytest.warns(DeprecationWarning):
        assert converter._quantization_map(args) == {"uint16": True}


def test_unsupported_pairs_list_the_supported_ones(tmp_path):
    """(The inferred default, tfjs_layers_model -> keras, is tested in tests/keras_back.)"""
    make_mlp.write(str(tmp_path / "in"))
    result = run_cli("--input_format=tf_frozen_model", "--output_format=keras", str(tmp_path / "in"), str(tmp_path / "out.h5"))
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and "tf_frozen_model to keras is not supported" in line and "tfjs_layers_model -> tfjs_layers_model" in line
    assert not (tmp_path / "out.h5").exists()


def test_input_format_is_detected_from_content(tmp_path):
    make_mlp.write(str(tmp_path / "in"))
    result = run_cli("--output_format=tfjs_layers_model", str(tmp_path / "in"), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert json.load(open(tmp_path / "out" / "model.json"))["format"] == "layers-model"


def test_paths_with_spaces(tmp_path):
    make_mlp.write(str(tmp_path / "my model"))
    result = run_cli("--input_format", "tfjs_layers_model", "--output_format", "tfjs_layers_model", str(tmp_path / "my model" / "model.json"), str(tmp_path / "out dir"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out dir" / "group1-shard1of1.bin").exists()


def test_missing_input_is_one_line(tmp_path):
    result = run_cli("--input_format=tfjs_layers_model", str(tmp_path / "nope.json"), str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "nope.json does not exist" in result.stderr


def test_missing_paths_are_reported():
    result = run_cli("--input_format=tfjs_layers_model")
    assert result.returncode == 1 and "input path and an output path" in result.stderr


def test_metadata_flag_embeds_user_json(tmp_path):
    make_mlp.write(str(tmp_path / "in"))
    (tmp_path / "labels.json").write_text(json.dumps(["cat", "dog"]))
    (tmp_path / "extra.json").write_text(json.dumps({"k": 1}))
    result = run_cli("--output_format=tfjs_layers_model", f"--metadata=labels:{tmp_path / 'labels.json'},extra:{tmp_path / 'extra.json'}", str(tmp_path / "in"), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert json.load(open(tmp_path / "out" / "model.json"))["userDefinedMetadata"] == {"labels": ["cat", "dog"], "extra": {"k": 1}}


def test_bad_metadata_flag_is_reported(tmp_path):
    make_mlp.write(str(tmp_path / "in"))
    result = run_cli("--output_format=tfjs_layers_model", "--metadata=nocolon", str(tmp_path / "in"), str(tmp_path / "out"))
    assert result.returncode == 1 and "name:path" in result.stderr


def test_graph_model_input_is_refused_clearly(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "model.json").write_text(json.dumps({"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": []}))
    result = run_cli(str(tmp_path / "g"), str(tmp_path / "out"))
    assert result.returncode == 1 and "graph model" in result.stderr


def test_a_tensorflow_path_prints_only_its_own_error_line(tmp_path):
    """TensorFlow's C++ start-up logging must not bury the one-line error."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"not a protocol buffer")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    result = subprocess.run(CLI + ["--input_format=tf_saved_model", str(tmp_path / "model"), str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "saved_model.pb" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
