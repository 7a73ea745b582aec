"""A tfjs-layers model config made readable by Keras: the rules for the way back.

tfjs-layers saves configs in the Keras 2 dialect (`batch_input_shape`, list-form
`inbound_nodes`), which tf_keras reads natively; what differs is listed here, one rule per
concept, each registered in its table beside its function and applied to every layer by the
config rule engine (`config_rules.walk`). A second table adapts a Keras 2 config to what
Keras 3's legacy loader accepts, so that a converted .h5 loads in both Keras versions; a
third takes a tfjs-layers config straight to Keras 3 (the .keras output, and Keras 3 models
of the Python API). No rule imports Keras.
"""

import dataclasses
from typing import Callable, Iterator, List, Sequence

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import config_rules
from tensorflowjs.keras.config_rules import REFUSE_LAMBDA, Rule, RuleSet, class_is, config_of, layer_configs
from tensorflowjs.keras.model_classes import FUNCTIONAL_CLASSES, MODEL_CLASSES, NESTED_LAYER_KEYS, Obj, has_own_input, model_layers

Config = Obj

__all__ = [
    "MODEL_CLASSES", "Rule", "apply_rules", "check_keras3_semantics", "check_layer_classes", "layer_configs",
    "TFJS_TO_KERAS2_RULES", "KERAS3_LEGACY_RULES", "KERAS3_ONLY_RULES", "TFJS_TO_KERAS3_RULES",
]


def _name(layer: Config) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "?")


def _refuse_unknown_class(layer: Config) -> Config:
    raise ConversionError(
        f"layer {_name(layer)!r} has class {layer.get('class_name')!r}, which Keras does not have "
        "(a custom layer registered in TF.js); implement it in Keras and convert a model without it"
    )


def check_layer_classes(model_config: Config, where: str, known: Callable[[str], bool]) -> None:
    """Refuses, before anything is built, layers made of code and layers Keras lacks."""
    lacking = Rule("keras_has_the_class", lambda layer: not (layer["class_name"] in MODEL_CLASSES or known(layer["class_name"])), _refuse_unknown_class, layers_only=True)
    config_rules.walk(model_config, [dataclasses.replace(REFUSE_LAMBDA, layers_only=True), lacking], where)


# --- tfjs-layers -> Keras 2 -----------------------------------------------------------------

TFJS_TO_KERAS2_RULES = RuleSet(layers_only=True)

# Activations only tfjs-layers has, and what they are.
_TFJS_ONLY_ACTIVATIONS = {"gelu_new": "GELU with the tanh approximation"}

# tfjs-layers initializer class names that Keras spells differently.
_INITIALIZER_NAMES = {"LeCunNormal": "LecunNormal", "LeCunUniform": "LecunUniform"}


def _tfjs_only_activations(layer: Config) -> List[str]:
    return [name for name in config_rules.activations_of(layer) if name in _TFJS_ONLY_ACTIVATIONS]


@TFJS_TO_KERAS2_RULES.rule(lambda layer: bool(_tfjs_only_activations(layer)))
def _activations_known_to_keras(layer: Config) -> Config:
    name = _tfjs_only_activations(layer)[0]
    raise ConversionError(f"layer {_name(layer)!r} uses the TF.js activation {name!r} ({_TFJS_ONLY_ACTIVATIONS[name]}), which Keras does not have")


# Initializer arguments Keras 3.15 added (fan axes); unset, they mean what Keras 2 does.
_NEWER_INITIALIZER_ARGUMENTS = ("input_axes", "output_axes")


def _initializers(layer: Config) -> Iterator[Config]:
    for key, value in config_of(layer).items():
        if key.endswith("_initializer") and isinstance(value, dict) and isinstance(value.get("config"), dict):
            yield value


@TFJS_TO_KERAS2_RULES.rule(lambda layer: any(i.get("class_name") in _INITIALIZER_NAMES for i in _initializers(layer)))
def _initializer_class_names(layer: Config) -> Config:
    for initializer in _initializers(layer):
        initializer["class_name"] = _INITIALIZER_NAMES.get(initializer.get("class_name"), initializer.get("class_name"))
    return layer


@TFJS_TO_KERAS2_RULES.rule(lambda layer: any(i["config"].get(key, 0) is None for i in _initializers(layer) for key in _NEWER_INITIALIZER_ARGUMENTS))
def _no_unset_newer_initializer_arguments(layer: Config) -> Config:
    for initializer in _initializers(layer):
        for key in _NEWER_INITIALIZER_ARGUMENTS:
            if key in initializer["config"] and initializer["config"][key] is None:
                del initializer["config"][key]
    return layer


# Layer arguments only Keras 3 has; unset, the layer is what Keras 2 builds.
_KERAS3_ONLY_LAYER_ARGUMENTS = ("quantization_config", "lora_rank", "lora_alpha")


@TFJS_TO_KERAS2_RULES.rule(lambda layer: any(config_of(layer).get(key, 0) is None for key in _KERAS3_ONLY_LAYER_ARGUMENTS))
def _no_unset_keras3_only_arguments(layer: Config) -> Config:
    config = layer["config"]
    for key in _KERAS3_ONLY_LAYER_ARGUMENTS:
        if key in config and config[key] is None:
            del config[key]
    return layer


# --- Keras 2 -> what Keras 3's legacy (.h5) loader accepts ----------------------------------

# Arguments both Keras versions read the same way: applied to every .h5 written.
KERAS3_LEGACY_RULES = RuleSet(layers_only=True)

_RECURRENT = ("SimpleRNN", "GRU", "LSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "RNN")


@KERAS3_LEGACY_RULES.rule(lambda layer: layer["class_name"] in _RECURRENT and config_of(layer).get("time_major") is False)
def _no_time_major(layer: Config) -> Config:
    """Keras 3 recurrent layers have no `time_major` (always batch-major, as tfjs-layers)."""
    del layer["config"]["time_major"]
    return layer


def _takes_no_groups(layer: Config) -> bool:
    class_name = layer["class_name"]
    return (class_name.startswith(("SeparableConv", "DepthwiseConv")) or class_name.endswith("Transpose")) and config_of(layer).get("groups") == 1


@KERAS3_LEGACY_RULES.rule(_takes_no_groups)
def _no_default_groups(layer: Config) -> Config:
    """Keras 3 depthwise, separable and transposed convolutions take no `groups` argument."""
    del layer["config"]["groups"]
    return layer


@KERAS3_LEGACY_RULES.rule(lambda layer: layer["class_name"].startswith("SeparableConv"))
def _no_kernel_arguments_on_separable(layer: Config) -> Config:
    """Keras 3 separable convolutions take depthwise and pointwise arguments only."""
    for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
        config_of(layer).pop(key, None)
    return layer


@KERAS3_LEGACY_RULES.rule(lambda layer: layer["class_name"].startswith("SpatialDropout"))
def _spatial_dropout_arguments(layer: Config) -> Config:
    """Keras 3 SpatialDropout derives its noise shape and takes no `noise_shape` nor `trainable`."""
    config = config_of(layer)
    if config.get("noise_shape") is None:
        config.pop("noise_shape", None)
    config.pop("trainable", None)
    return layer


@KERAS3_LEGACY_RULES.rule(class_is("ThresholdedReLU"))
def _thresholded_relu_as_relu(layer: Config) -> Config:
    """Keras 3 dropped ThresholdedReLU; ReLU with a threshold differs only at x == theta exactly."""
    config = layer["config"]
    layer["class_name"] = "ReLU"
    config["threshold"] = float(config.pop("theta", 1.0))
    config.update(max_value=None, negative_slope=0.0)
    return layer


def _shift_node_indices(model: Config, names: set) -> None:
    """References to the given layers' nodes, one node earlier."""
    refs = [ref for inner in model_layers(model) for node in inner.get("inbound_nodes") or [] if isinstance(node, list) for ref in node]
    refs += [ref for key in ("input_layers", "output_layers") for ref in config_of(model).get(key) or []]
    for ref in refs:
        if isinstance(ref, list) and len(ref) >= 3 and ref[0] in names and isinstance(ref[1], int) and ref[1] > 0:
            ref[1] -= 1


@KERAS3_LEGACY_RULES.rule(class_is(*FUNCTIONAL_CLASSES))
def _nested_sequentials_built_by_their_caller(layer: Config) -> Config:
    """A nested Sequential without its own input: both Keras versions then number its nodes alike.

    With an input, Keras 2 counts its construction as node 0 and Keras 3 does not, so one of
    them would wait forever for a node the other never made.
    """
    stripped = set()
    for inner in model_layers(layer):
        layers = model_layers(inner)
        if inner.get("class_name") == "Sequential" and has_own_input(inner) and len(layers) > (layers[0].get("class_name") == "InputLayer"):
            if layers[0].get("class_name") == "InputLayer":
                inner["config"]["layers"].remove(layers.pop(0))
            layers[0].get("config", {}).pop("batch_input_shape", None)
            stripped.add(inner.get("name") or inner["config"].get("name"))
    _shift_node_indices(layer, stripped)
    return layer


# What only Keras 3 reads correctly (tf_keras would wait forever for node 0 of a nested model).
KERAS3_ONLY_RULES = RuleSet(KERAS3_LEGACY_RULES, layers_only=True)


@KERAS3_ONLY_RULES.rule(class_is(*FUNCTIONAL_CLASSES))
def _nested_model_node_indices(layer: Config) -> Config:
    """Keras 2 counts a nested model's own construction as its node 0; Keras 3 does not."""
    _shift_node_indices(layer, {inner.get("name") or config_of(inner).get("name") for inner in model_layers(layer) if has_own_input(inner)})
    return layer


# A tfjs-layers config straight into Keras 3 (without tf_keras, which writes the InputLayer itself).
TFJS_TO_KERAS3_RULES = RuleSet(TFJS_TO_KERAS2_RULES + KERAS3_ONLY_RULES, layers_only=True)


def _first_layer_holds_the_input_shape(layer: Config) -> bool:
    layers = config_of(layer).get("layers") or []
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    return first.get("class_name") != "InputLayer" and "batch_input_shape" in (first.get("config") or {})


@TFJS_TO_KERAS3_RULES.rule(lambda layer: layer["class_name"] == "Sequential" and _first_layer_holds_the_input_shape(layer))
def _sequential_input_as_input_layer(layer: Config) -> Config:
    """A Sequential whose first layer carries `batch_input_shape` (as tfjs-layers writes it)
    gets an InputLayer instead: Keras 3 would read that shape as one without the batch size."""
    layers = layer["config"]["layers"]
    first = layers[0]
    config = first["config"]
    input_config = {"batch_input_shape": config.pop("batch_input_shape"), "dtype": config.get("dtype") or "float32", "sparse": False, "name": f"{_name(first)}_input"}
    layers.insert(0, {"class_name": "InputLayer", "config": input_config})
    return layer


def _wrapped_layers(layer: Config) -> List[Config]:
    config = config_of(layer)
    nested = [item for key in NESTED_LAYER_KEYS for item in (config.get(key) if isinstance(config.get(key), list) else [config.get(key)])]
    return [item for item in nested if isinstance(item, dict) and "class_name" in item]


@TFJS_TO_KERAS3_RULES.rule(lambda layer: any("module" not in item for item in _wrapped_layers(layer)))
def _wrapped_layers_name_their_module(layer: Config) -> Config:
    """Keras 3 builds a wrapped layer or cell (Bidirectional, TimeDistributed, RNN) with its
    new deserializer, which finds built-in classes only through their `module`."""
    for item in _wrapped_layers(layer):
        if "module" not in item:
            item.update(module="keras.layers", registered_name=None)
    return layer


# The remedy for hard_sigmoid on the way back: tf_keras keeps TF.js's definition.
_KERAS3_SEMANTICS = [
    config_rules.keras3_hard_sigmoid("use tf_keras, which keeps TF.js's definition: --output_format=keras or keras_saved_model, or use_tf_keras=True in the Python API"),
]


def check_keras3_semantics(model_config: Config, where: str) -> None:
    """Refuses what Keras 3 would load but compute differently from TF.js and Keras 2."""
    config_rules.walk(model_config, _KERAS3_SEMANTICS, where)


def apply_rules(model_config: Config, rules: Sequence[Rule], where: str) -> Config:
    """A copy of the config with every rule applied to every layer."""
    return config_rules.walk(model_config, rules, where)
