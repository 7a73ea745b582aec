"""Writes the example model: a small TF.js layers MLP, made with numpy alone.

    python examples/make_mlp.py OUTPUT_DIR

It also gives the tests a numpy forward pass of the same model to check predictions.
"""

import json
import os
import sys
from typing import Dict, List

import numpy as np

# (units, activation) of each Dense layer after the input.
LAYERS = [(32, "relu"), (32, "tanh"), (8, "softmax")]
INPUT_DIM = 16


def _dense_config(name: str, units: int, activation: str, input_dim: int = None) -> Dict:
    config = {
        "name": name,
        "trainable": True,
        "dtype": "float32",
        "units": units,
        "activation": activation,
        "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    }
    if input_dim is not None:
        config["batch_input_shape"] = [None, input_dim]
    return {"class_name": "Dense", "config": config}


def topology() -> Dict:
    layers, fan_in = [], INPUT_DIM
    for i, (units, activation) in enumerate(LAYERS):
        layers.append(_dense_config(f"dense_{i + 1}", units, activation, INPUT_DIM if i == 0 else None))
        fan_in = units
    return {
        "keras_version": "2.15.0",
        "backend": "tensorflow",
        "model_config": {"class_name": "Sequential", "config": {"name": "example_mlp", "layers": layers}},
    }


def weights(seed: int = 0) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    result, fan_in = {}, INPUT_DIM
    for i, (units, _) in enumerate(LAYERS):
        result[f"dense_{i + 1}/kernel"] = rng.normal(0, 1 / np.sqrt(fan_in), (fan_in, units)).astype(np.float32)
        result[f"dense_{i + 1}/bias"] = rng.normal(0, 0.1, (units,)).astype(np.float32)
        fan_in = units
    return result


def predict(weight_map: Dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The model's forward pass in float64 numpy, as the reference for TF.js."""
    h = x.astype(np.float64)
    for i, (_, activation) in enumerate(LAYERS):
        h = h @ weight_map[f"dense_{i + 1}/kernel"].astype(np.float64) + weight_map[f"dense_{i + 1}/bias"]
        if activation == "relu":
            h = np.maximum(h, 0)
        elif activation == "tanh":
            h = np.tanh(h)
        else:
            e = np.exp(h - h.max(axis=-1, keepdims=True))
            h = e / e.sum(axis=-1, keepdims=True)
    return h


def write(output_dir: str, seed: int = 0) -> None:
    """model.json and one shard, laid out as TF.js expects (float32, back to back)."""
    os.makedirs(output_dir, exist_ok=True)
    weight_map = weights(seed)
    entries: List[Dict] = []
    with open(os.path.join(output_dir, "group1-shard1of1.bin"), "wb") as f:
        for name, array in weight_map.items():
            f.write(array.astype("<f4").tobytes())
            entries.append({"name": name, "shape": list(array.shape), "dtype": "float32"})
    model = {
        "format": "layers-model",
        "generatedBy": "keras v2.15.0",
        "convertedBy": "examples/make_mlp.py",
        "modelTopology": topology(),
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": entries}],
    }
    with open(os.path.join(output_dir, "model.json"), "w") as f:
        json.dump(model, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_mlp.py OUTPUT_DIR")
    write(sys.argv[1])
