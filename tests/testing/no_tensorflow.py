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


# The converter's main() in a Python where TensorFlow, Keras and tf_keras cannot be imported at
# all (as if not installed), so a path that reaches for them fails there rather than passing.
_CONVERT_WITH_TENSORFLOW_BLOCKED = (
    "import sys\n"
    "class Missing:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, Missing())\n"
    "from tensorflowjs.converters import converter\n"
    "code = converter.main(sys.argv[1:])\n"
    "assert not {'tensorflow', 'keras', 'tf_keras'} & set(sys.modules), sorted(sys.modules)\n"
    "sys.exit(code)\n"
)


def convert_with_tensorflow_blocked(*args: object) -> subprocess.CompletedProcess:
    """tensorflowjs_converter `args` in a new Python where importing TensorFlow or Keras fails."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-c", _CONVERT_WITH_TENSORFLOW_BLOCKED, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)
