"""Each Keras 3 -> TF.js config rule on its own, then `translate` on whole configs. No Keras needed."""

import sys
import warnings

import pytest

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import layers_config
from tensorflowjs.keras.layers_config import RULES_BY_NAME, UnsupportedLayerWarning, translate


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
        ("reject_grouped_conv", {"class_name": "Conv2D", "config": {"name": "c", "groups": 2}}, "'c' has groups=2.*groups=1"),
        ("reject_global_pooling_keepdims", {"class_name": "GlobalAveragePooling2D", "config": {"name": "p", "keepdims": True}}, "'p' has keepdims=True.*Reshape"),
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
    obj = {"class_name": "Dense", "config": {"name": "d", "activation": "hard_silu"}}
    with pytest.warns(UnsupportedLayerWarning, match="activation 'hard_silu' of layer 'd'.*registerClass"):
        apply("warn_unknown_activation", obj)
    assert not RULES_BY_NAME["warn_unknown_activation"].applies({"class_name": "LSTM", "config": {"activation": "tanh", "recurrent_activation": "sigmoid"}})


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


def test_every_rule_is_tested_here():
    tested = {"drop_serialization_noise", "rename_class", "dtype_policy_to_string", "input_layer_batch_shape", "keras3_graph_to_lists", "model_io_layers", "regularizer_l1_l2", "leaky_relu_alpha", "activation_names", "bidirectional_layer", "separable_conv_kernel_keys", "reject_lambda", "reject_gru_reset_after", "reject_elu_alpha", "reject_grouped_conv", "reject_global_pooling_keepdims", "warn_unknown_activation", "keras3_hard_sigmoid"}
    assert set(RULES_BY_NAME) == tested


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
