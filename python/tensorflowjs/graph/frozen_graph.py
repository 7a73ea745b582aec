"""A frozen GraphDef file as input: reading it, naming its inputs and outputs, freezing it.

Inputs are its Placeholder nodes; outputs are the nodes the user names, checked against the
graph with close names suggested for typos. Most frozen graphs are taken without TensorFlow:
parsed with the shipped schema, pruned to the outputs by the inliner (identities resolved,
control dependencies dropped, defaults filled from the shipped op registry), then folded and
rewritten like a SavedModel frozen without it. What that cannot reproduce (v1 control flow,
debug ops, variables, ops TensorFlow does not register) raises NeedsTensorFlow.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Callable, List, Optional, Tuple

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import op_registry
from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow
from tensorflowjs.graph.op_check import DEBUG_OPS
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor

# TF1 control flow (frames and conditionals) and variables: Grappler's folding of these is not reproduced.
_NEEDS_TENSORFLOW = frozenset({"Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond", "RefSwitch", "RefMerge", "RefEnter",
                               "RefExit", "RefNextIteration", "VariableV2", "Variable", "VarHandleOp"}) | DEBUG_OPS


def read_graph_def(path: str, message_class: Optional[Callable[[], Any]] = None) -> Any:
    """The GraphDef in a binary .pb file (tf_protos' class unless another is given); anything else
    is a ConversionError."""
    DecodeError = extras.require("google.protobuf.message", "reading a GraphDef").DecodeError

    if not os.path.isfile(path):
        raise ConversionError(f"{path} is not a file; give a frozen GraphDef (.pb) file")
    graph_def = (message_class or tf_protos.message_class("tensorflow.GraphDef"))()
    try:
        with open(path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except (DecodeError, RuntimeWarning, ValueError):
        graph_def = None
    if graph_def is None or not graph_def.node or any(not node.op for node in graph_def.node):
        raise ConversionError(f"{path} is not a frozen TensorFlow GraphDef (binary .pb); for a SavedModel give its directory with --input_format=tf_saved_model")
    return graph_def


def parse_output_names(output_node_names: Optional[str], path: str) -> List[str]:
    names = [n.strip() for n in (output_node_names or "").split(",") if n.strip()]
    if not names:
        raise ConversionError(f"--output_node_names is required for the frozen model {path}: give the comma-separated names of its output nodes")
    return names


def _tensor_of(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def _output_key(name: str) -> str:
    return name.split(":")[0] if name.endswith(":0") or ":" not in name else name


def check_output_names(graph_def: Any, output_names: List[str], path: str) -> None:
    """Every named output is a node of the graph; unknown names get suggestions."""
    nodes = {node.name for node in graph_def.node}
    for name in output_names:
        if name.split(":")[0] not in nodes:
            close = difflib.get_close_matches(name.split(":")[0], list(nodes), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; check --output_node_names"
            raise ConversionError(f"output node {name!r} is not in the graph of {path}{hint}")


def signature_of(graph_def: Any, output_names: List[str], path: str) -> GraphSignature:
    """Placeholders as inputs and the named nodes as outputs, typed by TensorFlow (its path)."""
    tf = extras.require("tensorflow", f"converting {path} with TensorFlow")

    check_output_names(graph_def, output_names, path)
    inputs = []
    for node in graph_def.node:
        if node.op == "Placeholder":
            dtype = tf.as_dtype(node.attr["dtype"].type)
            shape = tf.TensorShape(node.attr["shape"].shape) if "shape" in node.attr else tf.TensorShape(None)
            inputs.append(SignatureTensor(node.name, _tensor_of(node.name), dtype, shape))
    graph = _output_specs(tf, graph_def, output_names)
    outputs = [SignatureTensor(_output_key(name), _tensor_of(name), dtype, shape) for name, (dtype, shape) in zip(output_names, graph)]
    return GraphSignature(inputs, outputs)


def _output_specs(tf: Any, graph_def: Any, output_names: List[str]):
    """(dtype, shape) of each output tensor, found by importing the graph."""
    with tf.Graph().as_default() as graph:
        try:
            tf.compat.v1.import_graph_def(graph_def, name="")
        except (ValueError, tf.errors.OpError) as e:
            raise ConversionError(f"TensorFlow cannot import the graph: {str(e).splitlines()[0]}") from None
        try:
            tensors = [graph.get_tensor_by_name(_tensor_of(n)) for n in output_names]
        except (KeyError, ValueError) as e:
            raise ConversionError(f"--output_node_names: {e}") from None
        return [(t.dtype, t.shape) for t in tensors]


def _refuse_what_needs_tensorflow(graph_def: Any, output_names: List[str]) -> None:
    """NeedsTensorFlow naming the first node the outputs depend on (data or control) that only
    TensorFlow's path converts as it should."""
    nodes = {node.name: node for node in graph_def.node}
    pending, seen = [name.split(":")[0] for name in output_names], set()
    while pending:
        name = pending.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        node = nodes[name]
        if node.op in _NEEDS_TENSORFLOW:
            raise NeedsTensorFlow(f"the graph's {node.op} node {node.name!r} is converted only by TensorFlow")
        pending.extend(t.lstrip("^").split(":")[0] for t in node.input)


def _output_dtype(node: Any, index: int) -> int:
    """The DataType of output `index` of an emitted node, from its OpDef and attributes."""
    op_def = op_registry.op_defs().get(node.op)
    position = 0
    for arg in op_def.output_arg if op_def is not None else ():
        count = node.attr[arg.number_attr].i if arg.number_attr else len(node.attr[arg.type_list_attr].list.type) if arg.type_list_attr else 1
        if index < position + count:
            if arg.type_list_attr:
                return node.attr[arg.type_list_attr].list.type[index - position]
            return arg.type or node.attr[arg.type_attr].type
        position += count
    raise NeedsTensorFlow(f"cannot tell the dtype of output {index} of {node.op} node {node.name!r}")


def _shape_of(node: Any, index: int) -> Any:
    """The shape TensorFlow recorded for an output (`_output_shapes`), else unknown."""
    shapes = node.attr["_output_shapes"].list.shape if "_output_shapes" in node.attr else []
    return shapes[index] if index < len(shapes) else None


def freeze_without_tensorflow(graph_def: Any, output_names: List[str], path: str) -> Tuple[Any, GraphSignature]:
    """The graph pruned to its Placeholders and the named outputs, ready for the TF-free
    optimisation, and its signature; NeedsTensorFlow when only TensorFlow converts it right."""
    check_output_names(graph_def, output_names, path)
    _refuse_what_needs_tensorflow(graph_def, output_names)
    originals = {node.name: node for node in graph_def.node}
    placeholders = [node for node in graph_def.node if node.op == "Placeholder"]
    frozen = tf_protos.message_class("tensorflow.GraphDef")()
    frozen.versions.CopyFrom(graph_def.versions)
    inliner = Inliner(frozen, graph_def.library, op_registry.op_defs())
    results = inliner.inline_graph(list(graph_def.node), [p.name for p in placeholders] + [_tensor_of(n) for n in output_names], {})
    emitted = {node.name: node for node in frozen.node}
    inputs = [SignatureTensor(p.name, _tensor_of(p.name), p.attr["dtype"].type, p.attr["shape"].shape if "shape" in p.attr else None)
              for p in placeholders]
    outputs = []
    for name, value in zip(output_names, results[len(placeholders):]):
        if not isinstance(value, str):
            raise NeedsTensorFlow(f"output {name!r} is a variable")
        node_name, _, index = value.partition(":")
        dtype = _output_dtype(emitted[node_name], int(index or 0))
        wanted = _output_key(name)
        if value != wanted and (":" in wanted or wanted in emitted):
            raise NeedsTensorFlow(f"output {name!r} is another output's alias")
        if value != wanted:  # an Identity the inliner resolved away: the user's name stays
            alias = frozen.node.add(name=wanted, op="Identity", input=[value])
            alias.attr["T"].type = dtype
            emitted[wanted] = alias
        original = originals[name.split(":")[0]]
        outputs.append(SignatureTensor(wanted, _tensor_of(name), dtype, _shape_of(original, int(_tensor_of(name).split(":")[1]))))
    return frozen, GraphSignature(inputs, outputs)
