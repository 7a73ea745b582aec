"""The public converter's GraphDef helpers, and the adapter that runs this project's rewrites
(tensorflowjs/graph/rewrites/) on a caller's GraphDef.

Callers pass TensorFlow's own message classes; the rewrites work on the same schema loaded
without TensorFlow (tf_protos), so graphs cross by serialization and come back as the
caller's type.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Sequence

import numpy as np

from tensorflowjs import tf_protos
from tensorflowjs.graph import tensors
from tensorflowjs.graph.rewrites import apply_rewrites
from tensorflowjs.graph.fusion import CONV2D, DEPTHWISE, MATMUL
from tensorflowjs.graph.graph_view import GraphView
from tensorflowjs.tensor_names import control_input, is_control, output_index

# Op names of the fused ops TF.js runs (the depthwise one exists only in TF.js).
FUSED_DEPTHWISE_CONV2D = DEPTHWISE.fused_op
FUSED_MATMUL = MATMUL.fused_op
FUSED_CONV2D = CONV2D.fused_op


def run_rewrites(input_graph_def: Any, names: Sequence[str]) -> Any:
    """A copy of input_graph_def (of its own message class) with the named rewrites applied."""
    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    graph_def.ParseFromString(input_graph_def.SerializeToString())
    _read_constants_directly(GraphView(graph_def, keep=()))
    apply_rewrites(graph_def, names, keep=())
    result = type(input_graph_def)()
    result.ParseFromString(graph_def.SerializeToString())
    return result


def _read_constants_directly(view: GraphView) -> None:
    """Readers of Identity(Const) read the Const. Callers pass freshly frozen graphs, whose weights
    are read through such an Identity (the variable read); in the converter Grappler's pruning has
    removed them before the rewrites run. An Identity nothing reads may be a fetched output: it stays."""
    for node in view.live_nodes(["Identity"]):
        source = node.input[0] if len(node.input) == 1 else "^"
        producer = view.producer(source)
        if is_control(source) or output_index(source) != 0 or producer is None or producer.op != "Const" \
                or not view.consumers(node.name):
            continue
        for reader in list(view.consumers(node.name)):
            for index, tensor in enumerate(reader.input):
                if tensor == control_input(node.name):
                    view.set_input(reader, index, control_input(producer.name))
        view.bypass(node, source)


def node_from_map(node_map: Dict[str, Any], name: str) -> Any:
    """The node a tensor or node name ('^a', 'a:1', 'a') refers to; ValueError if absent."""
    stripped = node_name_from_input(name)
    if stripped not in node_map:
        raise ValueError(f"No node named '{name}' found in map.")
    return node_map[stripped]


def values_from_const(node_def: Any) -> np.ndarray:
    """A Const node's value as a numpy array; ValueError for any other op."""
    if node_def.op != "Const":
        raise ValueError(f"Node named '{node_def.name}' should be a Const op for values_from_const.")
    tensor = tf_protos.message_class("tensorflow.TensorProto")()
    tensor.ParseFromString(node_def.attr["value"].tensor.SerializeToString())
    return tensors.to_ndarray(tensor)


def scale_after_normalization(node: Any) -> bool:
    """Whether a batch norm scales by gamma: only the old BatchNormWithGlobalNormalization says."""
    if node.op == "BatchNormWithGlobalNormalization":
        return node.attr["scale_after_normalization"].b
    return True


def node_name_from_input(node_name: str) -> str:
    """'^a' and 'a:1' -> 'a'."""
    if is_control(node_name):
        node_name = node_name[1:]
    match = re.search(r"(.*):\d+$", node_name)
    return match.group(1) if match else node_name


def cleanup_graph_def(input_graph_def: Any, nodes_to_skip: Iterable[str], inputs_to_remove: Sequence[Any]) -> Any:
    """A new GraphDef without the nodes named in nodes_to_skip; inputs naming a node of
    inputs_to_remove are rewired to that node's first input."""
    skipped = set(nodes_to_skip)
    bypass = {node.name: node.input[0] for node in inputs_to_remove}
    result = type(input_graph_def)()
    for node in input_graph_def.node:
        if node.name in skipped:
            continue
        copy = result.node.add()
        copy.CopyFrom(node)
        for index, tensor in enumerate(copy.input):
            if tensor in bypass:
                copy.input[index] = bypass[tensor]
    result.library.CopyFrom(input_graph_def.library)
    result.versions.CopyFrom(input_graph_def.versions)
    return result


def rename_constants(node_list: Sequence[Any], prefix: str) -> List[Any]:
    """Copies of the nodes with every Const renamed to prefix/name, and inputs following."""
    constants = [node.name for node in node_list if node.op == "Const"]
    renamed = []
    for node in node_list:
        copy = type(node)()
        copy.CopyFrom(node)
        if node.op == "Const":
            copy.name = f"{prefix}/{node.name}"
        else:
            for index, tensor in enumerate(copy.input):
                if any(tensor.startswith(name) for name in constants):
                    copy.input[index] = f"{prefix}/{tensor}"
        renamed.append(copy)
    return renamed


def get_output_node_names(node_map: Dict[str, Any], target: str) -> List[str]:
    """Names of the nodes that read `target` (an exact input string)."""
    return [name for name, node in node_map.items() if target in node.input]
