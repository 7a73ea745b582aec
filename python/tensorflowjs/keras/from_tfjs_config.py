"""A tfjs-layers model config made readable by Keras: the rules for the way back.

tfjs-layers saves configs in the Keras 2 dialect (`batch_input_shape`, list-form
`inbound_nodes`), which tf_keras reads natively; what differs is listed here, one rule per
concept. A second table adapts a Keras 2 config to what Keras 3's legacy loader accepts,
so that a converted .h5 loads in both Keras versions; a third takes a tfjs-layers config
straight to Keras 3 (the .keras output, and Keras 3 models of the Python API). No rule
imports Keras.
"""

import copy
from typing import Callable, Dict, Iterator, List

from tensorflowjs.errors import ConversionError

Config = Dict
Rule = Callable[[Config, str], None]

MODEL_CLASSES = ("Sequential", "Model", "Functional")
# Keys of a layer config that hold other layer configs (wrappers and recurrent layers).
_NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell", "cells")
_ACTIVATION_KEYS = ("activation", "recurrent_activation")


def _model_layers(config: Config) -> List[Config]:
    inner = config.get("config")
    layers = inner.get("layers", []) if isinstance(inner, dict) else inner
    return [layer for layer in layers or [] if isinstance(layer, dict)]


def layer_configs(model_config: Config) -> Iterator[Config]:
    """Every layer config in a model config: nested models, wrapped layers and cells included."""
    pending = [model_config]
    while pending:
        layer = pending.pop(0)
        yield layer
        if layer.get("class_name") in MODEL_CLASSES:
            pending.extend(_model_layers(layer))
            continue
        config = layer.get("config") or {}
        for key in _NESTED_LAYER_KEYS:
            nested = config.get(key)
            for item in nested if isinstance(nested, list) else [nested]:
                if isinstance(item, dict) and "class_name" in item:
                    pending.append(item)


def _name(layer: Config) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "?")


def check_layer_classes(model_config: Config, where: str, known: Callable[[str], bool]) -> None:
    """Refuses, before anything is built, layers Keras lacks and layers made of code."""
    for layer in layer_configs(model_config):
        class_name = layer.get("class_name")
        if class_name == "Lambda":
            raise ConversionError(f"{where}: layer {_name(layer)!r} is a Lambda layer, whose Python code is never run by this converter; replace it with built-in layers")
        if not isinstance(class_name, str) or not (class_name in MODEL_CLASSES or known(class_name)):
            raise ConversionError(
                f"{where}: layer {_name(layer)!r} has class {class_name!r}, which Keras does not have "
                "(a custom layer registered in TF.js); implement it in Keras and convert a model without it"
            )


# --- tfjs-layers -> Keras 2 -----------------------------------------------------------------

# Activations only tfjs-layers has, and what they are.
_TFJS_ONLY_ACTIVATIONS = {"gelu_new": "GELU with the tanh approximation"}

# tfjs-layers initializer class names that Keras spells differently.
_INITIALIZER_NAMES = {"LeCunNormal": "LecunNormal", "LeCunUniform": "LecunUniform"}


def _activations_known_to_keras(layer: Config, where: str) -> None:
    config = layer.get("config") or {}
    for key in _ACTIVATION_KEYS:
        if isinstance(config.get(key), str) and config[key] in _TFJS_ONLY_ACTIVATIONS:
            raise ConversionError(f"{where}: layer {_name(layer)!r} uses the TF.js activation {config[key]!r} ({_TFJS_ONLY_ACTIVATIONS[config[key]]}), which Keras does not have")


# Initializer arguments Keras 3.15 added (fan axes); unset, they mean what Keras 2 does.
_NEWER_INITIALIZER_ARGUMENTS = ("input_axes", "output_axes")


def _initializers(layer: Config) -> Iterator[Config]:
    for key, value in (layer.get("config") or {}).items():
        if key.endswith("_initializer") and isinstance(value, dict) and isinstance(value.get("config"), dict):
            yield value


def _initializer_class_names(layer: Config, where: str) -> None:
    for initializer in _initializers(layer):
        initializer["class_name"] = _INITIALIZER_NAMES.get(initializer.get("class_name"), initializer.get("class_name"))


def _no_unset_newer_initializer_arguments(layer: Config, where: str) -> None:
    for initializer in _initializers(layer):
        for key in _NEWER_INITIALIZER_ARGUMENTS:
            if key in initializer["config"] and initializer["config"][key] is None:
                del initializer["config"][key]


# Layer arguments only Keras 3 has; unset, the layer is what Keras 2 builds.
_KERAS3_ONLY_LAYER_ARGUMENTS = ("quantization_config", "lora_rank", "lora_alpha")


def _no_unset_keras3_only_arguments(layer: Config, where: str) -> None:
    config = layer.get("config") or {}
    for key in _KERAS3_ONLY_LAYER_ARGUMENTS:
        if key in config and config[key] is None:
            del config[key]


TFJS_TO_KERAS2_RULES: List[Rule] = [_activations_known_to_keras, _initializer_class_names, _no_unset_newer_initializer_arguments, _no_unset_keras3_only_arguments]


# --- Keras 2 -> what Keras 3's legacy (.h5) loader accepts ----------------------------------

_RECURRENT = ("SimpleRNN", "GRU", "LSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "RNN")


def _no_time_major(layer: Config, where: str) -> None:
    """Keras 3 recurrent layers have no `time_major` (always batch-major, as tfjs-layers)."""
    if layer.get("class_name") in _RECURRENT:
        config = layer.get("config") or {}
        if config.get("time_major") is False:
            del config["time_major"]


def _no_default_groups(layer: Config, where: str) -> None:
    """Keras 3 depthwise, separable and transposed convolutions take no `groups` argument."""
    config = layer.get("config") or {}
    class_name = layer.get("class_name", "")
    if (class_name.startswith(("SeparableConv", "DepthwiseConv")) or class_name.endswith("Transpose")) and config.get("groups") == 1:
        del config["groups"]


def _no_kernel_arguments_on_separable(layer: Config, where: str) -> None:
    """Keras 3 separable convolutions take depthwise and pointwise arguments only."""
    if layer.get("class_name", "").startswith("SeparableConv"):
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            (layer.get("config") or {}).pop(key, None)


def _spatial_dropout_arguments(layer: Config, where: str) -> None:
    """Keras 3 SpatialDropout derives its noise shape and takes no `noise_shape` nor `trainable`."""
    if layer.get("class_name", "").startswith("SpatialDropout"):
        config = layer.get("config") or {}
        if config.get("noise_shape") is None:
            config.pop("noise_shape", None)
        config.pop("trainable", None)


def _has_own_input(layer: Config) -> bool:
    """A nested model built at its construction (Keras 2 then counts that as its node 0)."""
    if layer.get("class_name") != "Sequential":
        return layer.get("class_name") in MODEL_CLASSES
    first = next(iter(_model_layers(layer)), {})
    return first.get("class_name") == "InputLayer" or "batch_input_shape" in (first.get("config") or {})


def _shift_node_indices(model: Config, names: set) -> None:
    """References to the given layers' nodes, one node earlier."""
    refs = [ref for inner in _model_layers(model) for node in inner.get("inbound_nodes") or [] if isinstance(node, list) for ref in node]
    refs += [ref for key in ("input_layers", "output_layers") for ref in (model.get("config") or {}).get(key) or []]
    for ref in refs:
        if isinstance(ref, list) and len(ref) >= 3 and ref[0] in names and isinstance(ref[1], int) and ref[1] > 0:
            ref[1] -= 1


def _nested_sequentials_built_by_their_caller(layer: Config, where: str) -> None:
    """A nested Sequential without its own input: both Keras versions then number its nodes alike.

    With an input, Keras 2 counts its construction as node 0 and Keras 3 does not, so one of
    them would wait forever for a node the other never made.
    """
    if layer.get("class_name") not in ("Model", "Functional"):
        return
    stripped = set()
    for inner in _model_layers(layer):
        layers = _model_layers(inner)
        if inner.get("class_name") == "Sequential" and _has_own_input(inner) and len(layers) > (layers[0].get("class_name") == "InputLayer"):
            if layers[0].get("class_name") == "InputLayer":
                inner["config"]["layers"].remove(layers.pop(0))
            layers[0].get("config", {}).pop("batch_input_shape", None)
            stripped.add(inner.get("name") or inner["config"].get("name"))
    _shift_node_indices(layer, stripped)


def _nested_model_node_indices(layer: Config, where: str) -> None:
    """Keras 2 counts a nested model's own construction as its node 0; Keras 3 does not."""
    if layer.get("class_name") in ("Model", "Functional"):
        _shift_node_indices(layer, {l.get("name") or (l.get("config") or {}).get("name") for l in _model_layers(layer) if _has_own_input(l)})


def _thresholded_relu_as_relu(layer: Config, where: str) -> None:
    """Keras 3 dropped ThresholdedReLU; ReLU with a threshold differs only at x == theta exactly."""
    if layer.get("class_name") == "ThresholdedReLU":
        config = layer["config"]
        layer["class_name"] = "ReLU"
        config["threshold"] = float(config.pop("theta", 1.0))
        config.update(max_value=None, negative_slope=0.0)


def _sequential_input_as_input_layer(layer: Config, where: str) -> None:
    """A Sequential whose first layer carries `batch_input_shape` (as tfjs-layers writes it)
    gets an InputLayer instead: Keras 3 would read that shape as one without the batch size."""
    if layer.get("class_name") != "Sequential":
        return
    layers = (layer.get("config") or {}).get("layers") or []
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    config = first.get("config") or {}
    if first.get("class_name") != "InputLayer" and "batch_input_shape" in config:
        input_config = {"batch_input_shape": config.pop("batch_input_shape"), "dtype": config.get("dtype") or "float32", "sparse": False, "name": f"{_name(first)}_input"}
        layers.insert(0, {"class_name": "InputLayer", "config": input_config})


def _wrapped_layers_name_their_module(layer: Config, where: str) -> None:
    """Keras 3 builds a wrapped layer or cell (Bidirectional, TimeDistributed, RNN) with its
    new deserializer, which finds built-in classes only through their `module`."""
    config = layer.get("config") or {}
    for key in _NESTED_LAYER_KEYS:
        nested = config.get(key)
        for item in nested if isinstance(nested, list) else [nested]:
            if isinstance(item, dict) and "class_name" in item and "module" not in item:
                item.update(module="keras.layers", registered_name=None)


# Arguments both Keras versions read the same way: applied to every .h5 written.
KERAS3_LEGACY_RULES: List[Rule] = [
    _no_time_major,
    _no_default_groups,
    _no_kernel_arguments_on_separable,
    _spatial_dropout_arguments,
    _thresholded_relu_as_relu,
    _nested_sequentials_built_by_their_caller,
]
# What only Keras 3 reads correctly (tf_keras would wait forever for node 0 of a nested model).
KERAS3_ONLY_RULES: List[Rule] = KERAS3_LEGACY_RULES + [_nested_model_node_indices]
# A tfjs-layers config straight into Keras 3 (without tf_keras, which writes the InputLayer itself).
TFJS_TO_KERAS3_RULES: List[Rule] = TFJS_TO_KERAS2_RULES + KERAS3_ONLY_RULES + [_sequential_input_as_input_layer, _wrapped_layers_name_their_module]


def check_keras3_semantics(model_config: Config, where: str) -> None:
    """Refuses what Keras 3 would load but compute differently from TF.js and Keras 2."""
    for layer in layer_configs(model_config):
        config = layer.get("config") or {}
        for key in _ACTIVATION_KEYS:
            if config.get(key) == "hard_sigmoid":
                raise ConversionError(
                    f"{where}: layer {_name(layer)!r} uses hard_sigmoid, which Keras 3 computes differently "
                    "(relu6(x + 3) / 6 instead of TF.js's clip(0.2 x + 0.5, 0, 1)); use tf_keras, which keeps TF.js's definition: "
                    "--output_format=keras or keras_saved_model, or use_tf_keras=True in the Python API"
                )


def apply_rules(model_config: Config, rules: List[Rule], where: str) -> Config:
    """A copy of the config with every rule applied to every layer."""
    result = copy.deepcopy(model_config)
    for layer in layer_configs(result):
        for rule in rules:
            rule(layer, where)
    return result
