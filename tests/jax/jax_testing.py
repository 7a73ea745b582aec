"""Shared by the JAX tests: run a lowered function's GraphDef in TF, the op set TF.js executes, model.json.

A lowering is checked against JAX itself (1e-5 absolute plus 1e-4 relative), and every op it
emits must be one TF.js has a kernel for. That op set is the converter's
tensorflowjs/graph/supported_ops.json when present, else the list TF.js itself ships
(@tensorflow/tfjs-converter's op_list, in the e2e node_modules).
"""

import glob
import json
import os
import re
from typing import Callable, Dict, List, Optional, Sequence, Set

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import tensorflowjs  # noqa: E402
from tensorflowjs.jax_lowering import graph_model, tracing  # noqa: E402

ATOL, RTOL = 1e-5, 1e-4


class Lowered:
    """A function lowered as convert_jax lowers it: the GraphDef (before the graph model's
    optimisation) and its signature."""

    def __init__(self, traced: tracing.Traced):
        self.graph_def, self.signature = graph_model.build(traced)


def lower(fn: Callable, params, input_signatures, polymorphic_shapes=None) -> Lowered:
    """The graph convert_jax would build for `fn(params, *inputs)`."""
    return Lowered(tracing.trace(fn, params, input_signatures, polymorphic_shapes))


def run_tf(lowered: Lowered, *inputs) -> List[np.ndarray]:
    """The GraphDef run by TensorFlow (a v1 session, which also runs while-loop frames)."""
    graph_def = tf.compat.v1.GraphDef.FromString(lowered.graph_def.SerializeToString())
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            feeds = {t.name: x for t, x in zip(lowered.signature.inputs, inputs)}
            return session.run([t.name for t in lowered.signature.outputs], feeds)


def reference(fn: Callable, params, *inputs) -> List[np.ndarray]:
    """What JAX computes for `fn(params, *inputs)`."""
    outputs = fn(jax.tree_util.tree_map(jax.numpy.asarray, params), *(jax.numpy.asarray(x) for x in inputs))
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(outputs)]


def assert_close(got: Sequence[np.ndarray], want: Sequence[np.ndarray], atol=ATOL, rtol=RTOL) -> None:
    assert len(got) == len(want)
    for index, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {index}: shape {g.shape}, expected {w.shape}"
        assert g.dtype == w.dtype, f"output {index}: dtype {g.dtype}, expected {w.dtype}"
        np.testing.assert_allclose(g, w, atol=atol, rtol=rtol, err_msg=f"output {index}")


def graph_ops(lowered: Lowered) -> Set[str]:
    """Op types in the lowered graph."""
    return {node.op for node in lowered.graph_def.node}


def _npm_op_list() -> Optional[Set[str]]:
    from tfjs_e2e import node_modules_dir

    try:
        root = node_modules_dir()
    except RuntimeError:
        return None
    ops: Set[str] = set()
    for path in glob.glob(os.path.join(root, "@tensorflow", "tfjs-converter", "dist", "operations", "op_list", "*.js")):
        ops.update(re.findall(r"['\"]tfOpName['\"]\s*:\s*['\"](\w+)['\"]", open(path).read()))
    return ops or None


def tfjs_ops() -> Set[str]:
    """The op types TF.js executes, or a skip saying why the list is unavailable."""
    shipped = os.path.join(os.path.dirname(tensorflowjs.__file__), "graph", "supported_ops.json")
    if os.path.exists(shipped):
        data = json.load(open(shipped))
        return set(data if isinstance(data, list) else data.get("ops", data))
    ops = _npm_op_list()
    if ops is None:
        pytest.skip("no TF.js op list: tensorflowjs/graph/supported_ops.json is absent and so is @tensorflow/tfjs-converter")
    return ops


def model_json_ops(model_dir: str) -> Set[str]:
    """Op types of a graph model.json, functions of its library included."""
    topology = json.load(open(os.path.join(model_dir, "model.json")))["modelTopology"]
    ops = {node["op"] for node in topology.get("node", [])}
    for function in topology.get("library", {}).get("function", []):
        ops.update(node["op"] for node in function.get("nodeDef", []))
    return ops


def convert_tf_saved_model() -> Callable:
    """The SavedModel -> graph model converter (for the TensorFlow reference), or a skip while it
    does not exist yet."""
    try:
        from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model as convert
    except ImportError as e:
        pytest.skip(f"tensorflowjs.converters.tf_saved_model_conversion_v2.convert_tf_saved_model is not importable yet ({e})")
    return convert


def tfjs_inputs(model_dir: str, arrays: Sequence[np.ndarray]) -> Dict[str, np.ndarray]:
    """The model's inputs by name: array i feeds the signature input named after xs_i."""
    names = list(json.load(open(os.path.join(model_dir, "model.json")))["signature"]["inputs"])
    by_index = {}
    for name in names:
        match = re.search(r"xs_(\d+)", name)
        assert match, f"unexpected input name {name} in {model_dir}/model.json"
        by_index[int(match.group(1))] = name
    return {by_index[i]: array for i, array in enumerate(arrays)}


def tfjs_output_names(model_dir: str, count: int) -> List[str]:
    """The graph tensors of signature outputs output_0 .. output_{count-1}, in that order."""
    outputs = json.load(open(os.path.join(model_dir, "model.json")))["signature"]["outputs"]
    by_index = {int(re.search(r"output_(\d+)", key).group(1)): spec["name"] for key, spec in outputs.items()}
    return [by_index[i] for i in range(count)]
