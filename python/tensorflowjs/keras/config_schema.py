"""The shape of a Keras model config, checked before any translation walks it.

A config comes from a file the user hands us (an .h5 attribute, a .keras config.json, a TF.js
model.json), so a list where an object belongs must be refused with one line naming the place
in the config, not crash a translation rule or, worse, pass through into a model that cannot
load. Both dialects are accepted: Keras 3 (DTypePolicy objects, `{"args", "kwargs"}` call nodes,
Keras tensors) and the Keras 2 one TF.js writes (list-form nodes). Only structure and the
fields translation rules compute with are checked; a layer's own arguments are Keras's business.

The walk is iterative (a work list of (kind, value, path)), one small handler per kind.
"""

from typing import Any, Callable, Dict, Iterator, List, Tuple

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_rules import KERAS_TENSOR
from tensorflowjs.keras.model_classes import MODEL_CLASSES


# Config keys that hold one layer object (wrappers), one or a list (an RNN's cell), a list.
_LAYER_KEYS = ("layer", "backward_layer")
_LAYER_OR_LIST_KEYS = ("cell",)
_LAYER_LIST_KEYS = ("cells",)

# Config fields that translation rules compute with: (accepted types, what to call them).
_NUMBER = ((int, float), "a number")
_BOOLEAN = ((bool,), "true or false")
_FIELD_TYPES: Dict[str, Tuple[Tuple[type, ...], str]] = {
    "name": ((str,), "a string"),
    "alpha": _NUMBER,
    "theta": _NUMBER,
    "negative_slope": _NUMBER,
    "l1": _NUMBER,
    "l2": _NUMBER,
    "groups": ((int,), "an integer"),
    "trainable": _BOOLEAN,
    "keepdims": _BOOLEAN,
    "reset_after": _BOOLEAN,
    "go_backwards": _BOOLEAN,
    "time_major": _BOOLEAN,
}
# Suffixes of config keys that hold a serialized object or its name (initializers and the like).
_OBJECT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")

# A place in the config: (parent place, key), built in O(1) per step and spelled out only for
# the error message (`config.layers[3].inbound_nodes`).
Path = Any
_ROOT: Path = None
_SHOWN_PATH = 200  # characters of a very deep place kept in the message (its innermost part)

Item = Tuple[str, Any, Any]  # (kind, value, place inside the config)
Handler = Callable[[Any, Any], Iterator[Item]]


class _Bad(Exception):
    """A value at `path` is not what the schema wants."""

    def __init__(self, path: Path, expected: str, value: Any):
        super().__init__(path, expected, value)
        self.path, self.expected, self.value = path, expected, value


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")




def _child(path: Path, key: Any) -> Path:
    return (path, key)


def _spell(path: Path) -> str:
    keys = []
    while path is not None:
        path, key = path
        keys.append(key)
    text = "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in reversed(keys)).lstrip(".")
    return text if len(text) <= _SHOWN_PATH else "..." + text[-_SHOWN_PATH:]


def _need(value: Any, types: Tuple[type, ...], path: Path, expected: str) -> None:
    # bool is an int in Python, but never a valid count or index in a config.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _Bad(path, expected, value)


def _object(value: Any, path: Path) -> Iterator[Item]:
    """A serialized Keras object: {"class_name": str, "config": {...}}; the model and each layer."""
    _need(value, (dict,), path, "an object with class_name and config")
    _need(value.get("class_name"), (str,), _child(path, "class_name"), "a string")
    if "name" in value:
        _need(value["name"], (str,), _child(path, "name"), "a string")
    config, config_path = value.get("config"), _child(path, "config")
    _need(config, (dict,), config_path, "an object")
    if "inbound_nodes" in value:
        nodes = value["inbound_nodes"]
        _need(nodes, (list,), _child(path, "inbound_nodes"), "a list of call nodes")
        yield from (("node", node, _child(_child(path, "inbound_nodes"), i)) for i, node in enumerate(nodes))
    yield "layer_config", config, config_path
    if value["class_name"] in MODEL_CLASSES:
        yield "model_config", config, config_path
    yield from (("value", v, _child(path, k)) for k, v in value.items() if k not in ("class_name", "config", "name", "inbound_nodes"))


def _model_config(config: Dict, path: Path) -> Iterator[Item]:
    layers = config.get("layers")
    _need(layers, (list,), _child(path, "layers"), "a list of layers")
    yield from (("layer", layer, _child(_child(path, "layers"), i)) for i, layer in enumerate(layers))
    for key in ("input_layers", "output_layers"):
        if key in config:
            yield "io", config[key], _child(path, key)


def _layer_config(config: Dict, path: Path) -> Iterator[Item]:
    for key, value in config.items():
        here = _child(path, key)
        if key in _FIELD_TYPES and (value is not None or key == "name"):
            types, expected = _FIELD_TYPES[key]
            _need(value, types, here, expected)
        if key in _LAYER_KEYS and value is not None:
            yield "layer", value, here
        elif key in _LAYER_OR_LIST_KEYS and value is not None:
            yield from (("layer", v, _child(here, i)) for i, v in enumerate(value)) if isinstance(value, list) else [("layer", value, here)]
        elif key in _LAYER_LIST_KEYS and value is not None:
            _need(value, (list,), here, "a list of layers")
            yield from (("layer", v, _child(here, i)) for i, v in enumerate(value))
        elif key == "dtype":
            yield "dtype", value, here
        elif key in ("batch_input_shape", "batch_shape"):
            yield "shape", value, here
        elif key.endswith(_OBJECT_SUFFIXES) or key in ("activation", "recurrent_activation"):
            yield "serialized", value, here
        else:
            yield "value", value, here


def _value(value: Any, path: Path) -> Iterator[Item]:
    """Any other value. Translation treats every object with a class_name as a Keras object,
    wherever it sits, so each one found is checked as such."""
    if isinstance(value, list):
        yield from (("value", v, _child(path, i)) for i, v in enumerate(value))
    elif isinstance(value, dict):
        class_name = value.get("class_name")
        if class_name == KERAS_TENSOR:  # a layer's input in a Keras 3 call node: its keras_history names it
            _need(value.get("config"), (dict,), _child(path, "config"), "an object")
            _reference(value["config"].get("keras_history"), _child(_child(path, "config"), "keras_history"))
            yield from (("value", v, _child(_child(path, "config"), k)) for k, v in value["config"].items() if k != "keras_history")
            yield from (("value", v, _child(path, k)) for k, v in value.items() if k not in ("class_name", "config"))
        elif class_name in MODEL_CLASSES:
            yield "layer", value, path
        elif isinstance(class_name, str):
            yield "object", value, path
        else:
            yield from (("value", v, _child(path, k)) for k, v in value.items())


def _any_object(value: Dict, path: Path) -> Iterator[Item]:
    """A serialized object other than a layer: its config is an object like a layer's (Keras 3
    writes a plain function as {"class_name": "function", "config": "<its name>"})."""
    config = value.get("config")
    if value["class_name"] != "function" and config is not None:
        _need(config, (dict,), _child(path, "config"), "an object")
    if isinstance(config, dict):
        yield "layer_config", config, _child(path, "config")
    yield from (("value", v, _child(path, k)) for k, v in value.items() if k != "config")


def _serialized(value: Any, path: Path) -> Iterator[Item]:
    """An initializer, regularizer, constraint or activation: null, a name, or an object."""
    if value is None or isinstance(value, str):
        return
    _need(value, (dict,), path, "null, a name or an object with class_name")
    _need(value.get("class_name"), (str,), _child(path, "class_name"), "a string")
    yield "object", value, path


def _dtype(value: Any, path: Path) -> Iterator[Item]:
    """null, a dtype name, or Keras 3's DTypePolicy object {"class_name", "config": {"name"}}."""
    if value is None or isinstance(value, str):
        return
    _need(value, (dict,), path, "a dtype name or a DTypePolicy object")
    _need(value.get("class_name"), (str,), _child(path, "class_name"), "a string")
    _need(value.get("config"), (dict,), _child(path, "config"), "an object")
    if "name" in value["config"]:
        _need(value["config"]["name"], (str,), _child(_child(path, "config"), "name"), "a string")
    yield "object", value, path


def _shape(value: Any, path: Path) -> Iterator[Item]:
    if value is None:
        return
    _need(value, (list,), path, "a list of dimensions")
    for i, dim in enumerate(value):
        if dim is not None:
            _need(dim, (int,), _child(path, i), "a dimension (an integer or null)")
            if dim < 0:
                raise _Bad(_child(path, i), "a dimension (an integer or null)", dim)
    yield from ()


def _reference(value: Any, path: Path) -> None:
    """[layer name, node index, tensor index(, kwargs)]: Keras 2 and TF.js's reference to a tensor."""
    _need(value, (list,), path, "a [layer name, node index, tensor index] list")
    if len(value) not in (3, 4):
        raise _Bad(path, "a [layer name, node index, tensor index] list", value)
    _need(value[0], (str,), _child(path, 0), "a layer name")
    _need(value[1], (int,), _child(path, 1), "a node index")
    _need(value[2], (int,), _child(path, 2), "a tensor index")
    if len(value) == 4 and value[3] is not None:
        _need(value[3], (dict,), _child(path, 3), "an object of call arguments")


def _reference_item(value: Any, path: Path) -> Iterator[Item]:
    _reference(value, path)
    if len(value) == 4 and value[3] is not None:
        yield "value", value[3], _child(path, 3)


def _node(value: Any, path: Path) -> Iterator[Item]:
    """A call of a layer: Keras 3's {"args": [...], "kwargs": {...}} or Keras 2's list of references."""
    if isinstance(value, dict):
        _need(value.get("args", []), (list,), _child(path, "args"), "a list")
        _need(value.get("kwargs") or {}, (dict,), _child(path, "kwargs"), "an object")
        yield from (("value", v, _child(path, k)) for k, v in value.items())
        return
    _need(value, (list,), path, "a call node (a list of references, or an object with args)")
    yield from (("reference", reference, _child(path, i)) for i, reference in enumerate(value))


def _io(value: Any, path: Path) -> Iterator[Item]:
    """A model's inputs or outputs: one [name, node, tensor] triple, or a list or object of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        _reference(value, path)
    elif isinstance(value, list):
        yield from (("io", v, _child(path, i)) for i, v in enumerate(value))
    elif isinstance(value, dict):
        yield from (("io", v, _child(path, k)) for k, v in value.items())
    else:
        raise _Bad(path, "a [layer name, node index, tensor index] list", value)


_HANDLERS: Dict[str, Handler] = {
    "layer": _object,
    "model_config": _model_config,
    "layer_config": _layer_config,
    "serialized": _serialized,
    "dtype": _dtype,
    "shape": _shape,
    "node": _node,
    "io": _io,
    "reference": _reference_item,
    "value": _value,
    "object": _any_object,
}


def check_model_config(model_config: Any, where: str) -> None:
    """Refuses a config whose structure is not a Keras model's, naming the first bad place in it."""
    pending: List[Item] = [("layer", model_config, _ROOT)]
    try:
        while pending:
            kind, value, path = pending.pop()
            pending.extend(reversed(list(_HANDLERS[kind](value, path))))
    except _Bad as bad:
        place = _spell(bad.path) or "the model config"
        shown = _type_name(bad.value) if isinstance(bad.value, (dict, list)) else repr(bad.value)[:60]
        raise ConversionError(
            f"{where}: {place} in the model config must be {bad.expected}, not {shown}; "
            "the model config is damaged or not a Keras model"
        ) from None
