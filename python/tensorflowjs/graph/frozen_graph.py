"""A frozen GraphDef file as input: reading it and naming its inputs and outputs.

Inputs are its Placeholder nodes; outputs are the nodes the user names, checked against
the graph with close names suggested for typos.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, List, Optional

from tensorflowjs.errors import ConversionError
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor


def read_graph_def(path: str) -> Any:
    """The GraphDef in a binary .pb file; anything else is a ConversionError."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.framework import graph_pb2

    if not os.path.isfile(path):
        raise ConversionError(f"{path} is not a file; give a frozen GraphDef (.pb) file")
    graph_def = graph_pb2.GraphDef()
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


def signature_of(graph_def: Any, output_names: List[str], path: str) -> GraphSignature:
    """Placeholders as inputs and the named nodes as outputs; unknown names get suggestions."""
    import tensorflow as tf

    nodes = {node.name: node for node in graph_def.node}
    for name in output_names:
        if name.split(":")[0] not in nodes:
            close = difflib.get_close_matches(name.split(":")[0], list(nodes), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; check --output_node_names"
            raise ConversionError(f"output node {name!r} is not in the graph of {path}{hint}")
    inputs = []
    for node in graph_def.node:
        if node.op == "Placeholder":
            try:
                dtype = tf.as_dtype(node.attr["dtype"].type)
                shape = tf.TensorShape(node.attr["shape"].shape) if "shape" in node.attr else tf.TensorShape(None)
            except (TypeError, ValueError) as e:
                raise ConversionError(f"{path}: Placeholder {node.name!r} has an invalid dtype or shape ({e}); the graph is damaged") from None
            inputs.append(SignatureTensor(node.name, _tensor_of(node.name), dtype, shape))
    graph = _output_specs(graph_def, output_names)
    outputs = [SignatureTensor(name.split(":")[0] if name.endswith(":0") or ":" not in name else name, _tensor_of(name), dtype, shape)
               for name, (dtype, shape) in zip(output_names, graph)]
    return GraphSignature(inputs, outputs)


def _output_specs(graph_def: Any, output_names: List[str]):
    """(dtype, shape) of each output tensor, found by importing the graph."""
    import tensorflow as tf

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
