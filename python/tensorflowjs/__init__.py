"""TensorFlow.js model converter: Keras, TensorFlow and JAX models to TF.js web formats.

Submodules are imported on first use, so `import tensorflowjs` stays cheap and never
imports TensorFlow by itself.
"""

import importlib
from typing import Any

from tensorflowjs.version import version as __version__

_SUBMODULES = ("converters", "quantization", "read_weights", "resource_loader", "write_weights", "version")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"tensorflowjs.{name}")
    raise AttributeError(f"module 'tensorflowjs' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(list(globals()) + list(_SUBMODULES))
