"""Freezing: variables become constants, function calls are inlined, v2 control flow lowered.

TF.js runs v1 control flow (Switch/Merge/Enter/Exit) best, so While/If are lowered unless
the user asks for control flow v2, which keeps them as functions in the graph's library.
"""

from __future__ import annotations

from typing import Any

from tensorflowjs.errors import ConversionError


def freeze_function(function: Any, control_flow_v2: bool = False) -> Any:
    """A frozen GraphDef of a concrete function; its placeholders and outputs keep their names."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    try:
        frozen = convert_variables_to_constants_v2(function, lower_control_flow=not control_flow_v2, aggressive_inlining=True)
    except (ValueError, TypeError) as e:
        raise ConversionError(f"cannot freeze the model's variables into constants: {e}") from None
    return frozen.graph.as_graph_def()

