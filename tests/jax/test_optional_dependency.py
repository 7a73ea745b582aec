"""JAX and Flax are optional: tensorflowjs imports and converts without them, and convert_jax
says what to install. Runs Python with jax, jaxlib and flax made unimportable."""

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


def test_convert_jax_without_jax_says_what_to_install():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "IMPORTED: []" in result.stdout, result.stdout
    assert "ERROR: convert_jax needs jax" in result.stdout and "pip install tensorflowjs[jax]" in result.stdout, result.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
