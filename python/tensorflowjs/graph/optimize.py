"""Graph optimisation before writing a TF.js graph model: Grappler, then the TF.js rewrites.

Order matters. Grappler's pruning, constant folding and dependency passes come first (weights
end up as plain constants the rewrites can fold into); then the rewrites TF can still run
(batch-norm folding, Add -> BiasAdd), before Grappler's arithmetic optimizer, which would
regroup (conv * scale + shift) + residual into shift + AddN(residual, conv * scale) and hide
the bias; then the rewrites that fuse, emit TF.js-only ops, and un-fuse anything TF.js's CPU or
WASM backend would reject.

Grappler's remapper is not run: its CPU fusions are a superset of what TF.js executes (residual
Add, batch norm, GELU), every one TF.js does run is made by fuse_conv_matmul, and a Grappler run
costs about two seconds on ResNet50 (the graph and its weights are copied in and out).
"""

from __future__ import annotations

from typing import Any, List, Sequence

from tensorflowjs import extras
from tensorflowjs.graph import rewrites


def optimize_graph(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                   strip_debug_ops: bool = False, control_flow_v2: bool = False) -> Any:
    """Return an optimised copy of a frozen GraphDef whose inputs and outputs are node names.

    The inputs and outputs keep their names. control_flow_v2 changes nothing here: none of the
    Grappler passes run lowers or inlines While/If, and the rewrites touch only top-level nodes,
    so the While/If ops and their functions in graph_def.library stay.
    """
    keep = list(input_names) + list(output_names)
    generic = ["pruning", "constfold", "dependency"]
    if strip_debug_ops:
        generic.insert(0, "debug_stripper")
    optimized = run_grappler(graph_def, input_names, output_names, generic)
    rewrites.apply_rewrites(optimized, rewrites.FOLDING, keep)
    optimized = run_grappler(optimized, input_names, output_names, ["arithmetic", "constfold", "dependency"])
    rewrites.apply_rewrites(optimized, rewrites.FUSIONS, keep)
    _restore_lost_inputs(optimized, graph_def, input_names)
    return optimized


def optimize_without_tensorflow(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str]) -> Any:
    """The same result for a graph saved_model_graph froze: it has no identities, control
    dependencies or unreachable nodes left, so of Grappler's work only constant folding remains,
    done by the fold_constants rewrite. Edits graph_def in place and returns it."""
    keep = list(input_names) + list(output_names)
    steps = (*rewrites.CONSTANT_FOLDING, *rewrites.FOLDING, *rewrites.CONSTANT_FOLDING, *rewrites.FUSIONS)
    rewrites.apply_rewrites(graph_def, steps, keep)
    return graph_def


def run_grappler(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                 optimizers: List[str]) -> Any:
    """One Grappler run with exactly `optimizers`, keeping the inputs and outputs as they are.

    Nodes run unplaced: placed on a CPU, the arithmetic optimizer composes unary chains into
    _UnaryOpsComposition, an op TF.js does not have.
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
        signature.inputs[name].name = f"{name}:0"
        if name in nodes and "dtype" in nodes[name].attr:
            signature.inputs[name].dtype = nodes[name].attr["dtype"].type
    for name in output_names:
        signature.outputs[name].name = f"{name}:0"
    fetch = meta_graph_pb2.CollectionDef()
    fetch.node_list.value.extend(output_names)
    meta_graph.collection_def["train_op"].CopyFrom(fetch)

    config = config_pb2.ConfigProto()
    options = config.graph_options.rewrite_options
    options.optimizers.extend(optimizers)
    options.meta_optimizer_iterations = 1
    options.min_graph_nodes = -1
    return tf_optimizer.OptimizeGraph(config, meta_graph, verbose=False)


def _restore_lost_inputs(optimized: Any, original: Any, input_names: Sequence[str]) -> None:
    """Grappler may drop an input nothing reads; the signature still names it, so put it back."""
    present = {node.name for node in optimized.node}
    for node in original.node:
        if node.name in input_names and node.name not in present:
            optimized.node.add().CopyFrom(node)
