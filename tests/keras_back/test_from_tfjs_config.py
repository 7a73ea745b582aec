"""The way-back config rules, one by one, on small configs (no Keras needed)."""

import pytest

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import from_tfjs_config as rules


def _layer(class_name, **config):
    return {"class_name": class_name, "config": {"name": class_name.lower(), **config}}


def _apply(table, layer):
    return rules.apply_rules(layer, table, "model.json")


def test_layer_configs_reaches_nested_models_wrapped_layers_and_cells():
    inner = {"class_name": "Sequential", "config": {"name": "inner", "layers": [_layer("Dense")]}}
    bidi = _layer("Bidirectional", layer=_layer("LSTM"))
    model = {"class_name": "Model", "config": {"name": "m", "layers": [inner, bidi, _layer("TimeDistributed", layer=_layer("Conv2D"))]}}
    assert [l["class_name"] for l in rules.layer_configs(model)] == ["Model", "Sequential", "Bidirectional", "TimeDistributed", "Dense", "LSTM", "Conv2D"]


def test_unknown_class_is_named_with_its_layer():
    model = {"class_name": "Sequential", "config": {"layers": [_layer("Dense"), _layer("MyLayer")]}}
    with pytest.raises(ConversionError, match="'mylayer' has class 'MyLayer'"):
        rules.check_layer_classes(model, "model.json", lambda name: name == "Dense")


def test_lambda_is_refused_even_inside_a_wrapper():
    model = {"class_name": "Sequential", "config": {"layers": [_layer("TimeDistributed", layer=_layer("Lambda", function="x"))]}}
    with pytest.raises(ConversionError, match="Lambda layer"):
        rules.check_layer_classes(model, "model.json", lambda name: True)


def test_tfjs_only_activation_is_refused():
    with pytest.raises(ConversionError, match="gelu_new"):
        _apply(rules.TFJS_TO_KERAS2_RULES, _layer("Dense", activation="gelu_new"))


def test_lecun_initializers_take_keras_spelling():
    layer = _apply(rules.TFJS_TO_KERAS2_RULES, _layer("Dense", kernel_initializer={"class_name": "LeCunNormal", "config": {"seed": None}}))
    assert layer["config"]["kernel_initializer"]["class_name"] == "LecunNormal"


def test_unset_keras3_only_arguments_are_dropped_and_set_ones_kept():
    glorot = {"class_name": "GlorotUniform", "config": {"seed": None, "input_axes": None, "output_axes": None}}
    layer = _apply(rules.TFJS_TO_KERAS2_RULES, _layer("Dense", kernel_initializer=glorot, quantization_config=None, lora_rank=4))
    assert layer["config"]["kernel_initializer"]["config"] == {"seed": None}
    assert "quantization_config" not in layer["config"] and layer["config"]["lora_rank"] == 4


def test_rules_never_touch_the_input():
    layer = _layer("LSTM", time_major=False)
    _apply(rules.KERAS3_LEGACY_RULES, layer)
    assert layer["config"]["time_major"] is False


@pytest.mark.parametrize("layer,gone", [
    (_layer("LSTM", time_major=False), "time_major"),
    (_layer("SeparableConv2D", groups=1, kernel_initializer={}, kernel_regularizer=None, kernel_constraint=None), "groups"),
    (_layer("DepthwiseConv2D", groups=1), "groups"),
    (_layer("Conv2DTranspose", groups=1), "groups"),
    (_layer("SpatialDropout1D", noise_shape=None, trainable=True), "noise_shape"),
], ids=["time_major", "separable", "depthwise", "transpose", "spatial_dropout"])
def test_keras3_legacy_rules_drop_arguments_keras3_rejects(layer, gone):
    assert gone not in _apply(rules.KERAS3_LEGACY_RULES, layer)["config"]


def test_separable_conv_loses_its_kernel_arguments_and_spatial_dropout_its_trainable():
    separable = _apply(rules.KERAS3_LEGACY_RULES, _layer("SeparableConv2D", kernel_initializer={}, kernel_regularizer=None, kernel_constraint=None))
    assert not {"kernel_initializer", "kernel_regularizer", "kernel_constraint"} & set(separable["config"])
    assert "trainable" not in _apply(rules.KERAS3_LEGACY_RULES, _layer("SpatialDropout2D", trainable=True))["config"]


def test_conv2d_keeps_groups():
    assert _apply(rules.KERAS3_LEGACY_RULES, _layer("Conv2D", groups=2))["config"]["groups"] == 2


def test_thresholded_relu_becomes_relu_with_threshold():
    layer = _apply(rules.KERAS3_LEGACY_RULES, _layer("ThresholdedReLU", theta=0.5))
    assert layer["class_name"] == "ReLU" and layer["config"]["threshold"] == 0.5 and layer["config"]["negative_slope"] == 0.0


def _functional_with(nested):
    nested.update(name="inner", inbound_nodes=[[["a", 0, 0, {}]]])
    add = {"class_name": "Add", "name": "add", "config": {"name": "add"}, "inbound_nodes": [[["inner", 1, 0, {}], ["a", 0, 0, {}]]]}
    return {"class_name": "Functional", "config": {"layers": [nested, add], "input_layers": [["a", 0, 0]], "output_layers": [["inner", 1, 0]]}}


def test_nested_sequential_loses_its_input_and_node_0_for_both_kerases():
    inputs = {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 4]}}
    model = _functional_with({"class_name": "Sequential", "config": {"name": "inner", "layers": [inputs, _layer("Dense", batch_input_shape=[None, 4])]}})
    for table in (rules.KERAS3_LEGACY_RULES, rules.KERAS3_ONLY_RULES):
        result = _apply(table, model)
        assert result["config"]["layers"][0]["config"]["layers"] == [_layer("Dense")]
        assert result["config"]["layers"][1]["inbound_nodes"] == [[["inner", 0, 0, {}], ["a", 0, 0, {}]]]
        assert result["config"]["output_layers"] == [["inner", 0, 0]]


def test_nested_functional_counts_nodes_from_zero_for_keras3_only():
    model = _functional_with({"class_name": "Functional", "config": {"name": "inner", "layers": []}})
    assert _apply(rules.KERAS3_ONLY_RULES, model)["config"]["layers"][1]["inbound_nodes"][0][0][1] == 0
    assert _apply(rules.KERAS3_LEGACY_RULES, model)["config"]["layers"][1]["inbound_nodes"][0][0][1] == 1


def test_keras3_gets_an_input_layer_for_a_sequential_whose_first_layer_has_the_batch_shape():
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [_layer("Dense", batch_input_shape=[None, 4], dtype="float32")]}}
    layers = _apply(rules.TFJS_TO_KERAS3_RULES, model)["config"]["layers"]
    assert layers[0] == {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "dense_input"}}
    assert "batch_input_shape" not in layers[1]["config"]
    with_input = {"class_name": "Sequential", "config": {"layers": layers}}
    assert _apply(rules.TFJS_TO_KERAS3_RULES, with_input) == with_input


def test_keras3_finds_wrapped_layers_through_their_module():
    bidi = _apply(rules.TFJS_TO_KERAS3_RULES, _layer("Bidirectional", layer=_layer("GRU")))
    assert bidi["config"]["layer"]["module"] == "keras.layers" and bidi["config"]["layer"]["registered_name"] is None
    assert "module" not in _apply(rules.TFJS_TO_KERAS2_RULES, _layer("Bidirectional", layer=_layer("GRU")))["config"]["layer"]


@pytest.mark.parametrize("key", ["activation", "recurrent_activation"])
def test_hard_sigmoid_is_refused_for_keras3_naming_the_layer(key):
    model = {"class_name": "Sequential", "config": {"layers": [_layer("GRU", **{key: "hard_sigmoid"})]}}
    with pytest.raises(ConversionError, match="'gru' uses hard_sigmoid"):
        rules.check_keras3_semantics(model, "model.json")
    rules.check_keras3_semantics({"class_name": "Sequential", "config": {"layers": [_layer("GRU", recurrent_activation="sigmoid")]}}, "model.json")


if __name__ == "__main__":
    import sys

    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
