"""One row per (output, backend): how far TF.js is from the source, and whether that passes."""

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from tensorflowjs.verify.tolerance import Tolerance


@dataclass(frozen=True)
class Row:
    output: str
    backend: str
    max_abs: float  # nan when not comparable (see problem)
    scale: float  # max |source|
    bound: float  # the largest max_abs that passes; nan when not comparable
    problem: Optional[str] = None  # why the output fails beyond its numbers (shape, NaN, TF.js error)

    @property
    def passed(self) -> bool:
        return self.problem is None and self.max_abs <= self.bound

    @property
    def max_rel(self) -> float:
        """max_abs relative to the output's magnitude: element-wise ratios explode near zero."""
        return self.max_abs / self.scale if self.scale else (0.0 if self.max_abs == 0 else math.inf)

    @property
    def rel_bound(self) -> float:
        """The bound in max_rel's terms, so the table compares like with like."""
        return self.bound / self.scale if self.scale else (0.0 if self.bound == 0 else math.inf)


def _non_finite_problem(got: np.ndarray, want: np.ndarray) -> Optional[str]:
    """Non-finite values must sit where the source has the same ones."""
    got_bad, want_bad = ~np.isfinite(got), ~np.isfinite(want)
    if np.array_equal(got_bad, want_bad) and np.array_equal(got[got_bad], want[want_bad], equal_nan=True):
        return None
    return f"{int(got_bad.sum())} non-finite values where the source has {int(want_bad.sum())}"


def compare(output: str, backend: str, got: np.ndarray, want: np.ndarray, tolerance: Tolerance) -> Row:
    """Floats within the tolerance; integers, booleans and strings exactly."""
    want = np.asarray(want)
    if got.shape != want.shape:
        return Row(output, backend, math.nan, math.nan, math.nan, f"shape {list(got.shape)}, source {list(want.shape)}")
    if want.dtype == object or want.dtype.kind in "USb" or got.dtype == object:
        same = got.astype(object).tolist() == want.astype(object).tolist()
        return Row(output, backend, 0.0 if same else math.inf, 1.0, 0.0, None if same else "values differ")
    exact = want.dtype.kind in "iu"
    got64, want64 = got.astype(np.complex128 if got.dtype.kind == "c" else np.float64), want.astype(np.complex128 if want.dtype.kind == "c" else np.float64)
    problem = _non_finite_problem(got64, want64)
    finite = np.isfinite(got64) & np.isfinite(want64)
    diff = np.abs(got64[finite] - want64[finite])
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = float(np.abs(want64[finite]).max()) if diff.size else 0.0
    return Row(output, backend, max_abs, scale, 0.0 if exact else tolerance.bound(scale), problem)


def failed(output: str, backend: str, message: str) -> Row:
    """TF.js could not run the converted model on this backend."""
    return Row(output, backend, math.nan, math.nan, math.nan, message)


def _number(value: float) -> str:
    return "-" if math.isnan(value) else "inf" if math.isinf(value) else f"{value:.2e}"


def table(rows: List[Row]) -> str:
    """The rows as an aligned plain-text table; a failure's reason follows its row."""
    header = ("output", "backend", "max abs diff", "max rel diff", "rel tolerance", "result")
    lines = [(r.output, r.backend, _number(r.max_abs), _number(r.max_rel), _number(r.rel_bound), "ok" if r.passed else "FAIL") for r in rows]
    widths = [max(len(str(line[i])) for line in [header] + lines) for i in range(len(header))]
    text = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)).rstrip()]
    for row, line in zip(rows, lines):
        text.append("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
        if row.problem:
            text.append(f"    {row.problem}")
    return "\n".join(text)
