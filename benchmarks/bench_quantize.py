"""Native quantization (cc/quantize) against numpy doing the same math, on a 256 MiB tensor.

    bazel run -c opt //benchmarks:bench_quantize

Prints float32 input throughput in MB/s (best of a few runs, one core) as a Markdown table.
"""

import time

import numpy as np

from quantization_reference import reference_affine
from tensorflowjs import _quantize

MIB = 1024 * 1024
RUNS = 3


def native_affine(data: np.ndarray, bits: int) -> np.ndarray:
    minimum, scale = _quantize.affine_params(data, bits)
    return _quantize.affine_encode(data, bits, minimum, scale)


CASES = {
    "uint8": (lambda d: native_affine(d, 8), lambda d: reference_affine(d, 8)[0]),
    "uint16": (lambda d: native_affine(d, 16), lambda d: reference_affine(d, 16)[0]),
    "float16": (_quantize.float16_encode, lambda d: d.astype(np.float16)),
}


def seconds(fn, data: np.ndarray) -> float:
    start = time.perf_counter()
    fn(data)
    return time.perf_counter() - start


def best_seconds(native, reference, data: np.ndarray) -> tuple:
    """Best of RUNS for each, the two interleaved so that load from other processes hits both alike."""
    runs = [(seconds(native, data), seconds(reference, data)) for _ in range(RUNS)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    data = np.random.default_rng(0).normal(size=256 * MIB // 4).astype(np.float32)
    print("| dtype | native MB/s | numpy MB/s | speed-up |\n|---|---|---|---|")
    for name, (native, reference) in CASES.items():
        assert np.array_equal(native(data[: 1 << 20]).view(np.uint8), reference(data[: 1 << 20]).view(np.uint8))
        fast, slow = best_seconds(native, reference, data)
        print(f"| {name} | {data.nbytes / MIB / fast:.0f} | {data.nbytes / MIB / slow:.0f} | {slow / fast:.1f}x |")


if __name__ == "__main__":
    main()
