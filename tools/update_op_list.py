"""Derive the op mapper tables of @tensorflow/tfjs-converter and write them as tensorflowjs/op_list/*.json.

The public tensorflowjs package ships these tables (one JSON file per op category: each op's
`tfOpName`, `category`, inputs and attributes), and scripts read them through
`tensorflowjs.resource_loader`. TF.js's graph executor is built from the same tables, compiled into
the npm package as dist/operations/op_list/<category>.js, each a single `export const json = [...]`
literal. This tool reads that literal from the npm version the end-to-end harness pins, so the
shipped tables are exactly the ones the TF.js in use executes. Usage:

    python tools/update_op_list.py [NODE_MODULES] [OUTPUT_DIR]

defaults: tests/e2e/node_modules and python/tensorflowjs/op_list.
"""

from __future__ import annotations

import ast
import glob
import io
import json
import os
import sys
import tokenize
from typing import Dict, List

import regenerate

DEFAULT_OUTPUT = os.path.join(regenerate.REPO, "python", "tensorflowjs", "op_list")

_EXPORT = "export const json ="
# The only bare words a JSON-like JavaScript literal may hold, as Python literals.
_JS_CONSTANTS = {"true": "True", "false": "False", "null": "None"}


def _parse_literal(source: str, path: str) -> list:
    """The `json` array of one compiled op list module (a plain data literal, never executed)."""
    start = source.find(_EXPORT)
    end = source.rfind("];")
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no `{_EXPORT} [...];` literal; has the npm package's layout changed?")
    literal = source[start + len(_EXPORT):end + 1]
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(literal).readline):
        if token.type == tokenize.NAME:
            if token.string not in _JS_CONSTANTS:
                raise SystemExit(f"{path}: unexpected identifier {token.string!r} in the op list literal")
            token = token._replace(string=_JS_CONSTANTS[token.string])
        tokens.append(token)
    return ast.literal_eval(tokenize.untokenize(tokens))


def derive(node_modules: str) -> Dict[str, list]:
    """Category name -> op mapper entries, for the tfjs-converter package installed under node_modules."""
    directory = os.path.join(node_modules, "@tensorflow", "tfjs-converter", "dist", "operations", "op_list")
    tables = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.js"))):
        with open(path, encoding="utf-8") as f:
            tables[os.path.basename(path)[:-len(".js")]] = _parse_literal(f.read(), path)
    if not tables:
        raise SystemExit(f"no op lists under {directory}: is @tensorflow/tfjs-converter installed?")
    return tables


def render(entries: list) -> str:
    """One category file's exact text."""
    return json.dumps(entries, indent=2) + "\n"


def write(output: str, tables: Dict[str, List[Dict]]) -> None:
    """One file per category; a category the package no longer has loses its file."""
    os.makedirs(output, exist_ok=True)
    for stale in set(glob.glob(os.path.join(output, "*.json"))) - {os.path.join(output, c + ".json") for c in tables}:
        os.remove(stale)
    for category, entries in tables.items():
        with open(os.path.join(output, category + ".json"), "w", encoding="utf-8") as f:
            f.write(render(entries))


def main(argv: List[str]) -> int:
    return regenerate.main_from_npm(argv, DEFAULT_OUTPUT, derive, write,
                                    lambda tables: f"{len(tables)} categories, {sum(map(len, tables.values()))} ops")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
