"""tfjs_layers_model -> .h5 and .keras with TensorFlow, Keras and tf_keras unimportable.

A zoo of tf_keras models (the Keras 2 dialect tfjs-layers speaks) with random weights is
saved as TF.js layers models; each is converted in a subprocess where importing tensorflow,
keras or tf_keras fails. tf_keras must load the .h5 and Keras 3 both files, predicting what
the source model predicts and holding exactly its weights; and the files must be laid out as
the ones tf_keras and Keras 3 save themselves (same HDF5 groups, datasets and attributes).
"""

import io
import json
import shutil
import sys
import warnings
import zipfile

import h5py
import numpy as np
import pytest

from tensorflowjs import read_weights
from tensorflowjs.converters import converter, save_keras_model
from tensorflowjs.converters.keras_tfjs_loader import tfjs_weight_names
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import h5_writer, keras_layout
from tensorflowjs.keras.weight_names import KERAS3_RENAMES
from tensorflowjs.write_weights import Weight

from testing.no_tensorflow import convert_with_tensorflow_blocked

RNG = np.random.default_rng(5)


def mlp(k):
    layers = k.layers
    return k.Sequential([k.Input((6,)), layers.Dense(8, activation="relu", name="d1"), layers.Dense(3, activation="softmax", name="d2")], name="mlp"), [RNG.normal(size=(2, 6))]


def cnn(k):
    """Convolutions of every kind tfjs-layers has, BatchNormalization with and without scale, pooling."""
    layers = k.layers
    image = k.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="c1")(image)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw")(x)
    x = layers.SeparableConv2D(5, 3, name="sep")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2DTranspose(3, 2, name="up")(x)
    x = layers.Conv2D(3, 1, use_bias=False, name="c2")(x)
    x = layers.BatchNormalization(scale=False, name="bn2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return k.Model(image, layers.Dense(2, name="out")(x), name="cnn"), [RNG.normal(size=(2, 8, 8, 3))]


def recurrent(k):
    layers = k.layers
    sequence = k.Input((5, 3), name="sequence")
    x = layers.LSTM(4, return_sequences=True, name="lstm1")(sequence)
    x = layers.Bidirectional(layers.GRU(3, return_sequences=True, reset_after=False), name="bi")(x)
    x = layers.SimpleRNN(2, return_sequences=True, name="srnn")(x)
    x = layers.Bidirectional(layers.LSTM(2), merge_mode="sum", name="bi2")(x)
    return k.Model(sequence, layers.Dense(2, name="out")(x), name="rnn"), [RNG.normal(size=(2, 5, 3))]


def embedding(k):
    layers = k.layers
    model = k.Sequential([k.Input((7,), dtype="int32"), layers.Embedding(20, 4, name="emb"), layers.GRU(3, reset_after=False, name="gru"), layers.Dense(1, name="o")], name="emb")
    return model, [RNG.integers(0, 20, size=(2, 7))]


def nested(k):
    """A Sequential inside a functional model, BatchNormalization first in it (trainable and
    non-trainable weights interleave in Keras's order)."""
    layers = k.layers
    inner = k.Sequential([k.Input((4,)), layers.BatchNormalization(name="in_bn"), layers.Dense(4, activation="tanh", name="in_d1")], name="inner")
    a = k.Input((4,), name="a")
    x = layers.Dense(4, name="pre")(a)
    y = inner(x)
    return k.Model(a, layers.Dense(2, name="post")(layers.Add(name="add")([x, y])), name="outer"), [RNG.normal(size=(3, 4))]


def nested_functional(k):
    layers = k.layers
    inner_input = k.Input((4,), name="inner_input")
    inner = k.Model(inner_input, layers.Dense(3, name="in_d")(layers.BatchNormalization(name="in_bn")(inner_input)), name="inner_model")
    a = k.Input((4,), name="a")
    return k.Model(a, layers.Dense(2, name="post")(inner(layers.Dense(4, name="pre")(a))), name="outer_model"), [RNG.normal(size=(3, 4))]


def multi_io(k):
    layers = k.layers
    a, b = k.Input((4,), name="a"), k.Input((3,), name="b")
    da, db = layers.Dense(5, name="da")(a), layers.Dense(5, name="db")(b)
    joined = layers.Concatenate(name="cat")([da, db])
    return k.Model([a, b], [layers.Dense(2, name="o1")(joined), layers.Multiply(name="mul")([da, db])], name="multi"), [RNG.normal(size=(3, 4)), RNG.normal(size=(3, 3))]


def shared(k):
    layers = k.layers
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    tower = layers.Dense(3, activation="relu", name="shared")
    merged = layers.Concatenate(name="cat")([tower(a), tower(b)])
    return k.Model([a, b], layers.Dense(1, name="o")(merged), name="siamese"), [RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))]


def wrapped(k):
    """TimeDistributed, LayerNormalization, PReLU, and a frozen layer (its weights all non-trainable)."""
    layers = k.layers
    frozen = layers.Dense(3, name="frozen")
    frozen.trainable = False
    model = k.Sequential([k.Input((3, 4)), layers.TimeDistributed(layers.Dense(2), name="td"), layers.LayerNormalization(name="ln"), layers.PReLU(name="pr"),
                          layers.Flatten(name="flat"), frozen, layers.Dense(1, name="o")], name="wrapped")
    return model, [RNG.normal(size=(2, 3, 4))]


ZOO = {f.__name__: f for f in (mlp, cnn, recurrent, embedding, nested, nested_functional, multi_io, shared, wrapped)}
OUTPUTS = {"keras": "model.h5", "keras_keras": "model.keras"}


def _randomize(model):
    model.set_weights([np.abs(w) + 0.5 if "variance" in v.name else RNG.normal(0, 0.4, w.shape) for v, w in zip(model.weights, model.get_weights())])


def _predict(model, inputs):
    outputs = model.predict([x.astype(np.float32) if x.dtype.kind == "f" else x for x in inputs] if len(inputs) > 1 else inputs[0], verbose=0)
    return outputs if isinstance(outputs, list) else [outputs]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (inputs, source predictions, source weights by TF.js name, tf_keras's own .h5, {format: converted file})."""
    import tf_keras

    root = tmp_path_factory.mktemp("zoo")
    result = {}
    for name, make in ZOO.items():
        model, inputs = make(tf_keras)
        _randomize(model)
        save_keras_model(model, str(root / name / "layers"))
        model.save(str(root / name / "tf_keras.h5"))
        files = {}
        for output_format, file_name in OUTPUTS.items():
            files[output_format] = root / name / output_format / file_name
            run = convert_with_tensorflow_blocked("--input_format=tfjs_layers_model", f"--output_format={output_format}", root / name / "layers", files[output_format])
            assert run.returncode == 0 and not run.stderr.strip(), (name, output_format, run.stderr)
        weights = {names[0]: np.asarray(variable) for variable, names in tfjs_weight_names(model)}
        result[name] = (inputs, _predict(model, inputs), weights, root / name / "tf_keras.h5", files)
    return result


def _load(loader, path):
    with warnings.catch_warnings():
        # Keras 3 warns, rather than fails, of weights it leaves at their initial values.
        warnings.filterwarnings("error", ".*(Skipping|could not be loaded|freshly-initialized)")
        if loader == "tf_keras":
            import tf_keras

            return tf_keras.models.load_model(str(path), compile=False)
        import keras

        return keras.saving.load_model(str(path), compile=False)


def _renames(model):
    """Keras 3 calls a few variables otherwise than the Keras 2 names TF.js uses (DepthwiseConv2D's kernel)."""
    renames = {}
    for layer in getattr(model, "layers", []):
        renames.update(_renames(layer))
        for keras3_name, keras2_name in KERAS3_RENAMES.get(type(layer).__name__, {}).items():
            renames[f"{layer.name}/{keras3_name}"] = f"{layer.name}/{keras2_name}"
    return renames


def _weights_by_tfjs_name(model):
    renames = _renames(model)
    return {renames.get(names[0], names[0]): np.asarray(variable) for variable, names in tfjs_weight_names(model)}


# Keras 3 cannot rebuild a Keras 2 .h5 of a functional model nested in another (nor tf_keras's own).
KERAS3_CANNOT_READ_H5 = {"nested_functional"}
CASES = [(name, fmt, loader) for name in ZOO for fmt, loaders in (("keras", ("tf_keras", "keras3")), ("keras_keras", ("keras3",))) for loader in loaders
         if not (name in KERAS3_CANNOT_READ_H5 and fmt == "keras" and loader == "keras3")]


@pytest.mark.parametrize("name,output_format,loader", CASES, ids=["-".join(c) for c in CASES])
def test_file_written_without_keras_predicts_like_the_source_and_holds_its_weights(converted, name, output_format, loader):
    inputs, expected, source_weights, _, files = converted[name]
    model = _load(loader, files[output_format])
    outputs = _predict(model, inputs)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    loaded = _weights_by_tfjs_name(model)
    assert sorted(loaded) == sorted(source_weights)
    for weight_name, value in source_weights.items():
        np.testing.assert_array_equal(loaded[weight_name], value, err_msg=weight_name)


def _h5_layout(f):
    """Every group and dataset of an HDF5 file: path -> (shape, dtype and storage, or the attributes with their HDF5 types)."""
    def attributes(obj):
        return {k: (np.atleast_1d(obj.attrs[k]).tolist(), str(obj.attrs.get_id(k).dtype)) for k in obj.attrs if k != "model_config"}

    items = {}
    f.visititems(lambda path, obj: items.__setitem__(path, (obj.shape, str(obj.dtype), obj.chunks, obj.compression) if isinstance(obj, h5py.Dataset) else attributes(obj)))
    return items, attributes(f)


@pytest.mark.parametrize("name", list(ZOO))
def test_h5_is_laid_out_as_tf_keras_saves_it(converted, name):
    _, _, _, own, files = converted[name]
    with h5py.File(own, "r") as theirs, h5py.File(files["keras"], "r") as ours:
        assert _h5_layout(ours) == _h5_layout(theirs)
        assert "training_config" not in ours.attrs and json.loads(ours.attrs["model_config"])["class_name"] == json.loads(theirs.attrs["model_config"])["class_name"]


def _weights_layout(path):
    with zipfile.ZipFile(path) as archive:
        assert [i.compress_type for i in archive.infolist()] == [zipfile.ZIP_STORED] * 3
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
            return _h5_layout(f)[0]


@pytest.mark.parametrize("name", list(ZOO))
def test_keras_archive_is_laid_out_as_keras3_saves_it(converted, name, tmp_path):
    _, _, _, _, files = converted[name]
    _load("keras3", files["keras_keras"]).save(tmp_path / "resaved.keras")
    ours, theirs = _weights_layout(files["keras_keras"]), _weights_layout(tmp_path / "resaved.keras")
    assert ours == theirs


def _tfjs_lookup(name, known):
    """The weight TF.js finds by `name`: itself, else the name without its second-last part
    (`lstm1/lstm_cell/kernel` is `lstm1/kernel`, `td/dense/bias` is `td/bias`)."""
    parts = name.split("/")
    return name if name in known or len(parts) < 3 else "/".join(parts[:-2] + parts[-1:])


@pytest.mark.parametrize("name", list(ZOO))
def test_written_files_convert_back_to_the_same_layers_model(converted, name, tmp_path):
    """This package's own Keras readers take the files back to the source's weights, by name."""
    _, _, source_weights, _, files = converted[name]
    for output_format, path in files.items():
        assert converter.main([str(path), str(tmp_path / output_format)]) == 0
        manifest = json.load(open(tmp_path / output_format / "model.json"))["weightsManifest"]
        back = {_tfjs_lookup(w["name"], source_weights): w["data"] for w in read_weights.read_weights(manifest, str(tmp_path / output_format), flatten=True)}
        assert sorted(back) == sorted(source_weights)
        for weight_name, value in source_weights.items():
            np.testing.assert_array_equal(back[weight_name], value, err_msg=weight_name)


def test_long_name_lists_are_split_as_tf_keras_splits_them(tmp_path):
    """Past the 64 KiB an HDF5 object header holds, a list becomes numbered attributes."""
    from tf_keras.src.saving.legacy import hdf5_format

    names = [f"block_{i:05d}_expand_conv_batch_normalization" for i in range(3000)]
    with h5py.File(tmp_path / "lists.h5", "w") as f:
        hdf5_format.save_attributes_to_hdf5_group(f.create_group("theirs"), "layer_names", [n.encode("utf8") for n in names])
        h5_writer._save_list(f.create_group("ours"), "layer_names", names)
        assert _h5_layout(f["ours"])[1] == _h5_layout(f["theirs"])[1] and len(f["ours"].attrs) > 1
        assert hdf5_format.load_attributes_from_hdf5_group(f["ours"], "layer_names") == names


@pytest.mark.parametrize("name", ["multi_io", "cnn"])
def test_functional_layers_listed_out_of_graph_order_keep_their_weights(converted, name, tmp_path):
    """Keras orders a functional model's layers by walking its graph, whatever the config's
    order; weights are placed by that order, here the reverse of the config's."""
    inputs, expected, _, _, files = converted[name]
    shutil.copytree(files["keras"].parent.parent / "layers", tmp_path / "layers")
    model = json.load(open(tmp_path / "layers" / "model.json"))
    model["modelTopology"]["model_config"]["config"]["layers"].reverse()
    json.dump(model, open(tmp_path / "layers" / "model.json", "w"))
    for output_format, file_name in OUTPUTS.items():
        run = convert_with_tensorflow_blocked("--input_format=tfjs_layers_model", f"--output_format={output_format}", tmp_path / "layers", tmp_path / file_name)
        assert run.returncode == 0, run.stderr
    for loader, file_name in (("tf_keras", "model.h5"), ("keras3", "model.h5"), ("keras3", "model.keras")):
        for got, want in zip(_predict(_load(loader, tmp_path / file_name), inputs), expected):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_names_with_slashes_go_to_h5_and_are_refused_for_keras3_in_one_line(tmp_path):
    """tf_keras nests the groups of `block/dense` as it does; Keras 3 rejects such names."""
    import tf_keras

    layers = tf_keras.layers
    model = tf_keras.Sequential([tf_keras.Input((6,)), layers.Dense(5, activation="relu", name="block/dense"), layers.Dense(3, name="head/out")])
    _randomize(model)
    save_keras_model(model, str(tmp_path / "layers"))
    model.save(str(tmp_path / "tf_keras.h5"))
    assert convert_with_tensorflow_blocked("--input_format=tfjs_layers_model", "--output_format=keras", tmp_path / "layers", tmp_path / "model.h5").returncode == 0
    with h5py.File(tmp_path / "model.h5", "r") as ours, h5py.File(tmp_path / "tf_keras.h5", "r") as theirs:
        assert _h5_layout(ours) == _h5_layout(theirs)
    x = RNG.normal(size=(2, 6)).astype(np.float32)
    np.testing.assert_allclose(_load("tf_keras", tmp_path / "model.h5").predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    run = convert_with_tensorflow_blocked("--input_format=tfjs_layers_model", "--output_format=keras_keras", tmp_path / "layers", tmp_path / "model.keras")
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1 and "'block/dense'" in lines[0] and "--output_format=keras" in lines[0], run.stderr
    assert not (tmp_path / "model.keras").exists()


def test_shapes_the_config_fixes_are_checked_one_number_kernel_sizes_included():
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "batch_input_shape": [None, 8, 8, 2]}}]}}
    weights = [Weight("c/kernel", None, "float32", [3, 3, 2, 4]), Weight("c/bias", None, "float32", [4])]
    assert [slot.entry.name for layer in keras_layout.plan(config, weights, "m.json").layers for slot in layer.slots] == ["c/kernel", "c/bias"]
    weights[0] = Weight("c/kernel", None, "float32", [5, 5, 2, 4])
    with pytest.raises(ConversionError, match=r"'c/kernel' has shape \[5, 5, 2, 4\] but the topology's 'c/kernel' has shape \[3, 3, \?, 4\]"):
        keras_layout.plan(config, weights, "m.json")


def _functional(*layers, outputs):
    entries = [{"class_name": c, "name": n, "config": {"name": n, **config}, "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else []} for c, n, config, inbound in layers]
    return {"class_name": "Functional", "config": {"name": "f", "layers": entries, "input_layers": [[n, 0, 0] for c, n, _, _ in layers if c == "InputLayer"], "output_layers": [[o, 0, 0] for o in outputs]}}


def test_a_kernel_whose_input_side_disagrees_with_the_graph_is_refused_in_one_line():
    """Widths followed through inputs, convolutions, concatenation and merges fix the input side of kernels."""
    model = _functional(
        ("InputLayer", "a", {"batch_input_shape": [None, 8, 8, 3]}, None), ("InputLayer", "b", {"batch_input_shape": [None, 5]}, None),
        ("Conv2D", "conv", {"filters": 4, "kernel_size": [3, 3]}, ["a"]), ("GlobalAveragePooling2D", "pool", {}, ["conv"]),
        ("Concatenate", "cat", {"axis": -1}, ["pool", "b"]), ("Dense", "out", {"units": 2}, ["cat"]), outputs=["out"])
    good = [Weight("conv/kernel", None, "float32", [3, 3, 3, 4]), Weight("conv/bias", None, "float32", [4]),
            Weight("out/kernel", None, "float32", [9, 2]), Weight("out/bias", None, "float32", [2])]
    keras_layout.plan(model, good, "m.json")
    for bad, needle in (([3, 3, 2, 4], "'conv/kernel' has shape [3, 3, 2, 4] but layer 'conv' receives inputs 3 wide"), ([8, 2], "'out/kernel' has shape [8, 2] but layer 'out' receives inputs 9 wide")):
        weights = [Weight(w.name, None, "float32", bad) if w.shape[-1] == bad[-1] and len(w.shape) == len(bad) else w for w in good]
        with pytest.raises(ConversionError) as error:
            keras_layout.plan(model, weights, "m.json")
        assert needle in str(error.value) and str(error.value).startswith("m.json: ")


def _chain(length, cycle=False):
    """A functional config: an input and `length` Dense layers in a chain, listed outputs first."""
    dense = [{"class_name": "Dense", "name": f"d{i}", "config": {"name": f"d{i}", "units": 1}, "inbound_nodes": [[[f"d{i - 1}" if i else "x", 0, 0, {}]]]} for i in range(length)]
    if cycle:
        dense[0]["inbound_nodes"] = [[[f"d{length - 1}", 0, 0, {}]]]
    layers = [{"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [None, 1]}, "inbound_nodes": []}] + dense
    return {"class_name": "Functional", "config": {"name": "chain", "layers": layers[::-1], "input_layers": [["x", 0, 0]], "output_layers": [[f"d{length - 1}", 0, 0]]}}


def test_graph_order_of_a_deep_model_and_a_cycle_in_one_line():
    order = keras_layout.keras_order(_chain(5000), "model.json")
    assert [(layer.get("config") or {}).get("name") for layer in order] == ["x"] + [f"d{i}" for i in range(5000)]
    with pytest.raises(ConversionError, match=r"^model.json: layer 'd\d+' is part of a cycle"):
        keras_layout.keras_order(_chain(3, cycle=True), "model.json")


def _unverified_layers_model(directory):
    """A generic RNN layer around a cell: a layout the writer has not checked."""
    import tf_keras

    model = tf_keras.Sequential([tf_keras.Input((4, 3)), tf_keras.layers.RNN(tf_keras.layers.SimpleRNNCell(2), name="rnn"), tf_keras.layers.Dense(1, name="o")])
    _randomize(model)
    save_keras_model(model, str(directory))
    return model


@pytest.mark.parametrize("output_format", list(OUTPUTS))
def test_an_unverified_layer_class_needs_keras_in_one_line_and_converts_with_it(tmp_path, output_format):
    model = _unverified_layers_model(tmp_path / "layers")
    target = tmp_path / "out" / OUTPUTS[output_format]
    run = convert_with_tensorflow_blocked("--input_format=tfjs_layers_model", f"--output_format={output_format}", tmp_path / "layers", target)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert "'rnn' (RNN)" in lines[0] and "pip install tensorflowjs[tensorflow]" in lines[0], lines[0]
    assert not target.exists()
    assert converter.main(["--input_format=tfjs_layers_model", f"--output_format={output_format}", str(tmp_path / "layers"), str(target)]) == 0
    x = RNG.normal(size=(2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(_load("keras3", target).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
