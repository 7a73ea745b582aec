"""Runs converted models in real TF.js (Node, CPU and WASM backends) and compares outputs.

Every format-pair test ends here: the only verdict that matters is that @tensorflow/tfjs
loads the model and predicts what the source framework predicts. Running the model is
tensorflowjs.verify.harness, the code `tensorflowjs_converter --verify` runs too; this module
adds where the tests' TF.js lives (Bazel's @tfjs_npm) and assertions with explicit tolerances.
"""

import os
import shutil
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from tensorflowjs.verify import harness
from tensorflowjs.verify.harness import BACKENDS, Inputs

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = harness.HARNESS_JS

# Request encoding and reply decoding, under the names other test helpers (tests/browser) import.
_encode, _decode, _request = harness.encode, harness.decode, harness.request

__all__ = ["BACKENDS", "Case", "Inputs", "assert_tfjs_matches", "check_tfjs_batch", "node_modules_dir", "run_tfjs"]


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


def _run_harness(request: Dict, failure: str) -> Dict:
    try:
        return harness.run(request, _node(), node_modules_dir())
    except harness.HarnessError as e:
        raise AssertionError(f"TF.js {failure}:\n{e}") from None


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
