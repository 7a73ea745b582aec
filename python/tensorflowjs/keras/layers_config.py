"""Keras model configs in the dialect tfjs-layers 4.22 reads (the Keras 2 one).

Keras 3 serializes models differently from Keras 2: InputLayer has `batch_shape`, dtypes are
DTypePolicy objects, every object carries `module`/`registered_name`, layer calls are recorded
as `{"args": [<__keras_tensor__>...], "kwargs": {...}}`. TF.js 4.22 only knows the Keras 2
form and refuses to load the rest. Each difference is one rule below, registered in `RULES`
beside its function and applied in the order of this file by the config rule engine
(`config_rules.walk`) to every serialized object of a config, innermost objects first. Keras 2
(tf_keras) configs pass through almost unchanged, since most rules find nothing to do.

Some Keras layers tfjs-layers lacks are the same computation as layers it has (Normalization
is a BatchNormalization, Conv2D(groups=C) a DepthwiseConv2D, ...); their rules rewrite them,
and say how the layer's weights change (`Translation.weights`). Last, a check over the
translated config refuses every layer class and option TF.js would not load or would compute
differently (`tfjs_support`), before anything is written.
"""

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import tfjs_support
from tensorflowjs.keras.config_rules import KERAS_TENSOR, REFUSE_LAMBDA, RuleSet, WeightFix, activations_of, class_is, config_of, is_object, keras3_hard_sigmoid, name_of, walk
from tensorflowjs.keras.model_classes import FUNCTIONAL_CLASSES, MODEL_CLASSES, Obj, has_own_input, model_layers
from tensorflowjs.write_weights import Weight

# Keys Keras 3 adds around an object that say how Python re-creates it; TF.js has no use for them.
SERIALIZATION_NOISE = ("module", "registered_name", "build_config", "compile_config", "shared_object_id")

TFJS_LAYER_CLASSES = tfjs_support.LAYER_CLASSES

# Keras 3 class names whose TF.js twin is spelled differently.
CLASS_RENAMES = {
    "OrthogonalInitializer": "Orthogonal",
    "IdentityInitializer": "Identity",
}

# Activation names Keras 3 writes that TF.js knows under another name.
ACTIVATION_RENAMES = {"silu": "swish"}


class UnsupportedLayerWarning(UserWarning):
    """A layer class TF.js cannot build unless the page registers it."""


# Applied in the order of registration below to every serialized object, innermost objects first.
RULES = RuleSet()


def _is_keras_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR


def _tensors_in(value: Any) -> List[List]:
    """keras_history triples of every Keras tensor in a (nested) call argument, in order."""
    if _is_keras_tensor(value):
        return [list(value["config"]["keras_history"])]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors_in(item)]
    return []


def _io_triples(value: Any) -> List[List]:
    """input_layers/output_layers as a list of [layer, node_index, tensor_index]."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and all(isinstance(v, int) for v in value[1:]):
        return [value]
    return [triple for item in value for triple in _io_triples(item)]


def _lazy(name: str, load: Callable[[], np.ndarray], shape: Tuple[int, ...]) -> Weight:
    return Weight(name, lambda: np.asarray(load(), dtype=np.float32), "float32", shape)


def _fixed(name: str, data) -> Weight:
    data = np.asarray(data, dtype=np.float32)
    return Weight(name, lambda: data, "float32", data.shape)


def _unique_name(wanted: str, taken: set) -> str:
    name, i = wanted, 1
    while name in taken:
        name, i = f"{wanted}_{i}", i + 1
    taken.add(name)
    return name


def _input_shape(obj: Obj) -> Optional[List]:
    """A Keras 3 layer's input shape: its build config's, or that of the tensor of its first call."""
    shape = (obj.get("build_config") or {}).get("input_shape")
    if shape is None:
        nodes = obj.get("inbound_nodes") or []
        args = nodes[0].get("args") if nodes and isinstance(nodes[0], dict) else None
        shape = args[0]["config"].get("shape") if args and _is_keras_tensor(args[0]) else None
    return shape if isinstance(shape, list) else None


# --- layers TF.js has under another class; these read what the noise rule drops (module, build_config)


def _batch_norm(obj: Obj, axis: int, center: bool, scale: bool) -> Obj:
    """A BatchNormalization computing (x - moving_mean) / sqrt(moving_variance) [* gamma + beta]."""
    config = config_of(obj)
    bn = {"name": config.get("name"), "trainable": config.get("trainable", True), "dtype": config.get("dtype", "float32"), "axis": axis, "momentum": 0.99, "epsilon": 0.0, "center": center, "scale": scale}
    return {**{k: v for k, v in obj.items() if k not in ("config", "build_config")}, "class_name": "BatchNormalization", "config": bn}


# Keras' backend.epsilon(), the floor of a Normalization layer's standard deviation.
KERAS_EPSILON = 1e-7


def _normalization_axis(obj: Obj) -> Optional[int]:
    axis = config_of(obj).get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    return axes[0] if len(axes) == 1 and isinstance(axes[0], int) else None


def _normalization_weights(obj: Obj) -> WeightFix:
    config, name = config_of(obj), name_of(obj)
    input_shape = (obj.get("build_config") or {}).get("input_shape")
    axis = _normalization_axis(obj)
    channels = input_shape[axis] if isinstance(input_shape, list) and axis is not None and -len(input_shape) <= axis < len(input_shape) else None

    def fix(stored: Dict[str, Weight]) -> Dict[str, Weight]:
        if config.get("mean") is not None:
            mean, variance = np.asarray(config["mean"], np.float64), np.asarray(config["variance"], np.float64)
        elif "mean" in stored and "variance" in stored:
            mean, variance = np.asarray(stored["mean"].load(), np.float64), np.asarray(stored["variance"].load(), np.float64)
        else:
            raise ConversionError(f"Normalization layer {name!r} has neither mean and variance in its config nor stored statistics; the file is damaged")
        mean, variance = mean.reshape(-1), variance.reshape(-1)
        if mean.size == 1 and channels:
            mean, variance = np.full(channels, mean[0]), np.full(channels, variance[0])
        if mean.size != variance.size or (channels and mean.size != channels):
            raise ConversionError(f"Normalization layer {name!r} has {mean.size} means and {variance.size} variances for {channels or 'unknown'} channels; tfjs-layers needs one of each per channel")
        std = np.maximum(np.sqrt(variance), KERAS_EPSILON)
        if config.get("invert"):
            return {"gamma": _fixed("gamma", std), "beta": _fixed("beta", mean), "moving_mean": _fixed("moving_mean", np.zeros_like(mean)), "moving_variance": _fixed("moving_variance", np.ones_like(mean))}
        return {"moving_mean": _fixed("moving_mean", mean), "moving_variance": _fixed("moving_variance", std * std)}

    return fix


@RULES.rule(class_is("Normalization"), weights=_normalization_weights)
def _normalization_to_batch_norm(obj: Obj) -> Obj:
    """Normalization is (x - mean) / max(sqrt(variance), 1e-7): a BatchNormalization with epsilon 0."""
    axis = _normalization_axis(obj)
    if axis is None:
        raise ConversionError(
            f"Normalization layer {name_of(obj)!r} normalizes over axes {config_of(obj).get('axis')}; tfjs-layers can express only one axis "
            f"(convert with --output_format=tfjs_graph_model instead)"
        )
    invert = bool(config_of(obj).get("invert", False))
    return _batch_norm(obj, axis, center=invert, scale=invert)


_LAYER_SCALE_KEYS = {"name", "trainable", "dtype", "init_values", "projection_dim"}


def _is_layer_scale(obj: Obj) -> bool:
    """keras.applications' ConvNeXt LayerScale: x * gamma, one factor per channel."""
    return obj.get("class_name") == "LayerScale" and set(config_of(obj)) <= _LAYER_SCALE_KEYS and "projection_dim" in config_of(obj)


def _layer_scale_weights(obj: Obj) -> WeightFix:
    channels = int(config_of(obj)["projection_dim"])

    def fix(stored: Dict[str, Weight]) -> Dict[str, Weight]:
        if len(stored) != 1:
            raise ConversionError(f"LayerScale layer {name_of(obj)!r} should hold one weight, not {len(stored)}; the file is damaged")
        (gamma,) = stored.values()
        return {"gamma": _lazy("gamma", gamma.load, (channels,)), "moving_mean": _fixed("moving_mean", np.zeros(channels)), "moving_variance": _fixed("moving_variance", np.ones(channels))}

    return fix


@RULES.rule(_is_layer_scale, weights=_layer_scale_weights)
def _layer_scale_to_batch_norm(obj: Obj) -> Obj:
    return _batch_norm(obj, -1, center=False, scale=True)


# Keras 3 operations on a tensor and a number, as (scale, offset) of Rescaling: x * scale + offset.
_SCALAR_OPS: Dict[str, Callable[[float, bool], Tuple[float, float]]] = {
    "Add": lambda c, tensor_first: (1.0, c),
    "Subtract": lambda c, tensor_first: (1.0, -c) if tensor_first else (-1.0, c),
    "Multiply": lambda c, tensor_first: (c, 0.0),
}


def _scalar_operand(obj: Obj) -> Optional[Tuple[float, bool]]:
    """(number, whether the tensor comes first) of a Keras 3 op layer called on one tensor and one number."""
    nodes = obj.get("inbound_nodes") or []
    if len(nodes) != 1 or not isinstance(nodes[0], dict) or nodes[0].get("kwargs"):
        return None
    args = nodes[0].get("args") or []
    if len(args) != 2 or [_is_keras_tensor(a) for a in args].count(True) != 1:
        return None
    number = args[1] if _is_keras_tensor(args[0]) else args[0]
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return None
    return float(number), _is_keras_tensor(args[0])


def _is_scalar_op(obj: Obj) -> bool:
    """An op layer (`x + 3.0`); Keras' merge layers of the same names are called on a list of tensors
    only, and Keras 3 .h5 files drop the `module` that would tell them apart."""
    return obj.get("class_name") in _SCALAR_OPS and _scalar_operand(obj) is not None


@RULES.rule(_is_scalar_op)
def _scalar_op_to_rescaling(obj: Obj) -> Obj:
    number, tensor_first = _scalar_operand(obj)
    scale, offset = _SCALAR_OPS[obj["class_name"]](number, tensor_first)
    node = obj["inbound_nodes"][0]
    tensor = [a for a in node["args"] if _is_keras_tensor(a)]
    config = {"name": name_of(obj), "trainable": True, "dtype": "float32", "scale": scale, "offset": offset}
    return {**obj, "class_name": "Rescaling", "config": config, "inbound_nodes": [{"args": tensor, "kwargs": {}}]}


# Conv2D keys that keep their meaning on a DepthwiseConv2D, and the kernel_* ones that get its names.
_DEPTHWISE_SHARED = ("name", "trainable", "dtype", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias", "bias_initializer", "bias_regularizer", "activity_regularizer", "bias_constraint")
_DEPTHWISE_RENAMED = {"kernel_initializer": "depthwise_initializer", "kernel_regularizer": "depthwise_regularizer", "kernel_constraint": "depthwise_constraint"}


def _is_grouped_conv2d(obj: Obj) -> bool:
    return obj.get("class_name") == "Conv2D" and int(config_of(obj).get("groups", 1) or 1) > 1


def _grouped_conv_weights(obj: Obj) -> WeightFix:
    name, groups, filters = name_of(obj), int(config_of(obj)["groups"]), int(config_of(obj)["filters"])

    def fix(stored: Dict[str, Weight]) -> Dict[str, Weight]:
        kernel = stored.get("kernel")
        if kernel is None or kernel.shape is None or len(kernel.shape) != 4:
            raise ConversionError(f"Conv2D layer {name!r} has groups={groups} but no 4-d kernel was found under its name; TF.js implements only groups=1")
        kh, kw, per_group, _ = kernel.shape
        if per_group != 1:
            raise ConversionError(
                f"Conv2D layer {name!r} has groups={groups} with {per_group} input channels per group; "
                f"TF.js implements only groups=1 and depthwise convolutions (one input channel per group)"
            )
        shape = (kh, kw, groups, filters // groups)
        fixed = {"depthwise_kernel": _lazy("depthwise_kernel", lambda: kernel.load().reshape(shape), shape)}
        return {**fixed, **{key: weight for key, weight in stored.items() if key != "kernel"}}

    return fix


@RULES.rule(_is_grouped_conv2d, weights=_grouped_conv_weights)
def _grouped_conv_to_depthwise(obj: Obj) -> Obj:
    """groups == input channels is a depthwise convolution (the weight fix checks the channels)."""
    config = config_of(obj)
    depthwise = {key: config[key] for key in _DEPTHWISE_SHARED if key in config}
    depthwise.update({new: config[old] for old, new in _DEPTHWISE_RENAMED.items() if old in config})
    depthwise["depth_multiplier"] = int(config["filters"]) // int(config["groups"])
    return {**obj, "class_name": "DepthwiseConv2D", "config": depthwise}


_GLOBAL_POOLING = ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")


def _keeps_dims(layer: Obj) -> bool:
    return layer.get("class_name") in _GLOBAL_POOLING and bool(config_of(layer).get("keepdims"))


def _records_pooled_shape(obj: Obj) -> bool:
    return obj.get("class_name") in _GLOBAL_POOLING and config_of(obj).get("keepdims") is True and len(_input_shape(obj) or []) in (3, 4)


@RULES.rule(_records_pooled_shape)
def _pooled_shape(obj: Obj) -> Obj:
    """keepdims=True becomes the kept shape, (1, 1, C) or (C, 1, 1), read from the input shape
    before it is dropped: tfjs-layers' Reshape cannot infer a -1 dimension ahead of running."""
    shape = _input_shape(obj)
    rank = len(shape) - 2
    channels_first = config_of(obj).get("data_format") == "channels_first"
    obj["config"]["keepdims"] = [shape[1]] + [1] * rank if channels_first else [1] * rank + [shape[-1]]
    return obj


# --- Keras 3 serialization in the Keras 2 form


@RULES.rule(lambda obj: any(k in obj for k in SERIALIZATION_NOISE))
def _drop_serialization_noise(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in SERIALIZATION_NOISE}


@RULES.rule(lambda obj: obj.get("class_name") in CLASS_RENAMES)
def _rename_class(obj: Obj) -> Obj:
    obj["class_name"] = CLASS_RENAMES[obj["class_name"]]
    return obj


def _dtype_policy_name(policy: Obj) -> str:
    """A DTypePolicy's variable dtype: 'mixed_float16' keeps float32 variables, as TF.js computes."""
    name = config_of(policy).get("name", "float32")
    return "float32" if str(name).startswith("mixed_") else name


def _has_dtype_policy(obj: Obj) -> bool:
    dtype = config_of(obj).get("dtype")
    return isinstance(dtype, dict) and "class_name" in dtype


@RULES.rule(_has_dtype_policy)
def _dtype_policy_to_string(obj: Obj) -> Obj:
    obj["config"]["dtype"] = _dtype_policy_name(obj["config"]["dtype"])
    return obj


@RULES.rule(lambda obj: obj.get("class_name") == "InputLayer" and "batch_shape" in config_of(obj))
def _input_layer_batch_shape(obj: Obj) -> Obj:
    config = obj["config"]
    config["batch_input_shape"] = config.pop("batch_shape")
    config.pop("optional", None)
    return obj


def _history(value: Any) -> Optional[List]:
    return list(value["config"]["keras_history"]) if _is_keras_tensor(value) else None


def _explicit_mask_consumers(obj: Obj, mask: Obj) -> Optional[List[Dict]]:
    """The call nodes that pass `mask`'s output as mask=, if that is its only use; else None."""
    name, consumers = name_of(mask), []
    for entry in model_layers(obj):
        for node in entry.get("inbound_nodes") or []:
            if not isinstance(node, dict):
                return None
            kwargs = node.get("kwargs") or {}
            if any(h[0] == name for h in _tensors_in(node.get("args", [])) + [t for k, v in kwargs.items() if k != "mask" for t in _tensors_in(v)]):
                return None
            if (_history(kwargs.get("mask")) or [None])[0] == name:
                consumers.append(node)
    outputs = _io_triples(config_of(obj).get("output_layers", []))
    return None if any(triple[0] == name for triple in outputs) else consumers


def _embedding_mask_of(obj: Obj, node: Dict, tokens: List) -> bool:
    """Whether the call's input is an Embedding(mask_zero=True) applied to exactly `tokens`."""
    args = _tensors_in(node.get("args", []))
    by_name = {name_of(entry): entry for entry in model_layers(obj)}
    source = by_name.get(args[0][0]) if len(args) == 1 else None
    if source is None or source.get("class_name") != "Embedding" or not config_of(source).get("mask_zero"):
        return False
    calls = source.get("inbound_nodes") or []
    index = args[0][1]
    return index < len(calls) and isinstance(calls[index], dict) and _tensors_in(calls[index].get("args", [])) == [tokens]


def _is_not_equal_zero(entry: Obj) -> Optional[List]:
    """The token tensor of a Keras 3 `tokens != 0` op layer, or None."""
    nodes = entry.get("inbound_nodes") or []
    if entry.get("class_name") != "NotEqual" or len(nodes) != 1 or not isinstance(nodes[0], dict):
        return None
    args = nodes[0].get("args") or []
    if len(args) != 2 or not _is_keras_tensor(args[0]) or isinstance(args[1], bool) or args[1] != 0:
        return None
    return _history(args[0])


def _has_explicit_embedding_mask(obj: Obj) -> bool:
    return obj.get("class_name") in FUNCTIONAL_CLASSES and any(_is_not_equal_zero(entry) for entry in model_layers(obj))


@RULES.rule(_has_explicit_embedding_mask)
def _drop_explicit_embedding_masks(obj: Obj) -> Obj:
    """Keras 3 records Embedding(mask_zero=True)'s mask as a `tokens != 0` layer passed as mask=;
    TF.js derives that same mask from the Embedding, so the explicit one is dropped when it is
    exactly that (anything else stays, and is refused later)."""
    for mask in [entry for entry in model_layers(obj) if _is_not_equal_zero(entry)]:
        tokens = _is_not_equal_zero(mask)
        consumers = _explicit_mask_consumers(obj, mask)
        if not consumers or not all(_embedding_mask_of(obj, node, tokens) for node in consumers):
            continue
        for node in consumers:
            del node["kwargs"]["mask"]
        obj["config"]["layers"] = [entry for entry in obj["config"]["layers"] if entry is not mask]
    return obj


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


def _has_keras3_nodes(obj: Obj) -> bool:
    return any(isinstance(node, dict) for entry in model_layers(obj) for node in entry.get("inbound_nodes") or [])


def _need_object_config(obj: Obj) -> None:
    if not isinstance(obj.get("config"), dict):
        raise ConversionError(f"a {obj.get('class_name')} model's config is {type(obj.get('config')).__name__}, not an object; the model config is damaged")


@RULES.rule(lambda obj: obj.get("class_name") in FUNCTIONAL_CLASSES and _has_keras3_nodes(obj))
def _keras3_graph_to_lists(obj: Obj) -> Obj:
    """Rewrites a Keras 3 functional graph's calls and outputs in the Keras 2 list form."""
    _need_object_config(obj)
    offsets = {entry["config"].get("name", entry.get("name")): 1 for entry in model_layers(obj) if has_own_input(entry)}
    for entry in model_layers(obj):
        name = entry.get("name", config_of(entry).get("name", "?"))
        entry["inbound_nodes"] = [_call_node(node, name, offsets) if isinstance(node, dict) else node for node in entry.get("inbound_nodes") or []]
    config = obj["config"]
    config["input_layers"] = _io_triples(config.get("input_layers", []))
    config["output_layers"] = [_reference(triple, offsets) for triple in _io_triples(config.get("output_layers", []))]
    return obj


@RULES.rule(class_is(*FUNCTIONAL_CLASSES))
def _model_io_layers(obj: Obj) -> Obj:
    _need_object_config(obj)
    config = obj["config"]
    for key in ("input_layers", "output_layers"):
        if key in config:
            config[key] = _io_triples(config[key])
    return obj


def _has_keepdims_pooling(obj: Obj) -> bool:
    return obj.get("class_name") in MODEL_CLASSES and any(_keeps_dims(entry) for entry in model_layers(obj))


@RULES.rule(_has_keepdims_pooling)
def _keepdims_pooling_to_reshape(obj: Obj) -> Obj:
    """Pooling with keepdims=True is the pooling followed by a Reshape to (1, 1, C) (the shape
    `pooled_shape` put in `keepdims`).

    The Reshape takes the layer's name, so every layer reading it still finds it; the pooling
    itself is renamed `<name>_pool` and keeps the calls the layer had.
    """
    taken = {name_of(entry) for entry in model_layers(obj)}
    layers = []
    for entry in obj["config"]["layers"]:
        if not (isinstance(entry, dict) and _keeps_dims(entry)):
            layers.append(entry)
            continue
        name = name_of(entry)
        if not isinstance(entry["config"]["keepdims"], list) or None in entry["config"]["keepdims"]:
            raise ConversionError(
                f"{entry['class_name']} layer {name!r} has keepdims=True but the file does not record its channel count; "
                f"use keepdims=False followed by a Reshape layer"
            )
        pool_name = _unique_name(f"{name}_pool", taken)
        pool_config = {k: v for k, v in entry["config"].items() if k != "keepdims"}
        pool = {**entry, "config": {**pool_config, "name": pool_name}}
        reshape = {"class_name": "Reshape", "config": {"name": name, "trainable": True, "dtype": entry["config"].get("dtype", "float32"), "target_shape": entry["config"]["keepdims"]}}
        if "name" in entry:
            pool["name"], reshape["name"] = pool_name, name
        if "inbound_nodes" in entry:
            reshape["inbound_nodes"] = [[[pool_name, index, 0, {}]] for index in range(len(entry["inbound_nodes"]))]
        layers.extend([pool, reshape])
    obj["config"]["layers"] = layers
    return obj


# Keras 3's hard_silu (alias hard_swish), x * relu6(x + 3) / 6, as layers tfjs-layers has.
_HARD_SILU = ("hard_silu", "hard_swish")
# Layers whose `activation` is applied last, to their single output.
_OUTPUT_ACTIVATION_LAYERS = ("Activation", "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "DepthwiseConv2D", "SeparableConv2D")


def _has_hard_silu(entry: Obj) -> bool:
    return entry.get("class_name") in _OUTPUT_ACTIVATION_LAYERS and config_of(entry).get("activation") in _HARD_SILU


def _has_hard_silu_layer(obj: Obj) -> bool:
    return obj.get("class_name") in FUNCTIONAL_CLASSES and any(_has_hard_silu(entry) for entry in model_layers(obj))


def _repoint(value: Any, old: str, new: str) -> Any:
    """Node references ([layer, node, tensor, ...]) to `old` made to `new`, in nested lists."""
    if isinstance(value, list):
        if len(value) >= 3 and value[0] == old and isinstance(value[1], int) and isinstance(value[2], int):
            return [new] + value[1:]
        return [_repoint(item, old, new) for item in value]
    return value


@RULES.rule(_has_hard_silu_layer)
def _hard_silu_to_layers(obj: Obj) -> Obj:
    """A layer with activation hard_silu becomes the layer without it, then
    Rescaling(+3) -> ReLU(max 6) -> Rescaling(/6) -> Multiply with the layer's output;
    whatever read the layer reads the Multiply. The layer keeps its name, so its weights too."""
    taken = {name_of(entry) for entry in model_layers(obj)}
    config = obj["config"]
    layers = []
    for entry in config["layers"]:
        layers.append(entry)
        if not (isinstance(entry, dict) and _has_hard_silu(entry)):
            continue
        name, dtype = name_of(entry), entry["config"].get("dtype", "float32")
        entry["config"]["activation"] = "linear"
        plus, relu6, sixth, product = (_unique_name(f"{name}_{part}", taken) for part in ("plus_3", "relu6", "div_6", "hard_silu"))
        calls = range(len(entry.get("inbound_nodes") or []))
        added = [
            ("Rescaling", plus, {"scale": 1.0, "offset": 3.0}, [[[name, k, 0, {}]] for k in calls]),
            ("ReLU", relu6, {"max_value": 6.0}, [[[plus, k, 0, {}]] for k in calls]),
            ("Rescaling", sixth, {"scale": 1.0 / 6.0, "offset": 0.0}, [[[relu6, k, 0, {}]] for k in calls]),
            ("Multiply", product, {}, [[[name, k, 0, {}], [sixth, k, 0, {}]] for k in calls]),
        ]
        for other in config["layers"]:
            if other is not entry:
                other["inbound_nodes"] = _repoint(other.get("inbound_nodes") or [], name, product)
        config["output_layers"] = _repoint(config.get("output_layers", []), name, product)
        layers.extend({"class_name": cls, "config": {"name": new, "trainable": True, "dtype": dtype, **extra}, "name": new, "inbound_nodes": nodes} for cls, new, extra, nodes in added)
    config["layers"] = layers
    return obj


@RULES.rule(class_is("L1", "L2"))
def _regularizer_l1_l2(obj: Obj) -> Obj:
    """TF.js has only L1L2; Keras' L1 and L2 are L1L2 with the other factor zero."""
    config = config_of(obj)
    return {"class_name": "L1L2", "config": {"l1": float(config.get("l1", 0.0)), "l2": float(config.get("l2", 0.0))}}


@RULES.rule(lambda obj: obj.get("class_name") == "LeakyReLU" and "negative_slope" in config_of(obj))
def _leaky_relu_alpha(obj: Obj) -> Obj:
    obj["config"]["alpha"] = obj["config"].pop("negative_slope")
    return obj


def _has_renamed_activation(obj: Obj) -> bool:
    config = config_of(obj)
    return any(isinstance(config.get(key), str) and config[key] in ACTIVATION_RENAMES for key in ("activation", "recurrent_activation"))


@RULES.rule(_has_renamed_activation)
def _activation_names(obj: Obj) -> Obj:
    config = obj["config"]
    for key in ("activation", "recurrent_activation"):
        if config.get(key) in ACTIVATION_RENAMES:
            config[key] = ACTIVATION_RENAMES[config[key]]
    return obj


def _mirrors(backward: Obj, forward: Obj) -> bool:
    """Whether a Bidirectional's backward layer is its forward layer run backwards (the default)."""
    ignored = ("name", "go_backwards")
    strip = lambda layer: {k: v for k, v in config_of(layer).items() if k not in ignored}
    return backward.get("class_name") == forward.get("class_name") and strip(backward) == strip(forward)


@RULES.rule(lambda obj: obj.get("class_name") == "Bidirectional" and isinstance(config_of(obj).get("layer"), dict))
def _bidirectional_layer(obj: Obj) -> Obj:
    """TF.js derives both directions from `layer` (naming them forward_/backward_ + its name)."""
    config = obj["config"]
    layer = config["layer"]
    backward = config.pop("backward_layer", None)
    if backward is not None and not _mirrors(backward, layer):
        raise ConversionError(f"Bidirectional layer {config.get('name', '?')!r} has a backward layer that is not its forward layer reversed; TF.js supports only that")
    name = config_of(layer).get("name", "")
    if name.startswith("forward_"):
        layer["config"]["name"] = name[len("forward_"):]
    return obj


_SEPARABLE_UNUSED = ("kernel_initializer", "kernel_regularizer", "kernel_constraint")


@RULES.rule(lambda obj: obj.get("class_name") in ("SeparableConv1D", "SeparableConv2D") and any(k in config_of(obj) for k in _SEPARABLE_UNUSED))
def _separable_conv_kernel_keys(obj: Obj) -> Obj:
    """Keras 2 lists kernel_* settings a separable conv never uses; TF.js rejects them."""
    for key in _SEPARABLE_UNUSED:
        obj["config"].pop(key, None)
    return obj


# --- what TF.js cannot run

RULES.append(REFUSE_LAMBDA)


@RULES.rule(lambda obj: obj.get("class_name") == "ELU" and float(config_of(obj).get("alpha", 1.0)) != 1.0)
def _reject_elu_alpha(obj: Obj) -> Obj:
    raise ConversionError(f"ELU layer {config_of(obj).get('name', '?')!r} has alpha={config_of(obj)['alpha']}; TF.js implements only alpha=1.0")


@RULES.rule(lambda obj: obj.get("class_name") in ("Conv1D", "Conv2D", "Conv3D") and int(config_of(obj).get("groups", 1) or 1) != 1)
def _reject_grouped_conv(obj: Obj) -> Obj:
    raise ConversionError(f"{obj['class_name']} layer {config_of(obj).get('name', '?')!r} has groups={config_of(obj)['groups']}; TF.js implements only groups=1")


@RULES.rule(lambda obj: obj.get("class_name") in ("GRU", "GRUCell") and config_of(obj).get("reset_after", False))
def _reject_gru_reset_after(obj: Obj) -> Obj:
    raise ConversionError(f"GRU layer {config_of(obj).get('name', '?')!r} has reset_after=True, which TF.js does not implement; build the GRU with reset_after=False")


# What the same words mean differently in Keras 3 configs (applied to Keras 3 files only).
KERAS3_RULES = RuleSet([keras3_hard_sigmoid("use sigmoid, or a Keras 2 model")])
RULES_BY_NAME = {rule.name: rule for rule in RULES + KERAS3_RULES}


def _warn_unknown_activation(obj: Obj) -> Obj:
    for name in activations_of(obj):
        if not tfjs_support.knows_activation(name):
            warnings.warn(
                f"activation {name!r} of layer {config_of(obj).get('name', '?')!r} has no TF.js implementation; "
                f"the JS side must register it with tf.serialization.registerClass before loading the model",
                UnsupportedLayerWarning,
                stacklevel=2,
            )
    return obj


def warn_if_unknown_layer(layer: Obj) -> None:
    """TF.js builds only the layer classes it registers; any other must be registered in JS."""
    if layer.get("class_name") in TFJS_LAYER_CLASSES:
        return
    warnings.warn(
        f"layer class {layer.get('class_name')!r} (layer {config_of(layer).get('name', '?')!r}) has no TF.js implementation; "
        f"the JS side must register it with tf.serialization.registerClass before loading the model",
        UnsupportedLayerWarning,
        stacklevel=2,
    )


def _keras_builtins(layer: Obj) -> Dict[str, str]:
    """Name -> class of the layers Keras itself defines (their `module` says so), before translation."""
    return {name_of(inner): inner.get("class_name") for inner in tfjs_support.layers_in(layer) if str(inner.get("module", "")).split(".")[0] == "keras"}


def _check(model_config: Obj, builtins: Dict[str, str]) -> None:
    """The pass before writing: every layer TF.js cannot build, and every option it would drop."""
    problems, masked = [], tfjs_support.makes_masks(model_config)
    for layer in tfjs_support.layers_in(model_config):
        class_name = layer.get("class_name")
        if class_name in MODEL_CLASSES:
            continue
        if class_name in TFJS_LAYER_CLASSES:
            problems.extend(tfjs_support.option_problems(layer, masked))
            _warn_unknown_activation(layer)
        elif builtins.get(name_of(layer)) == class_name and class_name not in tfjs_support.UNBUNDLED_LAYER_CLASSES:
            problems.append(f"layer {name_of(layer)!r} is a Keras {class_name}, which tfjs-layers 4.22 does not have")
        else:
            warn_if_unknown_layer(layer)
    if problems:
        raise ConversionError(f"{'; '.join(problems)}; a TF.js layers model cannot express this (convert with --output_format=tfjs_graph_model instead)")


@dataclass
class Translation:
    """A model config in the TF.js dialect, and how the weights of the layers rewritten for it change."""

    model_config: Obj
    weight_fixes: Dict[str, WeightFix] = field(default_factory=dict)

    def weights(self, stored: List[Weight]) -> List[Weight]:
        """The stored weights (`<layer>/<weight>`), each rewritten layer's replaced by its new ones."""
        if not self.weight_fixes:
            return stored
        groups: Dict[str, Dict[str, Weight]] = {name: {} for name in self.weight_fixes}
        order: List[Any] = []  # weights kept as they are, and the names of rewritten layers where theirs go
        for weight in stored:
            layer, _, short = weight.name.partition("/")
            if layer not in groups or "/" in short:
                order.append(weight)
                continue
            if not groups[layer]:
                order.append(layer)
            groups[layer][short] = weight
        order.extend(name for name, group in groups.items() if not group)
        fixed = []
        for item in order:
            if isinstance(item, str):
                fixed.extend(Weight(f"{item}/{name}", w.load, w.dtype, w.shape) for name, w in self.weight_fixes[item](groups[item]).items())
            else:
                fixed.append(item)
        return fixed


def translate_model(model_config: Obj, keras3: bool = False) -> Translation:
    """A Keras 2 or 3 model config ({"class_name", "config"}) in the dialect tfjs-layers reads.

    `keras3` says the config was written by Keras 3, whose words sometimes mean other things.
    What TF.js would not load, or would compute differently, is a ConversionError here.
    """
    if not is_object(model_config):
        raise ConversionError("the model config has no class_name; it is not a Keras model config")
    if model_config["class_name"] not in MODEL_CLASSES:
        raise ConversionError(
            f"the model is of class {model_config['class_name']!r}, not a Sequential or functional model; "
            f"TF.js layers models can only hold those (convert it to tfjs_graph_model instead)"
        )
    fixes: Dict[str, WeightFix] = {}
    translated = walk(model_config, RULES + KERAS3_RULES if keras3 else RULES, weight_fixes=fixes)
    _check(translated, _keras_builtins(model_config))
    return Translation(translated, fixes)


def translate(model_config: Obj, keras3: bool = False) -> Obj:
    """translate_model's config alone."""
    return translate_model(model_config, keras3).model_config
