"""The public converter's affine quantization, as a float64 numpy reference for tests."""

import numpy as np


def reference_affine(data: np.ndarray, bits: int):
    """The public converter's uint8/uint16 math, in float64 numpy."""
    qmax = 2**bits - 1
    lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        return np.zeros(data.shape, np.uint8 if bits == 8 else np.uint16), lo, 1.0
    scale = (hi - lo) / qmax
    if lo <= 0 <= hi:
        zero_point = np.round(-lo / scale)
        lo = -zero_point * scale
        hi = qmax * scale + lo
    q = np.round((np.clip(data.astype(np.float64), lo, hi) - lo) / scale)
    return q.astype(np.uint8 if bits == 8 else np.uint16), lo, scale
