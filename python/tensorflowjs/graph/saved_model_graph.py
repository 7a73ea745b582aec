"""A TF2 SavedModel signature as a frozen GraphDef, read without TensorFlow.

Importing TensorFlow costs about 600 MB and 6 s before any work, and tf.saved_model.load then
holds the model, its concrete functions and the frozen copy at once. Most SavedModels (Keras
exports, tf.Module with variables) need none of that: the signature's function is in
saved_model.pb, its captured variables are object-graph nodes whose values are in the variables
bundle. Inlining the function with each variable read replaced by a constant gives the same
frozen graph TensorFlow would. Control flow is lowered to v1 frames as it is inlined
(lower_control_flow.py), or kept as functional ops with their functions (control_flow_v2,
functional_control_flow.py). What only TensorFlow can freeze (debug ops, state changed
where no output depends on it, tables read inside control flow...) raises NeedsTensorFlow and
the caller takes the TensorFlow path.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from tensorflowjs import tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import functional_control_flow, lower_control_flow, tensors
from tensorflowjs.graph.op_check import DEBUG_OPS
from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow, Variable
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor, natural_key
from tensorflowjs.tensor_names import data_inputs, node_name, output_index, tensor_name

_VARIABLE_VALUE = "VARIABLE_VALUE"


@dataclass
class Resource:
    """A captured resource (a table): its node in the object graph."""

    node_id: int


@dataclass
class Asset:
    """A captured asset file (a table's vocabulary): its path in the SavedModel's assets/."""

    path: str


def asset_path(saved_model_dir: str, filename: str) -> str:
    """The path of an asset (an AssetFileDef's filename), which must be a file in the SavedModel's assets/ directory."""
    assets = os.path.realpath(os.path.join(saved_model_dir, "assets"))
    path = os.path.realpath(os.path.join(assets, filename))
    if os.path.dirname(path) != assets or not os.path.isfile(path):
        raise ConversionError(f"{saved_model_dir}: asset {filename!r} is not a file in its assets/ directory")
    return path


def _signature_function(meta_graph: Any, signature_def: Any) -> Tuple[Any, str]:
    """The top-level call node behind a SignatureDef's outputs, and its function's name."""
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    callers = {node_name(info.name) for info in signature_def.outputs.values()}
    if len(callers) != 1:
        raise NeedsTensorFlow("the signature's outputs come from more than one node")
    call = nodes.get(callers.pop())
    if call is None or call.op not in ("StatefulPartitionedCall", "PartitionedCall"):
        raise NeedsTensorFlow("the signature's outputs are not the result of one function call")
    return call, call.attr["f"].func.name


def _captures(meta_graph: Any, function_name: str, saved_model_dir: str) -> List[Any]:
    """What the function captures, in the order of its trailing arguments: a Variable, the
    top-level Const node of a captured constant (tf.TrackableConstant), or a Resource (a table)."""
    object_graph = meta_graph.object_graph_def
    concrete = object_graph.concrete_functions.get(function_name)
    if concrete is None:
        raise NeedsTensorFlow(f"{function_name} is not in the object graph")
    top_level = {node.name: node for node in meta_graph.graph_def.node}
    bundle, captures = None, []
    for node_id in concrete.bound_inputs:
        saved = object_graph.nodes[node_id]
        kind = saved.WhichOneof("kind")
        const = top_level.get(saved.constant.operation) if kind == "constant" else None
        if const is not None and const.op == "Const":
            captures.append(const)
            continue
        if kind == "resource":
            captures.append(Resource(node_id))
            continue
        if kind == "asset":
            index = saved.asset.asset_file_def_index
            if not 0 <= index < len(meta_graph.asset_file_def):
                raise ConversionError(f"{saved_model_dir}: an asset refers to entry {index} of {len(meta_graph.asset_file_def)} in saved_model.pb")
            captures.append(Asset(asset_path(saved_model_dir, meta_graph.asset_file_def[index].filename)))
            continue
        if kind != "variable":
            raise NeedsTensorFlow(f"the signature captures a {kind}, not a variable, a constant or a table")
        if bundle is None:
            from tensorflowjs.graph.tensor_bundle import TensorBundle

            prefix = os.path.join(saved_model_dir, "variables", "variables")
            if not os.path.isfile(prefix + ".index"):
                raise ConversionError(f"{saved_model_dir} has no variables/variables.index, but its signature reads variables; "
                                      "copy the whole SavedModel directory, variables/ included")
            bundle = TensorBundle(prefix)
            checkpoint_nodes = bundle.object_graph().nodes
        keys = [a.checkpoint_key for a in checkpoint_nodes[node_id].attributes if a.name == _VARIABLE_VALUE] if node_id < len(checkpoint_nodes) else []
        if not keys:
            raise NeedsTensorFlow(f"variable {saved.variable.name} has no value in the checkpoint")
        if bundle.sliced(keys[0]) or bundle.dtype_name(keys[0]) not in tensors.DATA_TYPES:
            raise NeedsTensorFlow(f"variable {saved.variable.name} is partitioned or of a dtype read only by TensorFlow")
        captures.append(Variable(saved.variable.name or f"variable_{node_id}", functools.partial(bundle.tensor, keys[0]),
                                 stored=bundle.stored(keys[0])))
    return captures


def _copy_const(inliner: Inliner, const: Any, prefix: str = "") -> str:
    node = inliner.graph_def.node.add(name=inliner.unique_name(prefix + const.name), op="Const")
    for key in ("dtype", "value"):
        node.attr[key].CopyFrom(const.attr[key])
    return node.name


def freeze_signature(saved_model_dir: str, meta_graph: Any, signature_name: str, control_flow_v2: bool = False) -> Tuple[Any, GraphSignature]:
    """The frozen GraphDef of a signature and its GraphSignature; NeedsTensorFlow if it can't be
    made without TensorFlow. control_flow_v2 keeps While/If with their functions in the
    GraphDef's library, where by default they are lowered to v1 frames."""
    op_defs = {op.name: op for op in meta_graph.meta_info_def.stripped_op_list.op}
    if DEBUG_OPS & set(op_defs):  # Grappler's debug stripper (--strip_debug_ops) is on TensorFlow's path
        raise NeedsTensorFlow("the model has debug ops (Assert, Print, CheckNumerics)")
    op_defs = _with_function_ops(meta_graph, op_defs)
    signature_def = meta_graph.signature_def[signature_name]
    call, function_name = _signature_function(meta_graph, signature_def)
    captures = _captures(meta_graph, function_name, saved_model_dir)
    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    graph_def.versions.CopyFrom(meta_graph.graph_def.versions)
    if control_flow_v2:
        control_flow = functional_control_flow.handlers(graph_def.library, meta_graph.graph_def.library, op_defs)
    else:
        control_flow = lower_control_flow.HANDLERS
    inliner = Inliner(graph_def, meta_graph.graph_def.library, op_defs, control_flow=control_flow)

    function = inliner.functions.get(function_name)
    if function is None:
        raise NeedsTensorFlow(f"function {function_name} is not in the graph's library")
    call_inputs = data_inputs(call.input)
    argument_count = len(function.signature.input_arg) - len(captures)
    if argument_count < 0 or argument_count > len(call_inputs):
        raise NeedsTensorFlow(f"{function_name} takes {len(function.signature.input_arg)} arguments but captures {len(captures)}")
    inputs = _placeholders(inliner, function, signature_def, call_inputs[:argument_count])
    arguments = [t.node for t in inputs]
    captured_args = function.signature.input_arg[argument_count:]
    if any(isinstance(c, Asset) for c in captures):
        raise NeedsTensorFlow("the signature reads an asset file")
    arguments += [c if isinstance(c, Variable) else _resource_placeholder(inliner, c, arg.name, inputs) if isinstance(c, Resource)
                  else _copy_const(inliner, c) for c, arg in zip(captures, captured_args)]
    results = inliner.inline(function_name, arguments)
    outputs = _outputs(inliner, signature_def, results)
    if not control_flow_v2:
        lower_control_flow.drop_unread(graph_def, [t.node for t in inputs + outputs])
    inputs.sort(key=lambda t: (t.resource_id is not None, natural_key(t.key)))  # tables after the data, as TensorFlow's path has them
    outputs.sort(key=lambda t: natural_key(t.key))
    return graph_def, GraphSignature(inputs, outputs)


def _with_function_ops(meta_graph: Any, op_defs: Dict[str, Any]) -> Dict[str, Any]:
    """op_defs with the ops only control flow functions use: TensorFlow's stripped op list leaves
    out what is reached only through a While's or an If's function attributes."""
    used = {node.op for function in meta_graph.graph_def.library.function for node in function.node_def}
    missing = used - set(op_defs)
    if not missing:
        return op_defs
    from tensorflowjs.graph import op_registry

    registry = op_registry.op_defs()
    return {**op_defs, **{op: registry[op] for op in missing if op in registry}}


def _resource_placeholder(inliner: Inliner, resource: Resource, argument: str, inputs: List[SignatureTensor]) -> str:
    """A captured table as a DT_RESOURCE Placeholder named as the function's argument, and a
    signature input whose resource_id is the table's object-graph node (resources.py builds the
    initializer from it and renumbers)."""
    node = inliner.graph_def.node.add(name=inliner.unique_name(argument), op="Placeholder")
    node.attr["dtype"].type = tf_protos.data_type("DT_RESOURCE")
    node.attr["shape"].shape.SetInParent()
    inputs.append(SignatureTensor(node.name, tensor_name(node.name), node.attr["dtype"].type, [], resource.node_id))
    return node.name


def _placeholders(inliner: Inliner, function: Any, signature_def: Any, call_inputs: List[str]) -> List[SignatureTensor]:
    """One Placeholder per signature input, named as the function's argument ("input_1")."""
    keys = {node_name(info.name): (key, info) for key, info in signature_def.inputs.items()}
    inputs = []
    for arg, source in zip(function.signature.input_arg, call_inputs):
        if node_name(source) not in keys:
            raise NeedsTensorFlow(f"argument {arg.name} of the signature's function is not a signature input")
        key, info = keys[node_name(source)]
        if not info.name:
            raise NeedsTensorFlow(f"signature input {key!r} is a composite tensor")
        node = inliner.graph_def.node.add(name=inliner.unique_name(arg.name), op="Placeholder")
        node.attr["dtype"].type = info.dtype
        node.attr["shape"].shape.CopyFrom(info.tensor_shape)
        inputs.append(SignatureTensor(key, tensor_name(node.name), info.dtype, info.tensor_shape))
    return inputs


def _outputs(inliner: Inliner, signature_def: Any, results: List[Any]) -> List[SignatureTensor]:
    """Each signature output as its own node, so it keeps its name through the rewrites."""
    outputs = []
    indexed = [(output_index(info.name), key, info) for key, info in signature_def.outputs.items()]
    for index, key, info in sorted(indexed):
        value = results[index] if index < len(results) else None
        if not isinstance(value, str):
            raise NeedsTensorFlow(f"signature output {key!r} is not a computed tensor")
        node = inliner.graph_def.node.add(name=inliner.unique_name("Identity"), op="Identity", input=[value])
        node.attr["T"].type = info.dtype
        outputs.append(SignatureTensor(key, tensor_name(node.name), info.dtype, info.tensor_shape))
    return outputs
