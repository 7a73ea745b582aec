"""Keras 2 (.h5) and Keras 3 (.h5, .keras) zoo -> TF.js layers, predicting like Keras in TF.js 4.22.

Every model is built once, saved in each format its Keras has, converted through the CLI
(format recognised by content) and loaded in TF.js on the CPU and WASM backends, all in one
Node process. Quantized variants must stay within the error their quantization implies.
"""

import importlib
import json
import sys

import numpy as np
import pytest

import zoo
from tensorflowjs.converters import converter
from tfjs_e2e import Case, check_tfjs_batch

# flavor -> (Keras module, file extensions it saves)
FLAVORS = {"tf_keras": ("tf_keras", ("h5",)), "keras3": ("keras", ("h5", "keras"))}
SOURCES = [(flavor, ext) for flavor, (_, exts) in FLAVORS.items() for ext in exts]

# quantization -> (flag, error allowed relative to the largest output)
QUANTIZED = {"float16": ("--quantize_float16", 2e-3), "uint16": ("--quantize_uint16", 1e-3), "uint8": ("--quantize_uint8", 5e-2)}
QUANTIZED_MODELS = ("cnn_bn", "mobilenet_v2")


@pytest.fixture(scope="module")
def zoo_run(tmp_path_factory):
    """(cases, verdicts): every model converted and checked in TF.js in one batch."""
    root = tmp_path_factory.mktemp("zoo")
    cases, conversion_failures = {}, {}
    for flavor, (_, exts) in FLAVORS.items():
        k = importlib.import_module(FLAVORS[flavor][0])
        for name in zoo.ZOO:
            model, inputs, expected = zoo.prepare(k, name)
            for ext in exts:
                source = root / f"{flavor}_{name}.{ext}"
                model.save(str(source))
                variants = {"": []}
                if flavor == "keras3" and ext == "keras" and name in QUANTIZED_MODELS:
                    variants.update({q: [flag] for q, (flag, _) in QUANTIZED.items()})
                for variant, flags in variants.items():
                    key = "/".join(filter(None, (flavor, ext, name, variant)))
                    output = root / key.replace("/", "_")
                    if converter.main([*flags, str(source), str(output)]) != 0:
                        conversion_failures[key] = "conversion failed (see stderr)"
                        continue
                    scale = max(float(np.abs(y).max()) for y in expected)
                    atol = QUANTIZED[variant][1] * scale if variant else 1e-5
                    cases[key] = Case(str(output), inputs, expected, atol=atol, rtol=1e-5)
    verdicts = check_tfjs_batch(cases)
    verdicts.update(conversion_failures)
    return cases, verdicts


@pytest.mark.parametrize("name", list(zoo.ZOO))
@pytest.mark.parametrize("flavor, ext", SOURCES)
def test_converted_model_predicts_like_keras_in_tfjs(zoo_run, flavor, ext, name):
    _, verdicts = zoo_run
    assert verdicts[f"{flavor}/{ext}/{name}"] is None, verdicts[f"{flavor}/{ext}/{name}"]


@pytest.mark.parametrize("variant", list(QUANTIZED))
@pytest.mark.parametrize("name", QUANTIZED_MODELS)
def test_quantized_model_stays_within_its_quantization_error(zoo_run, name, variant):
    cases, verdicts = zoo_run
    key = f"keras3/keras/{name}/{variant}"
    assert verdicts[key] is None, verdicts[key]
    manifest = json.load(open(f"{cases[key].model_dir}/model.json"))["weightsManifest"]
    assert {w["quantization"]["dtype"] for group in manifest for w in group["weights"]} == {variant}


def test_weights_are_named_as_tfjs_looks_them_up(zoo_run):
    cases, _ = zoo_run
    for source in ("tf_keras/h5", "keras3/h5", "keras3/keras"):
        names = {w["name"] for group in json.load(open(f"{cases[source + '/cnn_bn'].model_dir}/model.json"))["weightsManifest"] for w in group["weights"]}
        assert {"conv1/kernel", "conv1/bias", "bn1/gamma", "bn1/beta", "bn1/moving_mean", "bn1/moving_variance", "bn2/gamma", "bn2/moving_mean", "logits/kernel"} <= names, source
        assert "bn2/beta" not in names


def test_keras3_config_is_in_the_dialect_tfjs_reads(zoo_run):
    cases, _ = zoo_run
    topology = json.load(open(f"{cases['keras3/keras/two_inputs_two_outputs'].model_dir}/model.json"))["modelTopology"]
    text = json.dumps(topology)
    for keras3_only in ('"batch_shape"', '"module"', '"registered_name"', "__keras_tensor__", "DTypePolicy", '"build_config"'):
        assert keras3_only not in text
    layers = {layer["name"]: layer for layer in topology["model_config"]["config"]["layers"]}
    assert layers["cat"]["inbound_nodes"] == [[["add", 0, 0, {}], ["mul", 0, 0, {}], ["a", 0, 0, {}]]]
    assert topology["model_config"]["config"]["output_layers"] == [["logits", 0, 0], ["score", 0, 0]]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
