"""Scale: converting SavedModels of 1.6 GB and 4 GiB of variables, wall time and peak RSS.

    ./bazelw run //benchmarks:bench_large_saved_model -- --dir=/somewhere/with/10GB/free

Each model (large_saved_model.py: x @ w1 @ w2 ..., 8192x8192 float32 variables) is built by
TensorFlow in a child process, converted once per flag set in a fresh process, and deleted. The
output is checked without TF.js (which cannot hold a 4 GiB model): the product is recomputed in
numpy from the written shards, one weight at a time, against TensorFlow's. The public converter
is not run: per issue 14 it was OOM-killed at 23 GB on the 1.6 GB model, more than this
machine can spare.
"""

import json
import os
import shutil
import subprocess
import sys
from typing import Dict, Iterator, List, Tuple

import numpy as np

from large_saved_model import variables_bytes
from measure import measure
from runner import run_table

OURS = [sys.executable, "-m", "tensorflowjs.converters.converter", "--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]
# name -> (variables, size): each variable is size x size float32.
CASES: Dict[str, Tuple[int, int]] = {"1.6 GB (six 8192x8192)": (6, 8192), "4 GiB (sixteen 8192x8192)": (16, 8192)}
FLAG_SETS: Dict[str, List[str]] = {"float32": [], "`--quantize_uint8=*`": ["--quantize_uint8=*"]}

_BUILD = (
    "import sys, numpy as np\n"
    "from large_saved_model import build\n"
    "x, y = build(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))\n"
    "np.save(sys.argv[1] + '.x.npy', x); np.save(sys.argv[1] + '.y.npy', y)\n"
)


def _build(path: str, count: int, size: int, env: Dict[str, str]) -> Tuple[np.ndarray, np.ndarray]:
    """Builds in a child process, so TensorFlow's memory is gone before anything is measured."""
    subprocess.run([sys.executable, "-c", _BUILD, path, str(count), str(size)], check=True, env=env, stdout=subprocess.DEVNULL)
    return np.load(path + ".x.npy"), np.load(path + ".y.npy")


def _read(model_dir: str, paths: List[str], offset: int, size: int) -> bytes:
    """`size` bytes at `offset` of the group's shards taken as one stream (all but the last shard are full)."""
    shard_size = os.path.getsize(os.path.join(model_dir, paths[0]))
    parts = []
    while size:
        index, start = divmod(offset, shard_size)
        with open(os.path.join(model_dir, paths[index]), "rb") as f:
            f.seek(start)
            parts.append(f.read(min(size, shard_size - start)))
        offset, size = offset + len(parts[-1]), size - len(parts[-1])
    return b"".join(parts)


def _predict_from_shards(model_dir: str, x: np.ndarray) -> np.ndarray:
    """x times each weight along the graph's MatMul chain, read from the shards (dequantized
    when quantized), one weight in memory at a time."""
    with open(os.path.join(model_dir, "model.json")) as f:
        model = json.load(f)
    (group,) = model["weightsManifest"]
    entries, offset = {}, 0
    for entry in group["weights"]:
        quantization = entry.get("quantization")
        dtype = np.dtype(quantization["dtype"] if quantization else entry["dtype"])
        entries[entry["name"]] = (entry, dtype, offset)
        offset += int(np.prod(entry["shape"])) * dtype.itemsize
    matmuls = {node["input"][0].split(":")[0]: node for node in model["modelTopology"]["node"] if node["op"] == "MatMul"}
    current = next(node["name"] for node in model["modelTopology"]["node"] if node["op"] == "Placeholder")
    while current in matmuls:
        entry, dtype, start = entries[matmuls[current]["input"][1]]
        weight = np.frombuffer(_read(model_dir, group["paths"], start, int(np.prod(entry["shape"])) * dtype.itemsize), dtype).reshape(entry["shape"])
        if "quantization" in entry:
            weight = weight.astype(np.float32) * np.float32(entry["quantization"]["scale"]) + np.float32(entry["quantization"]["min"])
        x, current = x @ weight, matmuls[current]["name"]
    return x


def _run_case(args, name: str, case: Tuple[int, int], tmp: str) -> Iterator[str]:
    count, size = case
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    source = os.path.join(tmp, "saved_model")
    x, expected = _build(source, count, size, env)
    model_mb = variables_bytes(source) / 1e6
    for label, flags in FLAG_SETS.items():
        out = os.path.join(tmp, "out")
        seconds, rss = measure([*OURS, *flags, source, out], env)
        diff = float(np.max(np.abs(_predict_from_shards(out, x) - expected)))
        yield f"| {name} | {label} | {seconds:.1f} s | {rss:.0f} MB | {rss / model_mb:.3f}x | {diff:.1e} |"
        shutil.rmtree(out)


def main() -> None:
    run_table(__doc__, CASES, ["model", "weights", "wall time", "peak RSS", "peak RSS / model", "max abs diff vs TF"], _run_case,
              lambda parser: parser.add_argument("--dir", default=None, help="where to build the models (needs about 2.5x the largest model free)"))


if __name__ == "__main__":
    main()
