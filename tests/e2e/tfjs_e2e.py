"""Runs converted models in real TF.js (Node, CPU and WASM backends) and compares outputs.

Every format-pair test ends here: the only verdict that matters is that @tensorflow/tfjs
loads the model and predicts what the source framework predicts.
"""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "harness.js")
BACKENDS = ("cpu", "wasm")

Inputs = Union[np.ndarray, Sequence[np.ndarray], Mapping[str, np.ndarray]]


def node_modules_dir() -> str:
    """The npm ci'd node_modules: Bazel's @tfjs_npm in runfiles, else tests/e2e/node_modules."""
    # Tests get RUNFILES_DIR/TEST_SRCDIR; a `bazel run` binary finds its runfiles above this file.
    beside_workspace = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    for root in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR"), beside_workspace):
        if root:
            candidate = os.path.join(root, "tfjs_npm", "node_modules")
            if os.path.isdir(os.path.join(candidate, "@tensorflow", "tfjs")):
                return candidate
    local = os.path.join(HERE, "node_modules")
    if os.path.isdir(os.path.join(local, "@tensorflow", "tfjs")):
        return local
    raise RuntimeError("@tensorflow/tfjs is not installed: run the tests through Bazel, or `npm ci` in tests/e2e")


def _node() -> str:
    node = shutil.which("node") or next((p for p in ("/usr/bin/node", "/usr/local/bin/node") if os.path.exists(p)), None)
    if not node:
        raise RuntimeError("node (Node.js >= 18) is required for the TF.js end-to-end tests")
    return node


def _encode(name: Optional[str], array) -> Dict:
    array = np.asarray(array)
    if array.dtype.kind in "US" or array.dtype == object:
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in array.reshape(-1)]
        return {"name": name, "dtype": "string", "shape": list(array.shape), "data": values}
    if array.dtype.kind == "c":
        pairs = np.stack([array.real, array.imag], axis=-1).astype(np.float32).reshape(-1)
        return {"name": name, "dtype": "complex64", "shape": list(array.shape), "data": [_number(v) for v in pairs]}
    dtype = {"b": "bool", "i": "int32", "u": "int32", "f": "float32"}[array.dtype.kind]
    flat = array.reshape(-1)
    data = [bool(v) for v in flat] if dtype == "bool" else [_number(v) for v in flat]
    return {"name": name, "dtype": dtype, "shape": list(array.shape), "data": data}


def _number(value):
    value = value.item()
    return value if np.isfinite(value) else str(value).replace("nan", "NaN").replace("inf", "Infinity")


def _decode(output: Dict) -> np.ndarray:
    shape, dtype, data = output["shape"], output["dtype"], output["data"]
    if dtype == "string":
        return np.array(data, dtype=object).reshape(shape)
    values = np.array([float(v) if isinstance(v, str) else v for v in data], dtype=np.float64)
    if dtype == "complex64":
        return (values[0::2] + 1j * values[1::2]).astype(np.complex64).reshape(shape)
    return values.astype({"bool": np.bool_, "int32": np.int32}.get(dtype, np.float32)).reshape(shape)


def _request(model_dir: str, inputs: Inputs, backend: str, output_names: Optional[Sequence[str]]) -> Dict:
    if isinstance(inputs, Mapping):
        encoded = [_encode(name, value) for name, value in inputs.items()]
    elif isinstance(inputs, np.ndarray):
        encoded = [_encode(None, inputs)]
    else:
        encoded = [_encode(None, value) for value in inputs]
    request = {"model_dir": os.path.abspath(model_dir), "backend": backend, "inputs": encoded}
    if output_names:
        request["output_names"] = list(output_names)
    return request


def _run_harness(request: Dict, failure: str) -> Dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(request, f)
    try:
        env = dict(os.environ, NODE_PATH=node_modules_dir())
        result = subprocess.run([_node(), HARNESS, f.name], capture_output=True, text=True, env=env, timeout=1200)
    finally:
        os.unlink(f.name)
    if result.returncode != 0:
        raise AssertionError(f"TF.js {failure}:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


@dataclass
class Case:
    """One model to check in a batch: its inputs, the expected outputs and the tolerance."""

    model_dir: str
    inputs: Inputs
    expected: Union[np.ndarray, Sequence[np.ndarray]]
    atol: float = 1e-5
    rtol: float = 1e-5
    output_names: Optional[Sequence[str]] = None


def _mismatch(backend: str, actual: List[np.ndarray], expected: Union[np.ndarray, Sequence[np.ndarray]], atol: float, rtol: float) -> Optional[str]:
    """Why TF.js's outputs on `backend` differ from `expected`, or None if they match."""
    expected = [expected] if isinstance(expected, np.ndarray) else list(expected)
    if len(actual) != len(expected):
        return f"{backend}: {len(actual)} outputs, expected {len(expected)}"
    for index, (got, want) in enumerate(zip(actual, expected)):
        want = np.asarray(want)
        if got.shape != want.shape:
            return f"{backend} output {index}: shape {got.shape}, expected {want.shape}"
        if want.dtype == object or want.dtype.kind in "US":
            if got.tolist() != want.astype(object).tolist():
                return f"{backend} output {index} differs: {got.tolist()} != {want.tolist()}"
            continue
        try:
            np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=f"{backend} output {index}")
        except AssertionError as e:
            return str(e)
    return None


def check_tfjs_batch(cases: Mapping[str, Case], backends: Sequence[str] = BACKENDS) -> Dict[str, Optional[str]]:
    """Runs every case on every backend in ONE Node process; name -> None if it matched, else why not.

    Node and TF.js start once instead of once per model and backend, which is most of the
    time of a small model's check.
    """
    keys = [(name, backend) for name in cases for backend in backends]
    batch = [_request(cases[name].model_dir, cases[name].inputs, backend, cases[name].output_names) for name, backend in keys]
    replies = _run_harness({"batch": batch}, f"failed on a batch of {len(cases)} models")["results"]
    verdicts: Dict[str, Optional[str]] = {name: None for name in cases}
    for (name, backend), reply in zip(keys, replies):
        if verdicts[name] is not None:
            continue
        if "error" in reply:
            verdicts[name] = f"TF.js ({backend}) failed: {reply['error'][:4000]}"
        else:
            case = cases[name]
            verdicts[name] = _mismatch(backend, [_decode(o) for o in reply["outputs"]], case.expected, case.atol, case.rtol)
    return verdicts


def run_tfjs(
    model_dir: str, inputs: Inputs, backend: str = "cpu", output_names: Optional[Sequence[str]] = None
) -> List[np.ndarray]:
    """Loads model_dir/model.json in TF.js on `backend`, predicts, returns the outputs in order."""
    reply = _run_harness(_request(model_dir, inputs, backend, output_names), f"({backend}) failed on {model_dir}")
    return [_decode(o) for o in reply["outputs"]]


def assert_tfjs_matches(
    model_dir: str,
    inputs: Inputs,
    expected: Union[np.ndarray, Sequence[np.ndarray]],
    atol: float = 1e-5,
    rtol: float = 1e-5,
    backends: Sequence[str] = BACKENDS,
    output_names: Optional[Sequence[str]] = None,
) -> Dict[str, List[np.ndarray]]:
    """Asserts TF.js on every backend reproduces `expected`; returns the outputs per backend."""
    results = {}
    for backend in backends:
        results[backend] = run_tfjs(model_dir, inputs, backend, output_names)
        problem = _mismatch(backend, results[backend], expected, atol, rtol)
        assert problem is None, problem
    return results
