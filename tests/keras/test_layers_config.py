"""Each Keras 3 -> TF.js config rule on its own, then `translate` on whole configs. No Keras needed."""

import sys
import warnings

import numpy as np
import pytest

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import layers_config
from tensorflowjs.keras.layers_config import RULES_BY_NAME, Translation, UnsupportedLayerWarning, translate
from tensorflowjs.write_weights import Weight


def apply(rule_name, obj):
    rule = RULES_BY_NAME[rule_name]
    assert rule.applies(obj), f"{rule_name} should apply to {obj}"
    return rule.apply(obj)


def tensor(layer, node=0, index=0):
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, 2], "dtype": "float32", "keras_history": [layer, node, index]}}


def dense(name, inputs=None, **config):
    entry = {"class_name": "Dense", "config": {"name": name, "units": 2, **config}, "name": name}
    if inputs is not None:
        entry["inbound_nodes"] = [{"args": inputs, "kwargs": {}}]
    return entry


def keras3_input(name, shape=(None, 2)):
    return {"class_name": "InputLayer", "config": {"batch_shape": list(shape), "name": name}, "name": name, "inbound_nodes": []}


def test_serialization_noise_is_dropped():
    obj = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 1}, "registered_name": None, "build_config": {"input_shape": [None, 3]}, "compile_config": {}, "shared_object_id": 7}
    assert apply("drop_serialization_noise", obj) == {"class_name": "Dense", "config": {"units": 1}}


def test_keras3_class_names_get_their_tfjs_spelling():
    assert apply("rename_class", {"class_name": "OrthogonalInitializer", "config": {"gain": 1.0}})["class_name"] == "Orthogonal"


def test_dtype_policy_becomes_its_dtype_string():
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    assert apply("dtype_policy_to_string", {"class_name": "Dense", "config": {"dtype": policy}})["config"]["dtype"] == "float32"
    mixed = {"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}
    assert apply("dtype_policy_to_string", {"class_name": "Dense", "config": {"dtype": mixed}})["config"]["dtype"] == "float32"
    assert not RULES_BY_NAME["dtype_policy_to_string"].applies({"class_name": "Dense", "config": {"dtype": "float32"}})


def test_input_layer_batch_shape_becomes_batch_input_shape():
    obj = apply("input_layer_batch_shape", keras3_input("x", (None, 4, 3)))
    assert obj["config"] == {"batch_input_shape": [None, 4, 3], "name": "x"}


def test_keras3_calls_become_keras2_node_lists():
    model = {
        "class_name": "Functional",
        "config": {
            "name": "m",
            "layers": [keras3_input("a"), keras3_input("b"), dense("d", [tensor("a")]), {"class_name": "Add", "config": {"name": "add"}, "name": "add", "inbound_nodes": [{"args": [[tensor("d"), tensor("b")]], "kwargs": {"mask": None, "training": False}}]}],
            "input_layers": [["a", 0, 0], ["b", 0, 0]],
            "output_layers": ["add", 0, 0],
        },
    }
    config = apply("keras3_graph_to_lists", model)["config"]
    assert config["layers"][2]["inbound_nodes"] == [[["a", 0, 0, {}]]]
    assert config["layers"][3]["inbound_nodes"] == [[["d", 0, 0, {}], ["b", 0, 0, {}]]]
    assert config["output_layers"] == [["add", 0, 0]]


def test_calls_of_a_nested_model_count_its_own_first_node():
    inner = {"class_name": "Sequential", "config": {"name": "inner", "layers": [keras3_input("inner_in"), dense("inner_dense")]}, "name": "inner", "inbound_nodes": [{"args": [tensor("x")], "kwargs": {}}]}
    model = {"class_name": "Functional", "config": {"name": "m", "layers": [keras3_input("x"), inner, dense("head", [tensor("inner")])], "input_layers": ["x", 0, 0], "output_layers": ["head", 0, 0]}}
    config = apply("keras3_graph_to_lists", model)["config"]
    assert config["layers"][1]["inbound_nodes"] == [[["x", 0, 0, {}]]]
    assert config["layers"][2]["inbound_nodes"] == [[["inner", 1, 0, {}]]]


def test_tensor_keyword_arguments_are_refused():
    model = {"class_name": "Functional", "config": {"name": "m", "layers": [keras3_input("x"), {"class_name": "Attention", "config": {"name": "att"}, "name": "att", "inbound_nodes": [{"args": [tensor("x")], "kwargs": {"value": tensor("x")}}]}], "input_layers": [], "output_layers": []}}
    with pytest.raises(ConversionError, match="'att'.*keyword argument 'value'"):
        apply("keras3_graph_to_lists", model)


def test_model_io_layers_are_lists_of_triples():
    obj = {"class_name": "Functional", "config": {"input_layers": {"a": ["a", 0, 0], "b": ["b", 0, 0]}, "output_layers": ["out", 0, 0]}}
    config = apply("model_io_layers", obj)["config"]
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]] and config["output_layers"] == [["out", 0, 0]]


def test_l1_and_l2_regularizers_become_l1l2():
    assert apply("regularizer_l1_l2", {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}}) == {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}
    assert apply("regularizer_l1_l2", {"class_name": "L1", "config": {"l1": 0.5}}) == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.0}}


def test_leaky_relu_negative_slope_is_alpha():
    assert apply("leaky_relu_alpha", {"class_name": "LeakyReLU", "config": {"negative_slope": 0.2}})["config"] == {"alpha": 0.2}


def test_keras3_activation_names_get_their_tfjs_names():
    assert apply("activation_names", {"class_name": "Dense", "config": {"activation": "silu"}})["config"]["activation"] == "swish"


def test_bidirectional_keeps_the_forward_layer_and_its_plain_name():
    forward = {"class_name": "LSTM", "config": {"name": "forward_lstm", "units": 2, "go_backwards": False}}
    backward = {"class_name": "LSTM", "config": {"name": "backward_lstm", "units": 2, "go_backwards": True}}
    config = apply("bidirectional_layer", {"class_name": "Bidirectional", "config": {"name": "bi", "layer": forward, "backward_layer": backward}})["config"]
    assert config["layer"]["config"]["name"] == "lstm" and "backward_layer" not in config


def test_bidirectional_with_a_different_backward_layer_is_refused():
    forward = {"class_name": "LSTM", "config": {"name": "forward_lstm", "units": 2}}
    backward = {"class_name": "GRU", "config": {"name": "backward_gru", "units": 2}}
    with pytest.raises(ConversionError, match="backward layer"):
        apply("bidirectional_layer", {"class_name": "Bidirectional", "config": {"name": "bi", "layer": forward, "backward_layer": backward}})


def test_separable_conv_drops_the_kernel_settings_tfjs_rejects():
    obj = {"class_name": "SeparableConv2D", "config": {"filters": 2, "kernel_initializer": {"class_name": "GlorotUniform", "config": {}}, "kernel_regularizer": None, "kernel_constraint": None}}
    assert apply("separable_conv_kernel_keys", obj)["config"] == {"filters": 2}


@pytest.mark.parametrize(
    "rule, obj, message",
    [
        ("reject_lambda", {"class_name": "Lambda", "config": {"name": "fn", "function": "..."}}, "'fn' is a Lambda layer.*cannot run in TF.js"),
        ("reject_gru_reset_after", {"class_name": "GRU", "config": {"name": "g", "reset_after": True}}, "'g'.*reset_after=False"),
        ("reject_elu_alpha", {"class_name": "ELU", "config": {"name": "e", "alpha": 0.5}}, "'e'.*alpha=1.0"),
        ("reject_grouped_conv", {"class_name": "Conv1D", "config": {"name": "c", "groups": 2}}, "'c' has groups=2.*groups=1"),
    ],
)
def test_what_tfjs_cannot_run_is_a_clear_error(rule, obj, message):
    with pytest.raises(ConversionError, match=message):
        apply(rule, obj)


def test_a_layer_class_tfjs_lacks_is_named_in_a_warning():
    with pytest.warns(UnsupportedLayerWarning, match=r"'MultiHeadAttention'.*'mha'.*tf\.serialization\.registerClass"):
        layers_config.warn_if_unknown_layer({"class_name": "MultiHeadAttention", "config": {"name": "mha"}})


def test_keras3_hard_sigmoid_is_refused_keras2_hard_sigmoid_kept():
    """Keras 3 changed hard_sigmoid's slope; TF.js kept Keras 2's."""
    model = {"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "Dense", "config": {"name": "d", "activation": "hard_sigmoid"}}]}}
    assert translate(model) == model
    with pytest.raises(ConversionError, match="'d' uses hard_sigmoid"):
        translate(model, keras3=True)


def test_an_activation_tfjs_lacks_is_named_in_a_warning():
    layers = [{"class_name": "Dense", "config": {"name": "d", "activation": "log_sigmoid"}}, {"class_name": "LSTM", "config": {"name": "l", "activation": "tanh", "recurrent_activation": "sigmoid"}}]
    with pytest.warns(UnsupportedLayerWarning, match="activation 'log_sigmoid' of layer 'd'.*registerClass") as record:
        translate({"class_name": "Sequential", "config": {"name": "m", "layers": layers}})
    assert len(record) == 1


def test_hard_silu_becomes_layers_tfjs_has_and_readers_read_the_product():
    conv = {"class_name": "Conv2D", "config": {"name": "c", "activation": "hard_silu", "dtype": "float32"}, "name": "c", "inbound_nodes": [[["x", 0, 0, {}]]]}
    model = {"class_name": "Functional", "config": {"name": "m", "layers": [conv, dense("d", None)], "input_layers": [["x", 0, 0]], "output_layers": [["c", 0, 0], ["d", 0, 0]]}}
    model["config"]["layers"][1]["inbound_nodes"] = [[["c", 0, 0, {}]]]
    config = apply("hard_silu_to_layers", model)["config"]
    layers = {layer["name"]: layer for layer in config["layers"]}
    assert list(layers) == ["c", "c_plus_3", "c_relu6", "c_div_6", "c_hard_silu", "d"] and layers["c"]["config"]["activation"] == "linear"
    assert layers["c_plus_3"]["config"]["offset"] == 3.0 and layers["c_relu6"]["config"]["max_value"] == 6.0 and layers["c_div_6"]["config"]["scale"] == 1 / 6
    assert layers["c_hard_silu"]["inbound_nodes"] == [[["c", 0, 0, {}], ["c_div_6", 0, 0, {}]]]
    assert layers["d"]["inbound_nodes"] == [[["c_hard_silu", 0, 0, {}]]] and config["output_layers"] == [["c_hard_silu", 0, 0], ["d", 0, 0]]
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(x * np.clip(x * 1.0 + 3.0, 0, 6) * (1 / 6), x * np.minimum(np.maximum(x + 3, 0), 6) / 6)


def test_translate_finds_layers_inside_wrappers_and_nested_models():
    inner = {"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "TimeDistributed", "config": {"name": "td", "layer": {"class_name": "Custom", "config": {"name": "c"}}}}]}}
    with pytest.warns(UnsupportedLayerWarning, match="'Custom'"):
        translate({"class_name": "Sequential", "config": {"name": "outer", "layers": [inner]}})


def test_translate_leaves_initializers_and_known_layers_alone():
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [dense("d", kernel_initializer={"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None}, "registered_name": None})]}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        translated = translate(config)
    assert translated["config"]["layers"][0]["config"]["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}


def test_keras2_config_passes_unchanged():
    keras2 = {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "dtype": "float32", "name": "x"}, "name": "x", "inbound_nodes": []},
                {"class_name": "Dense", "config": {"name": "d", "units": 1, "dtype": "float32", "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}, "name": "d", "inbound_nodes": [[["x", 0, 0, {}]]]},
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["d", 0, 0]],
        },
    }
    assert translate(keras2) == keras2


def test_a_subclassed_model_is_refused():
    with pytest.raises(ConversionError, match="'MyModel', not a Sequential or functional model.*tfjs_graph_model"):
        translate({"class_name": "MyModel", "config": {"name": "m"}})


def test_translate_does_not_modify_its_argument():
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [keras3_input("x")]}}
    translate(config)
    assert config["config"]["layers"][0]["config"]["batch_shape"] == [None, 2]


def weights_of(rule_name, obj, **stored):
    """The rule's weight fix applied to `stored` arrays, as arrays."""
    fix = RULES_BY_NAME[rule_name].weights(obj)
    return {name: w.load() for name, w in fix({k: Weight(k, (lambda v=v: v), "float32", v.shape) for k, v in stored.items()}).items()}


def batch_norm(x, weights, axis=-1, epsilon=0.0):
    """What tfjs-layers' BatchNormalization computes at inference."""
    shape = [1] * x.ndim
    shape[axis] = -1
    get = lambda key, default: weights.get(key, np.full_like(weights["moving_mean"], default)).reshape(shape)
    return (x - get("moving_mean", 0)) / np.sqrt(get("moving_variance", 1) + epsilon) * get("gamma", 1) + get("beta", 0)


def normalization(axis=(-1,), invert=False, mean=None, variance=None, input_shape=(None, 4, 3)):
    return {"module": "keras.layers", "class_name": "Normalization", "config": {"name": "norm", "trainable": True, "dtype": "float32", "axis": list(axis), "invert": invert, "mean": mean, "variance": variance}, "build_config": {"input_shape": list(input_shape)}}


@pytest.mark.parametrize("invert", [False, True])
def test_normalization_becomes_a_batch_norm_computing_the_same_values(invert):
    """Keras: (x - mean) / max(sqrt(var), 1e-7), or x * max(...) + mean inverted; a zero variance included."""
    rng = np.random.default_rng(0)
    mean, variance, x = rng.normal(size=3), np.array([2.0, 0.0, 0.25]), rng.normal(size=(2, 4, 3))
    obj = normalization(invert=invert)
    config = apply("normalization_to_batch_norm", obj)
    assert config["class_name"] == "BatchNormalization"
    assert config["config"]["axis"] == -1 and config["config"]["epsilon"] == 0.0 and config["config"]["center"] is invert
    weights = weights_of("normalization_to_batch_norm", obj, mean=mean.astype(np.float32), variance=variance.astype(np.float32), count=np.array(5))
    std = np.maximum(np.sqrt(variance), 1e-7)
    np.testing.assert_allclose(batch_norm(x, weights), x * std + mean if invert else (x - mean) / std, rtol=1e-6)


def test_normalization_statistics_from_the_config_and_a_scalar_broadcast_over_channels():
    obj = normalization(mean=[0.5], variance=[4.0], input_shape=(None, 4, 3))
    weights = weights_of("normalization_to_batch_norm", obj)
    np.testing.assert_allclose(weights["moving_mean"], [0.5] * 3)
    np.testing.assert_allclose(weights["moving_variance"], [4.0] * 3)


def test_normalization_over_several_axes_is_refused():
    with pytest.raises(ConversionError, match="'norm' normalizes over axes \\[1, 2\\].*tfjs_graph_model"):
        apply("normalization_to_batch_norm", normalization(axis=(1, 2)))


def test_layer_scale_becomes_a_scale_only_batch_norm():
    obj = {"module": "keras.src.applications.convnext", "class_name": "LayerScale", "config": {"name": "ls", "trainable": True, "dtype": "float32", "init_values": 1e-6, "projection_dim": 3}}
    assert apply("layer_scale_to_batch_norm", obj)["config"]["scale"] is True
    gamma, x = np.array([0.5, 2.0, -1.0], np.float32), np.arange(6.0).reshape(2, 3)
    weights = weights_of("layer_scale_to_batch_norm", obj, variable=gamma)
    np.testing.assert_allclose(batch_norm(x, weights), x * gamma)


@pytest.mark.parametrize(
    "op, args, scale, offset",
    [("Add", [tensor("x"), 3.0], 1.0, 3.0), ("Add", [3.0, tensor("x")], 1.0, 3.0), ("Multiply", [tensor("x"), 0.25], 0.25, 0.0), ("Subtract", [tensor("x"), 2], 1.0, -2.0), ("Subtract", [2, tensor("x")], -1.0, 2.0)],
)
def test_keras_ops_on_a_tensor_and_a_number_become_rescaling(op, args, scale, offset):
    obj = {"module": "keras.src.ops.numpy", "class_name": op, "config": {"name": "op"}, "registered_name": op, "name": "op", "inbound_nodes": [{"args": args, "kwargs": {}}]}
    rescaling = apply("scalar_op_to_rescaling", obj)
    assert rescaling["class_name"] == "Rescaling" and (rescaling["config"]["scale"], rescaling["config"]["offset"]) == (scale, offset)
    assert rescaling["inbound_nodes"] == [{"args": [tensor("x")], "kwargs": {}}]


def test_keras_op_on_two_tensors_is_left_to_the_merge_layer_of_its_name():
    obj = {"module": "keras.src.ops.numpy", "class_name": "Add", "config": {"name": "op"}, "inbound_nodes": [{"args": [tensor("x"), tensor("y")], "kwargs": {}}]}
    assert not RULES_BY_NAME["scalar_op_to_rescaling"].applies(obj)


def test_conv2d_with_one_input_channel_per_group_becomes_depthwise():
    obj = {"class_name": "Conv2D", "config": {"name": "c", "filters": 6, "groups": 3, "kernel_size": [3, 3], "use_bias": True, "kernel_initializer": "glorot", "lora_rank": None}}
    config = apply("grouped_conv_to_depthwise", obj)
    assert config["class_name"] == "DepthwiseConv2D"
    assert config["config"] == {"name": "c", "kernel_size": [3, 3], "use_bias": True, "depthwise_initializer": "glorot", "depth_multiplier": 2}
    kernel = np.arange(3 * 3 * 1 * 6, dtype=np.float32).reshape(3, 3, 1, 6)
    weights = weights_of("grouped_conv_to_depthwise", obj, kernel=kernel, bias=np.zeros(6, np.float32))
    # Output channel g * 2 + j of group g is depthwise channel g, multiplier j.
    assert weights["depthwise_kernel"].shape == (3, 3, 3, 2) and weights["depthwise_kernel"][1, 2, 2, 1] == kernel[1, 2, 0, 5]
    assert set(weights) == {"depthwise_kernel", "bias"}


def test_conv2d_with_several_input_channels_per_group_is_refused():
    obj = {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "groups": 2, "kernel_size": [1, 1]}}
    with pytest.raises(ConversionError, match="'c' has groups=2 with 3 input channels per group"):
        weights_of("grouped_conv_to_depthwise", obj, kernel=np.zeros((1, 1, 3, 4), np.float32))


@pytest.mark.parametrize("data_format, kept", [("channels_last", [1, 1, 16]), ("channels_first", [16, 1, 1])])
def test_keepdims_pooling_records_the_shape_it_keeps(data_format, kept):
    """tfjs-layers' Reshape cannot infer a -1 dimension before it runs: the channels are needed."""
    shape = [None, 5, 5, 16] if data_format == "channels_last" else [None, 16, 5, 5]
    obj = {"class_name": "GlobalMaxPooling2D", "config": {"name": "p", "keepdims": True, "data_format": data_format}, "build_config": {"input_shape": shape}}
    assert apply("pooled_shape", obj)["config"]["keepdims"] == kept
    called = {"class_name": "GlobalMaxPooling2D", "config": {"name": "p", "keepdims": True, "data_format": data_format}, "inbound_nodes": [{"args": [dict(tensor("x"), config={"shape": shape, "keras_history": ["x", 0, 0]})], "kwargs": {}}]}
    assert apply("pooled_shape", called)["config"]["keepdims"] == kept


def test_keepdims_pooling_without_a_recorded_shape_is_refused():
    pool = {"class_name": "GlobalAveragePooling2D", "config": {"name": "p", "keepdims": True}}
    with pytest.raises(ConversionError, match="'p' has keepdims=True but the file does not record its channel count"):
        apply("keepdims_pooling_to_reshape", {"class_name": "Sequential", "config": {"name": "s", "layers": [pool]}})


def test_keepdims_pooling_becomes_pooling_and_reshape_under_the_same_name():
    pool = {"class_name": "GlobalAveragePooling2D", "config": {"name": "gap", "keepdims": [1, 1, 8], "data_format": "channels_last"}, "name": "gap", "inbound_nodes": [[["conv", 0, 0, {}]]]}
    model = {"class_name": "Functional", "config": {"name": "m", "layers": [pool, dense("d", None)], "input_layers": [], "output_layers": [["d", 0, 0]]}}
    layers = apply("keepdims_pooling_to_reshape", model)["config"]["layers"]
    assert [(layer["class_name"], layer["config"]["name"]) for layer in layers] == [("GlobalAveragePooling2D", "gap_pool"), ("Reshape", "gap"), ("Dense", "d")]
    assert "keepdims" not in layers[0]["config"] and layers[0]["inbound_nodes"] == [[["conv", 0, 0, {}]]]
    assert layers[1]["config"]["target_shape"] == [1, 1, 8] and layers[1]["inbound_nodes"] == [[["gap_pool", 0, 0, {}]]]


def test_keepdims_pooling_in_a_sequential_model():
    pool = {"class_name": "GlobalMaxPooling1D", "config": {"name": "p", "keepdims": [1, 3]}}
    layers = apply("keepdims_pooling_to_reshape", {"class_name": "Sequential", "config": {"name": "s", "layers": [pool]}})["config"]["layers"]
    assert [layer["class_name"] for layer in layers] == ["GlobalMaxPooling1D", "Reshape"] and layers[1]["config"]["target_shape"] == [1, 3]


def embedding_model(mask_args, embedding_input="tokens", mask_zero=True):
    embedding = {"class_name": "Embedding", "config": {"name": "emb", "mask_zero": mask_zero}, "name": "emb", "inbound_nodes": [{"args": [tensor(embedding_input)], "kwargs": {}}]}
    not_equal = {"class_name": "NotEqual", "config": {"name": "ne"}, "name": "ne", "inbound_nodes": [{"args": mask_args, "kwargs": {}}]}
    lstm = {"class_name": "LSTM", "config": {"name": "lstm"}, "name": "lstm", "inbound_nodes": [{"args": [tensor("emb")], "kwargs": {"training": False, "mask": tensor("ne")}}]}
    layers = [keras3_input("tokens"), keras3_input("other"), embedding, not_equal, lstm]
    return {"class_name": "Functional", "config": {"name": "m", "layers": layers, "input_layers": [["tokens", 0, 0]], "output_layers": [["lstm", 0, 0]]}}


def test_keras3_explicit_embedding_mask_is_dropped():
    config = apply("drop_explicit_embedding_masks", embedding_model([tensor("tokens"), 0]))["config"]
    assert [layer["name"] for layer in config["layers"]] == ["tokens", "other", "emb", "lstm"]
    assert config["layers"][-1]["inbound_nodes"] == [{"args": [tensor("emb")], "kwargs": {"training": False}}]


@pytest.mark.parametrize(
    "model",
    [embedding_model([tensor("tokens"), 1]), embedding_model([tensor("other"), 0]), embedding_model([tensor("tokens"), 0], embedding_input="other"), embedding_model([tensor("tokens"), 0], mask_zero=False)],
    ids=["not_zero", "other_tensor", "embedding_of_other_input", "no_mask_zero"],
)
def test_a_mask_that_is_not_the_embeddings_own_stays(model):
    if RULES_BY_NAME["drop_explicit_embedding_masks"].applies(model):
        model = apply("drop_explicit_embedding_masks", model)
    assert "ne" in [layer["name"] for layer in model["config"]["layers"]]
    with pytest.raises(ConversionError, match="'lstm' is called with a tensor as keyword argument 'mask'"):
        translate(model, keras3=True)


def test_translation_replaces_a_rewritten_layers_weights_in_place():
    obj = {"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "groups": 2, "kernel_size": [1, 1]}}
    fixes = {"c": RULES_BY_NAME["grouped_conv_to_depthwise"].weights(obj), "n": lambda stored: {"moving_mean": Weight.of("moving_mean", np.zeros(2))}}
    stored = [Weight.of(name, np.zeros(shape, np.float32)) for name, shape in (("a/kernel", (1,)), ("c/kernel", (1, 1, 1, 2)), ("c/bias", (2,)), ("z/kernel", (1,)))]
    stored[1] = Weight("c/kernel", stored[1].load, "float32", (1, 1, 1, 2))
    names = [w.name for w in Translation({}, fixes).weights(stored)]
    assert names == ["a/kernel", "c/depthwise_kernel", "c/bias", "z/kernel", "n/moving_mean"]


def test_an_option_tfjs_would_drop_is_refused_with_every_such_option_named():
    model = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "ReLU", "config": {"name": "r", "negative_slope": 0.0, "threshold": 0.5}},
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "lora_rank": 4, "kernel_initializer": "zeros", "seed": 3}},
    ]}}
    with pytest.raises(ConversionError) as error:
        translate(model)
    message = str(error.value)
    assert "layer 'r' (ReLU) has threshold=0.5, which tfjs-layers 4.22 does not implement; layer 'd' (Dense) has lora_rank=4" in message
    assert "negative_slope" not in message and "seed" not in message and "tfjs_graph_model" in message


def test_zero_output_for_mask_matters_only_where_a_mask_is_made():
    """Keras zeroes masked steps of a Bidirectional's sequences; TF.js repeats the last output."""
    lstm = {"class_name": "LSTM", "config": {"name": "l", "units": 2, "return_sequences": True, "zero_output_for_mask": True}}
    embedding = {"class_name": "Embedding", "config": {"name": "e", "input_dim": 5, "output_dim": 2, "mask_zero": True}}
    translate({"class_name": "Sequential", "config": {"name": "m", "layers": [dict(embedding, config=dict(embedding["config"], mask_zero=False)), lstm]}})
    with pytest.raises(ConversionError, match="'l' \\(LSTM\\) has zero_output_for_mask=true"):
        translate({"class_name": "Sequential", "config": {"name": "m", "layers": [embedding, lstm]}})


def test_a_keras_layer_tfjs_lacks_is_refused_a_custom_or_registrable_one_warned():
    layers = [{"module": "keras.layers", "class_name": "UnitNormalization", "config": {"name": "u"}}]
    with pytest.raises(ConversionError, match="'u' is a Keras UnitNormalization, which tfjs-layers 4.22 does not have"):
        translate({"class_name": "Sequential", "config": {"name": "m", "layers": layers}}, keras3=True)
    layers = [{"module": "keras.layers", "class_name": "MultiHeadAttention", "config": {"name": "mha"}}, {"module": "my_pkg", "class_name": "Mine", "config": {"name": "c"}}]
    with pytest.warns(UnsupportedLayerWarning) as record:
        translate({"class_name": "Sequential", "config": {"name": "m", "layers": layers}}, keras3=True)
    assert len(record) == 2


def test_every_rule_is_tested_here():
    tested = {
        "drop_serialization_noise", "rename_class", "dtype_policy_to_string", "input_layer_batch_shape", "keras3_graph_to_lists", "model_io_layers",
        "regularizer_l1_l2", "leaky_relu_alpha", "activation_names", "bidirectional_layer", "separable_conv_kernel_keys", "reject_lambda",
        "reject_gru_reset_after", "reject_elu_alpha", "reject_grouped_conv", "keras3_hard_sigmoid", "hard_silu_to_layers",
        "normalization_to_batch_norm", "layer_scale_to_batch_norm", "scalar_op_to_rescaling", "grouped_conv_to_depthwise",
        "keepdims_pooling_to_reshape", "drop_explicit_embedding_masks", "pooled_shape",
    }
    assert set(RULES_BY_NAME) == tested


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
