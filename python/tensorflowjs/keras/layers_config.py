"""Keras model configs in the dialect tfjs-layers 4.22 reads (the Keras 2 one).

Keras 3 serializes models differently from Keras 2: InputLayer has `batch_shape`, dtypes are
DTypePolicy objects, every object carries `module`/`registered_name`, layer calls are recorded
as `{"args": [<__keras_tensor__>...], "kwargs": {...}}`. TF.js 4.22 only knows the Keras 2
form and refuses to load the rest. Each difference is one rule below; `translate` applies
every rule to every serialized object of a config, innermost objects first. Keras 2
(tf_keras) configs pass through almost unchanged, since most rules find nothing to do.
"""

import copy
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

from tensorflowjs.errors import ConversionError

Obj = Dict[str, Any]  # a serialized Keras object: {"class_name": ..., "config": {...}, ...}

# Keys Keras 3 adds around an object that say how Python re-creates it; TF.js has no use for them.
SERIALIZATION_NOISE = ("module", "registered_name", "build_config", "compile_config", "shared_object_id")

# Layer classes the @tensorflow/tfjs 4.22 bundle registers for deserialization (read from
# tfjs-layers' dist bundle; its nlp layers, MultiHeadAttention among them, are not bundled).
TFJS_LAYER_CLASSES = frozenset(
    """Activation Add AlphaDropout Average AveragePooling1D AveragePooling2D AveragePooling3D
    BatchNormalization Bidirectional CategoryEncoding CenterCrop Concatenate Conv1D Conv2D
    Conv2DTranspose Conv3D Conv3DTranspose ConvLSTM2D ConvLSTM2DCell Cropping2D Dense
    DepthwiseConv2D Dot Dropout ELU Embedding Flatten Functional GaussianDropout GaussianNoise
    GRU GRUCell GlobalAveragePooling1D GlobalAveragePooling2D GlobalMaxPooling1D
    GlobalMaxPooling2D InputLayer LSTM LSTMCell LayerNormalization LeakyReLU Masking
    MaxPooling1D MaxPooling2D MaxPooling3D Maximum Minimum Model Multiply PReLU Permute RNN
    RandomWidth ReLU RepeatVector Rescaling Reshape Resizing SeparableConv2D Sequential
    SimpleRNN SimpleRNNCell Softmax SpatialDropout1D StackedRNNCells ThresholdedReLU
    TimeDistributed UpSampling2D ZeroPadding2D""".split()
)

# Keras 3 class names whose TF.js twin is spelled differently.
CLASS_RENAMES = {
    "OrthogonalInitializer": "Orthogonal",
    "IdentityInitializer": "Identity",
}

# Activation names Keras 3 writes that TF.js knows under another name.
ACTIVATION_RENAMES = {"silu": "swish"}

_MODEL_CLASSES = ("Functional", "Model")


class UnsupportedLayerWarning(UserWarning):
    """A layer class TF.js cannot build unless the page registers it."""


@dataclass(frozen=True)
class Rule:
    """One difference between Keras 3 and the TF.js dialect: where it applies, how to fix it."""

    name: str
    applies: Callable[[Obj], bool]
    apply: Callable[[Obj], Obj]


def _class_is(*names: str) -> Callable[[Obj], bool]:
    return lambda obj: obj.get("class_name") in names


def _config(obj: Obj) -> Dict:
    config = obj.get("config")
    return config if isinstance(config, dict) else {}


def _drop_serialization_noise(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in SERIALIZATION_NOISE}


def _dtype_policy_name(policy: Obj) -> str:
    """A DTypePolicy's variable dtype: 'mixed_float16' keeps float32 variables, as TF.js computes."""
    name = _config(policy).get("name", "float32")
    return "float32" if str(name).startswith("mixed_") else name


def _dtype_policy_to_string(obj: Obj) -> Obj:
    obj["config"]["dtype"] = _dtype_policy_name(obj["config"]["dtype"])
    return obj


def _has_dtype_policy(obj: Obj) -> bool:
    dtype = _config(obj).get("dtype")
    return isinstance(dtype, dict) and "class_name" in dtype


def _input_layer_shape(obj: Obj) -> Obj:
    config = obj["config"]
    config["batch_input_shape"] = config.pop("batch_shape")
    config.pop("optional", None)
    return obj


def _is_keras_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _tensors_in(value: Any) -> List[List]:
    """keras_history triples of every Keras tensor in a (nested) call argument, in order."""
    if _is_keras_tensor(value):
        return [list(value["config"]["keras_history"])]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors_in(item)]
    return []


def _is_nested_model(layer: Obj) -> bool:
    """Keras 2 and TF.js give a model with inputs a node of its own (index 0); Keras 3 does not."""
    if layer.get("class_name") in _MODEL_CLASSES:
        return True
    if layer.get("class_name") != "Sequential":
        return False
    members = _config(layer).get("layers") or []
    return bool(members) and (members[0].get("class_name") == "InputLayer" or "batch_input_shape" in _config(members[0]) or "batch_shape" in _config(members[0]))


def _reference(history: List, node_offsets: Dict[str, int]) -> List:
    """A keras_history triple with the node index TF.js counts."""
    name, node_index, tensor_index = history[0], history[1], history[2]
    return [name, node_index + node_offsets.get(name, 0), tensor_index]


def _call_node(node: Dict, layer_name: str, node_offsets: Dict[str, int]) -> List[List]:
    """Keras 3 `{"args", "kwargs"}` -> Keras 2 `[[layer, node_index, tensor_index, kwargs], ...]`."""
    kwargs = {}
    for key, value in (node.get("kwargs") or {}).items():
        if _tensors_in(value):
            raise ConversionError(f"layer {layer_name!r} is called with a tensor as keyword argument {key!r}, which TF.js layers models cannot express")
        if value is not None and key != "training":
            kwargs[key] = value
    return [_reference(history, node_offsets) + [kwargs] for history in _tensors_in(node.get("args", []))]


def _layer_entries(obj: Obj) -> List[Obj]:
    return [entry for entry in _config(obj).get("layers") or [] if isinstance(entry, dict)]


def _has_keras3_nodes(obj: Obj) -> bool:
    return any(isinstance(node, dict) for entry in _layer_entries(obj) for node in entry.get("inbound_nodes") or [])


def _io_triples(value: Any) -> List[List]:
    """input_layers/output_layers as a list of [layer, node_index, tensor_index]."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and all(isinstance(v, int) for v in value[1:]):
        return [value]
    return [triple for item in value for triple in _io_triples(item)]


def _keras3_graph_to_lists(obj: Obj) -> Obj:
    """Rewrites a Keras 3 functional graph's calls and outputs in the Keras 2 list form."""
    offsets = {entry["config"].get("name", entry.get("name")): 1 for entry in _layer_entries(obj) if _is_nested_model(entry)}
    for entry in _layer_entries(obj):
        name = entry.get("name", _config(entry).get("name", "?"))
        entry["inbound_nodes"] = [_call_node(node, name, offsets) if isinstance(node, dict) else node for node in entry.get("inbound_nodes") or []]
    config = obj["config"]
    config["input_layers"] = _io_triples(config.get("input_layers", []))
    config["output_layers"] = [_reference(triple, offsets) for triple in _io_triples(config.get("output_layers", []))]
    return obj


def _model_io_layers(obj: Obj) -> Obj:
    config = obj["config"]
    for key in ("input_layers", "output_layers"):
        if key in config:
            config[key] = _io_triples(config[key])
    return obj


def _regularizer_l1_l2(obj: Obj) -> Obj:
    """TF.js has only L1L2; Keras' L1 and L2 are L1L2 with the other factor zero."""
    config = _config(obj)
    return {"class_name": "L1L2", "config": {"l1": float(config.get("l1", 0.0)), "l2": float(config.get("l2", 0.0))}}


def _rename_class(obj: Obj) -> Obj:
    obj["class_name"] = CLASS_RENAMES[obj["class_name"]]
    return obj


def _leaky_relu_alpha(obj: Obj) -> Obj:
    obj["config"]["alpha"] = obj["config"].pop("negative_slope")
    return obj


def _activation_names(obj: Obj) -> Obj:
    config = obj["config"]
    for key in ("activation", "recurrent_activation"):
        if config.get(key) in ACTIVATION_RENAMES:
            config[key] = ACTIVATION_RENAMES[config[key]]
    return obj


def _has_renamed_activation(obj: Obj) -> bool:
    config = _config(obj)
    return any(isinstance(config.get(key), str) and config[key] in ACTIVATION_RENAMES for key in ("activation", "recurrent_activation"))


def _reject_lambda(obj: Obj) -> Obj:
    raise ConversionError(f"layer {_config(obj).get('name', '?')!r} is a Lambda layer: its Python code cannot run in TF.js; replace it with built-in layers or a custom layer registered in JS")


def _reject_gru_reset_after(obj: Obj) -> Obj:
    raise ConversionError(f"GRU layer {_config(obj).get('name', '?')!r} has reset_after=True, which TF.js does not implement; build the GRU with reset_after=False")


def _reject_grouped_conv(obj: Obj) -> Obj:
    raise ConversionError(f"{obj['class_name']} layer {_config(obj).get('name', '?')!r} has groups={_config(obj)['groups']}; TF.js implements only groups=1")


_GLOBAL_POOLING = ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")


def _keeps_dims(layer: Obj) -> bool:
    return layer.get("class_name") in _GLOBAL_POOLING and bool(_config(layer).get("keepdims"))


def _reject_global_pooling_keepdims(obj: Obj) -> Obj:
    raise ConversionError(
        f"{obj['class_name']} layer {_config(obj).get('name', '?')!r} has keepdims=True, which TF.js does not implement; "
        f"use keepdims=False followed by a Reshape layer"
    )


# Activation names TF.js 4.22 knows (its registered activation classes, in Keras spelling).
TFJS_ACTIVATIONS = frozenset(
    "elu hard_sigmoid linear log_softmax mish relu relu6 selu sigmoid softmax softplus softsign swish tanh gelu gelu_new".split()
)


def _activations_of(obj: Obj) -> List[str]:
    config = _config(obj)
    return [config[key] for key in ("activation", "recurrent_activation") if isinstance(config.get(key), str)]


def _warn_unknown_activation(obj: Obj) -> Obj:
    for name in _activations_of(obj):
        if name not in TFJS_ACTIVATIONS:
            warnings.warn(
                f"activation {name!r} of layer {_config(obj).get('name', '?')!r} has no TF.js implementation; "
                f"the JS side must register it with tf.serialization.registerClass before loading the model",
                UnsupportedLayerWarning,
                stacklevel=2,
            )
    return obj


def _reject_elu_alpha(obj: Obj) -> Obj:
    raise ConversionError(f"ELU layer {_config(obj).get('name', '?')!r} has alpha={_config(obj)['alpha']}; TF.js implements only alpha=1.0")


def _mirrors(backward: Obj, forward: Obj) -> bool:
    """Whether a Bidirectional's backward layer is its forward layer run backwards (the default)."""
    ignored = ("name", "go_backwards")
    strip = lambda layer: {k: v for k, v in _config(layer).items() if k not in ignored}
    return backward.get("class_name") == forward.get("class_name") and strip(backward) == strip(forward)


def _bidirectional_layer(obj: Obj) -> Obj:
    """TF.js derives both directions from `layer` (naming them forward_/backward_ + its name)."""
    config = obj["config"]
    layer = config["layer"]
    backward = config.pop("backward_layer", None)
    if backward is not None and not _mirrors(backward, layer):
        raise ConversionError(f"Bidirectional layer {config.get('name', '?')!r} has a backward layer that is not its forward layer reversed; TF.js supports only that")
    name = _config(layer).get("name", "")
    if name.startswith("forward_"):
        layer["config"]["name"] = name[len("forward_"):]
    return obj


_SEPARABLE_UNUSED = ("kernel_initializer", "kernel_regularizer", "kernel_constraint")


def _separable_conv_kernel_keys(obj: Obj) -> Obj:
    """Keras 2 lists kernel_* settings a separable conv never uses; TF.js rejects them."""
    for key in _SEPARABLE_UNUSED:
        obj["config"].pop(key, None)
    return obj


def warn_if_unknown_layer(layer: Obj) -> None:
    """TF.js builds only the layer classes it registers; any other must be registered in JS."""
    if layer.get("class_name") in TFJS_LAYER_CLASSES:
        return
    warnings.warn(
        f"layer class {layer.get('class_name')!r} (layer {_config(layer).get('name', '?')!r}) has no TF.js implementation; "
        f"the JS side must register it with tf.serialization.registerClass before loading the model",
        UnsupportedLayerWarning,
        stacklevel=2,
    )


# Applied in this order to every serialized object, innermost objects first.
RULES = (
    Rule("drop_serialization_noise", lambda obj: any(k in obj for k in SERIALIZATION_NOISE), _drop_serialization_noise),
    Rule("rename_class", lambda obj: obj.get("class_name") in CLASS_RENAMES, _rename_class),
    Rule("dtype_policy_to_string", _has_dtype_policy, _dtype_policy_to_string),
    Rule("input_layer_batch_shape", lambda obj: obj.get("class_name") == "InputLayer" and "batch_shape" in _config(obj), _input_layer_shape),
    Rule("keras3_graph_to_lists", lambda obj: obj.get("class_name") in _MODEL_CLASSES and _has_keras3_nodes(obj), _keras3_graph_to_lists),
    Rule("model_io_layers", _class_is(*_MODEL_CLASSES), _model_io_layers),
    Rule("regularizer_l1_l2", _class_is("L1", "L2"), _regularizer_l1_l2),
    Rule("leaky_relu_alpha", lambda obj: obj.get("class_name") == "LeakyReLU" and "negative_slope" in _config(obj), _leaky_relu_alpha),
    Rule("activation_names", _has_renamed_activation, _activation_names),
    Rule("bidirectional_layer", lambda obj: obj.get("class_name") == "Bidirectional" and isinstance(_config(obj).get("layer"), dict), _bidirectional_layer),
    Rule("separable_conv_kernel_keys", lambda obj: obj.get("class_name") in ("SeparableConv1D", "SeparableConv2D") and any(k in _config(obj) for k in _SEPARABLE_UNUSED), _separable_conv_kernel_keys),
    Rule("reject_lambda", _class_is("Lambda"), _reject_lambda),
    Rule("reject_elu_alpha", lambda obj: obj.get("class_name") == "ELU" and float(_config(obj).get("alpha", 1.0)) != 1.0, _reject_elu_alpha),
    Rule("reject_global_pooling_keepdims", _keeps_dims, _reject_global_pooling_keepdims),
    Rule("warn_unknown_activation", lambda obj: any(name not in TFJS_ACTIVATIONS for name in _activations_of(obj)), _warn_unknown_activation),
    Rule("reject_grouped_conv", lambda obj: obj.get("class_name") in ("Conv1D", "Conv2D", "Conv3D") and int(_config(obj).get("groups", 1) or 1) != 1, _reject_grouped_conv),
    Rule("reject_gru_reset_after", lambda obj: obj.get("class_name") in ("GRU", "GRUCell") and _config(obj).get("reset_after", False), _reject_gru_reset_after),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and value.get("class_name") != "__keras_tensor__"


def _hard_sigmoid_differs(obj: Obj) -> Obj:
    raise ConversionError(
        f"layer {_config(obj).get('name', '?')!r} uses hard_sigmoid, which Keras 3 defines as relu6(x + 3) / 6 "
        f"but TF.js as clip(0.2 x + 0.5); its predictions would differ (use sigmoid, or a Keras 2 model)"
    )


# Rules for what the same words mean differently in Keras 3 configs (applied to Keras 3 files only).
KERAS3_RULES = (Rule("keras3_hard_sigmoid", lambda obj: "hard_sigmoid" in _activations_of(obj), _hard_sigmoid_differs),)
RULES_BY_NAME.update({rule.name: rule for rule in KERAS3_RULES})


def translate_object(obj: Obj, rules: Tuple[Rule, ...] = RULES) -> Obj:
    """Applies every rule that matches one serialized object (its children are not visited)."""
    for rule in rules:
        if rule.applies(obj):
            obj = rule.apply(obj)
    return obj


# Keys of a config that hold layers: a model's members, a wrapper's inner layer, an RNN's cell.
_LAYER_KEYS = ("layers", "layer", "backward_layer", "cell", "cells")


def _walk(value: Any, rules: Tuple[Rule, ...], holds_layers: bool = False) -> Any:
    if isinstance(value, list):
        return [_walk(item, rules, holds_layers) for item in value]
    if not isinstance(value, dict):
        return value
    is_object = _is_object(value)
    walked = {key: _walk_config(item, rules) if is_object and key == "config" else _walk(item, rules) for key, item in value.items()}
    if not is_object:
        return walked
    walked = translate_object(walked, rules)
    if holds_layers:
        warn_if_unknown_layer(walked)
    return walked


def _walk_config(config: Any, rules: Tuple[Rule, ...]) -> Any:
    if not isinstance(config, dict):
        return _walk(config, rules)
    return {key: _walk(item, rules, key in _LAYER_KEYS) for key, item in config.items()}


def translate(model_config: Obj, keras3: bool = False) -> Obj:
    """A Keras 2 or 3 model config ({"class_name", "config"}) in the dialect tfjs-layers reads.

    `keras3` says the config was written by Keras 3, whose words sometimes mean other things.
    """
    if not _is_object(model_config):
        raise ConversionError("the model config has no class_name; it is not a Keras model config")
    if model_config["class_name"] not in _MODEL_CLASSES + ("Sequential",):
        raise ConversionError(
            f"the model is of class {model_config['class_name']!r}, not a Sequential or functional model; "
            f"TF.js layers models can only hold those (convert it to tfjs_graph_model instead)"
        )
    return _walk(copy.deepcopy(model_config), RULES + KERAS3_RULES if keras3 else RULES, holds_layers=True)

