"""Finds Node.js and the pinned @tensorflow/tfjs + tfjs-backend-wasm that --verify runs models in.

Order: the node_modules named by $TFJS_NODE_MODULES, else the per-user cache
(~/.cache/tensorflowjs/node-4.22.0, $XDG_CACHE_HOME respected), installed there once with
`npm ci` from the package-lock shipped in this package. Only --verify ever gets here, so a
plain conversion never touches the network. Anything missing is a RuntimeUnavailable whose
message is the one line the user sees.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

TFJS_VERSION = "4.22.0"
MIN_NODE_MAJOR = 18
ENV_VAR = "TFJS_NODE_MODULES"
NPM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm")
REQUIRED_PACKAGES = ("@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm")
NPM_CI = ("ci", "--ignore-scripts", "--no-audit", "--no-fund")


class RuntimeUnavailable(Exception):
    """No usable Node or TF.js; verification is skipped, the conversion stands.

    `reported`: the user was already told, on the line that announced the install.
    """

    def __init__(self, message: str, reported: bool = False):
        super().__init__(message)
        self.reported = reported


@dataclass(frozen=True)
class NodeRuntime:
    node: str
    node_modules: str

    @property
    def tfjs_version(self) -> str:
        import json

        with open(os.path.join(self.node_modules, "@tensorflow", "tfjs", "package.json"), encoding="utf-8") as f:
            return json.load(f).get("version", "?")


def cache_dir() -> str:
    """Where the pinned TF.js is installed once per user."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "tensorflowjs", f"node-{TFJS_VERSION}")


def _has_tfjs(node_modules: str) -> bool:
    return all(os.path.isfile(os.path.join(node_modules, *name.split("/"), "package.json")) for name in REQUIRED_PACKAGES)


def find_node() -> str:
    """The `node` on PATH if it is Node >= 18."""
    node = shutil.which("node")
    if not node:
        raise RuntimeUnavailable(f"Node.js >= {MIN_NODE_MAJOR} is not on PATH; install it (e.g. apt-get install nodejs) to verify in TF.js")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeUnavailable(f"cannot run {node} ({e})") from None
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        raise RuntimeUnavailable(f"{node} is Node {version or '(unknown version)'}; TF.js {TFJS_VERSION} needs Node >= {MIN_NODE_MAJOR}")
    return node


def _npm_ci(npm: str, target: str) -> None:
    """`npm ci` of the shipped lock into a private directory, moved to `target` when complete."""
    parent = os.path.dirname(target)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.tmp", dir=parent)
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(NPM_DIR, name), os.path.join(staging, name))
        try:
            result = subprocess.run([npm, *NPM_CI], cwd=staging, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.SubprocessError) as e:
            raise RuntimeUnavailable(f"npm ci failed ({e})") from None
        if result.returncode != 0 or not _has_tfjs(os.path.join(staging, "node_modules")):
            lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
            why = " ".join(line.strip() for line in lines[:2])[:300] if lines else f"exit code {result.returncode}"
            raise RuntimeUnavailable(f"npm ci failed: {why}")
        if os.path.isdir(target) and not _has_tfjs(os.path.join(target, "node_modules")):
            shutil.rmtree(target)  # an install interrupted before this package moved it in whole
        try:
            os.rename(staging, target)
        except OSError:
            if not _has_tfjs(os.path.join(target, "node_modules")):  # not another process's complete install
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(target: str) -> None:
    """Installs the pinned TF.js into `target`, telling the user on one line how it went."""
    npm = shutil.which("npm")
    if not npm:
        raise RuntimeUnavailable(f"@tensorflow/tfjs {TFJS_VERSION} is not installed and npm is not on PATH; install npm, or set {ENV_VAR} to a node_modules holding it")
    print(f"tensorflowjs verify: installing @tensorflow/tfjs {TFJS_VERSION} into {target} (once)... ", end="", file=sys.stderr, flush=True)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _npm_ci(npm, target)
    except (RuntimeUnavailable, OSError) as e:
        message = f"{e}; set {ENV_VAR} to an existing install to skip it"
        print(f"failed: {message}; verification skipped, the conversion itself succeeded", file=sys.stderr)
        raise RuntimeUnavailable(message, reported=True) from None
    print("done", file=sys.stderr)


def find_node_modules() -> str:
    """$TFJS_NODE_MODULES, else the per-user cache, installing it on first use."""
    named = os.environ.get(ENV_VAR)
    if named:
        if not _has_tfjs(named):
            raise RuntimeUnavailable(f"{ENV_VAR}={named} holds no {' and '.join(REQUIRED_PACKAGES)}")
        return named
    target = cache_dir()
    node_modules = os.path.join(target, "node_modules")
    if not _has_tfjs(node_modules):
        _install(target)
    return node_modules


def find_runtime() -> NodeRuntime:
    node = find_node()
    return NodeRuntime(node, find_node_modules())
