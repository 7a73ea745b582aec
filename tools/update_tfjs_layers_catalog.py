"""Derive what tfjs-layers can load from @tensorflow/tfjs-layers and write tfjs_layers_catalog.json.

`tf.loadLayersModel` builds each layer with the class registered under its `class_name`
(`serialization.registerClass`), passing the layer's config with its keys camelCased; the
constructor reads the keys it knows and silently ignores the rest. So the truth the Keras
converter checks against is, for every layer class the @tensorflow/tfjs bundle registers
(modules reachable from dist/index.js), the set of config keys its constructor chain reads;
and the activation names it registers (a config's activation string, camelCased, must be one).
The package is read as text from the npm version the end-to-end harness pins. Usage:

    python tools/update_tfjs_layers_catalog.py [NODE_MODULES] [OUTPUT_JSON]

defaults: tests/e2e/node_modules and python/tensorflowjs/keras/tfjs_layers_catalog.json.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import regenerate

DEFAULT_OUTPUT = os.path.join(regenerate.REPO, "python", "tensorflowjs", "keras", "tfjs_layers_catalog.json")

_IMPORT = re.compile(r"""^(?:import|export)\b[^'";]*?from\s+['"](\.[^'"]+)['"]|^import\s+['"](\.[^'"]+)['"]""", re.M)
_CLASS = re.compile(r"^(?:export )?class (\w+)(?: extends ([\w.]+))? \{$", re.M)
_CLASS_NAME = re.compile(r"^(\w+)\.className = ['\"](\w+)['\"];$", re.M)
_REGISTER = re.compile(r"registerClass\((\w+)\)")
_CONSTRUCTOR = re.compile(r"^    constructor\(([^)]*)\) \{$", re.M)
_METHOD_END = re.compile(r"^    \}$", re.M)
_NEW_WITH_ARGS = re.compile(r"new (\w+)\((\w+)\)")
_NAMED_IMPORT = re.compile(r"""^import \{([^}]*)\} from ['"](\.[^'"]+)['"]""", re.M)


@dataclass
class _Class:
    """One JS class of the package: its parent and the config keys its own constructor reads."""

    name: str
    parent: Optional[str]  # key of the parent class, "<module>:<name>", once resolved
    reads: Set[str] = field(default_factory=set)
    builds: List[str] = field(default_factory=list)  # classes constructed from the same args


def _module_path(base: str, spec: str) -> str:
    path = os.path.normpath(os.path.join(os.path.dirname(base), spec))
    return path if path.endswith(".js") else path + ".js"


def _reachable(entry: str) -> List[str]:
    """Every module of the package the entry point imports, directly or not."""
    seen, todo = [], [entry]
    while todo:
        path = todo.pop()
        if path in seen or not os.path.exists(path):
            continue
        seen.append(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        todo.extend(_module_path(path, a or b) for a, b in _IMPORT.findall(text))
    return sorted(seen)


def _constructor_reads(body: str) -> Tuple[Set[str], List[str]]:
    """Config keys a class's constructor reads from its last parameter, and classes it builds from it."""
    match = _CONSTRUCTOR.search(body)
    if not match:
        return set(), []
    params = [p.split("=")[0].strip() for p in match.group(1).split(",") if p.strip()]
    if not params:
        return set(), []
    arg = params[-1]
    end = _METHOD_END.search(body, match.end())
    ctor = body[match.end(): end.start() if end else len(body)]
    reads = set(re.findall(rf"\b{arg}\.(\w+)", ctor)) | set(re.findall(rf"\b{arg}\[['\"](\w+)['\"]\]", ctor))
    for names in re.findall(rf"\{{([^}}]*)\}}\s*=\s*{arg}\b", ctor):  # const {{filters, kernelSize = 3}} = args
        reads.update(re.split(r"[:=]", item)[0].strip() for item in names.split(",") if item.strip())
    builds = [cls for cls, passed in _NEW_WITH_ARGS.findall(ctor) if passed == arg]
    return reads, builds


def _imports(path: str, text: str) -> Dict[str, str]:
    """Local name -> "<module>:<name>" of every class a module imports by name."""
    names = {}
    for items, spec in _NAMED_IMPORT.findall(text):
        for item in filter(None, (i.strip() for i in items.split(","))):
            original, _, local = item.partition(" as ")
            names[(local or original).strip()] = f"{_module_path(path, spec)}:{original.strip()}"
    return names


def _classes(path: str, text: str) -> Dict[str, _Class]:
    """The module's classes keyed "<module>:<name>", with parents and built classes resolved."""
    local = {m.group(1) for m in _CLASS.finditer(text)}
    imported = _imports(path, text)
    resolve = lambda name: f"{path}:{name}" if name in local else imported.get(name)
    found = {}
    starts = list(_CLASS.finditer(text))
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        reads, builds = _constructor_reads(text[match.end(): end])
        parent = resolve(match.group(2).split(".")[-1]) if match.group(2) else None
        key = f"{path}:{match.group(1)}"
        found[key] = _Class(key, parent, reads, [b for b in map(resolve, builds) if b])
    return found


def _keys(cls: str, classes: Dict[str, _Class], seen: Set[str]) -> Set[str]:
    """Keys read by a class's constructor, its ancestors' and those of classes built from its args."""
    if cls not in classes or cls in seen:
        return set()
    seen = seen | {cls}
    node = classes[cls]
    keys = set(node.reads)
    for other in [node.parent] + node.builds:
        if other:
            keys |= _keys(other, classes, seen)
    return keys


def _extends(cls: str, base: str, classes: Dict[str, _Class]) -> bool:
    """Whether a class is `base` ("<module path ending>:<name>") or derives from it."""
    while cls in classes:
        if cls.endswith(base):
            return True
        cls = classes[cls].parent
    return False


def _is_layer(cls: str, classes: Dict[str, _Class]) -> bool:
    return _extends(cls, os.path.join("engine", "topology.js") + ":Layer", classes)


def derive(node_modules: str) -> Dict[str, object]:
    """The catalog document for the tfjs-layers package installed under node_modules."""
    package = os.path.join(node_modules, "@tensorflow", "tfjs-layers")
    with open(os.path.join(package, "package.json"), encoding="utf-8") as f:
        version = json.load(f)["version"]
    dist = os.path.join(package, "dist")
    bundled = set(_reachable(os.path.join(dist, "index.js")))
    classes: Dict[str, _Class] = {}
    registered: Dict[str, str] = {}  # Keras class name -> JS class
    unbundled: Dict[str, str] = {}  # the same, for modules the bundle leaves out
    for root, _, files in sorted(os.walk(dist)):
        for path in sorted(os.path.join(root, name) for name in files if name.endswith(".js") and "miniprogram" not in root):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            classes.update(_classes(path, text))
            names = dict(_CLASS_NAME.findall(text))
            found = {names[js]: f"{path}:{js}" for js in _REGISTER.findall(text) if js in names}
            if path in bundled:
                registered.update(found)
            else:
                unbundled.update(found)
    layers = {keras: sorted(_keys(js, classes, set())) for keras, js in registered.items() if _is_layer(js, classes)}
    if "Dense" not in layers or "units" not in layers["Dense"]:
        raise SystemExit(f"no Dense layer with a units key found under {package}/dist: is it installed?")
    unbundled_layers = sorted(name for name, js in unbundled.items() if name not in layers and _is_layer(js, classes))
    activations = sorted(name for name, js in registered.items() if _extends(js, f"{os.sep}activations.js:Activation", classes))
    return {"tfjs_layers_version": version, "layers": dict(sorted(layers.items())), "unbundled_layers": unbundled_layers, "activations": activations}


def render(document: Dict[str, object]) -> str:
    """The file's exact text, one layer class a line so diffs stay readable."""
    layers: Dict[str, List[str]] = document["layers"]  # type: ignore[assignment]
    lines = ",\n".join(f"    {json.dumps(name)}: {json.dumps(keys)}" for name, keys in layers.items())
    unbundled, activations = json.dumps(document["unbundled_layers"]), json.dumps(document["activations"])
    return (
        f'{{\n  "tfjs_layers_version": {json.dumps(document["tfjs_layers_version"])},\n  "layers": {{\n{lines}\n  }},\n'
        f'  "unbundled_layers": {unbundled},\n  "activations": {activations}\n}}\n'
    )


def main(argv: List[str]) -> int:
    return regenerate.main_from_npm(argv, DEFAULT_OUTPUT, derive, regenerate.write_text(render),
                                    lambda document: f"{len(document['layers'])} layer classes from tfjs-layers {document['tfjs_layers_version']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
