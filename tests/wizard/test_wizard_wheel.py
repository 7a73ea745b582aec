"""The wheel ships tensorflowjs_wizard: its console script, and the [wizard] extra for questionary."""

import os
import re
import subprocess
import sys
import zipfile

import pexpect
import pytest

import make_mlp
from wheel_testing import install_wheel, only_wheel_env, wheel_path


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return install_wheel(str(tmp_path_factory.mktemp("site")))


def _env(target):
    return only_wheel_env(target, TERM="xterm", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")


def test_entry_point_and_extra_are_declared():
    with zipfile.ZipFile(wheel_path()) as wheel:
        names = wheel.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
    assert "tensorflowjs_wizard = tensorflowjs.wizard.cli:pip_main" in entry_points
    assert "Provides-Extra: wizard" in metadata.splitlines()
    assert re.search(r'^Requires-Dist: questionary>=2\.0; extra == "wizard"$', metadata, re.M)
    for module in ("__init__", "__main__", "cli", "flow", "command", "model_info"):
        assert f"tensorflowjs/wizard/{module}.py" in names


def test_installed_console_script_runs_a_dry_run(installed, tmp_path):
    make_mlp.write(str(tmp_path / "model"))
    script = os.path.join(installed, "bin", "tensorflowjs_wizard")
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, env=_env(installed), timeout=60)
    assert help_text.returncode == 0 and "--dryrun" in help_text.stdout

    child = pexpect.spawn(script, ["--dryrun"], cwd=str(tmp_path), env=_env(installed), dimensions=(60, 400), encoding="utf-8", timeout=60)
    for question, keys in [
        ("Path of the model", "model\r"), ("Right?", "y"), ("Convert it to", "tfjs_layers_model\r"),
        ("Compress", "\r"), ("Shard size", "\r"), ("Split the weights", "n"), ("Embed metadata", "n"), ("Output directory", "web\r"),
    ]:
        child.expect(re.escape(question))
        child.send(keys)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "tensorflowjs_converter --input_format=tfjs_layers_model --output_format=tfjs_layers_model model web" in child.before
    assert not (tmp_path / "web").exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
