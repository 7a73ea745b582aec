"""The pieces --verify judges with: tolerances from quantization, the comparison of one
output, and the inputs it generates from a model's signature."""

import json
import sys

import numpy as np
import pytest

from tensorflowjs.verify import inputs, report, tolerance


def _weight(name, quantization=None):
    weight = {"name": name, "shape": [4, 4], "dtype": "float32"}
    if quantization:
        weight["quantization"] = quantization
    return weight


def test_float32_weights_get_the_tight_bound():
    bound = tolerance.for_manifest([{"paths": ["a.bin"], "weights": [_weight("w")]}])
    assert (bound.rtol, bound.atol) == (tolerance.FLOAT32_RTOL, tolerance.ATOL)


def test_quantized_bounds_follow_the_quantization_step():
    """uint8 over [-1, 1.55] moves a weight by half of 0.01, relative to 1.55; float16 by 2**-11."""
    uint8 = tolerance.for_manifest([{"weights": [_weight("w", {"dtype": "uint8", "min": -1.0, "scale": 0.01})]}])
    step = 0.005 / 1.55
    assert uint8.rtol == pytest.approx(tolerance.FLOAT32_RTOL + tolerance.QUANTIZED_GROWTH * step)
    uint16 = tolerance.for_manifest([{"weights": [_weight("w", {"dtype": "uint16", "min": -1.0, "scale": 2.55 / 65535})]}])
    float16 = tolerance.for_manifest([{"weights": [_weight("w", {"dtype": "float16"})]}])
    assert uint16.rtol < float16.rtol < uint8.rtol
    mixed = tolerance.for_manifest([{"weights": [_weight("a", {"dtype": "float16"}), _weight("b", {"dtype": "uint8", "min": -1.0, "scale": 0.01}), _weight("c")]}])
    assert mixed.rtol == uint8.rtol and "2 float16/uint8 weights" in mixed.reason


FLOAT32 = tolerance.Tolerance(1e-4, 1e-6, "test")


def test_floats_pass_within_the_bound_relative_to_the_output_scale():
    want = np.array([[100.0, 0.001]], np.float32)
    assert report.compare("y", "cpu", want + np.float32(0.009), want, FLOAT32).passed
    row = report.compare("y", "cpu", want + np.float32(0.02), want, FLOAT32)
    assert not row.passed and row.max_rel == pytest.approx(2e-4, rel=1e-3)


@pytest.mark.parametrize("got,want,problem", [
    (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "1 non-finite values where the source has 0"),
    (np.array([1.0, np.inf]), np.array([1.0, -np.inf]), "non-finite"),
    (np.zeros((2, 3)), np.zeros((3, 2)), "shape [2, 3], source [3, 2]"),
])
def test_non_finite_and_shape_mismatches_fail(got, want, problem):
    row = report.compare("y", "wasm", got.astype(np.float32), want.astype(np.float32), FLOAT32)
    assert not row.passed and problem in row.problem


def test_matching_non_finite_values_pass():
    values = np.array([np.nan, np.inf, 1.0], np.float32)
    assert report.compare("y", "cpu", values.copy(), values, FLOAT32).passed


def test_integers_and_strings_must_match_exactly():
    assert not report.compare("ids", "cpu", np.array([1, 2], np.int32), np.array([1, 3], np.int64), FLOAT32).passed
    assert report.compare("ids", "cpu", np.array([1, 2], np.int32), np.array([1, 2], np.int64), FLOAT32).passed
    assert not report.compare("s", "cpu", np.array(["a"], object), np.array([b"b"], object), FLOAT32).passed


def test_table_names_each_row_and_its_problem():
    rows = [report.compare("y", "cpu", np.ones(2, np.float32), np.ones(2, np.float32), FLOAT32), report.failed("y", "wasm", "TF.js failed: boom")]
    text = report.table(rows).splitlines()
    assert text[0].split() == ["output", "backend", "max", "abs", "diff", "max", "rel", "diff", "rel", "tolerance", "result"]
    assert text[1].split()[-1] == "ok" and text[2].split()[-1] == "FAIL" and text[3].strip() == "TF.js failed: boom"


def _graph_model(tmp_path, signature, nodes=(), weights=()):
    model = {"format": "graph-model", "modelTopology": {"node": list(nodes)}, "signature": signature,
             "weightsManifest": [{"paths": [], "weights": list(weights)}]}
    (tmp_path / "model.json").write_text(json.dumps(model))
    return str(tmp_path)


def _tensor(name, dtype, *dims):
    return {"name": name, "dtype": dtype, "tensorShape": {"dim": [{"size": str(d)} for d in dims]}}


def test_generated_inputs_follow_the_signature(tmp_path):
    signature = {"inputs": {"image": _tensor("image:0", "DT_FLOAT", -1, -1, 3), "ids": _tensor("ids:0", "DT_INT64", 1, -1), "mask": _tensor("m:0", "DT_BOOL", 4)},
                 "outputs": {"y": _tensor("Identity:0", "DT_FLOAT", -1)}}
    nodes = [{"name": "table", "op": "Const"}, {"name": "lookup", "op": "GatherV2", "input": ["table", "ids", "axis"]}]
    sig = inputs.read_signature(_graph_model(tmp_path, signature, nodes, [{"name": "table", "shape": [3, 8], "dtype": "float32"}]))
    assert (sig.kind, sig.output_names, sig.token_bound) == ("graph", ["y"], 3)
    fed = inputs.generate(sig)
    assert list(fed) == ["image", "ids", "mask"]
    assert fed["image"].shape == (inputs.DYNAMIC_BATCH, inputs.DYNAMIC_OTHER, 3) and fed["image"].dtype == np.float32
    assert fed["ids"].shape == (1, inputs.DYNAMIC_OTHER) and fed["ids"].dtype == np.int32 and 0 <= fed["ids"].min() and fed["ids"].max() < 3
    assert fed["mask"].dtype == bool
    np.testing.assert_array_equal(inputs.generate(sig)["image"], fed["image"])


def test_layers_inputs_come_from_the_input_layers_in_order(tmp_path):
    layers = [
        {"class_name": "InputLayer", "name": "b", "config": {"name": "b", "batch_input_shape": [None, 2], "dtype": "float32"}},
        {"class_name": "InputLayer", "name": "a", "config": {"name": "a", "batch_input_shape": [None, 7], "dtype": "int32"}},
        {"class_name": "Embedding", "name": "e", "config": {"name": "e", "input_dim": 1000}},
    ]
    topology = {"class_name": "Model", "config": {"layers": layers, "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": []}}
    (tmp_path / "model.json").write_text(json.dumps({"format": "layers-model", "modelTopology": {"model_config": topology}, "weightsManifest": []}))
    sig = inputs.read_signature(str(tmp_path))
    assert [(s.name, s.dtype, s.shape) for s in sig.inputs] == [("a", "int32", [None, 7]), ("b", "float32", [None, 2])]
    assert sig.token_bound == 1000 and inputs.generate(sig)["a"].max() < inputs.INT_HIGH


def test_npz_must_name_every_input(tmp_path):
    sig = inputs.ModelSignature("graph", [inputs.InputSpec("x", "float32", [1])], None, None)
    with pytest.raises(Exception, match=r"has arrays \['y'\], but the model's inputs are \['x'\]"):
        inputs.match_npz({"y": np.zeros(1)}, sig, "in.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a readable .npz"):
        inputs.read_npz(str(tmp_path / "bad.npz"))
    assert list(inputs.match_npz({"x": np.ones(1)}, sig, "in.npz")) == ["x"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
