"""TF.js layers model as input: re-shard, re-quantize and re-label it without TensorFlow.

Weights stream from the input shards to the output shards one tensor at a time; quantized
inputs are dequantized first, so any quantization can be replaced by any other.
"""

import os
from typing import Dict, List, Optional

from tensorflowjs import metadata as metadata_lib
from tensorflowjs import model_json, read_weights, write_weights
from tensorflowjs.options import ConversionOptions
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.output import output_directory

# Top-level keys that the writer sets itself; anything else in the input is kept.
_REWRITTEN = {"format", "generatedBy", "convertedBy", "modelTopology", "weightsManifest", "userDefinedMetadata"}


def group_by_layer(weights: List[write_weights.Weight]) -> List[List[write_weights.Weight]]:
    """One group per layer (the first component of the weight name), in first-seen order."""
    groups: Dict[str, List[write_weights.Weight]] = {}
    for weight in weights:
        groups.setdefault(weight.name.split("/", 1)[0], []).append(weight)
    return list(groups.values())


def write_layers_model(output_dir: str, topology: Dict, weights: List[write_weights.Weight], options: ConversionOptions, generated_by: str,
                       extra: Optional[Dict] = None, carried_metadata: Optional[Dict] = None) -> None:
    """The layers-model writer every `-> tfjs_layers_model` pair ends in; `carried_metadata`
    (an input layers model's own) goes by metadata.user_defined_metadata's rule."""
    groups = group_by_layer(weights) if options.split_weights_by_layer else [weights]
    manifest = write_weights.write_weight_groups(groups, output_dir, options.weight_shard_size_bytes, options.quantization_dtype_map)
    user_metadata = metadata_lib.user_defined_metadata(options.metadata, carried_metadata)
    model_json.write_model_json(output_dir, model_json.LAYERS_FORMAT, topology, manifest, generated_by, user_metadata, extra)


def read_layers_model(path: str):
    """(model.json dict, weights to stream) of a layers model on disk."""
    model = model_json.read_model_json(path)
    json_path = model_json.model_json_path(path)
    if model_json.model_format(model) != model_json.LAYERS_FORMAT:
        raise ConversionError(f"{json_path} is a TF.js graph model, not a layers model; graph models cannot be converted back (convert the original model instead)")
    topology = model["modelTopology"]
    if not isinstance(topology, dict) or not isinstance(topology.get("model_config", topology), dict):
        raise ConversionError(f"{json_path}: modelTopology is not a Keras model config")
    check_model_config(topology.get("model_config", topology), json_path)
    groups = read_weights.index_weights(model["weightsManifest"], base_path=os.path.dirname(os.path.abspath(json_path)))
    weights = [write_weights.Weight(w.name, w.load, w.dtype, w.shape) for group in groups for w in group]
    return model, weights


def convert_layers_to_layers(input_path: str, output_path: str, options: ConversionOptions) -> None:
    model, weights = read_layers_model(input_path)
    extra = {k: v for k, v in model.items() if k not in _REWRITTEN}
    with output_directory(output_path) as staging:
        write_layers_model(staging, model["modelTopology"], weights, options, model.get("generatedBy"), extra, model.get("userDefinedMetadata"))
