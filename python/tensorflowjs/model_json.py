"""model.json: reading it defensively and writing it the way TF.js 4.x loads it."""

import json
import os
from typing import Any, Dict, List, Optional

from tensorflowjs import bounded_json, read_weights
from tensorflowjs.errors import ConversionError
from tensorflowjs.version import version

MODEL_JSON = "model.json"
LAYERS_FORMAT = "layers-model"
GRAPH_FORMAT = "graph-model"
CONVERTED_BY = f"TensorFlow.js Converter v{version}"


def model_json_path(path: str) -> str:
    """Accepts a model.json file or the directory holding one."""
    return os.path.join(path, MODEL_JSON) if os.path.isdir(path) else path


def read_json_file(path: str, hint: str) -> Any:
    """A JSON file's content; a missing file or bad JSON is one ConversionError naming it, then `hint`."""
    if not os.path.isfile(path):
        raise ConversionError(f"{path} does not exist; {hint}")
    try:
        return bounded_json.read(path, path, "a JSON file")
    except ConversionError as e:
        raise ConversionError(f"{e}; {hint}") from None


def read_model_json(path: str, require_weights: bool = True) -> Dict:
    """The parsed model.json with a checked weightsManifest (unless not required); errors name the file."""
    path = model_json_path(path)
    model = read_json_file(path, "give the path of a TF.js model.json")
    if not isinstance(model, dict) or model.get("modelTopology") is None:
        raise ConversionError(f"{path} has no modelTopology; it is not a TF.js model.json")
    if not require_weights:
        return model
    if "weightsManifest" not in model:
        raise ConversionError(f"{path} has no weightsManifest; it is not a complete TF.js model (a topology-only file cannot be converted)")
    read_weights.check_manifest(model["weightsManifest"], path)
    return model


def model_format(model: Dict) -> str:
    """layers-model or graph-model, from `format` or, for old files, from the topology."""
    declared = model.get("format")
    if declared in (LAYERS_FORMAT, GRAPH_FORMAT):
        return declared
    topology = model.get("modelTopology") or {}
    return GRAPH_FORMAT if isinstance(topology, dict) and "node" in topology else LAYERS_FORMAT


def write_model_json(
    output_dir: str,
    model_format_name: str,
    topology: Dict,
    weights_manifest: List[Dict],
    generated_by: Optional[str] = None,
    metadata: Optional[Dict] = None,
    extra: Optional[Dict] = None,
) -> str:
    """Writes model.json with the keys TF.js reads; returns its path."""
    model = {"format": model_format_name, "generatedBy": generated_by, "convertedBy": CONVERTED_BY, "modelTopology": topology}
    model.update(extra or {})
    model["weightsManifest"] = weights_manifest
    if metadata:
        model["userDefinedMetadata"] = metadata
    path = os.path.join(output_dir, MODEL_JSON)
    try:
        text = json.dumps(model, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate: JSON "\udc8c" or an undecodable HDF5 name
        raise ConversionError(f"the model holds text that is not valid Unicode ({e.object[e.start:e.end]!r}); its input is damaged") from None
    with open(path, "wb") as f:
        f.write(text)
    return path
