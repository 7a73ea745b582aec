"""The Python API called many times in one process: the process survives every conversion
(TensorFlow's C++ aborts it on some graphs, which must never be handed over), leaves
TensorFlow's global state alone, and every converted model predicts right in TF.js.

The conversions run in a child process (conversion_sequence.py) so that an abort fails this
test instead of ending the test runner; the child also checks the global state after each call.
"""

import os
import pickle
import subprocess
import sys

import pytest

from tfjs_e2e import Case, check_tfjs_batch

SEQUENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conversion_sequence.py")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    work = tmp_path_factory.mktemp("sequence")
    result = subprocess.run([sys.executable, SEQUENCE, str(work)], capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return work, result


def test_the_process_survives_every_conversion_and_keeps_the_global_state(sequence):
    _, result = sequence
    survived = [line for line in result.stdout.splitlines() if line.startswith("survived: ")]
    assert result.returncode == 0, f"exit {result.returncode} after {survived[-1:] or 'nothing'}:\n{result.stderr[-3000:]}"
    assert "all conversions survived" in result.stdout
    for name in ("TF1, hash table, Cast input", "TF1 hub format", "control flow", "convert_tf_frozen_model", "graph and v1 Session"):
        assert any(name in line for line in survived), name


def test_every_converted_model_predicts_right_in_tfjs(sequence):
    work, result = sequence
    assert result.returncode == 0, result.stderr[-3000:]
    with open(work / "cases.pkl", "rb") as f:
        cases = pickle.load(f)
    assert {"layers", "keras_graph", "loop", "tf1", "tf1_cast", "frozen", "hub"} <= set(cases)
    verdicts = check_tfjs_batch({name: Case(path, inputs, expected, atol=1e-5, rtol=1e-4) for name, (path, inputs, expected) in cases.items()})
    assert verdicts == {name: None for name in cases}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
