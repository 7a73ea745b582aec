"""Resources (hash tables) of a model: the initializer graph TF.js runs before the model.

A frozen signature still takes each table as a DT_RESOURCE placeholder. TF.js feeds it from
the model's `modelInitializer` graph, which creates and fills the table; the placeholder's
signature entry and the initializer's output share a `resourceId`. The initializer is made
from the loaded model with TensorFlow (initializer_for), or without it from saved_model.pb's
functions (initializer_without_tensorflow). A table filled from a text file is filled from
constants read here (fill_from_text_files): TF.js has no op reading files. Table lookups are
reshaped for TF.js (flatten_lookups) before the graph is optimised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import tensors
from tensorflowjs.graph.freeze import freeze_function
from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow
from tensorflowjs.graph.op_registry import op_defs as registry
from tensorflowjs.graph.saved_model_graph import Asset, Resource, _captures, _copy_const
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor
from tensorflowjs.tensor_names import control_input, node_name, tensor_name, with_node


@dataclass
class Initializer:
    """A graph creating the model's resources (hash tables), run by TF.js before the model."""

    graph_def: Any
    signature: GraphSignature


def resource_placeholders(graph_def: Any) -> List[Any]:
    resource = tf_protos.data_type("DT_RESOURCE")
    return [n for n in graph_def.node if n.op == "Placeholder" and n.attr["dtype"].type == resource]


def _add_node(graph_def: Any, name: str, op: str, inputs: List[str], **types: int) -> Any:
    node = graph_def.node.add()
    node.name, node.op = name, op
    node.input.extend(inputs)
    for attr, dtype in types.items():
        node.attr[attr].type = dtype
    return node


def flatten_lookups(graph_def: Any) -> None:
    """Table lookups see their keys as a vector and reshape the result back.

    TF.js 4.22's LookupTableFindV2 returns one value per key as a vector whatever the keys'
    shape, so [2, 2] keys would give [4] values. The lookup keeps its node name (now the
    reshape), so its consumers and the signature are unchanged.
    """
    int32 = tf_protos.data_type("DT_INT32")
    for lookup in [n for n in graph_def.node if n.op in ("LookupTableFindV2", "LookupTableFind")]:
        name, keys, key_type, value_type = lookup.name, lookup.input[1], lookup.attr["Tin"].type, lookup.attr["Tout"].type
        flat_shape = _add_node(graph_def, f"{name}/flat_shape", "Const", [])
        tensors.set_const(flat_shape, np.asarray([-1], np.int32))
        _add_node(graph_def, f"{name}/flat_keys", "Reshape", [keys, flat_shape.name], T=key_type, Tshape=int32)
        _add_node(graph_def, f"{name}/keys_shape", "Shape", [keys], T=key_type, out_type=int32)
        lookup.name = f"{name}/flat_lookup"
        lookup.input[1] = f"{name}/flat_keys"
        _add_node(graph_def, name, "Reshape", [lookup.name, f"{name}/keys_shape"], T=value_type, Tshape=int32)


def _concrete(method: Any) -> Any:
    """A concrete function of a resource's creator or initializer, restored or fresh."""
    tf = extras.require("tensorflow", "initialising the model's tables")

    functions = getattr(method, "concrete_functions", None)
    if functions:
        return functions[0]

    def traced():
        result = method()
        if isinstance(result, tf.Tensor):
            return result
        # A fresh table's initializer returns an Operation: return a tensor that needs it,
        # or freezing prunes it away.
        with tf.control_dependencies([result] if result is not None else []):
            return tf.constant(0)

    return tf.function(traced).get_concrete_function()


def _owners(root: Any) -> dict:
    """id(resource handle) -> the trackable resource owning it, for every resource under root."""
    tf = extras.require("tensorflow", "initialising the model's tables")

    owners = {}
    for obj in tf.train.TrackableView(root).descendants():
        handle = getattr(obj, "_resource_handle", None)
        if handle is not None and hasattr(obj, "_create_resource") and hasattr(obj, "_initialize"):
            owners[id(handle)] = obj
    return owners


def _frozen_nodes(function: Any, prefix: str) -> tuple:
    """(nodes of the frozen function renamed under prefix, its output tensor name, resource placeholders)."""
    graph_def = freeze_function(function)
    names = {node.name for node in graph_def.node}

    def renamed(reference: str) -> str:
        return with_node(reference, f"{prefix}/{node_name(reference)}") if node_name(reference) in names else reference

    for node in graph_def.node:
        node.name = f"{prefix}/{node.name}"
        node.input[:] = [renamed(i) for i in node.input]
    output = renamed(function.outputs[0].name) if function.outputs else None
    return list(graph_def.node), output, resource_placeholders(graph_def)


def _table_nodes(owner: Any, prefix: str, graph_def: Any) -> str:
    """Adds the nodes creating and filling one table to graph_def; returns its handle node."""
    resource = tf_protos.data_type("DT_RESOURCE")
    create_nodes, handle, _ = _frozen_nodes(_concrete(owner._create_resource), f"{prefix}/create")
    graph_def.node.extend(create_nodes)
    init_nodes, _, placeholders = _frozen_nodes(_concrete(owner._initialize), f"{prefix}/init")
    table_inputs = {p.name for p in placeholders}
    for node in init_nodes:
        if node.name in table_inputs:
            # The initializer's table argument is the table just created.
            node.op = "Identity"
            node.ClearField("attr")
            node.attr["T"].type = resource
            node.input[:] = [handle]
    graph_def.node.extend(init_nodes)
    out = graph_def.node.add()
    out.name, out.op = f"{prefix}/handle", "Identity"
    out.input.extend([handle] + [control_input(n.name) for n in init_nodes if n.op.startswith("LookupTableImport") or n.op.startswith("InitializeTable")])
    out.attr["T"].type = resource
    return out.name


def initializer_for(function: Any, graph_def: Any, signature: GraphSignature, loaded: Any, source_path: str) -> Optional[Initializer]:
    """The Initializer for the function's resources, or None when it has none.

    Marks each resource placeholder as a signature input with a resourceId.
    """
    tf = extras.require("tensorflow", "initialising the model's tables")
    graph_pb2 = extras.require("tensorflow.core.framework.graph_pb2", "initialising the model's tables")

    placeholders = resource_placeholders(graph_def)
    if not placeholders:
        return None
    external = {node_name(internal.name): ext for ext, internal in function.graph.captures}
    owners = _owners(loaded) if loaded is not None else {}
    init_graph = graph_pb2.GraphDef()
    init_graph.versions.CopyFrom(graph_def.versions)
    init_outputs = []
    for resource_id, placeholder in enumerate(placeholders):
        owner = owners.get(id(external.get(placeholder.name)))
        if owner is None:
            raise ConversionError(f"{source_path}: the model uses a resource ({placeholder.name}) that is not a table this converter can initialise")
        handle = _table_nodes(owner, f"table_{resource_id}", init_graph)
        resource = tf.TensorShape([])
        signature.inputs.append(SignatureTensor(placeholder.name, tensor_name(placeholder.name), tf.resource, resource, resource_id))
        init_outputs.append(SignatureTensor(handle, tensor_name(handle), tf.resource, resource, resource_id))
    return Initializer(init_graph, GraphSignature([], init_outputs))


def _concrete_function(object_graph: Any, node_id: Optional[int]) -> Optional[str]:
    """The concrete function name of a saved function node (a resource's _create_resource...)."""
    if node_id is None or object_graph.nodes[node_id].WhichOneof("kind") != "function":
        return None
    names = object_graph.nodes[node_id].function.concrete_functions
    return names[0] if len(names) == 1 else None


def initializer_without_tensorflow(saved_model_dir: str, meta_graph: Any, signature: GraphSignature) -> Optional[Initializer]:
    """The Initializer of the tables a TF2 signature captures, made without TensorFlow;
    None when it captures none.

    saved_model_graph leaves each captured table as a resource Placeholder whose signature entry's
    resource_id is the table's object-graph node. Its _create_resource function (HashTableV2) and
    _initialize function (LookupTableImportV2 of its captured keys and values) are inlined, as
    TensorFlow's path freezes them, and the ids renumbered 0, 1, ... in both signatures.
    """
    tables = [t for t in signature.inputs if t.resource_id is not None]
    if not tables:
        return None
    object_graph = meta_graph.object_graph_def
    init_graph = tf_protos.message_class("tensorflow.GraphDef")()
    init_graph.versions.CopyFrom(meta_graph.graph_def.versions)
    op_defs = {**registry(), **{op.name: op for op in meta_graph.meta_info_def.stripped_op_list.op}}
    inliner = Inliner(init_graph, meta_graph.graph_def.library, op_defs, creates_tables=True)
    resource = tf_protos.data_type("DT_RESOURCE")
    outputs, assets = [], {}
    for index, table in enumerate(tables):
        children = {child.local_name: child.node_id for child in object_graph.nodes[table.resource_id].children}
        creator = _concrete_function(object_graph, children.get("_create_resource"))
        initialize = _concrete_function(object_graph, children.get("_initialize"))
        if creator is None or initialize is None:
            raise NeedsTensorFlow(f"resource {table.key} is not a table with a creator and an initializer")
        handle = inliner.inline(creator, [], f"table_{index}/create/")[0]
        arguments = []
        for capture in _captures(meta_graph, initialize, saved_model_dir):
            if isinstance(capture, Resource):
                if capture.node_id != table.resource_id:
                    raise NeedsTensorFlow(f"the initializer of table {table.key} uses another resource")
                arguments.append(handle)
            elif isinstance(capture, Asset):
                name = inliner.unique_name(f"table_{index}/init/asset_path")
                tensors.set_const(init_graph.node.add(name=name), np.asarray(os.path.basename(capture.path).encode(), dtype=object))
                assets[name] = capture.path
                arguments.append(name)
            else:
                arguments.append(capture if not hasattr(capture, "op") else _copy_const(inliner, capture, f"table_{index}/init/"))
        fills = inliner.inline_effects(initialize, arguments, f"table_{index}/init/")
        ready = _add_node(init_graph, f"table_{index}/handle", "Identity", [handle] + [control_input(name) for name in fills], T=resource)
        table.resource_id = index
        outputs.append(SignatureTensor(ready.name, tensor_name(ready.name), resource, [], index))
    fill_from_text_files(init_graph, assets, saved_model_dir)
    return Initializer(init_graph, GraphSignature([], outputs))


TEXT_FILE_INIT_OPS = ("InitializeTableFromTextFileV2", "InitializeTableFromTextFile")
_WHOLE_LINE, _LINE_NUMBER = -2, -1


def fill_from_text_files(graph_def: Any, assets: Dict[str, str], source_path: str) -> None:
    """Each table filled from a text file (InitializeTableFromTextFileV2, which TF.js lacks) is
    filled from constants instead (LookupTableImportV2), read here from the file as TensorFlow
    reads it. Only SavedModel assets are read: `assets` maps the Const nodes naming them to
    their paths."""
    nodes = {node.name: node for node in graph_def.node}
    for node in [n for n in graph_def.node if n.op in TEXT_FILE_INIT_OPS]:
        filename = node_name(node.input[1])
        if filename not in assets:
            raise NeedsTensorFlow(f"table initializer {node.name} reads a file that is not one of the SavedModel's assets")
        if node.attr["offset"].i:
            raise NeedsTensorFlow(f"table initializer {node.name} reads its file from an offset")
        table = nodes.get(node_name(node.input[0]))
        while table is not None and table.op == "Identity":
            table = nodes.get(node_name(table.input[0]))
        if table is None or "key_dtype" not in table.attr:
            raise NeedsTensorFlow(f"table initializer {node.name} fills a table made elsewhere")
        key_type, value_type = table.attr["key_dtype"].type, table.attr["value_dtype"].type
        keys, values = read_text_file_table(assets[filename], node.attr["key_index"].i, node.attr["value_index"].i,
                                            node.attr["delimiter"].s, node.attr["vocab_size"].i, key_type, value_type, source_path)
        consts = []
        for suffix, array in (("keys", keys), ("values", values)):
            const = graph_def.node.add(name=f"{node.name}/{suffix}")
            tensors.set_const(const, array)
            consts.append(const.name)
        node.op = "LookupTableImportV2"
        node.input[:] = [node.input[0]] + consts
        node.ClearField("attr")
        node.attr["Tin"].type, node.attr["Tout"].type = key_type, value_type
    read = {node_name(t) for node in graph_def.node for t in node.input}
    unread = [node for node in graph_def.node if node.name in assets and node.name not in read]
    for node in unread:  # the file's name: the file is read now
        graph_def.node.remove(node)


def read_text_file_table(path: str, key_index: int, value_index: int, delimiter: bytes, vocab_size: int, key_type: int,
                         value_type: int, source_path: str) -> Tuple[np.ndarray, np.ndarray]:
    """The keys and values TensorFlow's text-file table initializer reads: one entry per line
    ('\\n' or '\\r\\n'), each a column (split at `delimiter`), the whole line (-2) or the line
    number (-1), parsed as the table's dtype; vocab_size > 0 keeps that many lines."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    where = f"{source_path}: table vocabulary {os.path.basename(path)}"
    if vocab_size > 0:
        if len(lines) < vocab_size:
            raise ConversionError(f"{where} has {len(lines)} lines, but the table expects {vocab_size}")
        lines = lines[:vocab_size]
    columns = {key_index: key_type, value_index: value_type}
    parsed: Dict[int, list] = {index: [] for index in columns}
    for number, line in enumerate(lines):
        if not line:
            raise ConversionError(f"{where} has an empty line (line {number + 1}), which TensorFlow refuses too")
        fields = line.split(delimiter or b"\t")
        for index, dtype in columns.items():
            if index >= len(fields):
                raise ConversionError(f"{where}: line {number + 1} has {len(fields)} columns, but column {index} is read")
            text = number if index == _LINE_NUMBER else line if index == _WHOLE_LINE else fields[index]
            parsed[index].append(_parse_field(text, dtype, f"{where}, line {number + 1}"))
    keys = np.asarray(parsed[key_index], dtype=_field_dtype(key_type)) if lines else np.zeros([0], _field_dtype(key_type))
    values = np.asarray(parsed[value_index], dtype=_field_dtype(value_type)) if lines else np.zeros([0], _field_dtype(value_type))
    return keys, values


def _field_dtype(data_type: int) -> Any:
    dtype = tensors.numpy_dtype(data_type)
    return object if dtype is None or dtype == np.dtype(object) else dtype


def _parse_field(text: Any, data_type: int, where: str) -> Any:
    """One field as TensorFlow parses it for the column's dtype (line numbers are already ints)."""
    name = tf_protos.data_type_name(data_type)
    if isinstance(text, int):
        return text
    if name == "DT_STRING":
        return text
    try:
        if name in ("DT_INT32", "DT_INT64"):
            return int(text.decode("ascii"))
        if name in ("DT_FLOAT", "DT_DOUBLE"):
            return float(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise ConversionError(f"{where}: {text[:40]!r} is not a valid {name[3:].lower()}") from None
    raise ConversionError(f"{where}: a table of {name[3:].lower()} cannot be read from a text file")
