"""The check that a conversion path never imports TensorFlow or Keras, in a fresh interpreter."""

import os
import subprocess
import sys
from typing import Sequence

_CONVERT_AND_LIST_HEAVY_MODULES = (
    "import sys\n"
    "from tensorflowjs.converters import converter\n"
    "for argv in {argvs!r}:\n"
    "    assert converter.main(argv) == 0, argv\n"
    "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n"
)


def assert_converts_without_tensorflow(argvs: Sequence[Sequence[str]]) -> None:
    """Runs tensorflowjs_converter with each argv in turn, in one new Python process: every run
    succeeds, and no module of TensorFlow, Keras or tf_keras was imported by the end."""
    code = _CONVERT_AND_LIST_HEAVY_MODULES.format(argvs=[[str(arg) for arg in argv] for argv in argvs])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
