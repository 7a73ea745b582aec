"""Weights that cannot belong to the config are refused before anything is written.

TF.js matches weights to layers by name and shape when it loads a model; a file whose weights
do not fit its config (a missing group, a kernel of the wrong shape, an extra variable) would
convert into a model that fails to load. For layer classes whose variables are known
(weight_names.VARIABLES), every expected weight must be there with a shape the config allows.
"""

from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.model_classes import MODEL_CLASSES
from tensorflowjs.keras.weight_names import CELLS, VARIABLES
from tensorflowjs.write_weights import Weight

Shapes = Dict[str, Tuple[int, ...]]


def layers_of(config: Dict) -> Iterator[Tuple[str, str, Dict]]:
    """(name, class, config) of every layer in a model config, nested models' layers included."""
    inner = config.get("config") if isinstance(config, dict) else None
    for entry in (inner.get("layers") if isinstance(inner, dict) else None) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            continue
        if entry.get("class_name") in MODEL_CLASSES:
            yield from layers_of(entry)
        else:
            yield entry["config"].get("name"), entry.get("class_name"), entry["config"]


def _kernel_bias(axis: int, key: str) -> Callable[[Dict, Shapes], Optional[str]]:
    """kernel's dimension `axis` and bias's only dimension are the config's `key` (units, filters)."""

    def check(config: Dict, shapes: Shapes) -> Optional[str]:
        size = config.get(key)
        kernel, bias = shapes.get("kernel"), shapes.get("bias")
        if not isinstance(size, int) or kernel is None:
            return None
        if len(kernel) < 2 or kernel[axis] != size:
            return f"kernel has shape {list(kernel)} but {key} is {size}"
        if bias is not None and bias != (size,):
            return f"bias has shape {list(bias)} but {key} is {size}"
        return None

    return check


def _embeddings(config: Dict, shapes: Shapes) -> Optional[str]:
    expected = (config.get("input_dim"), config.get("output_dim"))
    actual = shapes.get("embeddings")
    return f"embeddings have shape {list(actual)} but input_dim, output_dim are {list(expected)}" if actual not in (None, expected) else None


def _same_shapes(config: Dict, shapes: Shapes) -> Optional[str]:
    distinct = set(shapes.values())
    return f"its weights have different shapes {sorted(list(s) for s in distinct)}" if len(distinct) > 1 else None


_SHAPE_RULES: Dict[str, Callable[[Dict, Shapes], Optional[str]]] = {
    "Dense": _kernel_bias(-1, "units"),
    "Conv1D": _kernel_bias(-1, "filters"),
    "Conv2D": _kernel_bias(-1, "filters"),
    "Conv3D": _kernel_bias(-1, "filters"),
    "Conv1DTranspose": _kernel_bias(-2, "filters"),
    "Conv2DTranspose": _kernel_bias(-2, "filters"),
    "Conv3DTranspose": _kernel_bias(-2, "filters"),
    "Embedding": _embeddings,
    "BatchNormalization": _same_shapes,
    "LayerNormalization": _same_shapes,
}


# Layers outside Keras's own (keras.applications' ConvNeXt LayerScale) whose .h5 weight names are
# whatever add_weight got ("variable"): only their count is checked.
_NAMED_BY_THEIR_AUTHORS = frozenset({"LayerScale"})


def check_weights(path: str, model_config: Dict, weights: Sequence[Weight]) -> None:
    """Refuses weights that a layer of known class cannot have (missing, extra, wrong shape)."""
    by_layer: Dict[str, Shapes] = {}
    for weight in weights:
        layer, _, variable = weight.name.rpartition("/")
        by_layer.setdefault(layer, {})[variable] = tuple(weight.shape)
    for name, class_name, config in layers_of(model_config):
        if class_name not in VARIABLES or class_name in CELLS.values():
            continue
        expected: List[str] = VARIABLES[class_name](config)
        stored = by_layer.get(name, {})
        if class_name in _NAMED_BY_THEIR_AUTHORS and len(stored) == len(expected):
            continue
        if sorted(stored) != sorted(expected):
            have = ", ".join(sorted(stored)) or "none"
            raise ConversionError(f"{path}: layer {name!r} ({class_name}) needs the weights {', '.join(expected)} but the file has {have}; the weights do not match the model config")
        problem = _SHAPE_RULES.get(class_name, lambda c, s: None)(config, stored)
        if problem:
            raise ConversionError(f"{path}: layer {name!r} ({class_name}): {problem}; the weights do not match the model config")
