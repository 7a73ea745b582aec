"""TF.js layers models back into Keras: `load_keras_model` and `deserialize_keras_model`.

The public package's API, same names and arguments: this module reads the model.json and the
weight shards (or buffers) and hands them to `keras.model_builder`, which builds the model.
Like the public converter, the functions return a tf_keras (Keras 2) model when tf_keras is
installed; `use_tf_keras=False` asks for a Keras 3 model, and without tf_keras one is returned
when Keras 3 computes what TF.js does (see `keras.model_builder` for why tf_keras by default).
No code stored in a model is ever executed.
"""

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from tensorflowjs import model_json, read_weights
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.model_builder import build_model, quiet_keras, tfjs_weight_names, write_h5

# What callers of this module used before the Keras-side logic moved to keras.model_builder.
__all__ = ["load_keras_model", "deserialize_keras_model", "build_model", "quiet_keras", "tfjs_weight_names", "write_h5"]

Buffers = Union[bytes, bytearray, memoryview, Sequence[Union[bytes, bytearray, memoryview]]]


def _buffers_per_group(manifest: List[Dict], buffers: Buffers) -> List[bytes]:
    """One buffer per weight group, from one buffer, one per group, or one per shard;
    each a bytes-like object or a binary file object."""
    if isinstance(buffers, (bytes, bytearray, memoryview)) or hasattr(buffers, "read"):
        buffers = [buffers]
    buffers = [b.read() if hasattr(b, "read") else bytes(b) for b in buffers]
    shard_counts = [len(group["paths"]) for group in manifest]
    if len(buffers) == len(manifest):
        return buffers
    if len(buffers) == sum(shard_counts):
        grouped, start = [], 0
        for count in shard_counts:
            grouped.append(b"".join(buffers[start:start + count]))
            start += count
        return grouped
    if len(buffers) == 1:
        raise ConversionError(f"one weight data buffer for {len(manifest)} weight groups; give one buffer per group")
    raise ConversionError(f"{len(buffers)} weight data buffers for {len(manifest)} weight groups ({sum(shard_counts)} shards)")


def deserialize_keras_model(config_json: Union[str, bytes, Dict, Any], weight_data: Optional[Buffers] = None, use_unique_name_scope: bool = False, *,
                            use_tf_keras: Optional[bool] = None):
    """A Keras model from a model.json's content (or its modelTopology alone) and weight bytes.

    `config_json`: a dict, JSON text or bytes, or a file object to read them from.
    `weight_data`: the shards' bytes (or binary file objects), one per weight group or per
    shard, in manifest order; without it the weights keep their initial values. `use_unique_name_scope` builds
    the tf_keras model under a fresh name scope (several models in one graph). See the module
    docstring for which Keras (`use_tf_keras`).
    """
    where = "model.json content"
    if hasattr(config_json, "read"):
        config_json = config_json.read()
    if isinstance(config_json, (str, bytes)):
        try:
            config_json = json.loads(config_json)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConversionError(f"config_json is not JSON: {e}") from None
    if not isinstance(config_json, dict):
        raise ConversionError("config_json must be a model.json or a modelTopology (a JSON object)")
    topology, manifest = (config_json["modelTopology"], config_json.get("weightsManifest")) if "modelTopology" in config_json else (config_json, None)
    weights = None
    if weight_data:
        if manifest is None:
            raise ConversionError("weight_data needs a weightsManifest: pass the whole model.json, not its modelTopology")
        read_weights.check_manifest(manifest, where)
        groups = read_weights.index_weights(manifest, data_buffers=_buffers_per_group(manifest, weight_data))
        weights = [w for group in groups for w in group]
    return build_model(topology, weights, where, use_tf_keras, use_unique_name_scope)


def load_keras_model(
    config_json_path: str,
    weights_path_prefix: Optional[str] = None,
    weights_data_buffers: Optional[Buffers] = None,
    load_weights: bool = True,
    use_unique_name_scope: bool = False,
    *,
    use_tf_keras: Optional[bool] = None,
):
    """A Keras model from a TF.js layers model.json and its weight shards.

    Shards are read from `weights_path_prefix` (default: the directory of the model.json),
    or taken from `weights_data_buffers` (one buffer per weight group, or per shard; empty
    means not given, as in the public package).
    Quantized weights are dequantized. See the module docstring for which Keras.
    """
    if weights_path_prefix and weights_data_buffers:
        raise ValueError("weights_path_prefix and weights_data_buffers are mutually exclusive")
    path = model_json.model_json_path(config_json_path)
    if not load_weights:
        topology = model_json.read_model_json(path, require_weights=False)["modelTopology"]
        return build_model(topology, None, path, use_tf_keras, use_unique_name_scope)
    model = model_json.read_model_json(path)
    manifest = model["weightsManifest"]
    if weights_data_buffers:
        groups = read_weights.index_weights(manifest, data_buffers=_buffers_per_group(manifest, weights_data_buffers))
    else:
        groups = read_weights.index_weights(manifest, base_path=weights_path_prefix or os.path.dirname(os.path.abspath(path)))
    weights = [w for group in groups for w in group]
    return build_model(model["modelTopology"], weights, path, use_tf_keras, use_unique_name_scope)
