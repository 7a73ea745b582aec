"""Files shipped inside the package, addressed by paths relative to the package directory."""

import os
from typing import IO, List

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _resource_path(path: str) -> str:
    return os.path.join(_PACKAGE_DIR, path)


def open_file(path: str) -> IO[str]:
    """The packaged file at `path` (relative to tensorflowjs/), opened for reading text."""
    return open(_resource_path(path))


def list_dir(path: str) -> List[str]:
    """Names of the entries in the packaged directory `path` (relative to tensorflowjs/)."""
    return os.listdir(_resource_path(path))
