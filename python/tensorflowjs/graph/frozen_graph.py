"""A frozen GraphDef file as input: reading it, naming its inputs and outputs, freezing it.

Inputs are its Placeholder nodes; outputs are the nodes the user names, checked against the
graph with close names suggested for typos. Most frozen graphs are taken without TensorFlow:
parsed with the shipped schema, pruned to the outputs by the inliner (identities resolved,
control dependencies dropped, defaults filled from the shipped op registry), then folded and
rewritten like a SavedModel frozen without it. v1 control flow (tf.compat.v1 loops and conds)
is kept as it is, as the lowering of a TF2 SavedModel's loops makes it (the inliner keeps the
NextIteration back edges and what places constants in frames); functional control flow (If,
While and their stateless forms, with a function library, as convert_variables_to_constants_v2
writes with lower_control_flow=False) is lowered to those frames by lower_control_flow, as for
a SavedModel. What that cannot reproduce
(reference-variable control flow, debug ops, variables, ops TensorFlow does not register)
raises NeedsTensorFlow.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import lower_control_flow, op_registry
from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow
from tensorflowjs.graph.op_check import DEBUG_OPS
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor
from tensorflowjs.tensor_names import full_name, is_control, node_name, output_index, short_name

# TF1 control flow on reference variables and debug ops: Grappler's handling of these is not
# reproduced (control flow on values is: see the module's docstring).
REF_CONTROL_FLOW_AND_DEBUG_OPS = frozenset({"RefSwitch", "RefMerge", "RefEnter", "RefExit", "RefNextIteration"}) | DEBUG_OPS
# Variables in a graph given as frozen: not frozen after all.
_NEEDS_TENSORFLOW = REF_CONTROL_FLOW_AND_DEBUG_OPS | {"VariableV2", "Variable", "VarHandleOp"}


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


def check_output_names(graph_def: Any, output_names: List[str], path: str) -> None:
    """Every named output is a node of the graph ('^a' names no output); unknown names get suggestions."""
    nodes = {node.name for node in graph_def.node}
    for name in output_names:
        if is_control(name) or node_name(name) not in nodes:
            close = difflib.get_close_matches(node_name(name), list(nodes), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; check --output_node_names"
            raise ConversionError(f"output node {name!r} is not in the graph of {path}{hint}")


def signature_of(graph_def: Any, output_names: List[str], path: str) -> GraphSignature:
    """Placeholders as inputs and the named nodes as outputs, typed by TensorFlow (its path)."""
    tf = extras.require("tensorflow", f"converting {path} with TensorFlow")

    check_output_names(graph_def, output_names, path)
    inputs = []
    for node in graph_def.node:
        if node.op == "Placeholder":
            try:
                dtype = tf.as_dtype(node.attr["dtype"].type)
                shape = tf.TensorShape(node.attr["shape"].shape) if "shape" in node.attr else tf.TensorShape(None)
            except (TypeError, ValueError) as e:
                raise ConversionError(f"{path}: Placeholder {node.name!r} has an invalid dtype or shape ({e}); the graph is damaged") from None
            inputs.append(SignatureTensor(node.name, full_name(node.name), dtype, shape))
    graph = _output_specs(tf, graph_def, output_names)
    outputs = [SignatureTensor(short_name(name), full_name(name), dtype, shape) for name, (dtype, shape) in zip(output_names, graph)]
    return GraphSignature(inputs, outputs)


def _output_specs(tf: Any, graph_def: Any, output_names: List[str]):
    """(dtype, shape) of each output tensor, found by importing the graph."""
    with tf.Graph().as_default() as graph:
        try:
            tf.compat.v1.import_graph_def(graph_def, name="")
        except (ValueError, tf.errors.OpError) as e:
            raise ConversionError(f"TensorFlow cannot import the graph: {str(e).splitlines()[0]}") from None
        try:
            tensors = [graph.get_tensor_by_name(full_name(n)) for n in output_names]
        except (KeyError, ValueError) as e:
            raise ConversionError(f"--output_node_names: {e}") from None
        return [(t.dtype, t.shape) for t in tensors]


def reachable(graph_def: Any, output_names: List[str]) -> List[Any]:
    """The nodes the outputs depend on, through data or control inputs."""
    nodes = {node.name: node for node in graph_def.node}
    pending, seen, found = [node_name(name) for name in output_names], set(), []
    while pending:
        name = pending.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        found.append(nodes[name])
        pending.extend(node_name(t) for t in nodes[name].input)
    return found


def refuse_what_needs_tensorflow(graph_def: Any, output_names: List[str], ops: frozenset = _NEEDS_TENSORFLOW) -> None:
    """NeedsTensorFlow naming a node the outputs depend on whose op is one of `ops`: only
    TensorFlow's path converts it as it should."""
    for node in reachable(graph_def, output_names):
        if node.op in ops:
            raise NeedsTensorFlow(f"the graph's {node.op} node {node.name!r} is converted only by TensorFlow")


def copy_verbatim(graph_def: Any, node: Any) -> str:
    """A node copied as it is (a table the model and its initializer share by name), without
    TensorFlow's private attributes; returns its name."""
    copy = graph_def.node.add(name=node.name, op=node.op)
    for key, value in node.attr.items():
        if not key.startswith("_"):
            copy.attr[key].CopyFrom(value)
    return copy.name


def _output_dtype(node: Any, index: int, op_defs: Dict[str, Any]) -> int:
    """The DataType of output `index` of an emitted node, from its OpDef and attributes."""
    op_def = op_defs.get(node.op)
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


def extract(graph_def: Any, op_defs: Dict[str, Any], tensors: List[str], bound: Optional[Dict[str, Any]] = None,
            verbatim: Sequence[Any] = ()) -> Tuple[Any, List[Any]]:
    """A new GraphDef holding what `tensors` ('node', 'node:1') need of graph_def, identities
    resolved and control dependencies dropped, and those tensors in it (or inline.Variables).
    `bound`: nodes replaced by a value (inline.Variable); `verbatim`: nodes copied as they are."""
    frozen = tf_protos.message_class("tensorflow.GraphDef")()
    frozen.versions.CopyFrom(graph_def.versions)
    bound = {**(bound or {}), **{node.name: copy_verbatim(frozen, node) for node in verbatim}}
    inliner = Inliner(frozen, graph_def.library, op_defs, control_flow=lower_control_flow.HANDLERS)
    return frozen, inliner.inline_graph(list(graph_def.node), tensors, bound)


def prune(graph_def: Any, op_defs: Dict[str, Any], inputs: List[str], outputs: List[Tuple[str, str]],
          bound: Optional[Dict[str, Any]] = None, verbatim: Sequence[Any] = ()) -> Tuple[Any, List[SignatureTensor]]:
    """extract() of the `inputs` (node names) and the `outputs` ((key, tensor name)), where each
    output's node keeps its key's name; returns the GraphDef and the outputs as SignatureTensors
    (dtype from the op definitions, shape as recorded or unknown)."""
    originals = {node.name: node for node in graph_def.node}
    frozen, results = extract(graph_def, op_defs, inputs + [full_name(name) for _, name in outputs], bound, verbatim)
    emitted = {node.name: node for node in frozen.node}
    signature_outputs = []
    for (key, name), value in zip(outputs, results[len(inputs):]):
        if not isinstance(value, str):
            raise NeedsTensorFlow(f"output {name!r} is a variable")
        dtype = _output_dtype(emitted[node_name(value)], output_index(value), op_defs)
        wanted = short_name(name)
        if value != wanted and (":" in wanted or wanted in emitted):
            raise NeedsTensorFlow(f"output {name!r} is another output's alias")
        if value != wanted:  # an Identity the inliner resolved away: the graph's name stays
            alias = frozen.node.add(name=wanted, op="Identity", input=[value])
            alias.attr["T"].type = dtype
            emitted[wanted] = alias
        shape = _shape_of(originals[node_name(name)], output_index(name))
        signature_outputs.append(SignatureTensor(key, full_name(name), dtype, shape))
    return frozen, signature_outputs


def _check_input_counts(graph_def: Any, op_defs: Dict[str, Any], path: str) -> None:
    """Every node of a fixed-arity op has as many inputs as its op takes: the rewrites read them
    by position, and a damaged file may say anything."""
    for node in graph_def.node:
        op_def = op_defs.get(node.op)
        if op_def is None or any(arg.number_attr or arg.type_list_attr for arg in op_def.input_arg):
            continue
        count = sum(1 for tensor in node.input if not is_control(tensor))
        if count != len(op_def.input_arg):
            raise ConversionError(f"{path}: node {node.name!r} ({node.op}) has {count} inputs where its op takes {len(op_def.input_arg)}; the graph is damaged")


def freeze_without_tensorflow(graph_def: Any, output_names: List[str], path: str) -> Tuple[Any, GraphSignature]:
    """The graph pruned to its Placeholders and the named outputs, ready for the TF-free
    optimisation, and its signature; NeedsTensorFlow when only TensorFlow converts it right."""
    check_output_names(graph_def, output_names, path)
    refuse_what_needs_tensorflow(graph_def, output_names)
    placeholders = [node for node in graph_def.node if node.op == "Placeholder"]
    for p in placeholders:
        dtype = p.attr["dtype"].type
        if dtype == 0 or tf_protos.data_type_name(dtype).startswith("DataType "):
            raise ConversionError(f"{path}: Placeholder {p.name!r} has an invalid dtype or shape (dtype {dtype}); the graph is damaged")
    op_defs = op_registry.op_defs()
    frozen, outputs = prune(graph_def, op_defs, [p.name for p in placeholders], [(short_name(n), n) for n in output_names])
    _check_input_counts(frozen, op_defs, path)
    inputs = [SignatureTensor(p.name, full_name(p.name), p.attr["dtype"].type, p.attr["shape"].shape if "shape" in p.attr else None)
              for p in placeholders]
    return frozen, GraphSignature(inputs, outputs)
