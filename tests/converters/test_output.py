"""output.py: outputs appear whole or not at all, and replace what they overwrite cleanly."""

import os
import sys

import pytest

from tensorflowjs.errors import ConversionError
from tensorflowjs.output import output_directory, output_file


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


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
