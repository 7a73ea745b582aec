"""Resources (hash tables) of a model: the initializer graph TF.js runs before the model.

A frozen signature still takes each table as a DT_RESOURCE placeholder. TF.js feeds it from
the model's `modelInitializer` graph, which creates and fills the table; the placeholder's
signature entry and the initializer's output share a `resourceId`.
"""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import tensors
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor


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
    from tensorflowjs.graph.freeze import freeze_function

    graph_def = freeze_function(function)
    names = {node.name for node in graph_def.node}

    def renamed(reference: str) -> str:
        control = reference.startswith("^")
        head, sep, rest = reference.lstrip("^").partition(":")
        head = f"{prefix}/{head}" if head in names else head
        return ("^" if control else "") + head + sep + rest

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
    out.input.extend([handle] + [f"^{n.name}" for n in init_nodes if n.op.startswith("LookupTableImport") or n.op.startswith("InitializeTable")])
    out.attr["T"].type = resource
    return out.name


def initializer_for(function: Any, graph_def: Any, signature: GraphSignature, loaded: Any, source_path: str) -> Optional[Any]:
    """The pipeline.Initializer for the function's resources, or None when it has none.

    Marks each resource placeholder as a signature input with a resourceId.
    """
    tf = extras.require("tensorflow", "initialising the model's tables")
    graph_pb2 = extras.require("tensorflow.core.framework.graph_pb2", "initialising the model's tables")

    from tensorflowjs.graph.pipeline import Initializer

    placeholders = resource_placeholders(graph_def)
    if not placeholders:
        return None
    external = {internal.name.split(":")[0]: ext for ext, internal in function.graph.captures}
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
        signature.inputs.append(SignatureTensor(placeholder.name, f"{placeholder.name}:0", tf.resource, resource, resource_id))
        init_outputs.append(SignatureTensor(handle, f"{handle}:0", tf.resource, resource, resource_id))
    return Initializer(init_graph, GraphSignature([], init_outputs))


def _concrete_function(object_graph: Any, node_id: Optional[int]) -> Optional[str]:
    """The concrete function name of a saved function node (a resource's _create_resource...)."""
    if node_id is None or object_graph.nodes[node_id].WhichOneof("kind") != "function":
        return None
    names = object_graph.nodes[node_id].function.concrete_functions
    return names[0] if len(names) == 1 else None


def initializer_without_tensorflow(saved_model_dir: str, meta_graph: Any, signature: GraphSignature) -> Optional[Any]:
    """The pipeline.Initializer of the tables a TF2 signature captures, made without TensorFlow;
    None when it captures none.

    saved_model_graph leaves each captured table as a resource Placeholder whose signature entry's
    resource_id is the table's object-graph node. Its _create_resource function (HashTableV2) and
    _initialize function (LookupTableImportV2 of its captured keys and values) are inlined, as
    TensorFlow's path freezes them, and the ids renumbered 0, 1, ... in both signatures.
    """
    from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow
    from tensorflowjs.graph.op_registry import op_defs as registry
    from tensorflowjs.graph.pipeline import Initializer
    from tensorflowjs.graph.saved_model_graph import Resource, _captures, _copy_const

    tables = [t for t in signature.inputs if t.resource_id is not None]
    if not tables:
        return None
    object_graph = meta_graph.object_graph_def
    init_graph = tf_protos.message_class("tensorflow.GraphDef")()
    init_graph.versions.CopyFrom(meta_graph.graph_def.versions)
    op_defs = {**registry(), **{op.name: op for op in meta_graph.meta_info_def.stripped_op_list.op}}
    inliner = Inliner(init_graph, meta_graph.graph_def.library, op_defs, creates_tables=True)
    resource = tf_protos.data_type("DT_RESOURCE")
    outputs = []
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
            else:
                arguments.append(capture if not hasattr(capture, "op") else _copy_const(inliner, capture, f"table_{index}/init/"))
        fills = inliner.inline_effects(initialize, arguments, f"table_{index}/init/")
        ready = _add_node(init_graph, f"table_{index}/handle", "Identity", [handle] + [f"^{name}" for name in fills], T=resource)
        table.resource_id = index
        outputs.append(SignatureTensor(ready.name, f"{ready.name}:0", resource, [], index))
    return Initializer(init_graph, GraphSignature([], outputs))
