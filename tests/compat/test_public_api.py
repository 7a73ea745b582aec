"""The public tensorflowjs 4.22 Python API, module by module: names, parameters and behaviour.

The table below is ours: for each public module, its functions with their parameters as the
public package declares them (name=default; `*` for keyword-only), and its constants. Our
functions must accept every public parameter under the same name, kind and default; extra
parameters must be optional.
"""

import importlib
import inspect
import json
import os
import sys

import h5py
import numpy as np
import pytest

from tensorflowjs.errors import ConversionError

_4MB = 4194304
_NO_DEFAULT = inspect.Parameter.empty

# module -> {function: [(parameter, default or _NO_DEFAULT, keyword_only)]}
FUNCTIONS = {
    "tensorflowjs.quantization": {
        "map_layers_to_quantization_dtype": [("names", _NO_DEFAULT, False), ("quantization_dtype_map", _NO_DEFAULT, False)],
        "quantize_weights": [("data", _NO_DEFAULT, False), ("quantization_dtype", _NO_DEFAULT, False)],
        "dequantize_weights": [("data", _NO_DEFAULT, False), ("metadata", _NO_DEFAULT, False), ("original_dtype", np.float32, False)],
    },
    "tensorflowjs.read_weights": {
        "read_weights": [("weights_manifest", _NO_DEFAULT, False), ("base_path", _NO_DEFAULT, False), ("flatten", False, False)],
        "decode_weights": [("weights_manifest", _NO_DEFAULT, False), ("data_buffers", _NO_DEFAULT, False), ("flatten", False, False)],
    },
    "tensorflowjs.write_weights": {
        "write_weights": [("weight_groups", _NO_DEFAULT, False), ("write_dir", _NO_DEFAULT, False), ("shard_size_bytes", _4MB, False),
                          ("write_manifest", True, False), ("quantization_dtype_map", None, False)],
    },
    "tensorflowjs.resource_loader": {
        "open_file": [("path", _NO_DEFAULT, False)],
        "list_dir": [("path", _NO_DEFAULT, False)],
    },
    "tensorflowjs.converters.common": {"get_converted_by": []},
    "tensorflowjs.converters.graph_rewrite_util": {
        "node_from_map": [("node_map", _NO_DEFAULT, False), ("name", _NO_DEFAULT, False)],
        "values_from_const": [("node_def", _NO_DEFAULT, False)],
        "scale_after_normalization": [("node", _NO_DEFAULT, False)],
        "node_name_from_input": [("node_name", _NO_DEFAULT, False)],
        "cleanup_graph_def": [("input_graph_def", _NO_DEFAULT, False), ("nodes_to_skip", _NO_DEFAULT, False), ("inputs_to_remove", _NO_DEFAULT, False)],
        "rename_constants": [("node_list", _NO_DEFAULT, False), ("prefix", _NO_DEFAULT, False)],
        "get_output_node_names": [("node_map", _NO_DEFAULT, False), ("target", _NO_DEFAULT, False)],
    },
    "tensorflowjs.converters.fold_batch_norms": {"fold_batch_norms": [("input_graph_def", _NO_DEFAULT, False)]},
    "tensorflowjs.converters.fuse_prelu": {
        "fuse_ops_for_prelu": [("input_graph_def", _NO_DEFAULT, False)],
        "fuse_prelu_with_fused_conv2d_or_matmul": [("input_graph_def", _NO_DEFAULT, False)],
    },
    "tensorflowjs.converters.fuse_depthwise_conv2d": {"fuse_depthwise_conv2d": [("input_graph_def", _NO_DEFAULT, False)]},
    "tensorflowjs.converters.normalize_bias_add": {"normalize_bias_add_op": [("input_graph_def", _NO_DEFAULT, False)]},
    "tensorflowjs.converters.tf_module_mapper": {"get_module_path": [("key", _NO_DEFAULT, False)]},
    "tensorflowjs.converters.keras_h5_conversion": {
        "normalize_weight_name": [("weight_name", _NO_DEFAULT, False)],
        "as_text": [("bytes_or_text", _NO_DEFAULT, False), ("encoding", "utf-8", False)],
        "translate_class_names": [("input_object", _NO_DEFAULT, False)],
        "h5_merged_saved_model_to_tfjs_format": [("h5file", _NO_DEFAULT, False), ("split_by_layer", False, False)],
        "h5_v3_merged_saved_model_to_tfjs_format": [("h5file", _NO_DEFAULT, False), ("meta_file", _NO_DEFAULT, False),
                                                    ("config_file", _NO_DEFAULT, False), ("split_by_layer", False, False)],
        "h5_weights_to_tfjs_format": [("h5file", _NO_DEFAULT, False), ("split_by_layer", False, False)],
        "write_artifacts": [("topology", _NO_DEFAULT, False), ("weights", _NO_DEFAULT, False), ("output_dir", _NO_DEFAULT, False),
                            ("quantization_dtype_map", None, False), ("weight_shard_size_bytes", _4MB, False), ("metadata", None, False)],
        "save_keras_model": [("model", _NO_DEFAULT, False), ("artifacts_dir", _NO_DEFAULT, False), ("quantization_dtype_map", None, False),
                             ("weight_shard_size_bytes", _4MB, False), ("metadata", None, False)],
    },
    "tensorflowjs.converters.converter": {
        "dispatch_keras_h5_to_tfjs_layers_model_conversion": [
            ("h5_path", _NO_DEFAULT, False), ("output_dir", None, False), ("quantization_dtype_map", None, False),
            ("split_weights_by_layer", False, False), ("weight_shard_size_bytes", _4MB, False), ("metadata", None, False)],
        "dispatch_keras_keras_to_tfjs_layers_model_conversion": [
            ("v3_path", _NO_DEFAULT, False), ("output_dir", None, False), ("quantization_dtype_map", None, False),
            ("split_weights_by_layer", False, False), ("weight_shard_size_bytes", _4MB, False), ("metadata", None, False)],
        "dispatch_keras_h5_to_tfjs_graph_model_conversion": [
            ("h5_path", _NO_DEFAULT, False), ("output_dir", None, False), ("quantization_dtype_map", None, False), ("skip_op_check", False, False),
            ("strip_debug_ops", False, False), ("use_structured_outputs_names", False, False), ("weight_shard_size_bytes", _4MB, False),
            ("control_flow_v2", False, False), ("experiments", False, False), ("metadata", None, False)],
        "dispatch_keras_saved_model_to_tensorflowjs_conversion": [
            ("keras_saved_model_path", _NO_DEFAULT, False), ("output_dir", _NO_DEFAULT, False), ("quantization_dtype_map", None, False),
            ("split_weights_by_layer", False, False), ("weight_shard_size_bytes", _4MB, False), ("metadata", None, False)],
        "dispatch_tensorflowjs_to_keras_h5_conversion": [("config_json_path", _NO_DEFAULT, False), ("h5_path", _NO_DEFAULT, False)],
        "dispatch_tensorflowjs_to_keras_keras_conversion": [("config_json_path", _NO_DEFAULT, False), ("v3_path", _NO_DEFAULT, False)],
        "dispatch_tensorflowjs_to_keras_saved_model_conversion": [("config_json_path", _NO_DEFAULT, False),
                                                                  ("keras_saved_model_path", _NO_DEFAULT, False)],
        "dispatch_tensorflowjs_to_tensorflowjs_conversion": [
            ("config_json_path", _NO_DEFAULT, False), ("output_dir_path", _NO_DEFAULT, False), ("quantization_dtype_map", None, False),
            ("weight_shard_size_bytes", _4MB, False)],
        "dispatch_tfjs_layers_model_to_tfjs_graph_conversion": [
            ("config_json_path", _NO_DEFAULT, False), ("output_dir_path", _NO_DEFAULT, False), ("quantization_dtype_map", None, False),
            ("skip_op_check", False, False), ("strip_debug_ops", False, False), ("weight_shard_size_bytes", _4MB, False),
            ("control_flow_v2", False, False), ("experiments", False, False), ("metadata", None, False)],
    },
    "tensorflowjs.converters.tf_saved_model_conversion_v2": {
        "convert_tf_saved_model": [
            ("saved_model_dir", _NO_DEFAULT, False), ("output_dir", _NO_DEFAULT, False), ("signature_def", "serving_default", False),
            ("saved_model_tags", "serve", False), ("quantization_dtype_map", None, False), ("skip_op_check", False, False),
            ("strip_debug_ops", False, False), ("use_structured_outputs_names", False, False), ("weight_shard_size_bytes", _4MB, False),
            ("control_flow_v2", False, False), ("experiments", False, False), ("metadata", None, False), ("frozen_graph_dir", None, False)],
        "convert_tf_frozen_model": [
            ("frozen_model_path", _NO_DEFAULT, False), ("output_node_names", _NO_DEFAULT, False), ("output_dir", _NO_DEFAULT, False),
            ("quantization_dtype_map", None, False), ("skip_op_check", False, False), ("strip_debug_ops", False, False),
            ("use_structured_outputs_names", False, False), ("weight_shard_size_bytes", _4MB, False), ("experiments", False, False),
            ("metadata", None, False)],
        "convert_keras_model_to_graph_model": [
            ("keras_model", _NO_DEFAULT, False), ("output_dir", _NO_DEFAULT, False), ("saved_model_tags", "serve", False),
            ("quantization_dtype_map", None, False), ("skip_op_check", False, False), ("strip_debug_ops", False, False),
            ("use_structured_outputs_names", False, False), ("weight_shard_size_bytes", _4MB, False), ("control_flow_v2", False, False),
            ("experiments", False, False), ("metadata", None, False)],
    },
    "tensorflowjs.converters.jax_conversion": {
        "convert_jax": [("apply_fn", _NO_DEFAULT, False), ("params", _NO_DEFAULT, False), ("input_signatures", _NO_DEFAULT, True),
                        ("model_dir", _NO_DEFAULT, True), ("polymorphic_shapes", None, True)],
    },
}

CONSTANTS = {
    "tensorflowjs.quantization": {
        "QUANTIZATION_DTYPE_FLOAT16": "float16", "QUANTIZATION_DTYPE_UINT8": "uint8", "QUANTIZATION_DTYPE_UINT16": "uint16",
        "QUANTIZATION_BYTES_TO_DTYPES": {1: "uint8", 2: "uint16"},
        "QUANTIZATION_OPTION_TO_DTYPES": {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16},
    },
    "tensorflowjs.read_weights": {"STRING_LENGTH_NUM_BYTES": 4, "STRING_LENGTH_DTYPE": np.dtype("<u4")},
    "tensorflowjs.converters.common": {
        "ARTIFACT_MODEL_JSON_FILE_NAME": "model.json", "ASSETS_DIRECTORY_NAME": "assets", "ARTIFACT_MODEL_TOPOLOGY_KEY": "modelTopology",
        "ARTIFACT_MODEL_INITIALIZER": "modelInitializer", "ARTIFACT_WEIGHTS_MANIFEST_KEY": "weightsManifest", "FORMAT_KEY": "format",
        "TFJS_GRAPH_MODEL_FORMAT": "graph-model", "TFJS_LAYERS_MODEL_FORMAT": "layers-model", "GENERATED_BY_KEY": "generatedBy",
        "CONVERTED_BY_KEY": "convertedBy", "SIGNATURE_KEY": "signature", "INITIALIZER_SIGNATURE_KEY": "initializerSignature",
        "USER_DEFINED_METADATA_KEY": "userDefinedMetadata", "STRUCTURED_OUTPUTS_KEYS_KEY": "structuredOutputKeys",
        "RESOURCE_ID_KEY": "resourceId", "KERAS_SAVED_MODEL": "keras_saved_model", "KERAS_MODEL": "keras",
        "KERAS_KERAS_MODEL": "keras_keras", "TF_SAVED_MODEL": "tf_saved_model", "TF_HUB_MODEL": "tf_hub",
        "TFJS_GRAPH_MODEL": "tfjs_graph_model", "TFJS_LAYERS_MODEL": "tfjs_layers_model", "TF_FROZEN_MODEL": "tf_frozen_model",
        "INPUT_PATH": "input_path", "OUTPUT_PATH": "output_path", "INPUT_FORMAT": "input_format", "OUTPUT_FORMAT": "output_format",
        "OUTPUT_NODE": "output_node_names", "SIGNATURE_NAME": "signature_name", "SAVED_MODEL_TAGS": "saved_model_tags",
        "QUANTIZATION_BYTES": "quantization_bytes", "QUANTIZATION_TYPE_FLOAT16": "quantize_float16",
        "QUANTIZATION_TYPE_UINT8": "quantize_uint8", "QUANTIZATION_TYPE_UINT16": "quantize_uint16",
        "SPLIT_WEIGHTS_BY_LAYER": "split_weights_by_layer", "VERSION": "version", "SKIP_OP_CHECK": "skip_op_check",
        "STRIP_DEBUG_OPS": "strip_debug_ops", "USE_STRUCTURED_OUTPUTS_NAMES": "use_structured_outputs_names",
        "WEIGHT_SHARD_SIZE_BYTES": "weight_shard_size_bytes", "CONTROL_FLOW_V2": "control_flow_v2", "EXPERIMENTS": "experiments",
        "METADATA": "metadata",
    },
    "tensorflowjs.converters.graph_rewrite_util": {
        "FUSED_DEPTHWISE_CONV2D": "FusedDepthwiseConv2dNative", "FUSED_MATMUL": "_FusedMatMul", "FUSED_CONV2D": "_FusedConv2D",
    },
}

# Public re-exports of the package and of tensorflowjs.converters.
REEXPORTS = {
    "tensorflowjs.converters": ["convert", "save_keras_model", "load_keras_model", "deserialize_keras_model", "convert_tf_saved_model", "convert_jax"],
}


def _cases(table):
    return [(module, name, spec) for module, entries in table.items() for name, spec in entries.items()]


@pytest.mark.parametrize("module,name,expected", _cases(FUNCTIONS))
def test_signature_accepts_the_public_parameters(module, name, expected):
    params = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    for param, default, keyword_only in expected:
        assert param in params, f"{module}.{name} lacks parameter {param}"
        ours = params[param]
        assert (ours.kind == inspect.Parameter.KEYWORD_ONLY) == keyword_only, f"{module}.{name}({param}) kind {ours.kind}"
        if default is _NO_DEFAULT:
            continue  # a parameter the public package requires may be optional here
        assert ours.default is default or ours.default == default, f"{module}.{name}({param}) default {ours.default!r}, public {default!r}"
    public = {p for p, _, _ in expected}
    for extra in set(params) - public:
        assert params[extra].default is not _NO_DEFAULT or params[extra].kind == inspect.Parameter.VAR_KEYWORD, f"{module}.{name}: extra required {extra}"
    positional = [p for p in params.values() if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    assert [p.name for p in positional][:len([e for e in expected if not e[2]])] == [e[0] for e in expected if not e[2]]


@pytest.mark.parametrize("module,name,value", _cases(CONSTANTS))
def test_constant_has_the_public_value(module, name, value):
    assert getattr(importlib.import_module(module), name) == value


@pytest.mark.parametrize("module,name", [(m, n) for m, names in REEXPORTS.items() for n in names])
def test_reexported_name(module, name):
    assert callable(getattr(importlib.import_module(module), name))


def test_importing_the_api_modules_imports_no_tensorflow():
    for module in list(FUNCTIONS) + ["tensorflowjs.converters.wizard"]:
        if module.endswith("jax_conversion"):
            continue
        importlib.import_module(module)
    assert "tensorflow" not in sys.modules


# Behaviour on small inputs.


def test_conversion_error_is_a_value_error():
    assert issubclass(ConversionError, ValueError)


def test_quantization_takes_and_returns_numpy_types():
    from tensorflowjs import quantization

    data = np.array([-1.0, 0.0, 0.5, 2.0], np.float32)
    quantized, metadata = quantization.quantize_weights(data, np.uint8)
    assert quantized.dtype == np.uint8 and set(metadata) == {"min", "scale"}
    np.testing.assert_allclose(quantization.dequantize_weights(quantized, metadata, np.float32), data, atol=metadata["scale"])
    half, empty = quantization.quantize_weights(data, np.float16)
    assert half.dtype == np.float16 and empty == {}
    ints = np.arange(-3, 4, dtype=np.int32)
    q, m = quantization.quantize_weights(ints, np.uint16)
    restored = quantization.dequantize_weights(q, m, np.int32)
    assert restored.dtype == np.int32 and list(restored) == list(ints)
    assert quantization.map_layers_to_quantization_dtype(["a/w", "b/w"], {"float16": ["a/*"], "uint8": True}) == {"a/w": np.float16, "b/w": np.uint8}


@pytest.mark.parametrize("call", [
    lambda q: q.quantize_weights(np.ones(2, np.int32), np.float16),
    lambda q: q.quantize_weights(np.ones(2, np.float32), bool),
    lambda q: q.dequantize_weights(np.ones(2, np.float16), {}, np.int32),
    lambda q: q.dequantize_weights(np.ones(2, np.uint8), {}),
    lambda q: q.dequantize_weights(np.ones(2, bool), {}),
    lambda q: q.map_layers_to_quantization_dtype(["a"], {"float16": True, "uint8": True}),
])
def test_quantization_refuses_bad_input_with_value_error(call):
    from tensorflowjs import quantization

    with pytest.raises(ValueError):
        call(quantization)


def test_graph_rewrite_util_on_node_names():
    from tensorflowjs.converters import graph_rewrite_util as util

    assert util.node_name_from_input("^a/b:1") == "a/b"
    assert util.node_from_map({"x": 1}, "x:0") == 1
    with pytest.raises(ValueError):
        util.node_from_map({}, "missing")


def test_rewrite_adapters_return_the_callers_message_class():
    """A GraphDef of another class (here: our schema's) comes back as that class, rewritten."""
    from tensorflowjs import tf_protos
    from tensorflowjs.converters import graph_rewrite_util as util
    from tensorflowjs.converters import normalize_bias_add
    from tensorflowjs.graph import tensors

    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    x = graph_def.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = 1
    weights, bias = graph_def.node.add(name="w", op="Const"), graph_def.node.add(name="b", op="Const")
    tensors.set_const(weights, np.ones((2, 3), np.float32))
    tensors.set_const(bias, np.arange(3, dtype=np.float32))
    matmul = graph_def.node.add(name="mm", op="MatMul", input=["x", "w"])
    matmul.attr["T"].type = 1
    add = graph_def.node.add(name="out", op="AddV2", input=["mm", "b"])
    add.attr["T"].type = 1
    result = normalize_bias_add.normalize_bias_add_op(graph_def)
    assert type(result) is type(graph_def)
    ops = {n.name: n.op for n in result.node}
    assert ops["out"] == "BiasAdd"
    bias_node = [n for n in result.node if n.name == result.node[[n.name for n in result.node].index("out")].input[1]][0]
    np.testing.assert_array_equal(util.values_from_const(bias_node), np.arange(3, dtype=np.float32))


def test_keras_h5_weights_and_class_names(tmp_path):
    from tensorflowjs.converters import keras_h5_conversion as conversion

    path = str(tmp_path / "weights.h5")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense", b"out"]
        f.attrs["keras_version"] = b"2.21.0"
        for layer, shape in (("dense", (3, 4)), ("out", (4, 2))):
            group = f.create_group(layer)
            group.attrs["weight_names"] = [f"{layer}/kernel:0".encode()]
            group.create_dataset(f"{layer}/kernel:0", data=np.ones(shape, np.float32))
    groups = conversion.h5_weights_to_tfjs_format(h5py.File(path, "r"))
    assert [[w["name"] for w in g] for g in groups] == [["dense/kernel", "out/kernel"]]
    assert [len(g) for g in conversion.h5_weights_to_tfjs_format(path, split_by_layer=True)] == [1, 1]
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "UnifiedLSTM"}, {"class_name": "BatchNormalizationV1"}]}}
    conversion.translate_class_names(config)
    assert [l["class_name"] for l in config["config"]["layers"]] == ["LSTM", "BatchNormalization"]
    assert conversion.normalize_weight_name(b"dense/kernel:0") == "dense/kernel"

    out = tmp_path / "web"
    conversion.write_artifacts(None, groups, str(out), {"uint8": "*"})
    model = json.loads((out / "model.json").read_text())
    assert model["modelTopology"] is None and model["weightsManifest"][0]["weights"][0]["quantization"]["dtype"] == "uint8"


def test_dispatch_refuses_paths_as_the_public_one_does(tmp_path):
    from tensorflowjs.converters import converter

    with pytest.raises(ValueError, match="points to a directory"):
        converter.dispatch_keras_h5_to_tfjs_layers_model_conversion(str(tmp_path))
    with pytest.raises(ValueError, match="model.json file"):
        converter.dispatch_tensorflowjs_to_keras_h5_conversion(str(tmp_path), str(tmp_path / "m.h5"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read valid JSON content from"):
        converter.dispatch_tensorflowjs_to_tensorflowjs_conversion(str(bad), str(tmp_path / "out"))


def test_resource_loader_reads_packaged_files():
    from tensorflowjs import resource_loader

    assert "supported_ops.json" in resource_loader.list_dir("graph")
    with resource_loader.open_file(os.path.join("graph", "supported_ops.json")) as f:
        assert "Conv2D" in json.load(f)["ops"]
    with pytest.raises(IOError):
        resource_loader.open_file("___missing")


def test_common_converted_by():
    from tensorflowjs import version
    from tensorflowjs.converters import common

    assert common.get_converted_by() == f"TensorFlow.js Converter v{version.version}"


def test_convert_jax_takes_tensor_spec_like_signatures():
    """(shape, dtype) pairs and objects with .shape and .dtype give the same input specs."""
    pytest.importorskip("jax")
    from tensorflowjs.jax_lowering import tracing

    class Spec:
        shape, dtype = (None, 3), np.float32

    pair = tracing._input_shapes([((None, 3), np.float32)], ["(b, 3)"])
    spec = tracing._input_shapes([Spec()], ["(b, 3)"])
    assert str(pair) == str(spec)
    with pytest.raises(ValueError, match="input_signatures"):
        tracing._input_shapes([3], None)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
