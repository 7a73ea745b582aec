"""How far TF.js may be from the source framework, from the weights' dtypes and quantization.

An output passes when max |tfjs - source| <= ATOL + rtol * max |source|: the error is
measured against the output's own magnitude, which keeps near-zero elements from making
relative errors meaningless.

Unquantized float32 models differ only by operation order (XNNPACK on WASM, fused kernels),
so FLOAT32_RTOL is tight. A quantized weight moves by at most half a quantization step: for
uint8/uint16 that is scale/2 of the manifest's affine parameters, relative to the tensor's
largest magnitude; for float16 it is 2**-11 of the value. QUANTIZED_GROWTH times the largest
such relative step over the quantized weights is added to the float32 bound. Measured: the
outputs of MobileNetV2 and ResNet50 (random weights and batch-norm statistics) and of small
MLPs move by 0.6 to 1.8 steps under every quantization, whatever their depth (independent
errors mostly cancel), so 10 steps leave more than 5x headroom while a wrong weight, which
moves outputs by far more, still fails.
"""

from dataclasses import dataclass
from typing import Dict, List

FLOAT32_RTOL = 1e-4
ATOL = 1e-6
FLOAT16_RELATIVE_STEP = 2.0 ** -11
QUANTIZED_GROWTH = 10.0
_AFFINE_LEVELS = {"uint8": 255, "uint16": 65535}


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str  # what the bound was derived from, for the report

    def bound(self, scale: float) -> float:
        return self.atol + self.rtol * scale


def _relative_step(quantization: Dict) -> float:
    dtype = quantization.get("dtype")
    if dtype == "float16":
        return FLOAT16_RELATIVE_STEP
    levels = _AFFINE_LEVELS.get(dtype)
    if levels is None or "scale" not in quantization:
        return 0.0
    low, scale = float(quantization.get("min", 0.0)), float(quantization["scale"])
    largest = max(abs(low), abs(low + scale * levels))
    return 0.0 if largest == 0 else (scale / 2) / largest


def for_manifest(weights_manifest: List[Dict]) -> Tolerance:
    """The tolerance of a converted model, from its model.json weightsManifest."""
    quantized = [w["quantization"] for group in weights_manifest for w in group.get("weights", []) if w.get("quantization")]
    if not quantized:
        return Tolerance(FLOAT32_RTOL, ATOL, "float32 weights")
    step = max(_relative_step(q) for q in quantized)
    dtypes = "/".join(sorted({q.get("dtype", "?") for q in quantized}))
    rtol = FLOAT32_RTOL + QUANTIZED_GROWTH * step
    return Tolerance(rtol, ATOL, f"{len(quantized)} {dtypes} weights, largest relative step {step:.1e}")
