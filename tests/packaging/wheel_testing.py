"""The built wheel, installed with pip, for the tests that use it: into a private directory
beside this interpreter's packages, or into a fresh virtualenv holding only its core dependencies."""

import glob
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from typing import Dict, List

from packaging.requirements import Requirement


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


def wheel_requirements() -> List[Requirement]:
    """The wheel's core Requires-Dist (no extras), read from its METADATA."""
    with zipfile.ZipFile(wheel_path()) as wheel:
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        lines = wheel.read(metadata).decode().splitlines()
    requirements = [Requirement(line.split(":", 1)[1].strip()) for line in lines if line.startswith("Requires-Dist:")]
    return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]


def _closure(requirements: List[Requirement]) -> List[importlib.metadata.Distribution]:
    """The installed distributions satisfying `requirements`, and theirs, transitively."""
    found: Dict[str, importlib.metadata.Distribution] = {}
    pending = list(requirements)
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in found:
            continue
        found[name] = importlib.metadata.distribution(requirement.name)
        for text in found[name].requires or []:
            dependency = Requirement(text)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                pending.append(dependency)
    return list(found.values())


def _link_distribution(distribution: importlib.metadata.Distribution, site_packages: str) -> None:
    """Makes `distribution` installed in `site_packages`: each of its files (RECORD) symlinked."""
    for file in distribution.files or []:
        if file.parts[0] == ".." or "__pycache__" in file.parts:
            continue  # console scripts outside site-packages; bytecode is rebuilt
        target = os.path.join(site_packages, *file.parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(str(distribution.locate_file(file)), target)


def core_virtualenv(target: str) -> str:
    """A fresh virtualenv with the wheel and only its core dependencies (what its METADATA
    requires, linked from this interpreter's packages: the tests run offline); returns its python.

    `pip check` there proves the metadata's requirements are all met by those packages alone.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", target], check=True, timeout=120)
    python = os.path.join(target, "bin", "python")
    site_packages = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    for distribution in _closure(wheel_requirements()):
        _link_distribution(distribution, site_packages)
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    subprocess.run(pip + ["install", "--quiet", "--no-deps", "--no-index", wheel_path()], check=True, timeout=300)
    subprocess.run(pip + ["check"], check=True, timeout=120)
    return python
