"""The public tensorflowjs 4.22 package's own unit tests, unmodified, against our built wheel.

They are not part of this repository. Point TFJS_PUBLIC_PYTHON_DIR at a copy of
tfjs-converter/python from the tensorflow/tfjs repository (tag tfjs-v4.22.0); under Bazel pass
it with --test_env=TFJS_PUBLIC_PYTHON_DIR=... . Each test module runs in its own pytest process
with only the wheel's tensorflowjs importable; a module whose third-party imports are missing
here (tensorflow_hub, jax, ...) is reported and not counted. The floors are the passes measured
on TF 2.21 / tf_keras 2.21 / Keras 3 / JAX 0.10 (README, "Python API"); the public package
itself passes 163 of these tests on that setup.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from wheel_testing import install_wheel

PUBLIC_DIR = os.environ.get("TFJS_PUBLIC_PYTHON_DIR", "")

# Test module -> passes measured against our wheel (the README explains every failure).
FLOORS = {
    "quantization_test.py": 20,
    "read_weights_test.py": 15,
    "write_weights_test.py": 21,
    "resource_loader_test.py": 3,
    "keras_h5_conversion_test.py": 16,
    "jax_conversion_test.py": 8,
    "fold_batch_norms_test.py": 5,
    "fuse_depthwise_conv2d_test.py": 3,
    "fuse_prelu_test.py": 5,
    "normalize_bias_add_test.py": 3,
    "tf_module_mapper_test.py": 2,
    "converter_test.py": 27,
    "keras_tfjs_loader_test.py": 18,
}


def _public_tests():
    root = os.path.join(PUBLIC_DIR, "tensorflowjs")
    return {os.path.basename(p): p for p in glob.glob(os.path.join(root, "*_test.py")) + glob.glob(os.path.join(root, "converters", "*_test.py"))}


def _run(test_file: str, work: str, target: str) -> dict:
    report = os.path.join(work, test_file + ".xml")
    env = dict(os.environ, PYTHONPATH=target, TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", test_file],
                               cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    missing = re.search(r"No module named '([\w.]+)'", completed.stdout)
    if missing and not missing.group(1).startswith("tensorflowjs"):
        return {"unavailable": missing.group(1)}
    if not os.path.exists(report):  # the interpreter died (e.g. aborted inside TensorFlow)
        return {"crashed": completed.returncode}
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


@pytest.mark.skipif(not os.path.isdir(os.path.join(PUBLIC_DIR, "tensorflowjs")),
                    reason="set TFJS_PUBLIC_PYTHON_DIR to a copy of tfjs-converter/python (tensorflow/tfjs 4.22) to run its unit tests")
def test_public_unit_tests_pass_against_the_wheel(tmp_path):
    target = install_wheel(str(tmp_path / "site"))
    work = tmp_path / "tests"
    work.mkdir()
    found = _public_tests()
    results = {}
    for name in FLOORS:
        if name not in found:
            continue
        shutil.copy(found[name], work / name)
        results[name] = _run(name, str(work), target)
    print({name: r for name, r in results.items()})
    below = {n: r for n, r in results.items() if "unavailable" not in r and r.get("passed", 0) < FLOORS[n]}
    assert not below, f"fewer public tests pass than measured: {below}"
    assert any("passed" in r for r in results.values()), f"no public test module could run here: {results}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s"]))
