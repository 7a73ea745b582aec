"""Shared by the graph-model tests: converting through the CLI and reading model.json."""

import json
import os
from typing import Dict, List

import numpy as np

from tensorflowjs.converters import converter

ATOL, RTOL = 1e-5, 1e-4


def convert_saved_model_without_tensorflow(src, dst, *flags: str) -> None:
    """The CLI on a SavedModel, asserting it took the TensorFlow-free path (else the reason it did not)."""
    from unittest import mock

    from tensorflowjs.converters import tf_graph_model

    original, reasons = tf_graph_model._convert_without_tensorflow, []

    def recorded(*args, **kwargs):
        reasons.append(original(*args, **kwargs))
        return reasons[-1]

    with mock.patch.object(tf_graph_model, "_convert_without_tensorflow", recorded):
        assert convert(src, dst, *flags) == 0, src
    assert reasons and reasons[-1] is None, f"{src} took TensorFlow's path: {reasons[-1] if reasons else 'not asked'}"


def convert(src, dst, *flags: str) -> int:
    """The CLI, in-process, as a user would run it."""
    return converter.main([*flags, str(src), str(dst)])


def model_json(model_dir) -> Dict:
    with open(os.path.join(str(model_dir), "model.json")) as f:
        return json.load(f)


def output_keys(model_dir) -> List[str]:
    return list(model_json(model_dir)["signature"]["outputs"])


def ops(model_dir) -> List[str]:
    topology = model_json(model_dir)["modelTopology"]
    found = [node["op"] for node in topology.get("node", [])]
    for function in topology.get("library", {}).get("function", []):
        found += [node["op"] for node in function.get("nodeDef", [])]
    return found


def numpy_outputs(result, keys) -> List[np.ndarray]:
    """A TF signature's dict result as arrays in the model's output order."""
    return [np.asarray(result[key]) for key in keys]


def assert_failed_cleanly(code: int, capsys, dst, *expected_words: str) -> str:
    """Exit 1, one line on stderr naming the problem, nothing written."""
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    lines = [line for line in err.splitlines() if "warning" not in line]
    assert len(lines) == 1, err
    for word in expected_words:
        assert word in lines[0], lines[0]
    assert not os.path.exists(str(dst))
    assert not [n for n in os.listdir(os.path.dirname(str(dst))) if n.startswith(f".{os.path.basename(str(dst))}.tmp")]
    return lines[0]
