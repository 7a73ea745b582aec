"""Which serialized Keras objects are models, and when a nested model has calls of its own.

Every reader, checker and rule of a Keras config asks these questions; they are answered here
once. A functional model (Keras 2 writes `Model`, Keras 3 `Functional`) records a graph of
layer calls (`inbound_nodes`, `input_layers`, `output_layers`); a Sequential only lists its
layers in order.
"""

from typing import Any, Dict, List

Obj = Dict[str, Any]

FUNCTIONAL_CLASSES = ("Functional", "Model")
MODEL_CLASSES = ("Sequential",) + FUNCTIONAL_CLASSES

# Keys of a layer config that hold other layer configs (wrappers and recurrent layers).
NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell", "cells")


def model_layers(model: Obj) -> List[Obj]:
    """The layer objects a model lists (an old Sequential's config is the list itself)."""
    inner = model.get("config")
    layers = inner.get("layers", []) if isinstance(inner, dict) else inner
    return [layer for layer in layers or [] if isinstance(layer, dict)]


def has_own_input(layer: Obj) -> bool:
    """Whether a nested model was built at its construction, on an input of its own.

    Keras 2 and TF.js count that construction as the nested model's node 0; Keras 3 does not,
    so references to the nested model's calls are numbered differently.
    """
    if layer.get("class_name") in FUNCTIONAL_CLASSES:
        return True
    if layer.get("class_name") != "Sequential":
        return False
    first = next(iter(model_layers(layer)), {})
    config = first.get("config")
    shaped = isinstance(config, dict) and ("batch_input_shape" in config or "batch_shape" in config)
    return first.get("class_name") == "InputLayer" or shaped
