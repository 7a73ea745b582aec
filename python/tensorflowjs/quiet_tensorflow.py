"""TensorFlow's start-up lines held back, so that a refusal stays one line.

Importing TensorFlow prints absl's "All log messages before absl::InitializeLog()" warning and
the oneDNN notice straight to fd 2, whatever TF_CPP_MIN_LOG_LEVEL says. While `tensorflow` is
imported, fd 2 goes to a temporary file, shown only if the import fails.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def _native_stderr_held_back() -> Iterator[None]:
    """What native code writes to fd 2 meanwhile is dropped, or shown if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            os.write(2, held.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Wraps the loading of `tensorflow` (once) in _native_stderr_held_back."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            execute = spec.loader.exec_module

            def exec_module(module):
                with _native_stderr_held_back():
                    execute(module)

            spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Holds back the start-up lines of the next `import tensorflow` (if it has not happened yet)."""
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
