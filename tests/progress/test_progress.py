"""Progress and the summary line show on a terminal only: a pipe (scripts, CI, these tests'
other runs) sees exactly what it saw before, which is nothing on a success."""

import os
import re
import subprocess
import sys
import textwrap

import make_mlp
import pytest

from testing.terminal import run_on_terminal, visible_lines

# Two steps that each last longer than the delay before a line is drawn, then 80 MiB of weights.
SLOW_STEPS = textwrap.dedent("""
    import sys, tempfile, time
    import numpy as np
    from tensorflowjs import progress, write_weights

    with progress.step("reading model.h5"):
        time.sleep(1.6)
        with progress.step("optimising the graph"):
            time.sleep(1.6)
        with tempfile.TemporaryDirectory() as out:
            weight = write_weights.Weight("big", lambda: np.zeros(20 * 2**20, np.float32))
            write_weights.write_weight_groups([[weight]], out)
    print("done")
""")


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _cli(output_path):
    model = output_path.parent / "mlp"
    if not model.exists():
        make_mlp.write(str(model))
    return [sys.executable, "-m", "tensorflowjs.converters.converter", "--output_format=tfjs_layers_model", "--quantize_uint8", str(model), str(output_path)]


def test_a_conversion_on_a_terminal_ends_with_one_summary_line(tmp_path):
    code, shown = run_on_terminal(_cli(tmp_path / "web"), env=_env())
    assert code == 0, shown
    written = sorted(os.listdir(tmp_path / "web"))
    size = sum(os.path.getsize(tmp_path / "web" / name) for name in written)
    assert len(written) == 2 and size < 1024 * 1024
    [line] = visible_lines(shown)
    assert re.fullmatch(rf"wrote tfjs_layers_model to {re.escape(str(tmp_path / 'web'))}: 2 files, {size / 1024:.1f} KiB in \d+\.\d s", line), line


def test_the_summary_counts_only_what_the_conversion_wrote(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "notes.txt").write_text("mine")
    code, shown = run_on_terminal(_cli(tmp_path / "web"), env=_env())
    assert code == 0 and ": 2 files, " in visible_lines(shown)[-1]


def test_without_a_terminal_a_conversion_prints_nothing(tmp_path):
    result = subprocess.run(_cli(tmp_path / "web"), env=_env(), capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_long_steps_show_their_name_time_and_a_byte_bar_then_clear(tmp_path):
    code, shown = run_on_terminal([sys.executable, "-c", SLOW_STEPS], env=_env())
    assert code == 0, shown
    assert "reading model.h5 00:01" in shown and re.search(r"optimising the graph 00:0[23]", shown)
    # The bar's total, time, ETA and rate (which redraw a loaded machine shows last is not fixed).
    assert "writing weights" in shown and re.search(r"[0-9.]+M?/80\.0M \[[0-9:]+<[0-9:?]+, [0-9.?]+[kMG]?B/s\]", shown)
    assert visible_lines(shown)[-1].endswith("done")  # the lines were cleared


def test_long_steps_without_a_terminal_print_nothing():
    result = subprocess.run([sys.executable, "-c", SLOW_STEPS], env=_env(), capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
