"""tfjs_layers_model -> Keras (.h5, Keras SavedModel, .keras), judged against TF.js itself.

The source models are written here as tfjs-layers saves them (Keras 2 config dialect,
tfjs-layers' weight names); each converted file is loaded back with the Keras that reads it
and must predict what TF.js predicts on the source and hold exactly its weights.
"""

import json
import os
import shutil

import h5py
import numpy as np
import pytest

import make_mlp
from tensorflowjs import model_json, read_weights, write_weights
from tensorflowjs.converters import converter
from tfjs_e2e import run_tfjs

RNG = np.random.default_rng(7)
VS = {"class_name": "VarianceScaling", "config": {"scale": 1, "mode": "fan_avg", "distribution": "normal", "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
ONES = {"class_name": "Ones", "config": {}}
NO_REGULARIZERS = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}


def layer(class_name, name, inbound=None, **config):
    """A layer config as tfjs-layers writes it; `inbound` makes it a functional model's layer."""
    entry = {"class_name": class_name, "config": {"name": name, "trainable": True, **config}}
    if inbound is not None:
        entry["name"] = name
        entry["inbound_nodes"] = [[[source, node, 0, {}] for source, node in inbound]] if inbound else []
    return entry


def dense(name, units, activation="linear", inbound=None, **extra):
    return layer("Dense", name, inbound, units=units, activation=activation, use_bias=True, kernel_initializer=VS, bias_initializer=ZEROS, **NO_REGULARIZERS, **extra)


def sequential(name, layers):
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}, "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"}


def cnn_bn():
    conv = layer("Conv2D", "conv1", filters=4, kernel_size=[3, 3], strides=[1, 1], padding="same", data_format="channels_last", dilation_rate=[1, 1], activation="linear", use_bias=True, kernel_initializer=VS, bias_initializer=ZEROS, batch_input_shape=[None, 8, 8, 3], dtype="float32", **NO_REGULARIZERS)
    bn = layer("BatchNormalization", "bn1", axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer=ZEROS, gamma_initializer=ONES, moving_mean_initializer=ZEROS, moving_variance_initializer=ONES, beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None)
    layers = [
        conv, bn,
        layer("Activation", "activation_Activation1", activation="relu"),
        layer("MaxPooling2D", "max_pooling2d_MaxPooling2D1", pool_size=[2, 2], padding="valid", strides=[2, 2], data_format="channels_last"),
        layer("Dropout", "dropout_Dropout1", rate=0.2, noise_shape=None, seed=None),
        layer("Flatten", "flatten_Flatten1"),
        dense("dense_Dense1", 3, "softmax"),
    ]
    weights = {
        "conv1/kernel": RNG.normal(0, 0.3, (3, 3, 3, 4)), "conv1/bias": RNG.normal(0, 0.1, 4),
        "bn1/gamma": RNG.uniform(0.5, 1.5, 4), "bn1/beta": RNG.normal(0, 0.1, 4),
        "dense_Dense1/kernel": RNG.normal(0, 0.2, (64, 3)), "dense_Dense1/bias": RNG.normal(0, 0.1, 3),
        "bn1/moving_mean": RNG.normal(0, 0.5, 4), "bn1/moving_variance": RNG.uniform(0.5, 2.0, 4),
    }
    return sequential("cnn", layers), weights, [RNG.normal(size=(2, 8, 8, 3))]


def lstm():
    """TF.js's default LSTM: hard_sigmoid gates (Keras 2's definition, not Keras 3's)."""
    cell = layer(
        "LSTM", "lstm1", batch_input_shape=[None, 4, 3], dtype="float32", units=5, activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
        kernel_initializer=VS, recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1, "seed": None}}, bias_initializer=ZEROS,
        unit_forget_bias=None, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
        recurrent_constraint=None, bias_constraint=None, dropout=0, recurrent_dropout=0, implementation=None, return_sequences=False, return_state=False,
        go_backwards=False, stateful=False, unroll=False,
    )
    weights = {"lstm1/kernel": RNG.normal(0, 0.5, (3, 20)), "lstm1/recurrent_kernel": RNG.normal(0, 0.5, (5, 20)), "lstm1/bias": RNG.normal(0, 0.5, 20), "out/kernel": RNG.normal(0, 0.5, (5, 2)), "out/bias": RNG.normal(0, 0.1, 2)}
    return sequential("rnn", [cell, dense("out", 2)]), weights, [RNG.normal(size=(2, 4, 3))]


def two_in_two_out():
    """Two inputs, Add/Concatenate/Multiply merges, two outputs, a Sequential nested inside."""
    inputs = [{"name": n, "class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "name": n}, "inbound_nodes": []} for n in ("a", "b")]
    inner = {"name": "inner", "class_name": "Sequential", "config": {"name": "inner", "layers": [dense("inner_dense", 4, "tanh", batch_input_shape=[None, 4], dtype="float32")]}, "inbound_nodes": [[["b", 0, 0, {}]]]}
    layers = inputs + [
        dense("da", 4, inbound=[("a", 0)]),
        inner,
        layer("Add", "add_Add1", [("da", 0), ("inner", 1)]),
        layer("Concatenate", "concatenate_Concatenate1", [("add_Add1", 0), ("a", 0)], axis=-1),
        dense("out1", 2, inbound=[("concatenate_Concatenate1", 0)]),
        layer("Multiply", "multiply_Multiply1", [("da", 0), ("b", 0)]),
    ]
    config = {"name": "two", "layers": layers, "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["out1", 0, 0], ["multiply_Multiply1", 0, 0]]}
    weights = {"da/kernel": RNG.normal(size=(4, 4)), "da/bias": RNG.normal(size=4), "inner_dense/kernel": RNG.normal(size=(4, 4)), "inner_dense/bias": RNG.normal(size=4), "out1/kernel": RNG.normal(size=(8, 2)), "out1/bias": RNG.normal(size=2)}
    return {"class_name": "Model", "config": config, "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"}, weights, [RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))]


def write_layers_model(directory, topology, weights, quantization=None):
    os.makedirs(directory)
    entries = [write_weights.Weight.of(name, np.asarray(value, np.float32)) for name, value in weights.items()]
    manifest = write_weights.write_weight_groups([entries], directory, 4194304, quantization or {})
    model_json.write_model_json(directory, model_json.LAYERS_FORMAT, topology, manifest, "tfjs-layers 4.22.0")


MODELS = {"cnn_bn": cnn_bn, "lstm": lstm, "two_in_two_out": two_in_two_out}
# Which Keras loads each output, and which outputs each model goes to.
OUTPUTS = {"keras": ("model.h5", ("tf_keras", "keras3")), "keras_saved_model": ("saved_model", ("tf_keras",)), "keras_keras": ("model.keras", ("keras3",))}
CASES = [
    ("mlp", "keras"), ("mlp_uint8", "keras"), ("cnn_bn", "keras"), ("lstm", "keras"), ("two_in_two_out", "keras"),
    ("cnn_bn", "keras_saved_model"),
    ("mlp", "keras_keras"), ("cnn_bn", "keras_keras"), ("two_in_two_out", "keras_keras"),
]


def convert(source, target, output_format=None, *flags):
    fmt = [f"--output_format={output_format}"] if output_format else []
    return converter.main(["--input_format=tfjs_layers_model", *fmt, *flags, str(source), str(target)])


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """name -> (layers model dir, inputs, TF.js CPU predictions)."""
    root = tmp_path_factory.mktemp("sources")
    result = {}
    make_mlp.write(str(root / "mlp"))
    mlp_x = [RNG.normal(size=(4, make_mlp.INPUT_DIM)).astype(np.float32)]
    result["mlp"] = (root / "mlp", mlp_x)
    assert convert(root / "mlp", root / "mlp_uint8", "tfjs_layers_model", "--quantize_uint8") == 0
    result["mlp_uint8"] = (root / "mlp_uint8", mlp_x)
    for name, make in MODELS.items():
        topology, weights, inputs = make()
        write_layers_model(str(root / name), topology, weights)
        result[name] = (root / name, [x.astype(np.float32) for x in inputs])
    return {name: (path, x, run_tfjs(str(path), x, "cpu")) for name, (path, x) in result.items()}


@pytest.fixture(scope="module")
def converted(sources, tmp_path_factory):
    root = tmp_path_factory.mktemp("converted")
    paths = {}
    for name, output_format in CASES:
        target = root / f"{name}-{output_format}" / OUTPUTS[output_format][0]
        assert convert(sources[name][0], target, output_format) == 0, (name, output_format)
        paths[name, output_format] = target
    return paths


def _load(loader, path):
    if loader == "tf_keras":
        import tf_keras

        return tf_keras.models.load_model(str(path), compile=False)
    import keras

    return keras.saving.load_model(str(path), compile=False)


def _manifest_weights(model_dir):
    manifest = json.load(open(os.path.join(model_dir, "model.json")))["weightsManifest"]
    return {w["name"]: w["data"] for w in read_weights.read_weights(manifest, str(model_dir), flatten=True)}


def _weights_by_tfjs_name(model):
    from tensorflowjs.converters.keras_tfjs_loader import tfjs_weight_names

    return {names[0]: np.asarray(variable) for variable, names in tfjs_weight_names(model)}


# Keras 3 reads hard_sigmoid its own way (see the .keras refusal test below).
KERAS3_CANNOT_READ_H5 = {"lstm"}
PARAMS = [(name, fmt, loader) for name, fmt in CASES for loader in OUTPUTS[fmt][1] if not (name in KERAS3_CANNOT_READ_H5 and loader == "keras3" and fmt == "keras")]


@pytest.mark.parametrize("name,output_format,loader", PARAMS, ids=["-".join(p) for p in PARAMS])
def test_converted_model_predicts_like_tfjs_and_holds_the_same_weights(sources, converted, name, output_format, loader):
    source, inputs, expected = sources[name]
    model = _load(loader, converted[name, output_format])
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    stored = _manifest_weights(source)
    loaded = _weights_by_tfjs_name(model)
    assert sorted(loaded) == sorted(stored)
    for weight_name, value in stored.items():
        np.testing.assert_array_equal(loaded[weight_name], value, err_msg=weight_name)


def test_quantized_weights_arrive_dequantized(sources, converted):
    """The uint8 model's Keras weights are its dequantized values, not the float32 originals."""
    dequantized = _manifest_weights(sources["mlp_uint8"][0])
    original = make_mlp.weights()
    with h5py.File(converted["mlp_uint8", "keras"], "r") as f:
        kernel = f["model_weights/dense_1/dense_1/kernel:0"][()]
    np.testing.assert_array_equal(kernel, dequantized["dense_1/kernel"])
    assert not np.array_equal(kernel, original["dense_1/kernel"])


def test_h5_is_a_keras2_file_without_arguments_keras3_rejects(converted):
    with h5py.File(converted["lstm", "keras"], "r") as f:
        config = json.loads(f.attrs["model_config"])
    lstm_config = config["config"]["layers"][1]["config"]
    assert lstm_config["recurrent_activation"] == "hard_sigmoid" and "time_major" not in lstm_config
    assert config["config"]["layers"][0]["class_name"] == "InputLayer" and "batch_input_shape" in config["config"]["layers"][0]["config"]


def test_saved_model_has_keras_metadata(converted):
    assert {"saved_model.pb", "keras_metadata.pb", "variables"} <= set(os.listdir(converted["cnn_bn", "keras_saved_model"]))


def test_default_output_format_is_h5(sources, tmp_path):
    assert convert(sources["mlp"][0], tmp_path / "default.h5") == 0
    assert h5py.is_hdf5(tmp_path / "default.h5")


def test_keras3_archive_refuses_hard_sigmoid_with_the_alternative(sources, tmp_path, capsys):
    assert convert(sources["lstm"][0], tmp_path / "out" / "rnn.keras", "keras_keras") == 1
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "'lstm1'" in message and "hard_sigmoid" in message and "--output_format=keras" in message
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


# --- bad input: one line, exit 1, nothing written -------------------------------------------


def _edit_mlp(directory, edit_json=None, edit_bin=None):
    make_mlp.write(str(directory))
    path = directory / "model.json"
    model = json.load(open(path))
    if edit_json:
        edit_json(model)
    json.dump(model, open(path, "w"))
    if edit_bin:
        shard = directory / "group1-shard1of1.bin"
        shard.write_bytes(edit_bin(shard.read_bytes()))


def _set_class(name):
    def edit(model):
        model["modelTopology"]["model_config"]["config"]["layers"][1]["class_name"] = name
    return edit


def _entries(model):
    return model["weightsManifest"][0]["weights"]


BAD_INPUTS = {
    "unknown_class": (_set_class("MyCustomLayer"), None, ["'MyCustomLayer'", "'dense_2'"]),
    "lambda_layer": (_set_class("Lambda"), None, ["Lambda", "'dense_2'"]),
    "missing_weight": (lambda m: _entries(m).pop(), lambda b: b[:-32], ["'dense_3/bias'", "no entry"]),
    "extra_weight": (lambda m: _entries(m).append({"name": "dense_9/kernel", "shape": [2], "dtype": "float32"}), lambda b: b + bytes(8), ["'dense_9/kernel'", "no layer"]),
    "wrong_shape": (lambda m: _entries(m)[-1].update(shape=[2, 4]), None, ["'dense_3/bias'", "[2, 4]", "[8]"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
@pytest.mark.parametrize("output_format", ["keras", "keras_keras"])
def test_bad_input_is_one_line_exit_1_and_nothing_written(tmp_path, capsys, case, output_format):
    edit_json, edit_bin, needles = BAD_INPUTS[case]
    _edit_mlp(tmp_path / "in", edit_json, edit_bin)
    before = {p: p.read_bytes() for p in (tmp_path / "in").iterdir()}
    (tmp_path / "out").mkdir()
    assert convert(tmp_path / "in", tmp_path / "out" / "model.out", output_format) == 1
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and "model.json" in message, message
    for needle in needles:
        assert needle in message, message
    assert os.listdir(tmp_path / "out") == []
    assert {p: p.read_bytes() for p in (tmp_path / "in").iterdir()} == before


def test_existing_output_survives_a_failed_conversion(tmp_path, sources):
    target = tmp_path / "model.h5"
    target.write_bytes(b"precious")
    _edit_mlp(tmp_path / "in", _set_class("MyCustomLayer"))
    assert convert(tmp_path / "in", target, "keras") == 1
    assert target.read_bytes() == b"precious"


# --- the Python API --------------------------------------------------------------------------


def test_load_keras_model_returns_tf_keras_or_on_request_keras3_from_files_or_buffers(sources):
    import keras
    import tf_keras

    from tensorflowjs.converters import load_keras_model

    source, inputs, expected = sources["two_in_two_out"]
    from_files = load_keras_model(str(source / "model.json"))
    assert isinstance(from_files, tf_keras.Model)
    manifest = json.load(open(source / "model.json"))["weightsManifest"]
    buffers = [b"".join((source / p).read_bytes() for p in group["paths"]) for group in manifest]
    from_buffers = load_keras_model(str(source / "model.json"), weights_data_buffers=buffers, use_tf_keras=False)
    assert isinstance(from_buffers, keras.Model) and not isinstance(from_buffers, tf_keras.Model)
    for model in (from_files, from_buffers):
        for got, want in zip(model.predict(inputs, verbose=0), expected):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        load_keras_model(str(source / "model.json"), weights_path_prefix=str(source), weights_data_buffers=buffers)


def test_load_keras_model_without_weights_and_from_a_weights_path(sources, tmp_path):
    import tf_keras

    from tensorflowjs.converters import load_keras_model

    source, inputs, expected = sources["lstm"]
    moved = tmp_path / "weights"
    shutil.copytree(source, moved)
    os.remove(moved / "model.json")
    model = load_keras_model(str(source / "model.json"), weights_path_prefix=str(moved), use_tf_keras=True)
    assert isinstance(model, tf_keras.Model)
    np.testing.assert_allclose(model.predict(inputs[0], verbose=0), expected[0], atol=1e-5, rtol=1e-5)
    untrained = load_keras_model(str(source / "model.json"), load_weights=False, use_tf_keras=True)
    assert not np.array_equal(untrained.get_weights()[0], model.get_weights()[0])


def test_deserialize_keras_model_from_json_text_and_bytes(sources):
    from tensorflowjs.converters import deserialize_keras_model

    source, inputs, expected = sources["cnn_bn"]
    text = (source / "model.json").read_text()
    manifest = json.loads(text)["weightsManifest"]
    data = b"".join((source / p).read_bytes() for p in manifest[0]["paths"])
    model = deserialize_keras_model(text, weight_data=data, use_tf_keras=False)
    np.testing.assert_allclose(model.predict(inputs[0], verbose=0), expected[0], atol=1e-5, rtol=1e-5)
    topology_only = deserialize_keras_model(json.loads(text)["modelTopology"])
    assert [w.shape for w in topology_only.weights] == [w.shape for w in model.weights]


def test_deserialize_keras_model_from_file_objects_and_empty_buffers_mean_none(sources):
    from tensorflowjs.converters import deserialize_keras_model, load_keras_model

    source, inputs, expected = sources["mlp"]
    manifest = json.load(open(source / "model.json"))["weightsManifest"]
    with open(source / "model.json") as config, open(source / manifest[0]["paths"][0], "rb") as shard:
        model = deserialize_keras_model(config, [shard])
    np.testing.assert_allclose(model.predict(inputs[0], verbose=0), expected[0], atol=1e-5, rtol=1e-5)
    from_empty_list = load_keras_model(str(source / "model.json"), weights_data_buffers=[])
    np.testing.assert_allclose(from_empty_list.predict(inputs[0], verbose=0), expected[0], atol=1e-5, rtol=1e-5)


if __name__ == "__main__":
    import sys

    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
