"""TF1-style SavedModels (SavedModelBuilder, hub.Module): frozen without TensorFlow, or in a v1 Session.

Without TensorFlow, the MetaGraph's own graph is pruned to the signature with each variable
(VariableV2 read through Identity, VarHandleOp through ReadVariableOp) replaced by its value
from the variables bundle, and its tables' initializers (constant keys and values, or an asset
file) copied into the modelInitializer; v1 loops and conds stay as they are (frozen_graph);
what that cannot do (reference-variable control flow, debug ops, partitioned variables, other
initializers) raises NeedsTensorFlow. TF2's loader wraps such a model in functions that lose its table
initializers, so TensorFlow's path loads it the way TF1 serves it: in a Session, which runs
the restore and the main op. Tables then keep their node names in both graphs; TF.js shares a
table between the initializer and the model by that name.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Dict, List, Optional, Tuple

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import frozen_graph, op_registry, resources, saved_model_graph, tensors
from tensorflowjs.graph.inline import NeedsTensorFlow, Variable
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor, natural_key
from tensorflowjs.graph.tensor_bundle import TensorBundle
from tensorflowjs.tensor_names import control_input, data_inputs, node_name, tensor_name

_TABLE_OPS = {"HashTableV2", "HashTable", "MutableHashTableV2", "MutableHashTable"}
# Variable op -> whether it is a reference variable (read by any op) rather than a resource (ReadVariableOp).
_VARIABLE_OPS = {"VariableV2": True, "Variable": True, "VarHandleOp": False}


def _signature_entries(infos: Any) -> List[Tuple[str, Any]]:
    entries = [(key, infos[key]) for key in sorted(infos, key=natural_key)]
    for key, info in entries:
        if not info.name:
            raise ConversionError(f"signature entry {key!r} is a composite tensor, which TF.js graph models cannot take")
    return entries


def _variables(saved_model_dir: str, graph_def: Any) -> Dict[str, Variable]:
    """Each variable node of the graph -> its value in the bundle (checkpoint key: the node's name),
    loaded only if the signature reads it."""
    nodes = [node for node in graph_def.node if node.op in _VARIABLE_OPS]
    if not nodes:
        return {}
    prefix = os.path.join(saved_model_dir, "variables", "variables")
    if not os.path.isfile(prefix + ".index"):
        raise ConversionError(f"{saved_model_dir} has no variables/variables.index, but its graph has variables; "
                              "copy the whole SavedModel directory, variables/ included")
    bundle = TensorBundle(prefix)
    keys = set(bundle.keys())
    variables = {}
    for node in nodes:
        if node.name not in keys or bundle.sliced(node.name) or bundle.dtype_name(node.name) not in tensors.DATA_TYPES:
            continue  # read by the signature only if TensorFlow's path is taken (the inliner says so)
        reference = node.attr["dtype"].type if _VARIABLE_OPS[node.op] else None
        variables[node.name] = Variable(node.name, functools.partial(bundle.tensor, node.name), reference, bundle.stored(node.name))
    return variables


def freeze_without_tensorflow(saved_model_dir: str, meta_graph: Any, signature_name: str) -> Tuple[Any, GraphSignature, Optional[resources.Initializer]]:
    """The frozen GraphDef of a TF1 signature, its GraphSignature and its tables' initializer
    (None without tables), without TensorFlow; NeedsTensorFlow if only TensorFlow's Session path
    freezes it right."""
    signature_def = meta_graph.signature_def[signature_name]
    inputs, outputs = _signature_entries(signature_def.inputs), _signature_entries(signature_def.outputs)
    graph_def = meta_graph.graph_def
    frozen_graph.refuse_what_needs_tensorflow(graph_def, [info.name for _, info in outputs], frozen_graph.REF_CONTROL_FLOW_AND_DEBUG_OPS)
    tables = [node for node in frozen_graph.reachable(graph_def, [info.name for _, info in outputs]) if node.op in _TABLE_OPS]
    nodes = {node.name: node for node in graph_def.node}
    for key, info in inputs:
        node = nodes.get(node_name(info.name))
        if node is None or node.op != "Placeholder":
            raise NeedsTensorFlow(f"signature input {key!r} is not a placeholder")
    variables = _variables(saved_model_dir, graph_def)
    for node in graph_def.node:  # a variable without a value: the inliner refuses it if it is read
        if node.op in _VARIABLE_OPS and node.name not in variables:
            variables[node.name] = Variable(node.name, functools.partial(_no_value, node.name))
    op_defs = {**op_registry.op_defs(), **{op.name: op for op in meta_graph.meta_info_def.stripped_op_list.op}}
    frozen, _ = frozen_graph.prune(graph_def, op_defs, [node_name(info.name) for _, info in inputs],
                                   [(key, info.name) for key, info in outputs], variables, tables)
    signature = GraphSignature([SignatureTensor(key, info.name, info.dtype, info.tensor_shape) for key, info in inputs],
                               [SignatureTensor(key, info.name, info.dtype, info.tensor_shape) for key, info in outputs])
    return frozen, signature, _table_initializer(saved_model_dir, meta_graph, tables, op_defs)


# Table initializers: keys and values given as tensors, or read from an asset file (resources.fill_from_text_files).
_TABLE_INIT_OPS = {"LookupTableImportV2", "LookupTableImport", "InitializeTableV2", "InitializeTable", *resources.TEXT_FILE_INIT_OPS}


def _asset_file_defs(meta_graph: Any) -> List[Any]:
    """The MetaGraph's AssetFileDefs: its own field, and TF1's saved_model_assets collection."""
    found = list(meta_graph.asset_file_def)
    if "saved_model_assets" in meta_graph.collection_def:
        asset_class = tf_protos.message_class("tensorflow.AssetFileDef")
        for value in meta_graph.collection_def["saved_model_assets"].any_list.value:
            asset = asset_class()
            asset.ParseFromString(value.value)
            found.append(asset)
    return found


def _table_initializer(saved_model_dir: str, meta_graph: Any, tables: List[Any], op_defs: Dict[str, Any]) -> Optional[resources.Initializer]:
    """The graph filling the model's tables, in the same nodes TensorFlow's path would freeze: each
    table (shared with the model by name), its keys and values, its initializer op, and an output
    that depends on it. None when the model has no tables."""
    if not tables:
        return None
    graph_def = meta_graph.graph_def
    nodes = {node.name: node for node in graph_def.node}
    aliases = {node.name: node.input[0] for node in graph_def.node if node.op == "Identity"}

    def table_of(tensor: str) -> str:
        name = node_name(tensor)
        while name in aliases:
            name = node_name(aliases[name])
        return name

    listed = meta_graph.collection_def["table_initializer"].node_list.value if "table_initializer" in meta_graph.collection_def else []
    init_ops = {table.name: [nodes[n] for n in listed if n in nodes and nodes[n].input and table_of(nodes[n].input[0]) == table.name]
                for table in tables}
    for table in tables:
        if not init_ops[table.name]:
            raise NeedsTensorFlow(f"table {table.name} has no initializer in the graph's table_initializer collection")
        for op in init_ops[table.name]:
            if op.op not in _TABLE_INIT_OPS:
                raise NeedsTensorFlow(f"table {table.name} is filled by {op.op} ({op.name})")
    ops = [op for table in tables for op in init_ops[table.name]]
    data = [t for op in ops for t in data_inputs(op.input[1:])]
    init_graph, emitted = frozen_graph.extract(graph_def, op_defs, data, verbatim=tables)
    if not all(isinstance(value, str) for value in emitted):
        raise NeedsTensorFlow("a table is filled from a variable")
    assets = {}
    for asset in _asset_file_defs(meta_graph):
        for tensor in (asset.tensor_info.name, node_name(asset.tensor_info.name)):
            if tensor in data:
                assets[emitted[data.index(tensor)]] = saved_model_graph.asset_path(saved_model_dir, asset.filename)
    values = iter(emitted)
    outputs = []
    for table in tables:
        done = []
        for op in init_ops[table.name]:
            node = init_graph.node.add(name=op.name, op=op.op, input=[table.name] + [next(values) for _ in data_inputs(op.input[1:])])
            for key, value in op.attr.items():
                if not key.startswith("_"):
                    node.attr[key].CopyFrom(value)
            done.append(node.name)
        ready = init_graph.node.add(name=f"{table.name}/initialized", op="Identity", input=[table.name] + [control_input(n) for n in done])
        ready.attr["T"].type = tf_protos.data_type("DT_RESOURCE")
        outputs.append(SignatureTensor(ready.name, tensor_name(ready.name), ready.attr["T"].type, []))
    resources.fill_from_text_files(init_graph, assets, saved_model_dir)
    return resources.Initializer(init_graph, GraphSignature([], outputs))


def _no_value(name: str):
    raise NeedsTensorFlow(f"variable {name} has no value in the variables bundle that numpy reads (partitioned, or of another dtype)")


def _tensors(infos: Any) -> List[SignatureTensor]:
    tf = extras.require("tensorflow", "converting a TF1 SavedModel with TensorFlow")

    tensors = []
    for key in sorted(infos, key=natural_key):
        info = infos[key]
        if not info.name:
            raise ConversionError(f"signature entry {key!r} is a composite tensor, which TF.js graph models cannot take")
        tensors.append(SignatureTensor(key, info.name, tf.as_dtype(info.dtype), tf.TensorShape(info.tensor_shape)))
    return tensors


def _initializer(session: Any, graph: Any, frozen: Any) -> Optional[resources.Initializer]:
    """The table initializers as a graph whose outputs depend on every table being filled."""
    tf = extras.require("tensorflow", "initialising a TF1 SavedModel's tables")

    tables = [node.name for node in frozen.node if node.op in _TABLE_OPS]
    init_ops = [op.name for op in graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS)]
    if not tables or not init_ops:
        return None
    init_graph = tf.compat.v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), init_ops + tables)
    outputs = []
    for table in tables:
        node = init_graph.node.add()
        node.name, node.op = f"{table}/initialized", "Identity"
        node.input.extend([table] + [control_input(op) for op in init_ops])
        node.attr["T"].type = tf.resource.as_datatype_enum
        outputs.append(SignatureTensor(node.name, tensor_name(node.name), tf.resource, tf.TensorShape([])))
    return resources.Initializer(init_graph, GraphSignature([], outputs))


def freeze(saved_model_dir: str, tags: List[str], signature_name: str) -> Tuple[Any, GraphSignature, Optional[resources.Initializer]]:
    """(frozen GraphDef, signature, table initializer or None) of a TF1 SavedModel signature."""
    tf = extras.require("tensorflow", f"converting the TF1 SavedModel {saved_model_dir}")

    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as session:
        try:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, tags, saved_model_dir)
        except (ValueError, OSError, RuntimeError, tf.errors.OpError) as e:
            raise ConversionError(f"TensorFlow cannot load the SavedModel {saved_model_dir}: {str(e).splitlines()[0]}") from None
        signature_def = meta_graph.signature_def[signature_name]
        signature = GraphSignature(_tensors(signature_def.inputs), _tensors(signature_def.outputs))
        output_nodes = sorted({t.node for t in signature.outputs})
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), output_nodes)
        return frozen, signature, _initializer(session, graph, frozen)
