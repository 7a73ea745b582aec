"""Outputs appear whole or not at all, and nothing the user had is wiped.

Everything is written into a temporary directory beside the target, then moved into place
only when the conversion has succeeded.
"""

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

from tensorflowjs.errors import ConversionError


def _staging_dir(target: str) -> str:
    parent = os.path.dirname(os.path.abspath(target)) or "."
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(target))}.tmp-", dir=parent)
    except OSError as e:
        raise ConversionError(f"cannot write under {parent}: {e.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def output_directory(target: str) -> Iterator[str]:
    """Yields a staging directory; on success its files land in `target`.

    A new target is created by one rename. An existing directory keeps its other files;
    files of the same name are replaced one by one.
    """
    if os.path.exists(target) and not os.path.isdir(target):
        raise ConversionError(f"output path {target} already exists as a file; choose a directory for the converted model")
    staging = _staging_dir(target)
    try:
        yield staging
        if not os.path.exists(target):
            # mkdtemp makes the staging directory private; the result gets normal permissions.
            os.chmod(staging, 0o777 & ~_umask())
            os.rename(staging, target)
            return
        for name in sorted(os.listdir(staging)):
            _replace(os.path.join(staging, name), os.path.join(target, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace(source: str, destination: str) -> None:
    """os.replace, also over a non-empty directory (a SavedModel's variables/): the old one is
    renamed aside, the new one moved in, and only then the old one deleted."""
    if not (os.path.isdir(source) and os.path.isdir(destination) and not os.path.islink(destination)):
        os.replace(source, destination)
        return
    aside = tempfile.mkdtemp(prefix=f".{os.path.basename(destination)}.old-", dir=os.path.dirname(destination))
    old = os.path.join(aside, "old")
    os.rename(destination, old)
    try:
        os.rename(source, destination)
    except OSError:
        os.rename(old, destination)
        raise
    finally:
        if os.path.exists(destination):
            shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def output_file(target: str) -> Iterator[str]:
    """Yields a temporary path beside `target`; it replaces `target` only on success."""
    if os.path.isdir(target):
        raise ConversionError(f"output path {target} is a directory; give a file name")
    staging = _staging_dir(target)
    try:
        path = os.path.join(staging, os.path.basename(target))
        yield path
        os.replace(path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
