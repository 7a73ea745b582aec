"""Input formats are recognised by content, not by file name."""

import json
import sys
import zipfile

import pytest

from tensorflowjs.formats import detect_format


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_hdf5_by_signature_whatever_the_name(tmp_path):
    assert detect_format(str(_write(tmp_path / "model.bin", b"\x89HDF\r\n\x1a\n" + b"\0" * 100))) == "keras"


def test_keras_archive_is_a_zip_with_config_json(tmp_path):
    path = tmp_path / "model.h5"  # misleading name on purpose
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"")
    assert detect_format(str(path)) == "keras_keras"


def test_zip_without_config_json_is_not_a_keras_archive(tmp_path):
    path = tmp_path / "x.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other.txt", "x")
    assert detect_format(str(path)) is None


@pytest.mark.parametrize("model,expected", [
    ({"format": "layers-model", "modelTopology": {}, "weightsManifest": []}, "tfjs_layers_model"),
    ({"modelTopology": {"model_config": {}}, "weightsManifest": []}, "tfjs_layers_model"),
    ({"format": "graph-model", "modelTopology": {}, "weightsManifest": []}, "tfjs_graph_model"),
    ({"modelTopology": {"node": []}, "weightsManifest": []}, "tfjs_graph_model"),
])
def test_model_json_kinds_as_file_or_directory(tmp_path, model, expected):
    path = _write(tmp_path / "m" / "model.json", json.dumps(model).encode())
    assert detect_format(str(path)) == expected
    assert detect_format(str(path.parent)) == expected


@pytest.mark.parametrize("files,expected", [
    (["saved_model.pb"], "tf_saved_model"),
    (["saved_model.pb", "keras_metadata.pb"], "keras_saved_model"),
    (["tfhub_module.pb", "saved_model.pb"], "tf_hub"),
])
def test_directories(tmp_path, files, expected):
    for name in files:
        _write(tmp_path / "d" / name, b"\x0a\x00")
    assert detect_format(str(tmp_path / "d")) == expected


def test_frozen_graph_file(tmp_path):
    assert detect_format(str(_write(tmp_path / "frozen.pb", b"\x0a\x00"))) == "tf_frozen_model"


@pytest.mark.parametrize("name,data", [("notes.txt", b"hello"), ("model.json", b"{not json"), ("model.json", b"[1, 2]")])
def test_files_that_are_none_of_them(tmp_path, name, data):
    assert detect_format(str(_write(tmp_path / name, data))) is None


def test_empty_directory_and_missing_path(tmp_path):
    assert detect_format(str(tmp_path)) is None
    assert detect_format(str(tmp_path / "missing")) is None


def test_the_catalog_is_the_one_list_of_formats():
    from tensorflowjs import extras, formats
    from tensorflowjs.converters import pairs

    assert sorted(formats._DETECTION_ORDER) == sorted(formats.BY_NAME)
    assert set(pairs.DEFAULT_OUTPUT_FORMAT) == set(formats.INPUT_FORMATS)
    assert set(pairs.DEFAULT_OUTPUT_FORMAT.values()) <= set(formats.OUTPUT_FORMATS)
    assert {pair for pair in pairs.HANDLERS} <= {(i, o) for i in formats.INPUT_FORMATS for o in formats.OUTPUT_FORMATS}
    assert all(package in extras.INSTALL for f in formats.CATALOG for package in f.reads_with + f.writes_with)


def test_a_pair_whose_format_needs_a_missing_package_stops_before_converting(tmp_path, monkeypatch):
    """The catalog's reads_with/writes_with, checked by pairs.convert: one line naming the extra,
    and the handler never runs."""
    import dataclasses

    from tensorflowjs import extras, formats
    from tensorflowjs.converters import pairs
    from tensorflowjs.errors import ConversionError

    needy = dataclasses.replace(formats.BY_NAME["keras_saved_model"], writes_with=("no_such_package_for_tfjs",))
    monkeypatch.setitem(formats.BY_NAME, "keras_saved_model", needy)
    monkeypatch.setitem(extras.INSTALL, "no_such_package_for_tfjs", "pip install tensorflowjs[tensorflow]")
    ran = []
    monkeypatch.setattr(pairs, "handler_for", lambda i, o: lambda *args: ran.append(args))
    (tmp_path / "in").mkdir()
    with pytest.raises(ConversionError, match=r"needs no_such_package_for_tfjs, which is not installed: pip install tensorflowjs\[tensorflow\]"):
        pairs.convert("tfjs_layers_model", "keras_saved_model", str(tmp_path / "in"), str(tmp_path / "out"), None)
    assert ran == [] and not (tmp_path / "out").exists()


def test_the_option_table_makes_the_flags_and_the_fields():
    import dataclasses

    from tensorflowjs import options
    from tensorflowjs.converters import converter

    fields = {f.name: f for f in dataclasses.fields(options.ConversionOptions)}
    assert set(fields) == {o.name for o in options.OPTIONS if o.field}
    args = converter.build_parser().parse_args(["a", "b"])
    for option in options.FLAGS:
        assert getattr(args, option.name) == (option.default if option.field else None), option.name


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
