"""The end-to-end harness itself: it must load both model kinds and catch a wrong answer."""

import json
import sys

import numpy as np
import pytest

import make_mlp
from tfjs_e2e import BACKENDS, Case, assert_tfjs_matches, check_tfjs_batch, run_tfjs

X = np.random.default_rng(0).normal(size=(3, make_mlp.INPUT_DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def layers_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlp")
    make_mlp.write(str(path))
    return str(path)


def _tensor_attr(values: np.ndarray):
    return {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": str(d)} for d in values.shape]}}}


@pytest.fixture(scope="module")
def graph_model(tmp_path_factory):
    """y = relu(x @ w + b), written by hand as a graph-model model.json (GraphDef as JSON)."""
    path = tmp_path_factory.mktemp("graph")
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5
    b = np.array([0.1, -0.2, 0.3], np.float32)
    float_attr = {"T": {"type": "DT_FLOAT"}}
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}, "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "4"}]}}}},
        {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": _tensor_attr(w)}},
        {"name": "b", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": _tensor_attr(b)}},
        {"name": "matmul", "op": "MatMul", "input": ["x", "w"], "attr": float_attr},
        {"name": "add", "op": "BiasAdd", "input": ["matmul", "b"], "attr": float_attr},
        {"name": "y", "op": "Relu", "input": ["add"], "attr": float_attr},
    ]
    (path / "weights.bin").write_bytes(w.tobytes() + b.tobytes())
    model = {
        "format": "graph-model",
        "modelTopology": {"node": nodes, "versions": {"producer": 1}},
        "weightsManifest": [{"paths": ["weights.bin"], "weights": [
            {"name": "w", "shape": [4, 3], "dtype": "float32"},
            {"name": "b", "shape": [3], "dtype": "float32"},
        ]}],
    }
    (path / "model.json").write_text(json.dumps(model))
    return str(path), lambda x: np.maximum(x @ w + b, 0)


def test_layers_model_runs_on_every_backend(layers_model):
    results = assert_tfjs_matches(layers_model, [X], [make_mlp.predict(make_mlp.weights(), X)])
    assert set(results) == set(BACKENDS)


def test_graph_model_runs_on_every_backend(graph_model):
    path, reference = graph_model
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    assert_tfjs_matches(path, {"x": x}, [reference(x)], output_names=["y"])


def test_wrong_expectation_fails(layers_model):
    wrong = make_mlp.predict(make_mlp.weights(), X) + 1e-3
    with pytest.raises(AssertionError):
        assert_tfjs_matches(layers_model, [X], [wrong], backends=("cpu",))


def test_non_finite_inputs_round_trip(graph_model):
    path, _ = graph_model
    x = np.array([[np.nan, 1, 1, 1], [np.inf, 0, 0, 0]], np.float32)
    (y,) = run_tfjs(path, {"x": x}, "cpu", ["matmul"])
    assert np.isnan(y[0]).all() and np.isinf(y[1]).any()


def test_broken_model_reports_the_tfjs_error(tmp_path):
    (tmp_path / "model.json").write_text('{"format": "layers-model", "modelTopology": {"class_name": "Nope", "config": {}}, "weightsManifest": []}')
    with pytest.raises(AssertionError, match="TF.js \\(cpu\\) failed"):
        run_tfjs(str(tmp_path), [X], "cpu")



def test_batch_mode_judges_each_model_on_its_own(layers_model, tmp_path):
    """Many models in one Node process: a wrong answer or a broken model fails only its own case."""
    right = make_mlp.predict(make_mlp.weights(), X)
    verdicts = check_tfjs_batch(
        {
            "right": Case(layers_model, [X], [right]),
            "wrong": Case(layers_model, [X], [right + 1e-3]),
            "missing": Case(str(tmp_path / "nowhere"), [X], [right]),
        }
    )
    assert verdicts["right"] is None
    assert "cpu output 0" in verdicts["wrong"]
    assert verdicts["missing"].startswith("TF.js (cpu) failed")

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
