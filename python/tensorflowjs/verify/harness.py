"""The Python side of harness.js: numpy arrays in, one Node process, numpy arrays out.

Shared by `tensorflowjs_converter --verify` and the project's end-to-end tests
(tests/e2e/tfjs_e2e.py), so both judge a model through the same code path.
"""

import json
import os
import subprocess
import tempfile
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np

HARNESS_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.js")
BACKENDS = ("cpu", "wasm")

Inputs = Union[np.ndarray, Sequence[np.ndarray], Mapping[str, np.ndarray]]


class HarnessError(Exception):
    """Node exited with an error; the message is the end of its stderr."""

    @property
    def summary(self) -> str:
        """The line saying what went wrong (Node prints the failing source line first)."""
        lines = [line.strip() for line in str(self).splitlines() if line.strip()]
        return next((line for line in lines if "Error" in line), lines[-1] if lines else "no message")


def _number(value):
    value = value.item()
    return value if np.isfinite(value) else str(value).replace("nan", "NaN").replace("inf", "Infinity")


def encode(name: Optional[str], array) -> Dict:
    """One input tensor as harness.js reads it (non-finite numbers as strings)."""
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


def decode(output: Dict) -> np.ndarray:
    """One output tensor of harness.js's reply as a numpy array of its TF.js dtype."""
    shape, dtype, data = output["shape"], output["dtype"], output["data"]
    if dtype == "string":
        return np.array(data, dtype=object).reshape(shape)
    values = np.array([float(v) if isinstance(v, str) else v for v in data], dtype=np.float64)
    if dtype == "complex64":
        return (values[0::2] + 1j * values[1::2]).astype(np.complex64).reshape(shape)
    return values.astype({"bool": np.bool_, "int32": np.int32}.get(dtype, np.float32)).reshape(shape)


def request(model_dir: str, inputs: Inputs, backend: str, output_names: Optional[Sequence[str]] = None) -> Dict:
    """A request to run model_dir on backend; a Mapping feeds inputs by name, a sequence by position."""
    if isinstance(inputs, Mapping):
        encoded = [encode(name, value) for name, value in inputs.items()]
    elif isinstance(inputs, np.ndarray):
        encoded = [encode(None, inputs)]
    else:
        encoded = [encode(None, value) for value in inputs]
    result = {"model_dir": os.path.abspath(model_dir), "backend": backend, "inputs": encoded}
    if output_names:
        result["output_names"] = list(output_names)
    return result


def run(payload: Dict, node: str, node_modules: str, timeout: float = 1200) -> Dict:
    """Runs one request, or {"batch": [...]}, in one Node process; HarnessError if Node fails."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(payload, f)
    try:
        env = dict(os.environ, NODE_PATH=node_modules)
        result = subprocess.run([node, HARNESS_JS, f.name], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"TF.js did not finish within {timeout:.0f} s") from None
    finally:
        os.unlink(f.name)
    if result.returncode != 0:
        raise HarnessError(result.stderr[-4000:])
    return json.loads(result.stdout)
