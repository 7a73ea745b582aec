"""Resources (hash tables) of a model: the initializer graph TF.js runs before the model.

A frozen signature still takes each table as a DT_RESOURCE placeholder. TF.js feeds it from
the model's `modelInitializer` graph, which creates and fills the table; the placeholder's
signature entry and the initializer's output share a `resourceId`.
"""

from __future__ import annotations

from typing import Any, List, Optional

from tensorflowjs.errors import ConversionError


def resource_placeholders(graph_def: Any) -> List[Any]:
    from tensorflow.core.framework import types_pb2

    return [n for n in graph_def.node if n.op == "Placeholder" and n.attr["dtype"].type == types_pb2.DT_RESOURCE]


def initializer_for(function: Any, graph_def: Any, signature: Any, loaded: Any, source_path: str) -> Optional[Any]:
    """The pipeline.Initializer for the function's resources, or None when it has none."""
    placeholders = resource_placeholders(graph_def)
    if not placeholders:
        return None
    raise ConversionError(f"{source_path}: resources other than hash tables are not supported ({', '.join(p.name for p in placeholders)})")
