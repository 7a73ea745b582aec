"""Freezing a TF function with TensorFlow: variables become constants, function calls are
inlined, v2 control flow lowered (saved_model_graph, tf1_saved_model and frozen_graph freeze
without TensorFlow).

TF.js runs v1 control flow (Switch/Merge/Enter/Exit) best, so While/If are lowered unless
the user asks for control flow v2, which keeps them as functions in the graph's library.
"""

from __future__ import annotations

from typing import Any

from tensorflowjs import extras
from tensorflowjs.errors import ConversionError


def _frozen_graph_def(function: Any, control_flow_v2: bool) -> Any:
    freezing = extras.require("tensorflow.python.framework.convert_to_constants", "freezing a TensorFlow function")

    lower = not control_flow_v2
    try:
        # The GraphDef alone: convert_variables_to_constants_v2 would also build a new
        # function from it (re-importing the whole graph), which costs more than the freezing.
        data = freezing._FunctionConverterDataInEager(func=function, lower_control_flow=lower, aggressive_inlining=True)
        graph_def, _ = freezing._replace_variables_by_constants(converter_data=data)
        return graph_def
    except AttributeError:
        frozen = freezing.convert_variables_to_constants_v2(function, lower_control_flow=lower, aggressive_inlining=True)
        return frozen.graph.as_graph_def()


def freeze_function(function: Any, control_flow_v2: bool = False) -> Any:
    """A frozen GraphDef of a concrete function; its placeholders and outputs keep their names."""
    try:
        return _frozen_graph_def(function, control_flow_v2)
    except (ValueError, TypeError) as e:
        raise ConversionError(f"cannot freeze the model's variables into constants: {e}") from None
