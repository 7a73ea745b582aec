"""Runs converted models in headless Chromium on WebGL, WASM and CPU, as a web page does.

Most users ship to a browser, often on WebGL; Node has no WebGL. browser_runner.js serves the
TF.js bundle and each model from 127.0.0.1 and drives Debian's Chromium with puppeteer-core;
WebGL runs on SwiftShader (software GL), with float32 textures, or with half-float textures
when `f16=True` (as on phone GPUs without float32 render targets).
"""

import json
import os
import subprocess
import tempfile
from typing import Dict, Mapping, Optional, Sequence

from tensorflowjs.verify import harness
from tfjs_e2e import Case, _decode, _mismatch, _node, _request, node_modules_dir

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "browser_runner.js")
BACKENDS = ("webgl", "wasm", "cpu")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# WebGL computes in float32 on SwiftShader, but TF.js's shaders take shortcuts (exp, tanh,
# pow, packed matmul accumulation), so outputs drift further from TF than on CPU/WASM.
WEBGL_ATOL = 1e-3
WEBGL_RTOL = 1e-3


def _browser_node_modules() -> str:
    """puppeteer-core from Bazel's @browser_npm in runfiles, else tests/browser/node_modules."""
    for root in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
        if root:
            candidate = os.path.join(root, "browser_npm", "node_modules")
            if os.path.isdir(os.path.join(candidate, "puppeteer-core")):
                return candidate
    local = os.path.join(HERE, "node_modules")
    if os.path.isdir(os.path.join(local, "puppeteer-core")):
        return local
    raise RuntimeError("puppeteer-core is not installed: run the tests through Bazel, or `npm ci` in tests/browser")


def run_browser(requests: Sequence[Dict]) -> list:
    """Every request in its own page of one Chromium; the replies in order."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (./bazelw does)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"batch": list(requests)}, f)
    try:
        env = dict(os.environ, NODE_PATH=os.pathsep.join([node_modules_dir(), _browser_node_modules()]),
                   TENSOR_CODEC=os.path.join(os.path.dirname(harness.HARNESS_JS), "tensor_codec.js"))
        result = subprocess.run([_node(), RUNNER, f.name], capture_output=True, text=True, env=env, timeout=3000)
    finally:
        os.unlink(f.name)
    if result.returncode != 0:
        raise AssertionError(f"Chromium run failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)["results"]


def check_browser_batch(
    cases: Mapping[str, Case], backends: Sequence[str] = BACKENDS, f16: bool = False
) -> Dict[str, Optional[str]]:
    """name -> None if the model matched on every backend in Chromium, else why not.

    On WebGL the case's tolerance is widened to at least WEBGL_ATOL / WEBGL_RTOL; the backend
    TF.js reports must be the one asked for, and with `f16` the textures must be half floats.
    """
    keys = [(name, backend) for name in cases for backend in backends]
    requests = []
    for name, backend in keys:
        request = _request(cases[name].model_dir, cases[name].inputs, backend, cases[name].output_names)
        request["f16"] = f16 and backend == "webgl"
        requests.append(request)
    verdicts: Dict[str, Optional[str]] = {name: None for name in cases}
    for (name, backend), reply in zip(keys, run_browser(requests)):
        if verdicts[name] is not None:
            continue
        if "error" in reply:
            verdicts[name] = f"Chromium ({backend}) failed: {reply['error'][:4000]}"
            continue
        if reply["backend"] != backend:
            verdicts[name] = f"asked for {backend}, TF.js ran {reply['backend']}"
            continue
        if f16 and backend == "webgl" and reply["flags"].get("WEBGL_RENDER_FLOAT32_ENABLED", True):
            verdicts[name] = "WebGL still renders to float32 textures with WEBGL_FORCE_F16_TEXTURES set"
            continue
        case = cases[name]
        atol, rtol = (max(case.atol, WEBGL_ATOL), max(case.rtol, WEBGL_RTOL)) if backend == "webgl" else (case.atol, case.rtol)
        verdicts[name] = _mismatch(f"chromium {backend}", [_decode(o) for o in reply["outputs"]], case.expected, atol, rtol)
    return verdicts
