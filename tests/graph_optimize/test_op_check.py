"""The op check: every op TF.js cannot run is named with its count and a node, library included;
and the shipped op list is exactly what tools/update_supported_ops.py derives from npm."""

import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

import update_supported_ops
from optimize_testing import freeze
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import op_check
from tfjs_e2e import node_modules_dir


def test_supported_ops_json_is_what_the_script_derives_from_the_pinned_npm_package():
    derived = update_supported_ops.derive(node_modules_dir())
    shipped_path = os.path.join(os.path.dirname(op_check.__file__), "supported_ops.json")
    with open(shipped_path, encoding="utf-8") as f:
        text = f.read()
    assert json.loads(text) == derived
    assert text == update_supported_ops.render(derived)
    assert {"Conv2D", "_FusedConv2D", "FusedDepthwiseConv2dNative", "Prelu"} <= set(derived["ops"])


def test_unsupported_ops_are_listed_with_count_and_a_node_name():
    def fn(x):
        a = tf.debugging.check_numerics(x, "a")
        b = tf.debugging.check_numerics(a * 2.0, "b")
        return tf.raw_ops.Igamma(a=b, x=a)

    graph_def, _, _ = freeze(fn, tf.TensorSpec([3]))
    with pytest.raises(ConversionError) as error:
        op_check.check_supported_ops(graph_def, "/models/m")
    message = str(error.value)
    assert "\n" not in message and message.startswith("/models/m:")
    assert "CheckNumerics (x2, e.g. node 'CheckNumerics" in message
    assert "Igamma (x1, e.g. node 'Igamma')" in message
    assert "--skip_op_check" in message and "Mul" not in message
    assert "pass --strip_debug_ops to remove CheckNumerics;" in message


def test_ops_inside_library_functions_are_checked():
    @tf.function
    def fn(x):
        return tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, tf.raw_ops.Igamma(a=y, x=y)), (0, x))[1]

    graph_def = fn.get_concrete_function(tf.TensorSpec([3])).graph.as_graph_def()
    assert not any(node.op == "Igamma" for node in graph_def.node)
    with pytest.raises(ConversionError, match=r"Igamma \(x1, e\.g\. node '[^']*/Igamma'\)") as error:
        op_check.check_supported_ops(graph_def, "model")
    assert "--strip_debug_ops" not in str(error.value)


def test_a_graph_of_supported_ops_passes():
    weights = tf.constant(np.ones((3, 2), np.float32))
    graph_def, _, _ = freeze(lambda x: tf.nn.relu(tf.matmul(x, weights)), tf.TensorSpec([1, 3]))
    assert op_check.check_supported_ops(graph_def, "model") is None


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"] + sys.argv[1:]))
