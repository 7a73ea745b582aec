"""Fail a conversion early when the graph uses ops TF.js cannot execute.

The op set is supported_ops.json, derived by tools/update_supported_ops.py from the
@tensorflow/tfjs-converter npm package the end-to-end tests pin; nothing here is typed by hand.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Dict, FrozenSet, Tuple

from tensorflowjs.errors import ConversionError

# Ops Grappler's debug stripper removes, so --strip_debug_ops is the fix to suggest for them.
DEBUG_OPS = frozenset({"Assert", "CheckNumerics", "Print", "PrintV2"})

_SUPPORTED_OPS_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "supported_ops.json")


@functools.lru_cache(maxsize=None)
def _document() -> Dict[str, Any]:
    with open(_SUPPORTED_OPS_JSON, encoding="utf-8") as f:
        return json.load(f)


def supported_ops() -> FrozenSet[str]:
    """Op types TF.js's graph executor runs."""
    return frozenset(_document()["ops"])


def tfjs_converter_version() -> str:
    """The @tensorflow/tfjs-converter version the op set was derived from."""
    return _document()["tfjs_converter_version"]


def unsupported_ops(graph_def: Any) -> Dict[str, Tuple[int, str]]:
    """Unsupported op type -> (node count, one node name), graph and library functions together."""
    supported = supported_ops()
    found: Dict[str, Tuple[int, str]] = {}

    def visit(nodes, where: str) -> None:
        for node in nodes:
            if node.op not in supported:
                count, example = found.get(node.op, (0, where + node.name))
                found[node.op] = (count + 1, example)

    visit(graph_def.node, "")
    for function in graph_def.library.function:
        visit(function.node_def, f"{function.signature.name}/")
    return found


class UnsupportedOpsError(ConversionError):
    """The graph has ops TF.js cannot execute (raised before anything is written)."""


def check_supported_ops(graph_def: Any, source_path: str) -> None:
    """Raise UnsupportedOpsError listing every op of graph_def TF.js cannot execute."""
    found = unsupported_ops(graph_def)
    if not found:
        return
    listed = ", ".join(f"{op} (x{count}, e.g. node '{example}')" for op, (count, example) in sorted(found.items()))
    debug = sorted(DEBUG_OPS & set(found))
    hint = f"pass --strip_debug_ops to remove {', '.join(debug)}; " if debug else ""
    raise UnsupportedOpsError(
        f"{source_path}: {len(found)} op type(s) that TensorFlow.js {tfjs_converter_version()} cannot execute: "
        f"{listed}; {hint}remove them from the model, or pass --skip_op_check to convert anyway"
    )
