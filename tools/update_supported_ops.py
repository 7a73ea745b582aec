"""Derive the op set TF.js executes from @tensorflow/tfjs-converter and write supported_ops.json.

TF.js's graph executor only runs ops listed in the converter package's op lists
(dist/operations/op_list/*.js, one `tfOpName` per entry), so that list, from the npm version the
end-to-end harness pins, is the truth the op check ships. Usage:

    python tools/update_supported_ops.py [NODE_MODULES] [OUTPUT_JSON]

defaults: tests/e2e/node_modules and python/tensorflowjs/graph/supported_ops.json.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
from typing import Dict, List

import regenerate

DEFAULT_OUTPUT = os.path.join(regenerate.REPO, "python", "tensorflowjs", "graph", "supported_ops.json")

_TF_OP_NAME = re.compile(r"""['"]tfOpName['"]\s*:\s*['"]([A-Za-z0-9_]+)['"]""")


def derive(node_modules: str) -> Dict[str, object]:
    """The supported-ops document for the tfjs-converter package installed under node_modules."""
    package = os.path.join(node_modules, "@tensorflow", "tfjs-converter")
    with open(os.path.join(package, "package.json"), encoding="utf-8") as f:
        version = json.load(f)["version"]
    ops: set = set()
    for path in sorted(glob.glob(os.path.join(package, "dist", "operations", "op_list", "*.js"))):
        with open(path, encoding="utf-8") as f:
            ops.update(_TF_OP_NAME.findall(f.read()))
    if not ops:
        raise SystemExit(f"no tfOpName entries under {package}/dist/operations/op_list: is it installed?")
    return {"tfjs_converter_version": version, "ops": sorted(ops)}


def render(document: Dict[str, object]) -> str:
    """The file's exact text, one op a line so diffs stay readable."""
    ops: List[str] = document["ops"]  # type: ignore[assignment]
    lines = ",\n".join(f"    {json.dumps(op)}" for op in ops)
    return f'{{\n  "tfjs_converter_version": {json.dumps(document["tfjs_converter_version"])},\n  "ops": [\n{lines}\n  ]\n}}\n'


def main(argv: List[str]) -> int:
    return regenerate.main_from_npm(argv, DEFAULT_OUTPUT, derive, regenerate.write_text(render),
                                    lambda document: f"{len(document['ops'])} ops from tfjs-converter {document['tfjs_converter_version']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
