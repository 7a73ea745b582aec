"""What tfjs-layers 4.22 can load: its layer classes and the options each understands.

`tf.loadLayersModel` builds every layer with the class registered under its name and hands
it the config with camelCased keys; the constructor reads the keys it knows and silently
drops the others. A Keras option TF.js drops is harmless when it only matters for training
or has the value that computes what TF.js computes; otherwise TF.js would load the model and
predict something else. `problems` names every such layer and option of a translated config,
from the catalog `tools/update_tfjs_layers_catalog.py` derives from the npm package.
"""

import json
import re
from importlib import resources
from typing import Any, Dict, Iterator, List

from tensorflowjs.keras.model_classes import MODEL_CLASSES, NESTED_LAYER_KEYS

Obj = Dict[str, Any]

CATALOG = json.loads(resources.files("tensorflowjs.keras").joinpath("tfjs_layers_catalog.json").read_text(encoding="utf-8"))
# Layer class -> the config keys (camelCase) its constructor chain reads.
LAYER_KEYS: Dict[str, frozenset] = {name: frozenset(keys) for name, keys in CATALOG["layers"].items()}
LAYER_CLASSES = frozenset(LAYER_KEYS)
# Layers tfjs-layers implements outside the @tensorflow/tfjs bundle (its nlp layers): a page can register them.
UNBUNDLED_LAYER_CLASSES = frozenset(CATALOG["unbundled_layers"])
# Activation class names tfjs-layers registers (`hardSigmoid`, `gelu_new`).
ACTIVATIONS = frozenset(CATALOG["activations"])

# Options TF.js ignores that never change a prediction: training-time settings.
_TRAINING_ONLY = re.compile(r".*_(initializer|regularizer|constraint)$|^(seed|use_cudnn|synchronized|renorm_momentum|renorm_clipping|lora_alpha|autocast)$")

# Options TF.js ignores, and the value at which that is what it computes anyway.
NEUTRAL_VALUES: Dict[str, Any] = {
    "groups": 1,
    "optional": False,
    "data_format": "channels_last",  # tfjs-layers' only layout where it reads no data_format
    "keepdims": False,
    "renorm": False,
    "lora_rank": None,
    "quantization_config": None,
    "zero_output_for_mask": False,
    "time_major": False,
    "ragged": False,
    "negative_slope": 0.0,
    "threshold": 0.0,
    "rms_scaling": False,
    "output_padding": None,
    "antialias": False,
    "pad_to_aspect_ratio": False,
    "fill_mode": "constant",  # Resizing's padding, used only with pad_to_aspect_ratio
    "fill_value": 0.0,
    "virtual_batch_size": None,
    "adjustment": None,
}

# Where a config keeps the layers inside a layer: a model's members, a wrapper's layer, an RNN's cells.
LAYER_KEYS_IN_CONFIG = ("layers",) + NESTED_LAYER_KEYS


def camel_case(key: str) -> str:
    """The key as tfjs-layers reads it (its toCamelCase: `_x` -> `X`)."""
    return re.sub(r"_+(\w|$)", lambda m: m.group(1).upper(), key) if "_" in key and len(key) > 1 else key


def knows_activation(name: str) -> bool:
    """TF.js camelCases every string of a config, activation names too: `hard_sigmoid` is `hardSigmoid`."""
    return camel_case(name) in ACTIVATIONS


def layers_in(layer: Obj) -> Iterator[Obj]:
    """Every layer object inside a layer (models, wrappers, RNN cells), depth first."""
    config = layer.get("config")
    if not isinstance(config, dict):
        return
    for key in LAYER_KEYS_IN_CONFIG:
        value = config.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("class_name"), str):
                yield item
                yield from layers_in(item)


# Options that change nothing while no mask reaches the layer: what a masked step outputs.
MASK_ONLY = ("zero_output_for_mask",)
# Layers that make a mask.
MASK_SOURCES = {"Embedding": "mask_zero", "Masking": None}


def makes_masks(model: Obj) -> bool:
    """Whether any layer of the model makes a mask (so masked steps exist)."""
    for layer in layers_in(model):
        if layer.get("class_name") in MASK_SOURCES:
            flag = MASK_SOURCES[layer["class_name"]]
            if flag is None or (layer.get("config") or {}).get(flag):
                return True
    return False


def option_problems(layer: Obj, masked: bool = True) -> List[str]:
    """Options of a layer TF.js knows whose meaning TF.js would drop (`masked`: masks exist in the model)."""
    class_name, config = layer.get("class_name"), layer.get("config") or {}
    if class_name in MODEL_CLASSES or class_name not in LAYER_KEYS:
        return []
    problems = []
    for key, value in config.items():
        if camel_case(key) in LAYER_KEYS[class_name] or _TRAINING_ONLY.match(key):
            continue
        if (key in NEUTRAL_VALUES and value == NEUTRAL_VALUES[key]) or (key in MASK_ONLY and not masked):
            continue
        problems.append(f"layer {config.get('name', '?')!r} ({class_name}) has {key}={json.dumps(value)}, which tfjs-layers 4.22 does not implement")
    return problems
