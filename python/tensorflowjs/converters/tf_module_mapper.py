"""Public API: the Keras module path of a class name ('Dense' -> 'keras.layers').

Keras 3 serializes every object with a `module` key; this answers it for a TF.js class name
from Keras's public namespaces. Keras is imported on first lookup only.
"""

import inspect
from typing import Dict

TFCLASS_MODULE_MAP: Dict[str, str] = {}

# Keras's public namespaces, in the order a class name is claimed (the first wins).
_NAMESPACES = ("layers", "models", "initializers", "regularizers", "constraints", "activations", "losses", "metrics", "optimizers")


def build_map() -> Dict[str, str]:
    """Fills TFCLASS_MODULE_MAP from the installed Keras and returns it."""
    import keras

    for namespace in _NAMESPACES:
        module = getattr(keras, namespace, None)
        if module is None:
            continue
        for name, obj in inspect.getmembers(module, inspect.isclass):
            TFCLASS_MODULE_MAP.setdefault(name, f"keras.{namespace}")
    return TFCLASS_MODULE_MAP


def get_module_path(key: str) -> str:
    """'keras.layers' for 'Dense'; KeyError for a class Keras does not export."""
    if not TFCLASS_MODULE_MAP:
        build_map()
    if key not in TFCLASS_MODULE_MAP:
        raise KeyError(f"Cannot find the module path for {key} class.")
    return TFCLASS_MODULE_MAP[key]
