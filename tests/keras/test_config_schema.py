"""Wrong-typed Keras model configs are refused with one line naming the file and the place in
the config, in .keras, .h5 and TF.js model.json (layers -> keras) alike; real configs of both
Keras versions and of the TF.js dialect pass."""

import json
import os
import shutil
import warnings
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402
from tensorflowjs.converters import converter  # noqa: E402
from tensorflowjs.errors import ConversionError  # noqa: E402
from tensorflowjs.keras.config_schema import check_model_config  # noqa: E402

warnings.simplefilter("ignore")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import keras
    import tf_keras

    root = tmp_path_factory.mktemp("models")
    paths = {}
    model = zoo.nested_functional_shared_layer(keras)
    paths["keras"] = str(root / "m.keras")
    model.save(paths["keras"])
    paths["h5"] = str(root / "m3.h5")
    model.save(paths["h5"])
    paths["tf_keras_h5"] = str(root / "m2.h5")
    zoo.bidirectional_lstm(tf_keras).save(paths["tf_keras_h5"])
    paths["layers"] = str(root / "layers")
    assert converter.main([paths["tf_keras_h5"], paths["layers"]]) == 0
    return paths


def _config(files, kind):
    if kind == "keras":
        with zipfile.ZipFile(files["keras"]) as z:
            return json.loads(z.read("config.json"))
    if kind == "layers":
        with open(os.path.join(files["layers"], "model.json")) as f:
            return json.load(f)["modelTopology"]["model_config"]
    with h5py.File(files[kind], "r") as f:
        return json.loads(f.attrs["model_config"])


@pytest.mark.parametrize("kind", ["keras", "h5", "tf_keras_h5", "layers"])
def test_real_configs_of_every_dialect_pass(files, kind):
    check_model_config(_config(files, kind), kind)


@pytest.mark.parametrize(
    "damage, place",
    [
        (lambda c: c["config"]["layers"].__setitem__(1, [c["config"]["layers"][1]]), "config.layers[1]"),
        (lambda c: c["config"].__setitem__("layers", {"0": c["config"]["layers"][0]}), "config.layers"),
        (lambda c: c["config"]["layers"][2].__setitem__("config", list(c["config"]["layers"][2]["config"].values())), "config.layers[2].config"),
        (lambda c: c["config"]["layers"][2].__setitem__("inbound_nodes", {"args": []}), "config.layers[2].inbound_nodes"),
        (lambda c: c["config"]["layers"][2]["inbound_nodes"].__setitem__(0, "dense"), "config.layers[2].inbound_nodes[0]"),
        (lambda c: c["config"].__setitem__("output_layers", "out"), "config.output_layers"),
        (lambda c: c["config"]["layers"][1]["config"].__setitem__("name", ["dense"]), "config.layers[1].config.name"),
        (lambda c: c["config"]["layers"][0]["config"].__setitem__("batch_shape", {"0": None}), "config.layers[0].config.batch_shape"),
        (lambda c: c["config"]["layers"][0]["config"].__setitem__("batch_input_shape", {"0": None}), "config.layers[0].config.batch_input_shape"),
        (lambda c: c["config"]["layers"][1]["config"].__setitem__("kernel_initializer", ["GlorotUniform"]), "config.layers[1].config.kernel_initializer"),
    ],
)
@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_wrong_types_in_keras_files_are_one_line_naming_the_place(files, kind, damage, place, tmp_path, capsys):
    config = _config(files, kind)
    try:
        damage(config)
    except (KeyError, IndexError):
        pytest.skip("this model has no such part")
    source = str(tmp_path / os.path.basename(files[kind]))
    if kind == "keras":
        with zipfile.ZipFile(files["keras"]) as original, zipfile.ZipFile(source, "w") as damaged:
            for info in original.infolist():
                damaged.writestr(info, json.dumps(config) if info.filename == "config.json" else original.read(info))
    else:
        shutil.copy(files[kind], source)
        with h5py.File(source, "r+") as f:
            f.attrs["model_config"] = json.dumps(config)
    out = tmp_path / "out"
    assert converter.main([source, str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert source in err and f"{place} in the model config must be" in err, err
    assert not out.exists()


@pytest.mark.parametrize("output_format, out_name", [("keras", "m.h5"), ("tfjs_layers_model", "out")])
def test_wrong_types_in_a_layers_model_are_refused_before_keras_builds_it(files, tmp_path, capsys, output_format, out_name):
    # Re-writing a layers model as a layers model checks the config too: the output must load in TF.js.
    source = tmp_path / "layers"
    shutil.copytree(files["layers"], source)
    model = json.loads((source / "model.json").read_text())
    model["modelTopology"]["model_config"]["config"]["layers"][1]["config"]["layer"] = ["LSTM"]
    (source / "model.json").write_text(json.dumps(model))
    out = tmp_path / out_name
    assert converter.main(["--input_format=tfjs_layers_model", f"--output_format={output_format}", str(source), str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "config.layers[1].config.layer in the model config must be an object" in err, err
    assert not out.exists()


def test_keras3_call_nodes_and_tensors_are_checked():
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [None, 3]}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": [
            {"args": [{"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "keras_history": ["x", 0, 0]}}], "kwargs": {}}]},
    ], "input_layers": [["x", 0, 0]], "output_layers": [["d", 0, 0]]}}
    check_model_config(config, "m.keras")
    config["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["x", "0"]
    with pytest.raises(ConversionError, match=r"m.keras: config.layers\[1\].inbound_nodes\[0\].args\[0\].config.keras_history in the model config"):
        check_model_config(config, "m.keras")
    config["config"]["layers"][1]["inbound_nodes"][0] = {"args": {"0": None}}
    with pytest.raises(ConversionError, match=r"inbound_nodes\[0\].args in the model config must be a list, not an object"):
        check_model_config(config, "m.keras")


def test_deep_configs_are_checked_without_recursion():
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    inner = config
    for _ in range(50000):  # wrappers nested far past Python's recursion limit
        layer = {"class_name": "TimeDistributed", "config": {"name": "t"}}
        inner["config"]["layers" if inner is config else "layer"] = [layer] if inner is config else layer
        inner = layer
    inner["config"]["layer"] = [1]
    with pytest.raises(ConversionError, match=r"\.layer in the model config must be an object"):
        check_model_config(config, "deep.keras")


if __name__ == "__main__":
    import sys

    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
