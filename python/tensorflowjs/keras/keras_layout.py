"""Where each weight of a TF.js layers model goes in the Keras files written without Keras.

Both Keras file formats address weights by the model's structure, not by the names TF.js
uses: a Keras 2 `.h5` lists, per layer of `model.layers` that has weights, its weights in
`layer.weights` order and tf_keras and Keras 3 assign them by position; a Keras 3 `.keras`
stores each layer object's own variables at `<object path>/vars/<i>`, the path built from
snake-cased class names made unique per container (`layers/dense_1/vars/0`,
`layers/lstm/cell/vars/2`, `layers/bidirectional/forward_layer/cell/vars/0`). So this module
orders a model's layers the way Keras's graph walk does (`keras_order`), and walks each
layer's config into its weight slots, matching every slot to its manifest entry by the
names tfjs-layers looks weights up by.

Only layer classes whose variable layout has been checked against files saved by tf_keras
2.21 and Keras 3.15 are planned (`VERIFIED_CLASSES`); `UnverifiedLayer` says which one is
not, so that the caller can use Keras itself instead.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.weight_names import CELL_NAMES, CELLS, VARIABLES, strip_tensor_suffix
from tensorflowjs.write_weights import Weight

Config = Dict
Shape = Tuple[Optional[int], ...]

MODEL_CLASSES = ("Sequential", "Functional", "Model")

# Layers without variables whose Keras 3 object holds no sub-objects with state (checked:
# no seed-generator or other groups are written for them).
_STATELESS = {
    "InputLayer", "Activation", "ELU", "LeakyReLU", "ReLU", "Softmax",
    "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract",
    "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
    "Flatten", "Permute", "RepeatVector", "Reshape", "Masking", "Cropping1D", "Cropping2D",
    "ZeroPadding1D", "ZeroPadding2D", "UpSampling1D", "UpSampling2D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "Rescaling", "Resizing", "CenterCrop", "CategoryEncoding",
}
_WITH_VARIABLES = {
    "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "DepthwiseConv2D",
    "SeparableConv2D", "BatchNormalization", "LayerNormalization", "Embedding", "PReLU",
}
_RECURRENT = {"SimpleRNN", "GRU", "LSTM"}
_WRAPPERS = {"Bidirectional", "TimeDistributed"}
VERIFIED_CLASSES = frozenset(_STATELESS | _WITH_VARIABLES | _RECURRENT | _WRAPPERS | set(MODEL_CLASSES))


class UnverifiedLayer(Exception):
    """A layer class (or option) whose variable layout in Keras files this module has not checked."""

    def __init__(self, layer_name: str, class_name: str):
        super().__init__(f"layer {layer_name!r} ({class_name})")
        self.layer_name, self.class_name = layer_name, class_name


# Spatial rank of each convolution's kernel.
_KERNEL_RANK = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3, "Conv2DTranspose": 2, "Conv3DTranspose": 3, "DepthwiseConv2D": 2, "SeparableConv2D": 2}


def _kernel(class_name: str, config: Config) -> Optional[List[Optional[int]]]:
    """The kernel's spatial size (`kernel_size` may be one number for every axis), None if unreadable."""
    size = config.get("kernel_size")
    if isinstance(size, int):
        return [size] * _KERNEL_RANK[class_name]
    return list(size) if isinstance(size, list) and len(size) == _KERNEL_RANK[class_name] else None


# Gates of each recurrent cell: its kernels hold that many blocks of `units` columns.
_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def _shapes(class_name: str, config: Config) -> Dict[str, Shape]:
    """The dimensions of a layer's variables the config alone fixes (None: given by the input)."""
    units, filters = config.get("units"), config.get("filters")
    if class_name == "Dense":
        return {"kernel": (None, units), "bias": (units,)}
    if class_name in _KERNEL_RANK:
        kernel = _kernel(class_name, config)
        if kernel is None:
            return {}
        if class_name in ("Conv2DTranspose", "Conv3DTranspose"):
            return {"kernel": (*kernel, filters, None), "bias": (filters,)}
        if class_name == "DepthwiseConv2D":
            return {"depthwise_kernel": (*kernel, None, config.get("depth_multiplier", 1)), "bias": (None,)}
        if class_name == "SeparableConv2D":
            ones = tuple(1 for _ in kernel)
            return {"depthwise_kernel": (*kernel, None, config.get("depth_multiplier", 1)), "pointwise_kernel": (*ones, None, filters), "bias": (filters,)}
        return {"kernel": (*kernel, None, filters), "bias": (filters,)}
    if class_name == "Embedding":
        return {"embeddings": (config.get("input_dim"), config.get("output_dim"))}
    if class_name in ("BatchNormalization", "LayerNormalization"):
        return {name: (None,) for name in ("gamma", "beta", "moving_mean", "moving_variance")}
    if class_name in _RECURRENT:
        width = _GATES[class_name] * units if isinstance(units, int) else None
        bias = (2, width) if class_name == "GRU" and config.get("reset_after") else (width,)
        return {"kernel": (None, width), "recurrent_kernel": (units, width), "bias": bias}
    return {}


def _matches(shape: Optional[Sequence[int]], expected: Optional[Shape]) -> bool:
    if expected is None or shape is None:
        return True
    return len(shape) == len(expected) and all(e is None or not isinstance(e, int) or int(s) == e for s, e in zip(shape, expected))


def _shown(expected: Shape) -> str:
    return "[" + ", ".join("?" if e is None else str(e) for e in expected) + "]"


@dataclass
class Slot:
    """One variable of the model: where each format keeps it and which manifest entry fills it."""

    tfjs_names: List[str]
    h5_name: str  # tf_keras's variable name, `bi/forward_gru/gru_cell/kernel:0`
    keras3_path: str  # `layers/bidirectional/forward_layer/cell/vars/0`
    shape: Optional[Shape]
    trainable: bool = True
    entry: Optional[Weight] = None


@dataclass
class TopLayer:
    """A layer of the outermost model, in Keras's `model.layers` order, with its slots in `layer.weights` order."""

    name: str
    class_name: str
    slots: List[Slot] = field(default_factory=list)

    def h5_slots(self) -> List[Slot]:
        """`layer.trainable_weights + layer.non_trainable_weights`: the order both Keras assign a .h5 layer's weights in."""
        return [s for s in self.slots if s.trainable] + [s for s in self.slots if not s.trainable]


@dataclass
class Layout:
    layers: List[TopLayer]
    # Every Keras 3 layer object: (object path, its `name`), the root model's first ("", name).
    keras3_objects: List[Tuple[str, str]]


def to_snake_case(name: str) -> str:
    """Keras 3's object-path spelling of a class name (`PReLU` -> `p_re_lu`)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# Variables Keras creates non-trainable.
_NON_TRAINABLE = {"moving_mean", "moving_variance"}

# Class names Keras 3 builds another class for (the object path follows the class built).
_KERAS3_CLASS = {"Model": "Functional"}


def _layer_name(layer: Config) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "?")


def _members(model: Config) -> List[Config]:
    inner = model.get("config") or {}
    layers = inner.get("layers", []) if isinstance(inner, dict) else inner
    return [layer for layer in layers or [] if isinstance(layer, dict)]


def _refs(value) -> List[list]:
    """[layer, node, tensor] triples of input_layers/output_layers, flat or nested."""
    if isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str):
        return [value]
    return [ref for item in value or [] if isinstance(item, list) for ref in _refs(item)]


def _node_inputs(node) -> List[list]:
    """A list-form inbound node's input references ([layer, node index, tensor index, kwargs])."""
    return [ref for ref in node if isinstance(ref, list) and ref and isinstance(ref[0], str)] if isinstance(node, list) else []


def keras_order(model: Config, where: str) -> List[Config]:
    """The members of a model config in Keras's `model.layers` order.

    A Sequential keeps its config order. A functional model is ordered the way both Keras
    versions' graph walk orders it (map_graph: depth-first from the outputs, then by depth
    from the inputs, ties by first visit), which the weights of a .h5 are assigned by.
    """
    members = _members(model)
    if model.get("class_name") == "Sequential":
        return members
    by_name = {_layer_name(layer): layer for layer in members}
    calls = {name: [n for n in layer.get("inbound_nodes") or [] if isinstance(n, list)] for name, layer in by_name.items()}
    max_ref: Dict[str, int] = {}
    for name in by_name:
        for node in calls[name]:
            for ref in _node_inputs(node):
                max_ref[ref[0]] = max(max_ref.get(ref[0], -1), int(ref[1]))
    for ref in _refs((model.get("config") or {}).get("output_layers")):
        max_ref[ref[0]] = max(max_ref.get(ref[0], -1), int(ref[1]))

    def node_of(ref) -> Tuple[str, int]:
        """A reference's call of its layer; Keras 2 numbers a nested model's own construction as node 0."""
        name, index = ref[0], int(ref[1])
        offset = 1 if max_ref.get(name, -1) >= len(calls.get(name, [])) and calls.get(name) else 0
        return name, index - offset if calls.get(name) else -1

    def parents(node: Tuple[str, int]) -> List[Tuple[str, int]]:
        name, index = node
        if index < 0 or name not in calls or index >= len(calls[name]):
            return []
        return [node_of(ref) for ref in _node_inputs(calls[name][index]) if ref[0] in by_name]

    finished, in_progress, ordered, first_seen = set(), set(), [], {}

    def visit(start: Tuple[str, int]) -> None:
        """Depth-first, parents before the node (iterative: graphs may be thousands of layers deep)."""
        stack = [(start, None)]
        while stack:
            node, pending = stack[-1]
            if pending is None:
                if node in finished:
                    stack.pop()
                    continue
                if node in in_progress:
                    raise ConversionError(f"{where}: layer {node[0]!r} is part of a cycle in the model's graph")
                first_seen.setdefault(node[0], len(first_seen))
                in_progress.add(node)
                pending = iter(parents(node))
                stack[-1] = (node, pending)
            parent = next(pending, None)
            if parent is None:
                finished.add(node)
                in_progress.discard(node)
                ordered.append(node)
                stack.pop()
            elif parent not in finished:
                stack.append((parent, None))

    for ref in _refs((model.get("config") or {}).get("output_layers")):
        if ref[0] in by_name:
            visit(node_of(ref))
    node_depth: Dict[Tuple[str, int], int] = {}
    layer_depth: Dict[str, int] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = node_depth[node] = depth
        for parent in parents(node):
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for ref in _refs((model.get("config") or {}).get("input_layers")):
        if ref[0] in by_name and ref[0] not in layer_depth:
            layer_depth[ref[0]], first_seen[ref[0]] = 0, -1
    names = sorted(layer_depth, key=lambda n: (-layer_depth[n], first_seen[n]))
    return [by_name[n] for n in names]


class _Planner:
    """Walks a model config into slots: Keras 3 object paths and tf_keras names side by side."""

    def __init__(self, where: str):
        self.where = where
        self.objects: List[Tuple[str, str]] = []

    def model(self, model: Config, path: str, tfjs_prefixes: List[str], top: Optional[List[TopLayer]] = None) -> List[Slot]:
        """Slots of a model's members; `top` collects the outermost model's layers."""
        slots: List[Slot] = []
        used: Dict[str, int] = {}
        for member in keras_order(model, self.where):
            class_name, name = member.get("class_name"), _layer_name(member)
            if model.get("class_name") == "Sequential" and class_name == "InputLayer":
                continue  # Keras leaves a Sequential's input out of its layers
            member_path = f"{path}layers/{_unique(to_snake_case(_KERAS3_CLASS.get(class_name, class_name)), used)}"
            layer_slots = self.layer(member, member_path, tfjs_prefixes)
            slots.extend(layer_slots)
            if top is not None:
                top.append(TopLayer(name, class_name, layer_slots))
        return slots

    def layer(self, layer: Config, path: str, tfjs_prefixes: List[str]) -> List[Slot]:
        slots = self._layer(layer, path, tfjs_prefixes)
        if (layer.get("config") or {}).get("trainable") is False:
            for slot in slots:
                slot.trainable = False
        return slots

    def _layer(self, layer: Config, path: str, tfjs_prefixes: List[str]) -> List[Slot]:
        class_name, name, config = layer.get("class_name"), _layer_name(layer), layer.get("config") or {}
        if class_name not in VERIFIED_CLASSES:
            raise UnverifiedLayer(name, str(class_name))
        self.objects.append((path, name))
        if class_name in MODEL_CLASSES:
            prefixes = tfjs_prefixes + [f"{p}{name}/" for p in tfjs_prefixes]
            return self.model(layer, f"{path}/", prefixes)
        if class_name in _RECURRENT:
            return self._recurrent(class_name, config, name, path, [f"{p}{name}/" for p in tfjs_prefixes], f"{name}/")
        if class_name == "Bidirectional":
            return self._bidirectional(config, name, path, tfjs_prefixes)
        if class_name == "TimeDistributed":
            inner = config.get("layer") or {}
            inner_class = inner.get("class_name")
            if inner_class not in _WITH_VARIABLES | _STATELESS:
                raise UnverifiedLayer(name, f"TimeDistributed of {inner_class}")
            self.objects.append((f"{path}/layer", _layer_name(inner)))
            return self._own(inner_class, inner.get("config") or {}, f"{path}/layer", [f"{p}{name}/" for p in tfjs_prefixes], f"{name}/")
        return self._own(class_name, config, path, [f"{p}{name}/" for p in tfjs_prefixes], f"{name}/")

    def _own(self, class_name: str, config: Config, path: str, tfjs_bases: List[str], h5_base: str) -> List[Slot]:
        names = VARIABLES[class_name](config) if class_name in VARIABLES else []
        shapes = _shapes(class_name, config)
        return [Slot([f"{b}{v}" for b in tfjs_bases], f"{h5_base}{v}:0", f"{path}/vars/{i}", shapes.get(v), v not in _NON_TRAINABLE) for i, v in enumerate(names)]

    def _recurrent(self, class_name: str, config: Config, name: str, path: str, tfjs_bases: List[str], h5_base: str) -> List[Slot]:
        cell = CELL_NAMES[class_name]
        self.objects.append((f"{path}/cell", cell))
        names = VARIABLES[CELLS[class_name]](config)
        shapes = _shapes(class_name, config)
        return [Slot([f"{b}{v}" for b in tfjs_bases], f"{h5_base}{cell}/{v}:0", f"{path}/cell/vars/{i}", shapes.get(v)) for i, v in enumerate(names)]

    def _bidirectional(self, config: Config, name: str, path: str, tfjs_prefixes: List[str]) -> List[Slot]:
        forward = config.get("layer") or {}
        backward = config.get("backward_layer") or forward
        slots = []
        for attribute, wrapped, wrapped_name in (
            ("forward_layer", forward, f"forward_{_layer_name(forward)}"),
            ("backward_layer", backward, _layer_name(backward) if config.get("backward_layer") else f"backward_{_layer_name(forward)}"),
        ):
            wrapped_class = wrapped.get("class_name")
            if wrapped_class not in _RECURRENT:
                raise UnverifiedLayer(name, f"Bidirectional of {wrapped_class}")
            self.objects.append((f"{path}/{attribute}", wrapped_name))
            bases = [f"{p}{name}/{wrapped_name}/" for p in tfjs_prefixes]
            slots += self._recurrent(wrapped_class, wrapped.get("config") or {}, wrapped_name, f"{path}/{attribute}", bases, f"{name}/{wrapped_name}/")
        return slots


def _unique(name: str, used: Dict[str, int]) -> str:
    """Keras 3's per-container object names: `dense`, `dense_1`, ..."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _without_cell(name: str) -> str:
    """tfjs-layers' second try: `lstm/lstm_cell/kernel` is `lstm/kernel`."""
    tokens = name.split("/")
    return "/".join(tokens[:-2] + tokens[-1:]) if len(tokens) > 2 else name


def _match(slots: List[Slot], weights: Sequence[Weight], where: str) -> None:
    """Gives every slot its manifest entry, with the checks (and messages) of keras.model_builder."""
    lookup: Dict[str, int] = {}
    for index, slot in enumerate(slots):
        for name in slot.tfjs_names:
            if lookup.setdefault(name, index) != index:
                raise ConversionError(f"{where}: two weights of the model are both named {name!r} the way TF.js names them; rename one of the layers")
    for entry in weights:
        name = strip_tensor_suffix(entry.name)
        index = lookup.get(name, lookup.get(_without_cell(name)))
        if index is None:
            raise ConversionError(f"{where}: weight {entry.name!r} of the weights manifest belongs to no layer of the topology; the weights do not match the model")
        slot = slots[index]
        if slot.entry is not None:
            raise ConversionError(f"{where}: weights {slot.entry.name!r} and {entry.name!r} of the weights manifest both belong to {slot.tfjs_names[0]!r}")
        if not _matches(entry.shape, slot.shape):
            raise ConversionError(f"{where}: weight {entry.name!r} has shape {[int(d) for d in entry.shape]} but the topology's {slot.tfjs_names[0]!r} has shape {_shown(slot.shape)}; the weights do not match the model")
        slot.entry = entry
    missing = [slot.tfjs_names[0] for slot in slots if slot.entry is None]
    if missing:
        listed = ", ".join(repr(n) for n in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ConversionError(f"{where}: the weights manifest has no entry for {listed}; the weights do not match the model")


# --- input widths ---------------------------------------------------------------------------
# The last axis of each layer's input fixes one more dimension of its kernels. It is followed
# through the outermost model for layers whose output width is certain (channels-last only);
# anywhere it is not certain, nothing is checked.

_SAME_WIDTH = {
    "Activation", "ELU", "LeakyReLU", "ReLU", "Softmax", "PReLU", "Masking", "Rescaling", "RepeatVector",
    "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
    "BatchNormalization", "LayerNormalization",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D",
}
_ELEMENTWISE = {"Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract"}
_CONVOLUTIONS = {"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "SeparableConv2D", "DepthwiseConv2D"}


def _channels_last(config: Config) -> bool:
    return config.get("data_format") in (None, "channels_last")


def _last_axis(config: Config) -> bool:
    axis = config.get("axis", -1)
    return axis == -1 or axis == [-1]


def _output_width(class_name: str, config: Config, inputs: List[Optional[int]]) -> Optional[int]:
    """The last dimension of a layer's output, when its inputs' (`inputs`) make it certain."""
    single = inputs[0] if len(inputs) == 1 else None
    if class_name == "InputLayer":
        shape = config.get("batch_input_shape") or config.get("batch_shape")
        return shape[-1] if isinstance(shape, list) and shape and isinstance(shape[-1], int) else None
    if class_name == "Dense":
        return config.get("units")
    if class_name in _RECURRENT:
        return config.get("units")
    if class_name == "Embedding":
        return config.get("output_dim")
    if class_name in _CONVOLUTIONS and _channels_last(config):
        if class_name == "DepthwiseConv2D":
            return single * config.get("depth_multiplier", 1) if single is not None else None
        return config.get("filters")
    if class_name == "Bidirectional":
        units = ((config.get("layer") or {}).get("config") or {}).get("units")
        merge = config.get("merge_mode", "concat")
        return None if not isinstance(units, int) else 2 * units if merge == "concat" else units if merge in ("sum", "mul", "ave") else None
    if class_name == "TimeDistributed" and (config.get("layer") or {}).get("class_name") == "Dense":
        return ((config.get("layer") or {}).get("config") or {}).get("units")
    if class_name in _SAME_WIDTH and (_channels_last(config) or class_name not in _CONV_LIKE_POOLS):
        return single
    if class_name in _ELEMENTWISE and inputs and None not in inputs:
        widths = set(inputs) - {1}  # a width of 1 broadcasts
        return widths.pop() if len(widths) == 1 else 1 if not widths else None
    if class_name == "Concatenate" and _last_axis(config) and inputs and None not in inputs:
        return sum(inputs)
    return None


# Layers of _SAME_WIDTH with a data_format: channels-first moves the width off the last axis.
_CONV_LIKE_POOLS = {name for name in _SAME_WIDTH if name.endswith(("Pooling1D", "Pooling2D", "Pooling3D", "Padding1D", "Padding2D", "Cropping1D", "Cropping2D", "Sampling1D", "Sampling2D"))}


def _input_axis(class_name: str, config: Config) -> Dict[str, int]:
    """Variable name -> the axis of it that equals the layer's input width."""
    if class_name == "Dense" or class_name in _RECURRENT or class_name == "Bidirectional":
        return {"kernel": 0}
    if class_name == "TimeDistributed" and (config.get("layer") or {}).get("class_name") == "Dense":
        return {"kernel": 0}
    if class_name in _CONVOLUTIONS and _channels_last(config) and config.get("groups", 1) in (None, 1):
        return {"kernel": -1} if class_name.endswith("Transpose") else {"kernel": -2, "depthwise_kernel": -2}
    if class_name in ("BatchNormalization", "LayerNormalization") and _last_axis(config):
        return {name: 0 for name in ("gamma", "beta", "moving_mean", "moving_variance")}
    return {}


def _check_input_widths(model_config: Config, top: List[TopLayer], where: str) -> None:
    """Refuses a kernel whose input side disagrees with the width the graph feeds its layer."""
    slots = {layer.name: layer.slots for layer in top}
    widths: Dict[str, Optional[int]] = {}
    previous: Optional[str] = None
    for member in keras_order(model_config, where):
        name, class_name, config = _layer_name(member), member.get("class_name"), member.get("config") or {}
        if model_config.get("class_name") == "Sequential":
            sources = [[previous]] if previous is not None else [[]]
            previous = name
        else:
            sources = [[ref[0] for ref in _node_inputs(node)] for node in member.get("inbound_nodes") or [] if isinstance(node, list)] or [[]]
        outputs = set()
        feeds = set()
        for call in sources:
            inputs = [widths.get(source) for source in call]
            if not call and "batch_input_shape" in config and class_name != "InputLayer":
                shape = config["batch_input_shape"]
                inputs = [shape[-1] if isinstance(shape, list) and shape and isinstance(shape[-1], int) else None]
            outputs.add(_output_width(class_name, config, inputs) if class_name not in MODEL_CLASSES else None)
            feeds.add(inputs[0] if len(inputs) == 1 else None)
        widths[name] = outputs.pop() if len(outputs) == 1 else None
        feed = feeds.pop() if len(feeds) == 1 else None
        if feed is None:
            continue
        axes = _input_axis(class_name, config)
        for slot in slots.get(name, []):
            variable = slot.h5_name.rsplit("/", 1)[-1].split(":")[0]
            shape = slot.entry.shape if slot.entry is not None else None
            if variable in axes and shape is not None and len(shape) and int(shape[axes[variable]]) != feed:
                raise ConversionError(f"{where}: weight {slot.entry.name!r} has shape {[int(d) for d in shape]} but layer {name!r} receives inputs {feed} wide; the weights do not match the model")


def plan(model_config: Config, weights: Sequence[Weight], where: str) -> Layout:
    """The layout of a (translated) model config, each slot matched to its manifest entry.

    Raises UnverifiedLayer for a layer class whose layout is not known here, ConversionError
    when the manifest does not fit the model.
    """
    planner = _Planner(where)
    class_name = model_config.get("class_name")
    if class_name not in MODEL_CLASSES:
        raise ConversionError(f"{where}: the model config's class is {class_name!r}, not a Keras model (Sequential or Functional)")
    planner.objects.append(("", _layer_name(model_config)))
    top: List[TopLayer] = []
    slots = planner.model(model_config, "", [""], top)
    _match(slots, weights, where)
    _check_input_widths(model_config, top, where)
    return Layout(top, planner.objects)

