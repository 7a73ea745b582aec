"""The wheel installs with pip, carries the native extension and the console scripts."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

import make_mlp
from wheel_testing import install_wheel, only_wheel_env, wheel_path


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return install_wheel(str(tmp_path_factory.mktemp("site")))


def _env(target):
    return only_wheel_env(target)


def test_wheel_contents_and_metadata():
    with zipfile.ZipFile(wheel_path()) as wheel:
        names = wheel.namelist()
        assert "tensorflowjs/_quantize.so" in names and "tensorflowjs/converters/converter.py" in names
        # Data the package reads at run time: TensorFlow's schema and TF.js's op list.
        assert "tensorflowjs/tf_schema.binpb" in names and "tensorflowjs/graph/supported_ops.json" in names
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
        assert "tensorflowjs_converter = tensorflowjs.converters.converter:pip_main" in entry_points
        assert not any(n.startswith(("tests/", "examples/")) for n in names)


def test_installed_console_script_converts_a_model(installed, tmp_path):
    make_mlp.write(str(tmp_path / "in"))
    script = os.path.join(installed, "bin", "tensorflowjs_converter")
    result = subprocess.run([script, "--output_format=tfjs_layers_model", "--quantize_float16", str(tmp_path / "in"), str(tmp_path / "out")], capture_output=True, text=True, env=_env(installed), timeout=120)
    assert result.returncode == 0, result.stderr
    manifest = json.load(open(tmp_path / "out" / "model.json"))["weightsManifest"]
    assert all(w["quantization"]["dtype"] == "float16" for w in manifest[0]["weights"])


def test_installed_package_imports_from_the_wheel(installed):
    code = ("import tensorflowjs, tensorflowjs._quantize as q, tensorflowjs.tf_protos as p; "
            "p.message_class('tensorflow.SavedModel'); print(tensorflowjs.__version__, q.__file__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(installed), check=True)
    version, extension = result.stdout.split()
    assert version and extension.startswith(str(installed))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
