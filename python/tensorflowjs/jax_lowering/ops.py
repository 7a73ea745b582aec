"""The op namespace the handlers emit through: `ops.reshape(...)`, `ops.nn.conv2d(...)`.

It stands for the backend of the lowering being run, which is the graph builder when
converting, and can be TensorFlow itself: both offer the same names, so the tests lower a model
with either and compare the results (same numbers, an op set no larger).
"""

import contextlib
from typing import Any, Iterator, List

_BACKENDS: List[Any] = []

# For annotations: a tensor of whichever backend is in use.
Tensor = Any


@contextlib.contextmanager
def using(backend: Any) -> Iterator[None]:
    """Makes `backend` (tensorflowjs.jax_lowering.graph_builder, or tensorflow) the namespace."""
    _BACKENDS.append(backend)
    try:
        yield
    finally:
        _BACKENDS.pop()


def __getattr__(name: str) -> Any:
    if not _BACKENDS:
        raise AttributeError(f"ops.{name} outside a lowering (use ops.using(backend))")
    return getattr(_BACKENDS[-1], name)
