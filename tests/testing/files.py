"""Files on disk as data, for comparing what a conversion wrote."""

import os
from typing import Dict


def read_tree(path: str) -> Dict[str, bytes]:
    """Every file under the directory `path`, by path relative to it -> its bytes; a file: {its name: bytes}."""
    if os.path.isfile(path):
        with open(path, "rb") as f:
            return {os.path.basename(path): f.read()}
    found = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                found[os.path.relpath(full, path)] = f.read()
    return found
