"""JAX and Flax are optional: tensorflowjs imports and converts without them, and convert_jax
says what to install (Python run with jax, jaxlib and flax made unimportable). TensorFlow is
not needed by convert_jax at all (Python run with tensorflow unimportable)."""

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("jax", "jaxlib", "flax"):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, Missing())

import tensorflowjs
from tensorflowjs.converters import converter, jax_conversion
from tensorflowjs.errors import ConversionError

heavy = sorted({m.split(".")[0] for m in sys.modules} & {"jax", "flax", "tensorflow"})
print("IMPORTED:", heavy)
try:
    jax_conversion.convert_jax(lambda p, x: x, {}, input_signatures=[((1,), "float32")], model_dir="unused")
except ConversionError as e:
    print("ERROR:", e)
"""


WITHOUT_TENSORFLOW = r"""
import json, os, sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tf_keras", "keras"):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, Missing())

import flax.linen as nn
import jax
import numpy as np
from tensorflowjs.converters import jax_conversion

class Model(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3))(x))
        y = jax.lax.while_loop(lambda c: c.sum() < 100.0, lambda c: c * 2.0 + 1.0, x)
        return nn.Dense(2)(y.reshape(y.shape[0], -1))

x = np.ones((1, 6, 6, 3), np.float32)
variables = Model().init(jax.random.PRNGKey(0), x)
jax_conversion.convert_jax(Model().apply, variables, input_signatures=[((None, 6, 6, 3), np.float32)],
                           polymorphic_shapes=["(b, 6, 6, 3)"], model_dir=sys.argv[1])
model = json.load(open(os.path.join(sys.argv[1], "model.json")))
print("OPS:", sorted({node["op"] for node in model["modelTopology"]["node"]}))
print("TENSORFLOW IMPORTED:", "tensorflow" in sys.modules)
"""


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), JAX_PLATFORMS="cpu")


def test_convert_jax_without_tensorflow(tmp_path):
    model_dir = str(tmp_path / "tfjs")
    result = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, model_dir], capture_output=True, text=True, env=_env(), timeout=600)
    assert result.returncode == 0, result.stderr
    assert "TENSORFLOW IMPORTED: False" in result.stdout, result.stdout
    assert "'LoopCond'" in result.stdout, result.stdout  # the data-dependent loop, as v1 frames


def test_convert_jax_without_jax_says_what_to_install():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "IMPORTED: []" in result.stdout, result.stdout
    assert "ERROR: convert_jax needs jax" in result.stdout and "pip install tensorflowjs[jax]" in result.stdout, result.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
