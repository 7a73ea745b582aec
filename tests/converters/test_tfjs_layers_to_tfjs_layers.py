"""tfjs_layers_model -> tfjs_layers_model, checked the way a user would: in real TF.js."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import make_mlp
from tensorflowjs import read_weights
from tensorflowjs.converters import converter
from tfjs_e2e import assert_tfjs_matches

X = np.random.default_rng(42).normal(size=(5, make_mlp.INPUT_DIM)).astype(np.float32)

# name -> (extra flags, tolerance against the float32 source model)
VARIANTS = {
    "plain": ([], 1e-5),
    "float16": (["--quantize_float16"], 2e-3),
    "uint16": (["--quantize_uint16"], 1e-3),
    "uint8": (["--quantize_uint8"], 5e-2),
    "mixed": (["--quantize_uint8=*/kernel", "--quantize_float16"], 5e-2),
    "shards": (["--weight_shard_size_bytes=1000"], 1e-5),
    "split": (["--split_weights_by_layer=true", "--quantize_uint16=dense_1/*"], 1e-3),
}


def convert(src, dst, *flags):
    return converter.main(["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", *flags, str(src), str(dst)])


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("source")
    make_mlp.write(str(path))
    return path


@pytest.fixture(scope="module")
def converted(source, tmp_path_factory):
    root = tmp_path_factory.mktemp("converted")
    for name, (flags, _) in VARIANTS.items():
        assert convert(source / "model.json", root / name, *flags) == 0
    return root


def _weights(model_dir):
    manifest = json.load(open(os.path.join(model_dir, "model.json")))["weightsManifest"]
    return {w["name"]: w["data"] for w in read_weights.read_weights(manifest, str(model_dir), flatten=True)}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_converted_model_predicts_in_tfjs(converted, variant):
    """Exactly the model its stored weights describe, and close to the float32 source."""
    model_dir = converted / variant
    exact = make_mlp.predict(_weights(model_dir), X)
    assert_tfjs_matches(str(model_dir), [X], [exact], atol=1e-5, rtol=1e-5)
    source_prediction = make_mlp.predict(make_mlp.weights(), X)
    np.testing.assert_allclose(exact, source_prediction, atol=VARIANTS[variant][1])


def test_source_model_itself_predicts_in_tfjs(source):
    assert_tfjs_matches(str(source), [X], [make_mlp.predict(make_mlp.weights(), X)], atol=1e-5, rtol=1e-5)


def test_layout_of_shards_and_groups(converted):
    shards = json.load(open(converted / "shards" / "model.json"))["weightsManifest"]
    total = sum(4 * np.prod(w.shape) for w in make_mlp.weights().values())
    assert len(shards) == 1 and len(shards[0]["paths"]) == -(-total // 1000)
    assert all(os.path.getsize(converted / "shards" / p) <= 1000 for p in shards[0]["paths"])
    split = json.load(open(converted / "split" / "model.json"))["weightsManifest"]
    assert [[w["name"] for w in g["weights"]] for g in split] == [[f"dense_{i}/kernel", f"dense_{i}/bias"] for i in (1, 2, 3)]
    assert split[1]["paths"] == ["group2-shard1of1.bin"]


def test_model_json_keeps_topology_and_says_who_converted(source, converted):
    original = json.load(open(source / "model.json"))
    result = json.load(open(converted / "plain" / "model.json"))
    assert result["modelTopology"] == original["modelTopology"]
    assert result["format"] == "layers-model" and result["generatedBy"] == original["generatedBy"]
    assert result["convertedBy"].startswith("TensorFlow.js Converter v")


def test_uint8_shards_are_byte_identical_to_the_public_math(converted):
    from quantization_reference import reference_affine

    expected = b"".join(reference_affine(w, 8)[0].tobytes() for w in make_mlp.weights().values())
    assert (converted / "uint8" / "group1-shard1of1.bin").read_bytes() == expected


def test_requantizing_a_quantized_model_starts_from_its_dequantized_weights(converted, tmp_path):
    assert convert(converted / "uint8", tmp_path / "f16", "--quantize_float16") == 0
    before, after = _weights(converted / "uint8"), _weights(tmp_path / "f16")
    for name in before:
        np.testing.assert_array_equal(after[name], before[name].astype(np.float16).astype(np.float32))


# --- Bad input: one line, exit 1, nothing written, nothing of the user's touched. ---

def _tree_digest(path):
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(path)):
        for name in sorted(files):
            digest.update(name.encode() + open(os.path.join(root, name), "rb").read())
    return digest.hexdigest()


def _broken_copy(source, tmp_path, edit):
    broken = tmp_path / "broken"
    shutil.copytree(source, broken)
    model = json.load(open(broken / "model.json"))
    edit(model, broken)
    (broken / "model.json").write_text(json.dumps(model))
    return broken


def _set_entry(key, value):
    def edit(model, _):
        model["weightsManifest"][0]["weights"][0][key] = value
    return edit


def _set_paths(paths):
    def edit(model, _):
        model["weightsManifest"][0]["paths"] = paths
    return edit


def _truncate_shard(model, path):
    shard = path / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-3])


BAD_MODELS = {
    "no manifest": (lambda model, _: model.pop("weightsManifest"), "no weightsManifest"),
    "missing shard": (_set_paths(["group1-shard1of2.bin"]), "is missing"),
    "short shard": (_truncate_shard, "truncated"),
    "escaping path": (_set_paths(["../group1-shard1of1.bin"]), "outside the model directory"),
    "absolute path": (_set_paths(["/etc/hostname"]), "outside the model directory"),
    "unknown dtype": (_set_entry("dtype", "float8"), "unknown dtype"),
    "negative shape": (_set_entry("shape", [-16, 32]), "invalid shape"),
    "absurd shape": (_set_entry("shape", [2**30, 2**30]), "truncated"),
}


def _run(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "tensorflowjs.converters.converter", *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def _assert_one_line_failure(result, message):
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and message in lines[0], result.stderr


@pytest.mark.parametrize("case", list(BAD_MODELS))
def test_bad_model_fails_cleanly_without_touching_anything(source, tmp_path, case):
    edit, message = BAD_MODELS[case]
    broken = _broken_copy(source, tmp_path, edit)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    before = _tree_digest(broken)
    _assert_one_line_failure(_run("--output_format=tfjs_layers_model", broken / "model.json", out), message)
    assert _tree_digest(broken) == before
    assert sorted(os.listdir(out)) == ["keep.txt"]
    assert sorted(os.listdir(tmp_path)) == ["broken", "out"]  # no staging directory left behind


def test_not_json_is_reported(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    _assert_one_line_failure(_run("--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", tmp_path / "model.json", tmp_path / "out"), "is not a JSON file")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("size", ["0", "-5"])
def test_nonpositive_shard_size_is_reported(source, tmp_path, size):
    _assert_one_line_failure(_run("--output_format=tfjs_layers_model", f"--weight_shard_size_bytes={size}", source, tmp_path / "out"), "shard size")
    assert not (tmp_path / "out").exists()


def test_two_dtypes_claiming_one_weight_is_reported(source, tmp_path):
    _assert_one_line_failure(_run("--output_format=tfjs_layers_model", "--quantize_uint8=dense_1/*", "--quantize_float16=*/kernel", source, tmp_path / "out"), "claimed by both")
    assert not (tmp_path / "out").exists()


def test_pattern_matching_nothing_warns_and_converts(source, tmp_path):
    result = _run("--output_format=tfjs_layers_model", "--quantize_uint8=conv*/kernel", source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "'conv*/kernel' matches no weight" in result.stderr
    assert (tmp_path / "out" / "model.json").exists()


def test_existing_output_directory_keeps_other_files(source, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.txt").write_text("mine")
    assert convert(source, out) == 0
    assert sorted(os.listdir(out)) == ["README.txt", "group1-shard1of1.bin", "model.json"]


def test_new_output_directory_gets_permissions_from_the_umask(source, tmp_path):
    previous = os.umask(0o022)
    try:
        assert convert(source, tmp_path / "out") == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
