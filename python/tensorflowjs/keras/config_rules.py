"""The one engine for Keras config rules, used in both directions (Keras -> TF.js, TF.js -> Keras).

A rule is one difference between two dialects of a Keras model config: when it applies to a
serialized object (`{"class_name": ..., "config": {...}}`) and how that object is rewritten
or refused. Rules are kept in ordered tables (`RuleSet`); a rule is added by decorating its
function with the table's `rule`, beside the function, and applies in the order of
registration. `walk` applies a table to every object of a config, innermost objects first,
so a rule on a model sees its layers already rewritten. Rules marked `layers_only` apply to
layers (a model, its members, wrapped layers and RNN cells), not to the initializers,
regularizers or dtype policies inside them.

The refusals both directions share (Lambda layers, Keras 3's hard_sigmoid) are defined here.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Sequence

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.model_classes import MODEL_CLASSES, NESTED_LAYER_KEYS, Obj, model_layers
from tensorflowjs.write_weights import Weight

KERAS_TENSOR = "__keras_tensor__"

# A rewritten layer's weights: its stored weights by short name (`kernel`) -> the ones its new class reads.
WeightFix = Callable[[Dict[str, Weight]], Dict[str, Weight]]

ACTIVATION_KEYS = ("activation", "recurrent_activation")


@dataclass(frozen=True)
class Rule:
    """Where a difference applies (`applies`) and how to fix it (`apply` returns the object,
    changed in place or new; a refusal raises ConversionError).

    `weights`, for rules that turn a layer into another, gives from the object as it was how
    that layer's weights become the new layer's.
    """

    name: str
    applies: Callable[[Obj], bool]
    apply: Callable[[Obj], Obj]
    weights: Optional[Callable[[Obj], WeightFix]] = None
    layers_only: bool = False


class RuleSet(list):
    """Rules in the order they apply; `@rules.rule(when)` registers the decorated function."""

    def __init__(self, rules: Iterable[Rule] = (), layers_only: bool = False):
        super().__init__(rules)
        self.layers_only = layers_only

    def rule(self, when: Callable[[Obj], bool], name: Optional[str] = None, weights: Optional[Callable[[Obj], WeightFix]] = None):
        """Registers a function as a rule named like it (without its leading underscore)."""

        def register(apply: Callable[[Obj], Obj]) -> Callable[[Obj], Obj]:
            self.append(Rule(name or apply.__name__.lstrip("_"), when, apply, weights, self.layers_only))
            return apply

        return register


def config_of(obj: Obj) -> Dict:
    """An object's config, or {} where it has none (or something else)."""
    config = obj.get("config")
    return config if isinstance(config, dict) else {}


def name_of(obj: Obj) -> str:
    return config_of(obj).get("name", obj.get("name", "?"))


def class_is(*names: str) -> Callable[[Obj], bool]:
    return lambda obj: obj.get("class_name") in names


def is_object(value: Any) -> bool:
    """A serialized Keras object (a Keras 3 call argument's tensor is not one)."""
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and value.get("class_name") != KERAS_TENSOR


def activations_of(obj: Obj) -> list:
    config = config_of(obj)
    return [config[key] for key in ACTIVATION_KEYS if isinstance(config.get(key), str)]


def layer_configs(model_config: Obj) -> Iterator[Obj]:
    """Every layer of a model config, itself first: nested models, wrapped layers and cells included."""
    pending = [model_config]
    while pending:
        layer = pending.pop(0)
        yield layer
        if layer.get("class_name") in MODEL_CLASSES:
            pending.extend(model_layers(layer))
            continue
        config = layer.get("config") or {}
        for key in NESTED_LAYER_KEYS:
            nested = config.get(key)
            for item in nested if isinstance(nested, list) else [nested]:
                if isinstance(item, dict) and "class_name" in item:
                    pending.append(item)


class _Walk:
    def __init__(self, rules: Sequence[Rule], layers: set, weight_fixes: Optional[Dict[str, WeightFix]]):
        self.rules, self.layers, self.weight_fixes = rules, layers, weight_fixes

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if not isinstance(value, dict):
            return value
        walked = {key: self.value(item) for key, item in value.items()}
        return self.apply(walked, id(value) in self.layers) if is_object(value) else walked

    def apply(self, obj: Obj, is_layer: bool) -> Obj:
        """Every rule that matches one object, in order (its children are not visited)."""
        for rule in self.rules:
            if (is_layer or not rule.layers_only) and rule.applies(obj):
                if rule.weights is not None and self.weight_fixes is not None:
                    self.weight_fixes[name_of(obj)] = rule.weights(obj)
                obj = rule.apply(obj)
        return obj


def walk(config: Obj, rules: Sequence[Rule], where: Optional[str] = None, weight_fixes: Optional[Dict[str, WeightFix]] = None) -> Obj:
    """A copy of the config with the rules applied to every object, innermost objects first.

    A rule that changes a layer's weights records how under the layer's name in `weight_fixes`.
    A refusal's message starts with `where` when it is given.
    """
    layers = {id(layer) for layer in layer_configs(config)} if any(rule.layers_only for rule in rules) else set()
    try:
        return _Walk(rules, layers, weight_fixes).value(config)
    except ConversionError as e:
        if where is None:
            raise
        raise ConversionError(f"{where}: {e}") from None


# --- refusals of both directions --------------------------------------------------------------


def _refuse_lambda(layer: Obj) -> Obj:
    raise ConversionError(
        f"layer {name_of(layer)!r} is a Lambda layer: its Python code cannot run in TF.js and this converter never runs it; "
        "replace it with built-in layers (or, for TF.js, a custom layer registered in JS)"
    )


# A Lambda layer is Python code stored in the model: never run, neither here nor in TF.js.
REFUSE_LAMBDA = Rule("reject_lambda", class_is("Lambda"), _refuse_lambda)


def keras3_hard_sigmoid(remedy: str) -> Rule:
    """Refuses hard_sigmoid in a Keras 3 model: Keras 3 redefined it, TF.js and Keras 2 did not;
    `remedy` says what to do instead in the direction at hand."""

    def refuse(obj: Obj) -> Obj:
        raise ConversionError(
            f"layer {name_of(obj)!r} uses hard_sigmoid, which Keras 3 computes as relu6(x + 3) / 6 "
            f"but TF.js and Keras 2 as clip(0.2 x + 0.5, 0, 1); its predictions would differ ({remedy})"
        )

    return Rule("keras3_hard_sigmoid", lambda obj: "hard_sigmoid" in activations_of(obj), refuse)
