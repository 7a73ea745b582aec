"""Keras -> TF.js layers beyond the zoo: no TensorFlow for files, the API, SavedModels, options,
warnings, and bad input (one line, exit 1, nothing written). Converted models end in TF.js."""

import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import zoo
from tensorflowjs.converters import converter
from tfjs_e2e import Case, check_tfjs_batch

HEAVY_MODULES = ("tensorflow", "keras", "tf_keras", "jax")


def convert(*args):
    return converter.main([str(a) for a in args])


@pytest.fixture(scope="module")
def keras3():
    import keras

    return keras


@pytest.fixture(scope="module")
def tf_keras():
    import tf_keras

    return tf_keras


@pytest.fixture(scope="module")
def sources(tmp_path_factory, keras3, tf_keras):
    """Model files of both Kerases with their inputs and Keras' predictions."""
    root = tmp_path_factory.mktemp("sources")
    made = {}
    for key, k, name, filename in (
        ("k3_cnn", keras3, "cnn_bn", "cnn.keras"),
        ("k3_mlp_h5", keras3, "mlp", "mlp.h5"),
        ("k2_mlp", tf_keras, "mlp", "mlp2.h5"),
        ("k2_lstm", tf_keras, "lstm", "saved_model_dir"),
    ):
        model, inputs, expected = zoo.prepare(k, name)
        path = root / filename
        if filename == "saved_model_dir":
            model.save(str(path), save_format="tf")
        else:
            model.save(str(path))
        made[key] = (path, model, inputs, expected)
    for key, k in (("k2_compiled", tf_keras), ("k3_compiled", keras3)):
        # Trained with an optimizer: the file also holds training config and optimizer state.
        model, inputs, _ = zoo.prepare(k, "mlp")
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(inputs[0], np.eye(4, dtype=np.float32)[np.arange(len(inputs[0])) % 4], epochs=2, verbose=0)
        path = root / f"{key}.h5"
        model.save(str(path))
        made[key] = (path, model, inputs, [model.predict(inputs[0], verbose=0)])
    return made


@pytest.fixture(scope="module")
def converted(sources, tmp_path_factory, keras3, tf_keras):
    """Every successful conversion of this file, checked in TF.js in one batch."""
    from tensorflowjs.converters import save_keras_model

    root = tmp_path_factory.mktemp("converted")
    cases = {}
    metadata = root / "meta.json"
    metadata.write_text(json.dumps({"labels": ["a", "b"]}))

    path, _, inputs, expected = sources["k3_cnn"]
    assert convert("--input_format=keras", path, root / "keras_as_keras") == 0
    cases["keras_as_keras"] = Case(str(root / "keras_as_keras"), inputs, expected)
    assert convert("--split_weights_by_layer", f"--metadata=info:{metadata}", "--weight_shard_size_bytes=200", path, root / "split") == 0
    cases["split"] = Case(str(root / "split"), inputs, expected)

    for key in ("k2_compiled", "k3_compiled"):
        path, _, inputs, expected = sources[key]
        assert convert(path, root / key) == 0
        cases[key] = Case(str(root / key), inputs, expected)

    path, _, inputs, expected = sources["k2_lstm"]
    assert convert("--input_format=keras_saved_model", path, root / "saved_model") == 0
    cases["saved_model"] = Case(str(root / "saved_model"), inputs, expected)

    for key in ("k3_mlp_h5", "k2_mlp"):
        _, model, inputs, expected = sources[key]
        save_keras_model(model, str(root / f"api_{key}"), quantization_dtype_map={"float16": "*/kernel"}, weight_shard_size_bytes=256, metadata={"owner": key})
        cases[f"api_{key}"] = Case(str(root / f"api_{key}"), inputs, expected, atol=2e-3 * max(float(np.abs(y).max()) for y in expected))
    return cases, check_tfjs_batch(cases)


def _model_json(case):
    return json.load(open(os.path.join(case.model_dir, "model.json")))


@pytest.mark.parametrize("name", ["keras_as_keras", "split", "saved_model", "api_k3_mlp_h5", "api_k2_mlp", "k2_compiled", "k3_compiled"])
def test_converted_model_predicts_like_keras_in_tfjs(converted, name):
    _, verdicts = converted
    assert verdicts[name] is None, verdicts[name]


def test_split_by_layer_with_metadata_and_small_shards(converted):
    cases, _ = converted
    model = _model_json(cases["split"])
    groups = [[w["name"].split("/")[0] for w in group["weights"]] for group in model["weightsManifest"]]
    assert [g[0] for g in groups] == ["conv1", "bn1", "conv2", "bn2", "logits"] and all(len(set(g)) == 1 for g in groups)
    assert all(os.path.getsize(os.path.join(cases["split"].model_dir, p)) <= 200 for group in model["weightsManifest"] for p in group["paths"])
    assert model["userDefinedMetadata"] == {"info": {"labels": ["a", "b"]}}


@pytest.mark.parametrize("key", ["api_k3_mlp_h5", "api_k2_mlp"])
def test_save_keras_model_quantizes_shards_and_embeds_metadata(converted, key):
    cases, _ = converted
    model = _model_json(cases[key])
    assert model["userDefinedMetadata"] == {"owner": key[len("api_"):]}
    assert model["format"] == "layers-model"
    weights = [w for group in model["weightsManifest"] for w in group["weights"]]
    assert {w["name"] for w in weights if "quantization" in w} == {"hidden/kernel", "probs/kernel"}
    assert all(os.path.getsize(os.path.join(cases[key].model_dir, p)) <= 256 for group in model["weightsManifest"] for p in group["paths"])


def test_keras_files_convert_without_tensorflow_or_keras(sources, tmp_path):
    """h5py and JSON only: the converter process never imports TensorFlow, Keras or JAX."""
    script = (
        "import json, sys, time\n"
        "start = time.perf_counter()\n"
        "from tensorflowjs.converters import converter\n"
        "codes = [converter.main([src, out]) for src, out in json.loads(sys.argv[1])]\n"
        f"heavy = sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy, 'seconds': time.perf_counter() - start}))\n"
    )
    jobs = [[str(sources[key][0]), str(tmp_path / key)] for key in ("k3_cnn", "k3_mlp_h5", "k2_mlp")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-c", script, json.dumps(jobs)], capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"3 Keras files -> layers models without TensorFlow: {report['seconds']:.2f} s (imports included)")
    assert report["codes"] == [0, 0, 0] and report["heavy"] == []
    assert report["seconds"] < 20


def _fails_cleanly(capsys, output, *args):
    assert convert(*args, output) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tensorflowjs_converter: error: ") and "\n" not in err, err
    assert not os.path.exists(output) or os.listdir(output) == ["keep.txt"]
    return err


def test_hdf5_that_is_not_a_keras_model(tmp_path, capsys):
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["x"] = np.arange(3)
    assert "not a Keras model" in _fails_cleanly(capsys, tmp_path / "out", tmp_path / "data.h5")


def test_truncated_hdf5(sources, tmp_path, capsys):
    data = open(sources["k2_mlp"][0], "rb").read()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    assert "truncated or damaged" in _fails_cleanly(capsys, tmp_path / "out", "--input_format=keras", tmp_path / "cut.h5")


def test_weights_only_hdf5(sources, tmp_path, capsys):
    sources["k2_mlp"][1].save_weights(str(tmp_path / "only.h5"))
    assert "holds only weights" in _fails_cleanly(capsys, tmp_path / "out", tmp_path / "only.h5")


@pytest.mark.parametrize("missing", ["config.json", "model.weights.h5"])
def test_keras_archive_missing_a_part(sources, tmp_path, capsys, missing):
    with zipfile.ZipFile(sources["k3_cnn"][0]) as src, zipfile.ZipFile(tmp_path / "bad.keras", "w") as dst:
        for name in src.namelist():
            if name != missing:
                dst.writestr(name, src.read(name))
    assert f"without {missing}" in _fails_cleanly(capsys, tmp_path / "out", "--input_format=keras_keras", tmp_path / "bad.keras")


def test_existing_output_directory_survives_a_failed_conversion(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    _fails_cleanly(capsys, tmp_path / "out", tmp_path / "junk.h5")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_lambda_layer_is_an_error_and_its_code_never_runs(keras3, tmp_path, capsys):
    marker = tmp_path / "ran"
    marker_path = str(marker)
    x = keras3.Input((2,))
    y = keras3.layers.Lambda(lambda t: (open(marker_path, "w").close(), t * 2)[1], name="doubler")(x)
    keras3.Model(x, y).save(str(tmp_path / "lambda.keras"))
    marker.unlink()
    assert f"{tmp_path / 'lambda.keras'}: layer 'doubler' is a Lambda layer" in _fails_cleanly(capsys, tmp_path / "out", tmp_path / "lambda.keras")
    assert not marker.exists()


def test_gru_with_reset_after_is_an_error(keras3, tmp_path, capsys):
    keras3.Sequential([keras3.Input((3, 2)), keras3.layers.GRU(2, name="g")]).save(str(tmp_path / "gru.keras"))
    assert "reset_after=False" in _fails_cleanly(capsys, tmp_path / "out", tmp_path / "gru.keras")


def test_layer_tfjs_lacks_converts_with_a_warning(keras3, tmp_path, capsys):
    """MultiHeadAttention and custom layers: TF.js 4.22 has no class for them; say so, convert anyway."""

    @keras3.saving.register_keras_serializable(package="k1_test")
    class Doubler(keras3.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    q, v = keras3.Input((3, 4)), keras3.Input((5, 4))
    h = keras3.layers.MultiHeadAttention(num_heads=2, key_dim=2, name="mha")(q, v)
    keras3.Model([q, v], Doubler(name="twice")(h)).save(str(tmp_path / "custom.keras"))
    assert convert(tmp_path / "custom.keras", tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "'MultiHeadAttention' (layer 'mha') has no TF.js implementation" in err and "tf.serialization.registerClass" in err
    assert "'Doubler' (layer 'twice')" in err
    names = [w["name"] for group in json.load(open(tmp_path / "out" / "model.json"))["weightsManifest"] for w in group["weights"]]
    assert names and all(name.startswith("mha/") for name in names)
    # A bare number at the end of the first name would switch TF.js to positional lookup.
    assert not any(name.rsplit("/", 1)[1][0].isdigit() for name in names)
    assert "named by position" in err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
