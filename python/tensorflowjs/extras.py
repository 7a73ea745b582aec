"""Packages a conversion may need beyond the core install, imported through one door.

`pip install tensorflowjs` brings only what the TensorFlow-free paths use (numpy, h5py,
protobuf, tqdm); TensorFlow, JAX and the wizard's prompts are extras. Every import of such a package
goes through `require`, so a path that needs a missing one stops with one line naming the pip
command that provides it, never a "No module named ..." traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tensorflowjs.errors import ConversionError

# Top-level package -> what provides it.
INSTALL = {
    "tensorflow": "pip install tensorflowjs[tensorflow]",
    "tf_keras": "pip install tensorflowjs[tensorflow]",
    "keras": "pip install tensorflowjs[tensorflow]",
    "jax": "pip install tensorflowjs[jax]",
    "flax": "pip install tensorflowjs[jax]",
    "questionary": "pip install tensorflowjs[wizard]",
    "h5py": "pip install h5py (a dependency of tensorflowjs; reinstall it without --no-deps)",
    "google": "pip install protobuf (a dependency of tensorflowjs; reinstall it without --no-deps)",
}


def install_hint(module: str) -> str:
    """The pip command that provides `module` ('tensorflow.core.framework' -> the [tensorflow] extra)."""
    return INSTALL[module.split(".")[0]]


def require(module: str, purpose: str = "this conversion") -> ModuleType:
    """`module` imported, or a ConversionError: '<purpose> needs <package>: pip install ...'."""
    package = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise ConversionError(f"{purpose} needs {package}, which is not installed: {install_hint(module)}") from None
        raise ConversionError(f"{purpose} needs {package}, which cannot import {e.name} (a broken install?): {install_hint(module)}") from None
    except ImportError as e:
        first_line = (str(e).splitlines() or [type(e).__name__])[0]
        raise ConversionError(f"{purpose} needs {package}, which fails to import ({first_line}): {install_hint(module)}") from None
