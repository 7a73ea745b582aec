"""Graph optimisation before writing a TF.js graph model: Grappler, then the TF.js rewrites.

Order matters: Grappler's generic passes first (constant folding leaves weights as plain
constants the rewrites can fold into), then the rewrites TF can still run (batch-norm folding,
Add -> BiasAdd), then Grappler's remapper (Conv2D/MatMul + BiasAdd + activation fusions), then
the rewrites that emit TF.js-only ops, ending with the check that un-fuses anything TF.js's CPU
or WASM backend would reject.
"""

from __future__ import annotations

from typing import Any, List, Sequence

from tensorflowjs.graph import rewrites

_CPU = "/device:CPU:0"
# Fused-op elements the rewrites know how to take apart again; a remapper fusion with any other
# element (GELU, hard-swish, ...) cannot be made TF.js-safe, so that remapper run is discarded.
_DECOMPOSABLE = {b"BiasAdd", b"Add", b"AddV2", b"FusedBatchNorm", b"Relu", b"Relu6", b"Elu",
                 b"LeakyRelu", b"Sigmoid", b"Tanh"}
_UNFUSABLE_BY_REWRITES = {"_FusedConv2D", "_FusedMatMul"}


def optimize_graph(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                   strip_debug_ops: bool = False, control_flow_v2: bool = False) -> Any:
    """Return an optimised copy of a frozen GraphDef whose inputs and outputs are node names."""
    keep = list(input_names) + list(output_names)
    generic = ["dependency", "constfold", "arithmetic", "pruning", "constfold", "dependency"]
    if strip_debug_ops:
        generic.insert(0, "debugStripper")
    optimized = run_grappler(graph_def, input_names, output_names, generic)
    rewrites.apply_rewrites(optimized, rewrites.BEFORE_REMAPPER, keep)
    remapped = run_grappler(optimized, input_names, output_names, ["remap"], on_cpu=True)
    if _remapper_fusions_decomposable(remapped):
        optimized = remapped
    rewrites.apply_rewrites(optimized, rewrites.AFTER_REMAPPER, keep)
    _restore_lost_inputs(optimized, graph_def, input_names)
    for node in optimized.node:
        node.device = ""
    return optimized


def run_grappler(graph_def: Any, input_names: Sequence[str], output_names: Sequence[str],
                 optimizers: List[str], on_cpu: bool = False) -> Any:
    """One Grappler run with exactly `optimizers`, keeping the inputs and outputs as they are.

    on_cpu places every node on the CPU, which the remapper needs to fuse anything; the other
    passes run unplaced, because placed on a CPU the arithmetic optimizer composes unary chains
    into _UnaryOpsComposition, an op TF.js does not have.
    """
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
    from tensorflow.python.grappler import tf_optimizer

    meta_graph = meta_graph_pb2.MetaGraphDef()
    meta_graph.graph_def.CopyFrom(graph_def)
    for node in meta_graph.graph_def.node:
        node.device = _CPU if on_cpu else ""
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
    del tf  # imported only to load TensorFlow's op registry before Grappler runs
    return tf_optimizer.OptimizeGraph(config, meta_graph, verbose=False)


def _remapper_fusions_decomposable(graph_def: Any) -> bool:
    """True when every op the remapper introduced (they start with "_") can be un-fused again."""
    return all(
        node.op in _UNFUSABLE_BY_REWRITES and set(node.attr["fused_ops"].list.s if "fused_ops" in node.attr else []) <= _DECOMPOSABLE
        for node in graph_def.node
        if node.op.startswith("_")
    )


def _restore_lost_inputs(optimized: Any, original: Any, input_names: Sequence[str]) -> None:
    """Grappler may drop an input nothing reads; the signature still names it, so put it back."""
    present = {node.name for node in optimized.node}
    for node in original.node:
        if node.name in input_names and node.name not in present:
            optimized.node.add().CopyFrom(node)
