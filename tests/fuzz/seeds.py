"""Real models, built here, whose files seed the fuzzers: every format a parser reads.

One Keras 3 functional model (conv, batch norm, a nested Sequential, a bidirectional LSTM,
two outputs) saved as .keras and .h5; a tf_keras model as .h5; both converted to TF.js
layers models (one with uint8 and float16 quantized weights); a tf.Module SavedModel with
variables (its variables bundle is the tensor bundle seed); the frozen GraphDef of its
function; and a pre-1.0 TF.js graph model for pb2json.
"""

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from testing.files import read_tree  # noqa: E402

RNG = np.random.default_rng(5)


@dataclass
class Seeds:
    root: str
    keras_files: Dict[str, bytes] = field(default_factory=dict)  # name -> .keras bytes
    h5_files: Dict[str, bytes] = field(default_factory=dict)  # name -> .h5 bytes
    configs: List[Dict] = field(default_factory=list)  # Keras 3 and Keras 2 model configs as saved
    tfjs_configs: List[Dict] = field(default_factory=list)  # the same in the TF.js dialect
    layers_models: List[Dict[str, bytes]] = field(default_factory=list)  # file name -> bytes of a layers model dir
    saved_model: Dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes
    graph_def: bytes = b""
    old_model: Dict[str, bytes] = field(default_factory=dict)  # pre-1.0 model dir


def _keras3_model():
    import keras

    inputs = keras.Input((6, 6, 2), name="image")
    sequence = keras.Input((4, 3), name="sequence")
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten()(x)
    head = keras.Sequential([keras.Input((108,)), keras.layers.Dense(4, activation="tanh", name="inner")], name="head")
    x = head(x)
    y = keras.layers.Bidirectional(keras.layers.LSTM(2, name="lstm"), name="bi")(sequence)
    merged = keras.layers.Concatenate(name="cat")([x, y])
    out = keras.layers.Dense(2, activation="softmax", name="probs")(merged)
    return keras.Model([inputs, sequence], [out, y], name="fuzz_functional")


def _tf_keras_model():
    import tf_keras

    return tf_keras.Sequential(
        [tf_keras.layers.InputLayer((5, 3)), tf_keras.layers.GRU(3, reset_after=False, return_sequences=True, name="gru"),
         tf_keras.layers.Conv1D(2, 2, name="conv1d"), tf_keras.layers.GlobalAveragePooling1D(), tf_keras.layers.Dense(2, name="out")],
        name="fuzz_sequential",
    )


def _layers_models(seeds: Seeds, h5_paths: List[str]) -> None:
    from tensorflowjs.converters.keras_h5_conversion import convert_keras_to_layers
    from tensorflowjs.options import ConversionOptions

    quantizations = [{}, {"uint8": "*/kernel", "float16": "*/bias"}, {"uint16": True}]
    for i, (path, quantization) in enumerate(zip(h5_paths + h5_paths[:1], quantizations)):
        out = os.path.join(seeds.root, f"layers{i}")
        convert_keras_to_layers(path, out, ConversionOptions(quantization_dtype_map=quantization, weight_shard_size_bytes=512))
        files = read_tree(out)
        seeds.layers_models.append(files)
        seeds.tfjs_configs.append(json.loads(files["model.json"])["modelTopology"]["model_config"])


def _saved_model(seeds: Seeds) -> None:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    module = tf.Module()
    module.kernel = tf.Variable(RNG.normal(size=(3, 3, 2, 4)).astype(np.float32))
    module.dense = tf.Variable(RNG.normal(size=(4, 3)).astype(np.float32))
    module.bias = tf.Variable(RNG.normal(size=3).astype(np.float32))
    module.steps = tf.Variable(np.int64(3))

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 5, 2], tf.float32, name="x")])
    def serve(x):
        h = tf.nn.relu(tf.nn.conv2d(x, module.kernel, 1, "SAME"))
        h = tf.reduce_mean(h, axis=[1, 2])
        return {"logits": tf.matmul(h, module.dense) + module.bias, "scaled": h * tf.cast(module.steps, tf.float32)}

    module.serve = serve
    directory = os.path.join(seeds.root, "saved_model")
    tf.saved_model.save(module, directory, signatures={"serving_default": serve})
    seeds.saved_model = read_tree(directory)
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    seeds.graph_def = frozen.graph.as_graph_def().SerializeToString()


def _old_model(seeds: Seeds) -> None:
    """A pre-1.0 TF.js graph model: the GraphDef with its Const values moved to shards."""
    from tensorflow.core.framework import graph_pb2
    from tensorflow.python.framework import tensor_util

    from tensorflowjs import write_weights

    graph_def = graph_pb2.GraphDef.FromString(seeds.graph_def)
    weights = []
    for node in graph_def.node:
        if node.op == "Const":
            weights.append({"name": node.name, "data": tensor_util.MakeNdarray(node.attr["value"].tensor)})
            for key in ("tensor_content", "float_val", "int_val", "int64_val"):
                node.attr["value"].tensor.ClearField(key)
    directory = os.path.join(seeds.root, "old_model")
    os.makedirs(directory)
    write_weights.write_weights([weights], directory, shard_size_bytes=256)
    with open(os.path.join(directory, "tensorflowjs_model.pb"), "wb") as f:
        f.write(graph_def.SerializeToString())
    seeds.old_model = read_tree(directory)


def build(root: str) -> Seeds:
    """Builds every seed under `root` (a fresh directory)."""
    import keras

    seeds = Seeds(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model3 = _keras3_model()
        for layer in model3.layers:
            layer.set_weights([RNG.normal(size=w.shape).astype(w.dtype) for w in layer.get_weights()])
        keras_path, h5_path3 = os.path.join(root, "k3.keras"), os.path.join(root, "k3.h5")
        model3.save(keras_path)
        model3.save(h5_path3)
        model2 = _tf_keras_model()
        h5_path2 = os.path.join(root, "k2.h5")
        model2.save(h5_path2)
        for name, path in (("k3.keras", keras_path),):
            with open(path, "rb") as f:
                seeds.keras_files[name] = f.read()
        for name, path in (("k3.h5", h5_path3), ("k2.h5", h5_path2)):
            with open(path, "rb") as f:
                seeds.h5_files[name] = f.read()
        seeds.configs = [json.loads(model3.to_json()), json.loads(model2.to_json())]
        _layers_models(seeds, [h5_path3, h5_path2])
        _saved_model(seeds)
        _old_model(seeds)
    del keras
    return seeds


def write_files(directory: str, files: Dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
