"""Opening a Keras model file (.h5 or .keras) by its content, whatever its name or --input_format
says: what the Keras converters read and what `--verify` asks for the Keras version that wrote it.
"""

import contextlib
import os
import resource
import zipfile
import zlib
from typing import ContextManager, Iterator

from tensorflowjs import formats
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.h5_model import open_keras_h5
from tensorflowjs.keras.keras_archive import open_keras_archive
from tensorflowjs.keras.model_source import KerasModelSource

# What reads each kind of Keras file, by the format its content shows.
_READERS = {"keras": open_keras_h5, "keras_keras": open_keras_archive}


# Memory a Keras file's structure may take to read, beyond the file's own size.
_STRUCTURE_MEMORY = 1 << 30
# What h5py, zipfile and zlib raise on a damaged file (found by tests/fuzz); MemoryError: see _address_space_cap.
_DAMAGED_FILE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, EOFError, NotImplementedError, MemoryError, zipfile.BadZipFile, zlib.error)


@contextlib.contextmanager
def open_keras_file(path: str) -> Iterator[KerasModelSource]:
    """A .h5 or .keras model, recognised by content whatever its name or --input_format says."""
    with contextlib.ExitStack() as stack:
        try:
            with _address_space_cap(os.path.getsize(path) if os.path.isfile(path) else 0):
                source = stack.enter_context(_open_reader(path))
        except ConversionError:
            raise  # a ValueError too, but already the one line to show
        except _DAMAGED_FILE_ERRORS as e:
            raise ConversionError(f"{path} cannot be read: {type(e).__name__}: {e}; the file is truncated or damaged") from None
        yield source


@contextlib.contextmanager
def _address_space_cap(file_size: int) -> Iterator[None]:
    """Bounds the memory libhdf5 may take while it reads a file's structure (config, names,
    layout; weights are read later). It trusts sizes stored in the file: one flipped byte in a
    global heap's header made it allocate and zero 4 GB for a 53 kB .keras (found by
    tests/fuzz); under the cap the allocation fails and the file is refused as damaged."""
    try:
        with open("/proc/self/statm") as f:
            in_use = int(f.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        yield
        return
    cap = in_use + _STRUCTURE_MEMORY + 2 * file_size
    if soft != resource.RLIM_INFINITY and soft <= cap or hard != resource.RLIM_INFINITY and hard < cap:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _open_reader(path: str) -> ContextManager[KerasModelSource]:
    if os.path.isdir(path):
        raise ConversionError(f"{path} is a directory; a Keras model file (.h5 or .keras) was expected (a Keras SavedModel needs --input_format keras_saved_model)")
    detected = formats.detect_format(path)
    if detected is None and zipfile.is_zipfile(path):
        detected = "keras_keras"  # a zip that is no valid .keras: its reader says what is missing
    if detected not in _READERS:
        raise ConversionError(f"{path} is neither an HDF5 nor a .keras file; give a Keras model saved with model.save()")
    return _READERS[detected](path)
