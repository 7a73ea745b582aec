"""output.py: outputs appear whole or not at all, even under SIGKILL or a concurrent run, and
replace what they overwrite cleanly. The crash and race tests use real processes."""

import builtins
import os
import shutil
import signal
import subprocess
import sys

import pytest

import make_mlp
from tensorflowjs import output
from tensorflowjs.converters import converter
from tensorflowjs.errors import ConversionError
from tensorflowjs.output import output_directory, output_file
from testing.files import read_tree

CLI = [sys.executable, "-m", "tensorflowjs.converters.converter"]


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_new_subdirectory_replaces_a_non_empty_one_and_keeps_other_files(tmp_path):
    """Converting into an existing SavedModel directory replaces its variables/ whole."""
    target = tmp_path / "saved_model"
    _write(str(target / "variables" / "variables.index"), "old index")
    _write(str(target / "variables" / "stale.data"), "old data")
    _write(str(target / "notes.txt"), "the user's")
    with output_directory(str(target)) as staging:
        _write(os.path.join(staging, "variables", "variables.index"), "new index")
        _write(os.path.join(staging, "saved_model.pb"), "graph")
    assert sorted(os.listdir(target)) == ["notes.txt", "saved_model.pb", "variables"]
    assert os.listdir(target / "variables") == ["variables.index"]
    assert (target / "variables" / "variables.index").read_text() == "new index"
    assert sorted(os.listdir(tmp_path)) == ["saved_model"]


def test_failed_conversion_leaves_the_target_and_its_parent_as_they_were(tmp_path):
    target = tmp_path / "out"
    _write(str(target / "model.json"), "old")
    with pytest.raises(ConversionError):
        with output_directory(str(target)) as staging:
            _write(os.path.join(staging, "model.json"), "half")
            raise ConversionError("boom")
    assert (target / "model.json").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_output_file_replaces_the_file_only_on_success(tmp_path):
    target = tmp_path / "model.h5"
    target.write_text("old")
    with pytest.raises(ConversionError):
        with output_file(str(target)) as path:
            _write(path, "half")
            raise ConversionError("boom")
    assert target.read_text() == "old"
    with output_file(str(target)) as path:
        _write(path, "new")
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["model.h5"]


def _snapshot(directory):
    """{relative path: bytes} of every file under `directory` (None if it does not exist)."""
    return read_tree(directory) if os.path.isdir(directory) else None


def _layers_args(source, target, shard_bytes):
    return ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", f"--weight_shard_size_bytes={shard_bytes}", str(source), str(target)]


_WATCHED_OS = ("open", "rename", "replace", "link", "mkdir", "rmdir", "unlink", "chmod")


def _convert_and_die_at_step(step, argv):
    """In a forked child: run the converter, SIGKILLing this process at its `step`-th file operation."""
    count = [0]

    def watched(function):
        def call(*args, **kwargs):
            count[0] += 1
            if count[0] == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)

        return call

    for name in _WATCHED_OS:
        setattr(os, name, watched(getattr(os, name)))
    builtins.open = watched(builtins.open)
    output._exchange = watched(output._exchange)
    os._exit(converter.main(argv))


def test_sigkill_at_any_file_operation_leaves_the_old_or_the_new_output_never_a_part(tmp_path):
    """Killed at each file operation in turn, the target holds the previous output or the whole new
    one; the staging directories the kills leave behind are removed by the next run."""
    make_mlp.write(str(tmp_path / "in"))
    old, target = tmp_path / "old", tmp_path / "out" / "web_model"
    assert converter.main(_layers_args(tmp_path / "in", old, 4194304)) == 0
    (old / "notes.txt").write_text("the user's")
    new_argv = _layers_args(tmp_path / "in", target, 1024)  # many shards: the new file set differs
    shutil.copytree(old, target)
    assert converter.main(new_argv) == 0
    states = {"old": _snapshot(old), "new": _snapshot(target)}
    assert states["old"] != states["new"] and states["new"]["notes.txt"] == b"the user's"
    seen, step, left_behind = set(), 1, 0
    while True:
        shutil.rmtree(target)
        shutil.copytree(old, target)
        pid = os.fork()
        if pid == 0:
            try:
                _convert_and_die_at_step(step, new_argv)
            finally:
                os._exit(99)
        _, status = os.waitpid(pid, 0)
        state = [name for name, files in states.items() if files == _snapshot(target)]
        assert state, f"killed at file operation {step}: the target is neither the old nor the new output"
        seen.add(state[0])
        if os.WIFEXITED(status):
            assert os.WEXITSTATUS(status) == 0
            break
        assert os.WTERMSIG(status) == signal.SIGKILL
        leftovers = [n for n in os.listdir(target.parent) if n != "web_model"]
        assert all(n.startswith(output.staging_prefix(str(target))) for n in leftovers), leftovers
        left_behind = max(left_behind, len(leftovers))
        step += 1
    assert seen == {"old", "new"} and step > 10 and left_behind, (seen, step, left_behind)
    # The run that finished removed what the killed ones left.
    assert os.listdir(target.parent) == ["web_model"]
    assert _snapshot(target) == states["new"]


def test_a_running_conversions_staging_directory_is_left_alone(tmp_path):
    """Only dead runs' staging directories are stale: a live run keeps its own and commits it."""
    make_mlp.write(str(tmp_path / "in"))
    target = tmp_path / "web_model"
    holder = (
        "import sys, time\n"
        "from tensorflowjs.output import output_directory\n"
        f"with output_directory({str(target)!r}) as staging:\n"
        "    open(staging + '/model.json', 'w').write('slow run')\n"
        "    print('staged', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    slow = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert slow.stdout.readline().strip() == "staged"
        staging = [n for n in os.listdir(tmp_path) if n.startswith(output.staging_prefix(str(target)))]
        assert len(staging) == 1
        result = subprocess.run(CLI + _layers_args(tmp_path / "in", target, 4194304), capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        assert staging[0] in os.listdir(tmp_path)
    finally:
        slow.communicate("go\n", timeout=60)
    assert slow.returncode == 0
    assert (target / "model.json").read_text() == "slow run"
    assert sorted(os.listdir(tmp_path)) == ["in", "web_model"]


def test_racing_conversions_end_with_one_complete_output(tmp_path):
    """Two real conversions into one directory, started together: the result is all of one of them."""
    make_mlp.write(str(tmp_path / "in"))
    runs = {"few": 4194304, "many": 512}
    references = {}
    for name, shard_bytes in runs.items():
        assert converter.main(_layers_args(tmp_path / "in", tmp_path / name, shard_bytes)) == 0
        references[name] = _snapshot(tmp_path / name)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    target = tmp_path / "out" / "web_model"
    winners = []
    for _ in range(4):
        procs = [subprocess.Popen(CLI + _layers_args(tmp_path / "in", target, b), stderr=subprocess.PIPE, env=env) for b in runs.values()]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        files = _snapshot(target)
        model_json = files["model.json"]
        winner = [name for name, ref in references.items() if ref["model.json"] == model_json]
        assert len(winner) == 1
        # Every file the winner's model.json lists is the winner's; other names are the loser's leftovers.
        assert all(files[path] == data for path, data in references[winner[0]].items())
        assert os.listdir(target.parent) == ["web_model"]
        winners.append(winner[0])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
