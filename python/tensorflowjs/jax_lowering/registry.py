"""The lowering registry: one small handler per JAX primitive, keyed by the primitive's name.

A handler receives the lowering context, the jaxpr equation (for its params and avals) and
the TF tensors of its operands, and returns a tensor, or a list of them for primitives with
several results. Handler modules register themselves with `@lowering(...)` when imported.
"""

from typing import Callable, Dict

Handler = Callable[..., object]

REGISTRY: Dict[str, Handler] = {}


class Unsupported(Exception):
    """A primitive's parameters have no TF.js equivalent; the interpreter says where it was."""


def lowering(*names: str) -> Callable[[Handler], Handler]:
    """Registers the decorated function as the handler of the primitives `names`."""

    def register(handler: Handler) -> Handler:
        for name in names:
            REGISTRY[name] = handler
        return handler

    return register
