"""The one path every `-> tfjs_graph_model` pair ends in: optimise, check, write.

The handlers freeze the source first, with TensorFlow (freeze.py for a SavedModel signature or a
traced Keras model, tf1_saved_model.freeze) or without it (saved_model_graph, tf1_saved_model,
frozen_graph); from a frozen GraphDef and its signature the steps are the same.
"""

from __future__ import annotations

from typing import Any, List, Optional

from tensorflowjs import metadata as metadata_lib
from tensorflowjs import model_json, progress, write_weights
from tensorflowjs.options import ConversionOptions
from tensorflowjs.graph import graph_json, optimize, rewrites, signature as signature_lib
from tensorflowjs.graph.op_check import check_supported_ops
from tensorflowjs.graph.resources import Initializer, flatten_lookups
from tensorflowjs.output import output_directory


def _optimize_and_check(graph_def: Any, signature: signature_lib.GraphSignature, options: ConversionOptions, source_path: str,
                        frozen_without_tensorflow: bool) -> Any:
    inputs, outputs = [t.node for t in signature.inputs], [t.node for t in signature.outputs]
    flatten_lookups(graph_def)
    graph_def = _unroll_loops(graph_def, inputs, outputs, frozen_without_tensorflow)
    if frozen_without_tensorflow:
        optimized = optimize.optimize_without_tensorflow(graph_def, inputs, outputs)
    else:
        optimized = optimize.optimize_graph(graph_def, inputs, outputs, strip_debug_ops=options.strip_debug_ops)
    if not options.skip_op_check:
        check_supported_ops(optimized, source_path)
    return optimized


def _unroll_loops(graph_def: Any, inputs: List[str], outputs: List[str], frozen_without_tensorflow: bool) -> Any:
    """Lowered while loops with a trip count known from constants become straight-line ops
    (rewrites.LOOPS). Counters and bounds must be constants first: on TensorFlow's path,
    Grappler's folding makes them (static shapes included)."""
    if not any(node.op == "Enter" for node in graph_def.node):
        return graph_def
    if not frozen_without_tensorflow:
        graph_def = optimize.run_grappler(graph_def, inputs, outputs, ["constfold"])
    rewrites.apply_rewrites(graph_def, (*rewrites.CONSTANT_FOLDING, *rewrites.LOOPS), [*inputs, *outputs])
    return graph_def


def write_graph_model(
    output_path: str,
    graph_def: Any,
    signature: signature_lib.GraphSignature,
    options: ConversionOptions,
    generated_by: str,
    source_path: str,
    initializer: Optional[Initializer] = None,
    frozen_without_tensorflow: bool = False,
) -> None:
    """Optimises and checks a frozen graph, then writes model.json and its shards atomically.

    options.metadata is embedded by metadata.user_defined_metadata, the layers writer's rule.
    A graph frozen without TensorFlow (saved_model_graph) is optimised without it too.
    """
    with progress.step("optimising the graph"):
        graph_def = _optimize_and_check(graph_def, signature, options, source_path, frozen_without_tensorflow)
    structured = {"structuredOutputKeys": [t.key for t in signature.outputs]} if options.use_structured_outputs_names else {}
    metadata = metadata_lib.user_defined_metadata(options.metadata, **structured)
    weights = graph_json.extract_weights(graph_def)
    extra = {"signature": signature_lib.to_json(signature)}
    if initializer is not None:
        if not options.skip_op_check:
            check_supported_ops(initializer.graph_def, source_path)
        # A Const both graphs took from one source graph is one weight (TF.js shares the weights).
        names = {w.name for w in weights}
        weights += [w for w in graph_json.extract_weights(initializer.graph_def) if w.name not in names]
    with output_directory(output_path) as staging:
        manifest = write_weights.write_weight_groups([weights], staging, options.weight_shard_size_bytes, options.quantization_dtype_map)
        if initializer is not None:
            extra["modelInitializer"] = graph_json.to_json(initializer.graph_def)
            extra["initializerSignature"] = signature_lib.to_json(initializer.signature)
        topology = graph_json.to_json(graph_def)
        model_json.write_model_json(staging, model_json.GRAPH_FORMAT, topology, manifest, generated_by, metadata, extra)
