"""A compressed .keras is unpacked to a temporary file: a conversion killed with SIGKILL at any
point, even mid-unpacking, leaves nothing in $TMPDIR, and the next run leaves no stray file or
directory either. Real processes: each conversion runs in a forked child that kills itself."""

import builtins
import os
import shutil
import signal
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from tensorflowjs.converters import converter  # noqa: E402

_WATCHED_OS = ("open", "rename", "replace", "link", "mkdir", "rmdir", "unlink", "chmod")


@pytest.fixture(scope="module")
def compressed_keras(tmp_path_factory):
    """A .keras whose model.weights.h5 is deflated (Keras stores it uncompressed)."""
    import keras

    root = tmp_path_factory.mktemp("model")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="d1"), keras.layers.Dense(2, name="d2")])
    stored = str(root / "stored.keras")
    model.save(stored)
    path = str(root / "model.keras")
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            compression = zipfile.ZIP_DEFLATED if info.filename == "model.weights.h5" else zipfile.ZIP_STORED
            target.writestr(info.filename, source.read(info), compress_type=compression)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("model.weights.h5").compress_type == zipfile.ZIP_DEFLATED
    return path


def _convert_and_die_at_step(step, argv, tmpdir):
    """In a forked child: convert, SIGKILLing this process at its `step`-th file operation or
    chunk of unpacked bytes."""
    os.environ["TMPDIR"] = tmpdir
    tempfile.tempdir = None
    assert tempfile.gettempdir() == tmpdir  # read $TMPDIR again now: Python probes it with a file of its own
    count = [0]

    def watched(function, after=False):
        def call(*args, **kwargs):
            count[0] += 1
            if count[0] == step and not after:
                os.kill(os.getpid(), signal.SIGKILL)
            result = function(*args, **kwargs)
            if count[0] == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return call

    for name in _WATCHED_OS:
        setattr(os, name, watched(getattr(os, name)))
    builtins.open = watched(builtins.open)
    shutil.copyfileobj = watched(shutil.copyfileobj, after=True)  # killed with the member unpacked, the file still open
    os._exit(converter.main(argv))


def test_sigkill_at_any_point_leaves_no_temporary_file(compressed_keras, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    target = tmp_path / "out" / "web_model"
    argv = ["--input_format=keras_keras", compressed_keras, str(target)]
    step, kills = 1, 0
    while True:
        pid = os.fork()
        if pid == 0:
            try:
                _convert_and_die_at_step(step, argv, str(tmpdir))
            finally:
                os._exit(99)
        _, status = os.waitpid(pid, 0)
        assert os.listdir(tmpdir) == [], f"killed at step {step}: left in $TMPDIR: {os.listdir(tmpdir)}"
        if os.WIFEXITED(status):
            assert os.WEXITSTATUS(status) == 0
            break
        assert os.WTERMSIG(status) == signal.SIGKILL
        kills += 1
        step += 1
    assert kills > 5, kills
    # The run that finished left only its output, and removed the staging directories of the killed ones.
    assert os.listdir(target.parent) == ["web_model"]
    assert os.path.isfile(target / "model.json")


if __name__ == "__main__":
    import sys

    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
