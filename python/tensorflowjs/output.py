"""Outputs appear whole or not at all, even when the process is killed, and nothing the user had is wiped.

A conversion writes into a staging directory beside the target, `.<target>.tfjs-partial-<random>`,
which its process holds locked (flock) while it lives. On success the result takes the target's
place in one atomic step: a rename, or for an existing directory an exchange (renameat2), the new
directory holding hard links to the old one's other files. Readers, a concurrent conversion and a
SIGKILL at any moment see the old output or the new one, never a mix. Commits to one parent
directory take turns. A staging directory whose lock is free belongs to a run that died: the next
run to the same target removes it; a live run's is left alone.
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import stat
import tempfile
from typing import Iterable, Iterator, Optional, Tuple

from tensorflowjs.errors import ConversionError

PARTIAL = ".tfjs-partial-"
_PAYLOAD = "payload"
_STAGING_ATTEMPTS = 5
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def staging_prefix(target: str) -> str:
    """Name prefix of the staging directories of `target` (in its parent)."""
    return f".{os.path.basename(target)}{PARTIAL}"


def _locked(path: str, blocking: bool) -> int:
    """An fd of `path` holding its exclusive flock, or -1 when another process holds it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return -1
    return fd


def remove_stale(target: str) -> None:
    """Removes the staging directories of `target` left by runs that died; live ones stay."""
    parent = os.path.dirname(target)
    prefix = staging_prefix(target)
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if not name.startswith(prefix) or os.path.islink(path) or not os.path.isdir(path):
            continue
        try:
            fd = _locked(path, blocking=False)
        except OSError:
            continue
        if fd >= 0:
            shutil.rmtree(path, ignore_errors=True)
            os.close(fd)


def _new_staging(target: str) -> Tuple[str, int]:
    """A staging directory and the fd holding its lock, with its payload directory made.

    Between mkdtemp and flock another run may take the new directory for a dead run's and
    remove it: then this run just makes another.
    """
    for _ in range(_STAGING_ATTEMPTS):
        staging = tempfile.mkdtemp(prefix=staging_prefix(target), dir=os.path.dirname(target))
        try:
            fd = _locked(staging, blocking=True)
        except FileNotFoundError:
            continue
        try:
            os.mkdir(os.path.join(staging, _PAYLOAD))
            return staging, fd
        except FileNotFoundError:
            os.close(fd)
    raise OSError(errno.EAGAIN, "staging directories keep disappearing", os.path.dirname(target))


def _real_target(target: str) -> str:
    """The absolute target; a symlink to a directory stands for the directory it points to."""
    target = os.path.abspath(target)
    return os.path.realpath(target) if os.path.islink(target) and os.path.isdir(target) else target


@contextlib.contextmanager
def _staging(target: str) -> Iterator[Tuple[str, str]]:
    """(staging directory, payload directory inside it), locked for this process's lifetime."""
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
        remove_stale(target)
        staging, fd = _new_staging(target)
        payload = os.path.join(staging, _PAYLOAD)
    except OSError as e:
        raise ConversionError(f"cannot write under {parent}: {e.strerror or e}") from None
    try:
        yield staging, payload
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(fd)


@contextlib.contextmanager
def _commit_turn(parent: str) -> Iterator[None]:
    """Commits into one parent directory take turns (flock on the directory)."""
    fd = _locked(parent, blocking=True)
    try:
        yield
    finally:
        os.close(fd)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, destination, follow_symlinks=False)


def _carry_over(source: str, destination: str) -> None:
    """Hard links (copies where linking is refused) of the entries of `source` that `destination` lacks."""
    for name in os.listdir(source):
        src, dst = os.path.join(source, name), os.path.join(destination, name)
        if os.path.lexists(dst):
            continue
        if os.path.isdir(src) and not os.path.islink(src):
            if os.path.ismount(src):
                raise ConversionError(f"the output directory {source} holds the mount point {src}; choose an output directory without one")
            shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(src, dst)


def _exchange(a: str, b: str) -> None:
    """Swaps two paths atomically (Linux renameat2 RENAME_EXCHANGE)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), b)


def _replace_directory(payload: str, target: str, staging: str) -> None:
    """The payload (plus the target's other files) takes the existing target's place at once."""
    _carry_over(target, payload)
    os.chmod(payload, stat.S_IMODE(os.stat(target).st_mode))
    try:
        _exchange(payload, target)
    except OSError as e:
        if e.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise ConversionError(f"cannot replace the output directory {target}: {e.strerror}; choose another output directory") from None
        # A file system without exchange: the old directory steps aside for an instant.
        os.rename(target, os.path.join(staging, "old"))
        os.rename(payload, target)


@contextlib.contextmanager
def output_directory(target: str) -> Iterator[str]:
    """Yields a staging directory; on success it becomes `target`.

    An existing target directory is replaced whole by one holding the new files and its other
    files (hard links); files of the same name are the new ones.
    """
    target = _real_target(target)
    if os.path.exists(target) and not os.path.isdir(target):
        raise ConversionError(f"output path {target} already exists as a file; choose a directory for the converted model")
    with _staging(target) as (staging, payload):
        yield payload
        with _commit_turn(os.path.dirname(target)):
            if os.path.isdir(target):
                _replace_directory(payload, target, staging)
            else:
                os.rename(payload, target)


@contextlib.contextmanager
def output_file(target: str) -> Iterator[str]:
    """Yields a temporary path beside `target`; it replaces `target` only on success."""
    target = os.path.abspath(target)
    if os.path.isdir(target):
        raise ConversionError(f"output path {target} is a directory; give a file name")
    with _staging(target) as (_, payload):
        path = os.path.join(payload, os.path.basename(target))
        yield path
        with _commit_turn(os.path.dirname(target)):
            os.replace(path, target)


def _within(path: str, directory: str) -> bool:
    return path != directory and os.path.commonpath([path, directory]) == directory


def _relation(out: str, source: str, inside_counts: bool) -> Optional[str]:
    if out == source:
        return "is"
    if _within(source, out):
        return "contains"
    if _within(out, source) and inside_counts:
        return "lies inside"
    return None


def refuse_overlap(output: str, model: Optional[str], files: Iterable[str] = (), only_input_files: bool = False) -> None:
    """An output that is, holds or lies inside an input would overwrite it: refused up front.

    Symlinks and relative paths are resolved first. A model directory (SavedModel, TF.js model)
    holds nothing of ours; a model given as its model.json is also its directory, in which only
    a new subdirectory may be written (its files, the shards, are the input too). `files`
    (.h5, .pb, metadata) may have outputs beside them, never on or around them.
    `only_input_files` refuses just an output that would replace the input's own files: an
    output that is an input file, or is the directory of a TF.js model (its model.json); the
    Python API's rule (see pairs.convert).
    """
    out = os.path.realpath(output)
    # (as the user gave it, resolved, whether an output inside it counts, whether an output that
    # is it replaces input files: a file, or a model.json's directory, yes; a SavedModel's, no)
    checks = [(given, os.path.realpath(given), False, True) for given in files]
    if model is not None:
        source = os.path.realpath(model)
        if os.path.isfile(source) and source.endswith(".json"):
            checks.append((model, os.path.dirname(source), os.path.lexists(out) and not os.path.isdir(out), True))
        checks.append((model, source, os.path.isdir(source), not os.path.isdir(source)))
    for given, source, inside_counts, replaces_files in checks:
        relation = _relation(out, source, inside_counts)
        if relation and (not only_input_files or relation == "is" and replaces_files):
            raise ConversionError(f"the output path {output} {relation} the input {given}; writing there would overwrite the input, so choose an output path outside it")
