"""Shared by the graph optimisation tests: freeze a function, run a GraphDef in TF, op counts.

Optimised graphs hold two TF.js-only ops, Prelu and FusedDepthwiseConv2dNative. To run them in
TF for comparison, `tf_runnable` spells each out again in TF ops, written here independently of
the rewrites under test.
"""

import collections
import os
from typing import Callable, Dict, List, Sequence, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import attr_value_pb2, graph_pb2, node_def_pb2  # noqa: E402
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2  # noqa: E402

ATOL, RTOL = 1e-5, 1e-4
FLOAT = attr_value_pb2.AttrValue(type=tf.float32.as_datatype_enum)


def freeze(fn: Callable, *specs: tf.TensorSpec) -> Tuple[graph_pb2.GraphDef, List[str], List[str]]:
    """(frozen GraphDef, input node names, output node names) of a tf.function."""
    concrete = tf.function(fn).get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    inputs = [t.name.split(":")[0] for t in frozen.inputs]
    outputs = [t.name.split(":")[0] for t in frozen.outputs]
    return graph_def, inputs, outputs


def op_counts(graph_def) -> Dict[str, int]:
    return dict(collections.Counter(node.op for node in graph_def.node))


def nodes_of(graph_def, op: str) -> List[node_def_pb2.NodeDef]:
    return [node for node in graph_def.node if node.op == op]


def fused_ops(node) -> List[str]:
    return [s.decode() for s in node.attr["fused_ops"].list.s]


def _node(name: str, op: str, inputs: Sequence[str], **attrs) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
    node.attr["T"].CopyFrom(FLOAT)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node


def _prelu(name: str, x: str, alpha: str) -> List[node_def_pb2.NodeDef]:
    # max(x, 0) + alpha * min(x, 0)
    return [
        _node(f"{name}/pos", "Relu", [x]),
        _node(f"{name}/zero", "ZerosLike", [x]),
        _node(f"{name}/neg", "Minimum", [x, f"{name}/zero"]),
        _node(f"{name}/scaled", "Mul", [alpha, f"{name}/neg"]),
        _node(name, "AddV2", [f"{name}/pos", f"{name}/scaled"]),
    ]


_BASE = {"FusedDepthwiseConv2dNative": "DepthwiseConv2dNative", "_FusedConv2D": "Conv2D", "_FusedMatMul": "MatMul"}
_BASE_ATTRS = ("strides", "padding", "dilations", "data_format", "explicit_paddings", "transpose_a", "transpose_b")


def _spell_out(node) -> List[node_def_pb2.NodeDef]:
    """A fused conv/matmul as its base op, BiasAdd and activation."""
    ops = fused_ops(node)
    assert ops[0] == "BiasAdd" and len(ops) <= 2, ops
    base = _node(f"{node.name}/base", _BASE[node.op], node.input[:2])
    for key in _BASE_ATTRS:
        if key in node.attr:
            base.attr[key].CopyFrom(node.attr[key])
    last = node.name if len(ops) == 1 else f"{node.name}/bias"
    nodes = [base, _node(last, "BiasAdd", [base.name, node.input[2]])]
    if len(ops) == 2 and ops[1] == "Prelu":
        nodes += _prelu(node.name, last, node.input[3])
    elif len(ops) == 2:
        activation = _node(node.name, ops[1], [last])
        if ops[1] == "LeakyRelu":
            activation.attr["alpha"].f = node.attr["leakyrelu_alpha"].f
        nodes.append(activation)
    return nodes


def tf_runnable(graph_def) -> graph_pb2.GraphDef:
    """graph_def with the ops TF cannot run (Prelu, FusedDepthwiseConv2dNative, Prelu fusions) spelled out."""
    out = graph_pb2.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.op == "Prelu":
            out.node.extend(_prelu(node.name, node.input[0], node.input[1]))
        elif node.op == "FusedDepthwiseConv2dNative" or (node.op in _BASE and "Prelu" in fused_ops(node)):
            out.node.extend(_spell_out(node))
        else:
            out.node.add().CopyFrom(node)
    return out


def run(graph_def, inputs: Sequence[str], outputs: Sequence[str], values: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Run graph_def in TF (TF.js-only ops spelled out) on `values` for `inputs`."""
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(tf_runnable(graph_def), name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run([f"{name}:0" for name in outputs], {f"{name}:0": v for name, v in zip(inputs, values)})


def assert_same_outputs(before, after, inputs, outputs, values, atol=ATOL, rtol=RTOL) -> None:
    for want, got in zip(run(before, inputs, outputs, values), run(after, inputs, outputs, values)):
        np.testing.assert_allclose(got, want, atol=atol, rtol=rtol)


def randomize_batch_norms(model, seed: int = 0) -> None:
    """Batch-norm statistics and affine parameters away from their identity defaults.

    Fresh Keras batch norms are identities (mean 0, variance 1, gamma 1, beta 0), which would let
    folding bugs hide; kernels keep Keras's scaled initialisation so deep nets stay in range.
    """
    rng = np.random.default_rng(seed)
    ranges = {"gamma": (0.5, 1.5), "beta": (-0.5, 0.5), "moving_mean": (-0.5, 0.5), "moving_variance": (0.5, 1.5)}
    for layer in model.layers:
        if isinstance(layer, keras_batch_norm_types()):
            for variable in layer.weights:
                low, high = ranges[variable.path.rsplit("/", 1)[-1]]
                variable.assign(rng.uniform(low, high, variable.shape).astype(np.float32))


def keras_batch_norm_types() -> tuple:
    import keras

    return (keras.layers.BatchNormalization,)


def randomize(model, seed: int = 0) -> None:
    """Every weight random (biases too: zeros would let Grappler erase the bias adds)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        name = variable.path.rsplit("/", 1)[-1]
        low, high = (0.5, 1.5) if name in ("moving_variance", "gamma") else (-0.5, 0.5)
        variable.assign(rng.uniform(low, high, variable.shape).astype(np.float32))
