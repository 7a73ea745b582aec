"""Graph optimisation before writing a TF.js graph model: Grappler, then the TF.js rewrites.

Order matters. Grappler's pruning, constant folding and dependency passes come first (weights
end up as plain constants the rewrites can fold into); then the rewrites TF can still run
(batch-norm folding, Add -> BiasAdd), before Grappler's arithmetic optimizer, which would
regroup (conv * scale + shift) + residual into shift + AddN(residual, conv * scale) and hide
the bias; then TFJS_REWRITES: workarounds for ops TF.js lacks or gets wrong, the fusions into
fused and TF.js-only ops (un-fusing anything TF.js's CPU or WASM backend would reject), and the
control edges.

Grappler's remapper is not run: its CPU fusions are a superset of what TF.js executes (residual
Add, batch norm, GELU), every one TF.js does run is made by fuse_conv_matmul, and a Grappler run
costs about two seconds on ResNet50 (the graph and its weights are copied in and out).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from tensorflowjs import extras
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import rewrites
from tensorflowjs.tensor_names import tensor_name

# What runs after Grappler's last pass, in this order (see rewrites/__init__.py).
TFJS_REWRITES = (*rewrites.WORKAROUNDS, *rewrites.FUSION_CHECK, *rewrites.FUSIONS, *rewrites.FUSION_CHECK, *rewrites.CONTROL_EDGES)


def optimize_graph(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                   strip_debug_ops: bool = False) -> Any:
    """Return an optimised copy of a frozen GraphDef whose inputs and outputs are node names.

    The inputs and outputs keep their names. A graph frozen with control flow v2 keeps it: none
    of the Grappler passes run lowers or inlines While/If, and the rewrites touch only top-level
    nodes, so the While/If ops and their functions in graph_def.library stay.
    """
    keep = list(input_names) + list(output_names)
    generic = ["pruning", "constfold", "dependency"]
    if strip_debug_ops:
        generic.insert(0, "debug_stripper")
    optimized = run_grappler(graph_def, input_names, output_names, generic)
    rewrites.apply_rewrites(optimized, rewrites.FOLDING, keep)
    optimized = run_grappler(optimized, input_names, output_names, ["arithmetic", "constfold", "dependency"])
    rewrites.apply_rewrites(optimized, TFJS_REWRITES, keep)
    _restore_lost_inputs(optimized, graph_def, input_names)
    return optimized


def optimize_without_tensorflow(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str]) -> Any:
    """The same result for a graph frozen without TensorFlow (saved_model_graph, tf1_saved_model,
    frozen_graph): it has no identities, control dependencies or unreachable nodes left, so of
    Grappler's work only constant folding remains, done by the fold_constants rewrite. Edits
    graph_def in place and returns it."""
    keep = list(input_names) + list(output_names)
    steps = (*rewrites.CONSTANT_FOLDING, *rewrites.FOLDING, *rewrites.CONSTANT_FOLDING, *TFJS_REWRITES)
    rewrites.apply_rewrites(graph_def, steps, keep)
    return graph_def


def run_grappler(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                 optimizers: List[str]) -> Any:
    """One Grappler run with exactly `optimizers`, keeping the inputs and outputs as they are.

    Nodes run unplaced: placed on a CPU, the arithmetic optimizer composes unary chains into
    _UnaryOpsComposition, an op TF.js does not have. Grappler makes a dummy tensor of each
    input's dtype and aborts the whole process (a CHECK failure, not an exception) on an
    unset one, so every input's dtype is found first, whatever op produces it.
    """
    config_pb2 = extras.require("tensorflow.core.protobuf.config_pb2", "Grappler's graph optimisation")
    meta_graph_pb2 = extras.require("tensorflow.core.protobuf.meta_graph_pb2", "Grappler's graph optimisation")
    tf_optimizer = extras.require("tensorflow.python.grappler.tf_optimizer", "Grappler's graph optimisation")

    meta_graph = meta_graph_pb2.MetaGraphDef()
    meta_graph.graph_def.CopyFrom(graph_def)
    for node in meta_graph.graph_def.node:
        node.device = ""
    nodes = {node.name: node for node in graph_def.node}
    signature = meta_graph.signature_def["serving_default"]
    for name in input_names:
        if name in nodes:  # one an earlier run dropped comes back in _restore_lost_inputs
            signature.inputs[name].name = tensor_name(name)
            signature.inputs[name].dtype = _input_dtype(graph_def, nodes[name])
    for name in output_names:
        signature.outputs[name].name = tensor_name(name)
    fetch = meta_graph_pb2.CollectionDef()
    fetch.node_list.value.extend(output_names)
    meta_graph.collection_def["train_op"].CopyFrom(fetch)

    config = config_pb2.ConfigProto()
    options = config.graph_options.rewrite_options
    options.optimizers.extend(optimizers)
    options.meta_optimizer_iterations = 1
    options.min_graph_nodes = -1
    return tf_optimizer.OptimizeGraph(config, meta_graph, verbose=False)


def _first_output_dtype(op_def: Any, node: Any) -> Optional[int]:
    """The DataType of output 0 of `node`, from its OpDef: a fixed type or one of its attrs."""
    if not op_def.output_arg:
        return None
    arg = op_def.output_arg[0]
    if arg.type:
        return arg.type
    defaults = {attr.name: attr.default_value for attr in op_def.attr}
    if arg.type_attr:
        value = node.attr[arg.type_attr] if arg.type_attr in node.attr else defaults.get(arg.type_attr)
        return value.type if value is not None and value.type else None
    if arg.type_list_attr:
        value = node.attr[arg.type_list_attr] if arg.type_list_attr in node.attr else defaults.get(arg.type_list_attr)
        return value.list.type[0] if value is not None and value.list.type else None
    return None


def _input_dtype(graph_def: Any, node: Any) -> int:
    """The dtype of the input `node`'s output 0; an input may be any op's output (a TF1
    signature can name a Cast), not only a Placeholder's."""
    from tensorflow.python.framework import op_def_registry

    functions = {f.signature.name: f.signature for f in graph_def.library.function}
    op_def = functions.get(node.op) or op_def_registry.get(node.op)
    dtype = _first_output_dtype(op_def, node) if op_def is not None else None
    if not dtype:
        raise ConversionError(f"cannot tell the dtype of the model's input {node.name!r} (op {node.op}); give a signature whose inputs are placeholders")
    return dtype


def _restore_lost_inputs(optimized: Any, original: Any, input_names: Sequence[str]) -> None:
    """Grappler may drop an input nothing reads; the signature still names it, so put it back."""
    present = {node.name for node in optimized.node}
    for node in original.node:
        if node.name in input_names and node.name not in present:
            optimized.node.add().CopyFrom(node)
