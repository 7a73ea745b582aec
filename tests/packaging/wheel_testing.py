"""The built wheel, installed with pip into a private directory, for the tests that use it."""

import glob
import os
import subprocess
import sys
from typing import Dict


def wheel_path() -> str:
    """The //:wheel data dependency, at the root of the test's runfiles tree."""
    runfiles = os.environ.get("TEST_SRCDIR") or os.environ.get("RUNFILES_DIR", "")
    found = glob.glob(os.path.join(runfiles, "*", "tensorflowjs-*.whl"))
    assert len(found) == 1, found
    return found[0]


def install_wheel(target: str) -> str:
    """pip installs the wheel alone (no dependencies, no index) into `target`."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", target, wheel_path()], check=True, timeout=300)
    return target


def only_wheel_env(target: str, **extra: str) -> Dict[str, str]:
    """An environment where only the wheel's tensorflowjs is importable; numpy and the rest come
    from the interpreter."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(target), "HOME": str(target), **extra}
