"""layers -> layers uint8 re-quantization of a ~200 MB TF.js layers model: wall time, peak RSS.

    bazel run //benchmarks:bench_layers_requantize            # or: python benchmarks/...py

Builds the model itself (three Dense 4096x4096 layers, 201 MB of float32), then runs the
converter as a user would, in a fresh process each time, and prints a Markdown table.
"""

import os
import statistics
import sys
import tempfile

import numpy as np

from measure import measure
from tensorflowjs import write_weights
from tensorflowjs.model_json import LAYERS_FORMAT, write_model_json

WIDTH, DEPTH, RUNS = 4096, 3, 3


def make_model(path: str) -> int:
    rng = np.random.default_rng(0)
    layers, weights = [], []
    for i in range(DEPTH):
        config = {"name": f"dense_{i}", "units": WIDTH, "activation": "relu", "use_bias": True, "dtype": "float32"}
        if i == 0:
            config["batch_input_shape"] = [None, WIDTH]
        layers.append({"class_name": "Dense", "config": config})
        weights.append(write_weights.Weight.of(f"dense_{i}/kernel", rng.standard_normal((WIDTH, WIDTH), np.float32)))
        weights.append(write_weights.Weight.of(f"dense_{i}/bias", np.zeros(WIDTH, np.float32)))
    manifest = write_weights.write_weight_groups([weights], path)
    topology = {"model_config": {"class_name": "Sequential", "config": {"name": "big", "layers": layers}}}
    write_model_json(path, LAYERS_FORMAT, topology, manifest, "benchmark")
    return sum(os.path.getsize(os.path.join(path, p)) for p in manifest[0]["paths"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "in")
        os.makedirs(source)
        size = make_model(source)
        results = []
        for run in range(RUNS):
            out = os.path.join(tmp, f"out{run}")
            results.append(measure([sys.executable, "-m", "tensorflowjs.converters.converter", "--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "--quantize_uint8", source, out]))
        times, rss = zip(*results)
        print(f"| model | runs | median wall time | peak RSS |\n|---|---|---|---|\n| {size / 1e6:.0f} MB float32 layers model, --quantize_uint8 | {RUNS} | {statistics.median(times):.2f} s | {max(rss):.0f} MB |")


if __name__ == "__main__":
    main()
