"""The documented convert_jax API end to end: the README's Dense examples and quantization.

convert_jax(apply_fn, params, input_signatures=..., model_dir=..., polymorphic_shapes=...,
**convert_tf_saved_model options) must give graph models that TF.js runs like JAX.
"""

import json
import os
import sys

import jax_testing  # sets JAX_PLATFORMS=cpu before JAX loads
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from jax import random

from jax_testing import ATOL, RTOL, convert_tf_saved_model, tfjs_inputs
from tensorflowjs.converters import jax_conversion
from tfjs_e2e import assert_tfjs_matches

# As in the README: the params collection of a Dense layer.
MODULE = nn.Dense(features=4)
PARAMS = MODULE.init(random.PRNGKey(0), jnp.ones((3, 4)))["params"]
RNG = np.random.default_rng(3)


def predict(x):
    return np.asarray(MODULE.apply({"params": PARAMS}, x))


def _model_json(model_dir):
    return json.load(open(os.path.join(model_dir, "model.json")))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    convert_tf_saved_model()  # skips while the SavedModel converter is missing
    root = tmp_path_factory.mktemp("convert_jax")
    runs = {
        "static": dict(params=PARAMS, input_signatures=[((3, 4), np.float32)]),
        "variables": dict(params={"params": PARAMS}, input_signatures=[((3, 4), np.float32)]),
        "polymorphic": dict(params=PARAMS, input_signatures=[((None, 4), np.float32)], polymorphic_shapes=["(b, 4)"]),
        "float16": dict(params=PARAMS, input_signatures=[((3, 4), np.float32)], quantization_dtype_map={"float16": "*"}),
    }
    for name, kwargs in runs.items():
        jax_conversion.convert_jax(apply_fn=MODULE.apply, model_dir=str(root / name), **kwargs)
    return {name: str(root / name) for name in runs}


@pytest.mark.parametrize("name", ["static", "variables"])
def test_dense_runs_in_tfjs(converted, name):
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    assert_tfjs_matches(converted[name], tfjs_inputs(converted[name], [x]), predict(x), atol=ATOL, rtol=RTOL)


def test_polymorphic_batch_is_minus_one_in_model_json(converted):
    model = _model_json(converted["polymorphic"])
    (spec,) = model["signature"]["inputs"].values()
    assert [int(d["size"]) for d in spec["tensorShape"]["dim"]] == [-1, 4]
    placeholders = [n for n in model["modelTopology"]["node"] if n["op"] == "Placeholder"]
    assert [[int(d["size"]) for d in n["attr"]["shape"]["shape"]["dim"]] for n in placeholders] == [[-1, 4]]


@pytest.mark.parametrize("batch", [1, 7])
def test_polymorphic_batch_runs_in_tfjs(converted, batch):
    x = RNG.normal(size=(batch, 4)).astype(np.float32)
    model_dir = converted["polymorphic"]
    assert_tfjs_matches(model_dir, tfjs_inputs(model_dir, [x]), predict(x), atol=ATOL, rtol=RTOL)


def test_quantization_options_reach_the_converter(converted):
    model_dir = converted["float16"]
    weights = [w for group in _model_json(model_dir)["weightsManifest"] for w in group["weights"]]
    floats = [w for w in weights if w["dtype"] == "float32"]
    assert floats and all(w.get("quantization", {}).get("dtype") == "float16" for w in floats)
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    assert_tfjs_matches(model_dir, tfjs_inputs(model_dir, [x]), predict(x), atol=2e-3, rtol=2e-3)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
