"""A frozen GraphDef as TF.js stores it: proto3 JSON topology plus Const data as weights.

TF.js looks up every Const node's value in the weights by node name, inside library
functions too, so function Consts get graph-wide unique names first.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from tensorflowjs import extras, tf_protos
from tensorflowjs.graph import tensors
from tensorflowjs.write_weights import Weight
from tensorflowjs.tensor_names import node_name, with_node

_INT32 = np.iinfo(np.int32)


def _function_consts_unique(graph_def: Any) -> None:
    """Renames Const nodes of library functions whose names clash with any other node."""
    taken = {node.name for node in graph_def.node}
    for function in graph_def.library.function:
        renames = {}
        for node in function.node_def:
            if node.op == "Const" and node.name in taken:
                renames[node.name] = f"{function.signature.name}/{node.name}"
            taken.add(renames.get(node.name, node.name))
        if not renames:
            continue
        for node in function.node_def:
            node.name = renames.get(node.name, node.name)
            for i, inp in enumerate(node.input):
                if node_name(inp) in renames:
                    node.input[i] = with_node(inp, renames[node_name(inp)])
        for key, value in list(function.ret.items()):
            if node_name(value) in renames:
                function.ret[key] = with_node(value, renames[node_name(value)])


def _narrowed(array: np.ndarray) -> np.ndarray:
    """A constant's value in a dtype TF.js has, element by element (so it applies to chunks too)."""
    if array.dtype == np.int64 or array.dtype == np.uint64:
        # TF.js has no int64; sentinels like INT64_MAX (slice to the end) keep their meaning.
        return np.clip(array, _INT32.min, _INT32.max).astype(np.int32)
    if array.dtype == np.float64 or array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype == np.complex128:
        return array.astype(np.complex64)
    return array


def _loader(tensor_proto: Any):
    return lambda: _narrowed(tensors.to_ndarray(tensor_proto))


def _const_nodes(graph_def: Any):
    for node in graph_def.node:
        if node.op == "Const":
            yield node
    for function in graph_def.library.function:
        for node in function.node_def:
            if node.op == "Const":
                yield node


# TF dtype names -> the manifest dtype their Const data is written as (strings are sized on load).
_MANIFEST_DTYPE = {
    "DT_FLOAT": "float32", "DT_DOUBLE": "float32", "DT_HALF": "float32", "DT_BFLOAT16": "float32",
    "DT_INT32": "int32", "DT_INT64": "int32", "DT_INT16": "int32", "DT_INT8": "int32", "DT_UINT8": "int32",
    "DT_UINT16": "int32", "DT_UINT32": "int32", "DT_UINT64": "int32", "DT_BOOL": "bool",
    "DT_COMPLEX64": "complex64", "DT_COMPLEX128": "complex64",
}


def _weight(node: Any) -> Weight:
    tensor = node.attr["value"].tensor
    dtype = _MANIFEST_DTYPE.get(tf_protos.data_type_name(tensor.dtype))
    shape = None if tensor.tensor_shape.unknown_rank else [d.size for d in tensor.tensor_shape.dim]
    stored = tensors.stored_tensor(tensor)
    # A constant kept in its checkpoint file is streamed from it to the shards, chunk by chunk.
    chunks = None if stored is None else lambda: (_narrowed(chunk) for chunk in stored.chunks())
    return Weight(node.name, _loader(tensor), dtype if shape is not None else None, shape if dtype else None, chunks)


def extract_weights(graph_def: Any) -> List[Weight]:
    """One streamed Weight per Const node; call before to_json strips the data."""
    _function_consts_unique(graph_def)
    return [_weight(node) for node in _const_nodes(graph_def)]


# Protobuf map fields of a GraphDef. MessageToDict emits them in hash order, which differs from
# process to process; sorted, the same model always gives the same model.json bytes.
_MAP_FIELDS = {"attr", "ret", "controlRet", "argAttr", "resourceArgUniqueId"}


def _ordered_maps(value: Any) -> Any:
    if isinstance(value, list):
        return [_ordered_maps(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: _ordered_maps(dict(sorted(item.items())) if key in _MAP_FIELDS and isinstance(item, dict) else item) for key, item in value.items()}


def to_json(graph_def: Any) -> Dict:
    """The GraphDef as proto3 JSON, with Const data removed (dtype and shape stay)."""
    json_format = extras.require("google.protobuf.json_format", "writing a graph model")
    for node in _const_nodes(graph_def):
        tensor = node.attr["value"].tensor
        dtype, shape = tensor.dtype, type(tensor.tensor_shape)()
        shape.CopyFrom(tensor.tensor_shape)
        tensor.Clear()
        tensor.dtype = dtype
        tensor.tensor_shape.CopyFrom(shape)
    return _ordered_maps(json_format.MessageToDict(graph_def))
