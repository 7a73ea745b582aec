"""What a converted model takes (read from its model.json) and the inputs --verify feeds it.

Generated inputs are reproducible (seeded): floats from a standard normal, integers small
and non-negative (below the smallest embedding table when the model has one, so token ids
stay valid), dynamic dimensions a small fixed size. A user's .npz replaces them.
"""

import os
import zipfile
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from tensorflowjs import model_json
from tensorflowjs.errors import ConversionError
from tensorflowjs.tensor_names import node_name

SEED = 0
DYNAMIC_BATCH = 2  # a dynamic first dimension (the batch)
DYNAMIC_OTHER = 8  # any other dynamic dimension (sequence length, image size)
INT_HIGH = 10  # integer inputs are drawn from 0..INT_HIGH-1 unless an embedding is smaller

# model.json dtypes (graph DT_* enums and layers dtype names) -> the numpy dtype fed to TF.js.
_DTYPES = {
    "DT_FLOAT": "float32", "DT_HALF": "float32", "DT_DOUBLE": "float32", "DT_BFLOAT16": "float32",
    "DT_INT32": "int32", "DT_INT64": "int32", "DT_INT16": "int32", "DT_INT8": "int32", "DT_UINT8": "int32", "DT_UINT16": "int32",
    "DT_BOOL": "bool", "DT_STRING": "string", "DT_COMPLEX64": "complex64",
    "float32": "float32", "float16": "float32", "float64": "float32", "int32": "int32", "int64": "int32", "bool": "bool", "string": "string",
}
_GATHER_OPS = ("GatherV2", "Gather", "ResourceGather")


@dataclass(frozen=True)
class InputSpec:
    name: str
    dtype: str  # float32, int32, bool, string or complex64
    shape: Optional[List[Optional[int]]]  # None: unknown rank; None entries: dynamic


@dataclass(frozen=True)
class ModelSignature:
    """A converted model's interface as TF.js sees it."""

    kind: str  # "graph" or "layers"
    inputs: List[InputSpec]
    output_names: Optional[List[str]]  # graph signature keys; None: the model's own outputs
    token_bound: Optional[int]  # rows of the smallest embedding table fed by the model


def _dims(shape) -> Optional[List[Optional[int]]]:
    if shape is None:
        return None
    return [None if d is None or int(d) < 0 else int(d) for d in shape]


def _tensor_shape(proto: Dict) -> Optional[List[Optional[int]]]:
    if proto.get("unknownRank"):
        return None
    return _dims(int(d.get("size", -1)) for d in proto.get("dim", []))


def _graph_signature(model: Dict) -> ModelSignature:
    topology = model["modelTopology"]
    nodes = topology.get("node", [])
    signature = model.get("signature") or {}
    if signature.get("inputs"):
        inputs = [InputSpec(key, _DTYPES.get(value.get("dtype"), "float32"), _tensor_shape(value.get("tensorShape", {})))
                  for key, value in signature["inputs"].items()]
    else:
        inputs = [InputSpec(n["name"], _DTYPES.get(n.get("attr", {}).get("dtype", {}).get("type"), "float32"),
                            _tensor_shape(n["attr"]["shape"]["shape"]) if "shape" in n.get("attr", {}) else None)
                  for n in nodes if n.get("op") == "Placeholder"]
    outputs = list(signature["outputs"]) if signature.get("outputs") else None
    shapes = {w["name"]: w["shape"] for group in model.get("weightsManifest", []) for w in group["weights"]}
    tables = [shapes[node_name(n["input"][0])][0] for n in nodes
              if n.get("op") in _GATHER_OPS and n.get("input") and shapes.get(node_name(n["input"][0]))]
    return ModelSignature("graph", inputs, outputs, min(tables) if tables else None)


def _layers(config: Dict) -> List[Dict]:
    inner = config.get("config", {})
    return inner.get("layers", []) if isinstance(inner, dict) else inner


def _layer_input(layer: Dict, name: str) -> InputSpec:
    config = layer.get("config", {})
    shape = config.get("batch_input_shape") or config.get("batch_shape")
    dtype = config.get("dtype")
    return InputSpec(name, _DTYPES.get(dtype if isinstance(dtype, str) else "float32", "float32"), _dims(shape))


def _layers_signature(model: Dict) -> ModelSignature:
    topology = model["modelTopology"]
    config = topology.get("model_config", topology)
    layers = _layers(config)
    inner = config.get("config", {})
    if isinstance(inner, dict) and inner.get("input_layers"):
        by_name = {layer.get("config", {}).get("name", layer.get("name")): layer for layer in layers}
        names = [entry[0] for entry in inner["input_layers"]]
        inputs = [_layer_input(by_name[name], name) for name in names]
    else:
        first = layers[0] if layers else {}
        inputs = [_layer_input(first, first.get("config", {}).get("name", "input"))]
    dims = [layer["config"]["input_dim"] for layer in layers if layer.get("class_name") == "Embedding" and layer.get("config", {}).get("input_dim")]
    return ModelSignature("layers", inputs, None, min(dims) if dims else None)


def read_signature(model_dir: str) -> ModelSignature:
    """The inputs (and graph output keys) of the TF.js model in model_dir."""
    model = model_json.read_model_json(model_dir, require_weights=False)
    if model_json.model_format(model) == model_json.GRAPH_FORMAT:
        return _graph_signature(model)
    return _layers_signature(model)


def _concrete(spec: InputSpec) -> List[int]:
    if spec.shape is None:
        raise ConversionError(f"input {spec.name} has an unknown rank, so --verify cannot make one; give --verify_inputs=inputs.npz")
    return [d if d is not None else (DYNAMIC_BATCH if axis == 0 else DYNAMIC_OTHER) for axis, d in enumerate(spec.shape)]


def generate(signature: ModelSignature, seed: int = SEED) -> Dict[str, np.ndarray]:
    """One reproducible input per model input, in the model's input order."""
    rng = np.random.default_rng(seed)
    high = max(1, min(INT_HIGH, signature.token_bound or INT_HIGH))
    makers = {
        "float32": lambda shape: rng.standard_normal(shape).astype(np.float32),
        "int32": lambda shape: rng.integers(0, high, size=shape).astype(np.int32),
        "bool": lambda shape: rng.integers(0, 2, size=shape).astype(bool),
        "string": lambda shape: rng.integers(0, INT_HIGH, size=shape).astype(str).astype(object),
        "complex64": lambda shape: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64),
    }
    return {spec.name: makers[spec.dtype](_concrete(spec)) for spec in signature.inputs}


def read_npz(path: str) -> Dict[str, np.ndarray]:
    """A user's inputs file; no pickled objects are ever loaded from it."""
    if not os.path.isfile(path):
        raise ConversionError(f"--verify_inputs: {path} does not exist; give a .npz written by numpy.savez with one array per model input")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ConversionError(f"--verify_inputs: {path} is not a readable .npz of plain arrays ({e})") from None


def match_npz(arrays: Dict[str, np.ndarray], signature: ModelSignature, path: str) -> Dict[str, np.ndarray]:
    """The .npz arrays in the model's input order; its keys must be exactly the input names."""
    wanted = [spec.name for spec in signature.inputs]
    if set(arrays) != set(wanted):
        raise ConversionError(f"--verify_inputs: {path} has arrays {sorted(arrays)}, but the model's inputs are {wanted}")
    return {name: arrays[name] for name in wanted}
