"""The Keras config rule engine both directions share: registration, walk order, scope, refusals."""

import sys

import pytest

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import config_rules, from_tfjs_config, layers_config
from tensorflowjs.keras.config_rules import RuleSet, class_is, walk
from tensorflowjs.keras.model_classes import has_own_input


def _layer(class_name, **config):
    return {"class_name": class_name, "config": {"name": class_name.lower(), **config}}


def _model(*layers):
    return {"class_name": "Functional", "config": {"name": "m", "layers": list(layers)}}


def test_a_decorated_function_is_a_rule_named_like_it_in_registration_order():
    rules = RuleSet()

    @rules.rule(class_is("Dense"))
    def _first(obj):
        return obj

    @rules.rule(class_is("Dense"), name="second")
    def _other(obj):
        return obj

    assert [rule.name for rule in rules] == ["first", "second"] and rules[0].apply is _first


def test_objects_are_rewritten_innermost_first_and_the_input_is_left_alone():
    seen, rules = [], RuleSet()

    @rules.rule(lambda obj: True)
    def _record(obj):
        seen.append(obj["class_name"])
        return {**obj, "visited": True}

    config = _model(_layer("Dense", kernel_initializer=_layer("GlorotUniform")))
    result = walk(config, rules)
    assert seen == ["GlorotUniform", "Dense", "Functional"]
    assert result["visited"] and result["config"]["layers"][0]["config"]["kernel_initializer"]["visited"]
    assert "visited" not in config and "visited" not in config["config"]["layers"][0]


def test_layer_rules_reach_nested_models_wrapped_layers_and_cells_but_not_initializers():
    seen, rules = [], RuleSet(layers_only=True)

    @rules.rule(lambda obj: True)
    def _record(obj):
        seen.append(obj["class_name"])
        return obj

    inner = {"class_name": "Sequential", "config": {"name": "inner", "layers": [_layer("Dense", kernel_initializer=_layer("GlorotUniform"))]}}
    rnn = _layer("RNN", cell=[_layer("LSTMCell")])
    walk(_model(inner, _layer("Bidirectional", layer=_layer("GRU")), rnn), rules)
    assert sorted(seen) == ["Bidirectional", "Dense", "Functional", "GRU", "LSTMCell", "RNN", "Sequential"]


def test_a_refusal_names_where_it_happened_when_told():
    with pytest.raises(ConversionError, match=r"^model\.json: layer 'lambda' is a Lambda layer"):
        walk(_model(_layer("Lambda")), [config_rules.REFUSE_LAMBDA], "model.json")
    with pytest.raises(ConversionError, match=r"^layer 'lambda' is a Lambda layer"):
        walk(_model(_layer("Lambda")), [config_rules.REFUSE_LAMBDA])


def test_both_directions_refuse_lambda_and_keras3_hard_sigmoid_by_the_same_rules():
    assert layers_config.RULES_BY_NAME["reject_lambda"] is config_rules.REFUSE_LAMBDA
    with pytest.raises(ConversionError, match="'lambda' is a Lambda layer"):
        from_tfjs_config.check_layer_classes(_model(_layer("Lambda")), "model.json", lambda name: True)
    hard = _model(_layer("Dense", activation="hard_sigmoid"))
    for refuse in (lambda: layers_config.translate(hard, keras3=True), lambda: from_tfjs_config.check_keras3_semantics(hard, "model.json")):
        with pytest.raises(ConversionError, match="'dense' uses hard_sigmoid, which Keras 3 computes as relu6"):
            refuse()


@pytest.mark.parametrize("layer, own", [
    (_layer("Functional"), True),
    (_layer("Model"), True),
    ({"class_name": "Sequential", "config": {"layers": [_layer("InputLayer")]}}, True),
    ({"class_name": "Sequential", "config": {"layers": [_layer("Dense", batch_input_shape=[None, 2])]}}, True),
    ({"class_name": "Sequential", "config": {"layers": [_layer("Dense", batch_shape=[None, 2])]}}, True),
    ({"class_name": "Sequential", "config": {"layers": [_layer("Dense")]}}, False),
    ({"class_name": "Sequential", "config": {"layers": []}}, False),
    (_layer("Dense"), False),
], ids=["functional", "model", "sequential_input_layer", "batch_input_shape", "batch_shape", "sequential_unbuilt", "sequential_empty", "layer"])
def test_a_nested_model_has_its_own_input_when_built_at_construction(layer, own):
    assert has_own_input(layer) is own


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
