"""--verify: run the converted model in TF.js and compare it with the source framework.

The conversion is finished and in place before any of this runs. When Node, TF.js or the
source framework is not available, verification is skipped with one line and the conversion
stands; a mismatch (or TF.js failing to run the model) raises VerificationError, which the
CLI turns into exit code 3, and leaves the converted model where it was written.
"""

import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tensorflowjs import model_json
from tensorflowjs.errors import ConversionError
from tensorflowjs.verify import VerificationError
from tensorflowjs.verify import harness, inputs as inputs_lib, report, tolerance as tolerance_lib
from tensorflowjs.verify.node_runtime import RuntimeUnavailable, find_runtime
from tensorflowjs.verify.sources import Outputs, Source, SourceUnavailable

PREFIX = "tensorflowjs verify"
TFJS_OUTPUT_FORMATS = ("tfjs_layers_model", "tfjs_graph_model")


@dataclass(frozen=True)
class Plan:
    """What to verify with, checked before converting so bad flags write nothing."""

    backends: Tuple[str, ...] = harness.BACKENDS
    inputs_path: Optional[str] = None
    npz: Optional[Dict[str, np.ndarray]] = None


def plan(output_format: str, verify_inputs: Optional[str], backends: Sequence[str]) -> Plan:
    if output_format not in TFJS_OUTPUT_FORMATS:
        raise ConversionError(f"--verify checks TF.js models; --output_format {output_format} is not one (use {' or '.join(TFJS_OUTPUT_FORMATS)})")
    unknown = [b for b in backends if b not in harness.BACKENDS]
    if unknown or not backends:
        raise ConversionError(f"--verify_backends: {','.join(unknown) or 'nothing'} given; choose from {','.join(harness.BACKENDS)}")
    npz = inputs_lib.read_npz(verify_inputs) if verify_inputs else None
    return Plan(tuple(backends), verify_inputs, npz)


def _say(message: str) -> None:
    print(f"{PREFIX}: {message}", file=sys.stderr)


def _aligned(expected: Outputs, names: List[str]) -> List[np.ndarray]:
    """The source's outputs in the converted model's order: by name when all match, else by position."""
    if isinstance(expected, dict):
        return [expected[n] for n in names] if all(n in expected for n in names) else list(expected.values())
    return list(expected)


def _rows(replies: List[Dict], backends: Sequence[str], expected: Outputs, names: Optional[List[str]], tolerance) -> List[report.Row]:
    rows: List[report.Row] = []
    for backend, reply in zip(backends, replies):
        if "error" in reply:
            first = next((line for line in reply["error"].splitlines() if line.strip()), "error")
            rows.append(report.failed(", ".join(names or ["(model)"]), backend, f"TF.js failed: {first.strip()}"))
            continue
        outputs = reply["outputs"]
        got_names = names or [o["name"] for o in outputs]
        want = _aligned(expected, got_names)
        if len(want) != len(outputs):
            rows.append(report.failed(", ".join(got_names), backend, f"TF.js gives {len(outputs)} outputs, the source {len(want)}"))
            continue
        rows.extend(report.compare(name, backend, harness.decode(o), w, tolerance) for name, o, w in zip(got_names, outputs, want))
    return rows


def _feed(model_dir: str, signature: inputs_lib.ModelSignature, verification: Plan) -> Tuple[Dict[str, np.ndarray], str]:
    """(inputs by name, where they came from): the user's .npz, else generated ones."""
    try:
        if verification.npz is not None:
            return inputs_lib.match_npz(verification.npz, signature, verification.inputs_path), verification.inputs_path
        return inputs_lib.generate(signature), f"generated inputs (seed {inputs_lib.SEED})"
    except ConversionError as e:
        raise ConversionError(f"{e}; the converted model is in {model_dir}") from None


def verify_model(model_dir: str, make_source: Callable[[], Source], verification: Plan = Plan()) -> Optional[List[report.Row]]:
    """Prints the comparison table; None when verification was skipped. Raises VerificationError on a mismatch."""
    try:
        runtime = find_runtime()
    except RuntimeUnavailable as e:
        if not e.reported:
            _say(f"skipped ({e}); the conversion itself succeeded")
        return None
    signature = inputs_lib.read_signature(model_dir)
    feed, origin = _feed(model_dir, signature, verification)
    source = None
    try:
        source = make_source()
        expected = source.predict(feed, runtime)
    except (SourceUnavailable, ImportError) as e:
        _say(f"skipped: cannot run the source model ({e}); the conversion itself succeeded")
        return None
    except Exception as e:  # noqa: BLE001 - any framework's error: the inputs, not the conversion, are in question
        first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
        what = source.description if source else "the source model"
        _say(f"skipped: {what} fails on {origin} ({first.strip()}); give --verify_inputs; the conversion itself succeeded")
        return None
    batch = [harness.request(model_dir, feed, backend, signature.output_names) for backend in verification.backends]
    try:
        replies = harness.run({"batch": batch}, runtime.node, runtime.node_modules)["results"]
    except harness.HarnessError as e:  # harness.js reports each model's own errors in its reply: this is the setup
        _say(f"skipped: TF.js in {runtime.node_modules} does not start ({e.summary}); the conversion itself succeeded")
        return None
    tolerance = tolerance_lib.for_manifest(model_json.read_model_json(model_dir, require_weights=False).get("weightsManifest", []))
    rows = _rows(replies, verification.backends, expected, signature.output_names, tolerance)
    print(f"{PREFIX}: TF.js {runtime.tfjs_version} ({', '.join(verification.backends)}) vs {source.description} on {origin}; tolerance from {tolerance.reason}")
    print(report.table(rows))
    bad = [r for r in rows if not r.passed]
    if bad:
        raise VerificationError(f"{len(bad)} of {len(rows)} checks failed ({', '.join(sorted({f'{r.output} on {r.backend}' for r in bad}))}); "
                                f"the converted model is left in {model_dir}")
    _say(f"ok: TF.js matches {source.description} on every output and backend")
    return rows
