"""TensorFlow's op definitions without TensorFlow, for graphs that do not carry their own.

A SavedModel lists the OpDefs it uses (stripped_op_list); a frozen GraphDef does not. The
registry of the locked TensorFlow is shipped as tf_op_defs.binpb (tools/update_op_defs.py), so
such a graph's output counts, dtypes and default attributes are known without importing it.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Dict

from tensorflowjs import tf_protos

OP_DEFS_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tf_op_defs.binpb")


@functools.lru_cache(maxsize=None)
def op_defs() -> Dict[str, Any]:
    """Op name -> OpDef (tf_protos' class), for every op TensorFlow registers."""
    op_list = tf_protos.message_class("tensorflow.OpList")()
    with open(OP_DEFS_PATH, "rb") as f:
        op_list.ParseFromString(f.read())
    return {op.name: op for op in op_list.op}
