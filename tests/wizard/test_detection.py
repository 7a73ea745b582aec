"""What the wizard recognises, from content: every input format, and files that are none of them.

The files here are built byte by byte (no TensorFlow); test_wizard_tf_models.py checks the
same detection on models that TensorFlow and Keras wrote.
"""

import json
import os
import sys
import zipfile

import pytest

from tensorflowjs.converters import pairs
from tensorflowjs.formats import detect_format
from tensorflowjs.wizard import flow


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _node(name: str, op: str, *inputs: str) -> bytes:
    return _field(1, name.encode()) + _field(2, op.encode()) + b"".join(_field(3, i.encode()) for i in inputs)


# GraphDef: nodes (field 1) and versions (field 4, VersionDef with producer = 1).
GRAPH_DEF = _field(1, _node("x", "Placeholder")) + _field(1, _node("y", "Relu", "x")) + _field(4, b"\x08\x01")
# SavedModel: saved_model_schema_version = 1 (a varint), then one empty MetaGraphDef.
SAVED_MODEL = b"\x08\x01" + _field(2, b"")


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def _keras_archive(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        z.writestr("config.json", json.dumps({"class_name": "Sequential"}))
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return str(path)


def _directory(path, files):
    for name, data in files.items():
        _write(path / name, data)
    return str(path)


def _model_json(path, model):
    return _write(path / "model.json", json.dumps(model).encode())


FORMATS = {
    "keras": lambda t: _write(t / "model.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 512),
    "keras_keras": lambda t: _keras_archive(t / "model.keras"),
    "keras_saved_model": lambda t: _directory(t / "ksm", {"saved_model.pb": SAVED_MODEL, "keras_metadata.pb": b"", "variables/variables.index": b""}),
    "tf_saved_model": lambda t: _directory(t / "sm", {"saved_model.pb": SAVED_MODEL, "variables/variables.index": b""}),
    "tf_hub": lambda t: _directory(t / "hub", {"saved_model.pb": SAVED_MODEL, "tfhub_module.pb": b"\x08\x03"}),
    "tf_frozen_model": lambda t: _write(t / "frozen_graph.pb", GRAPH_DEF),
    "tfjs_layers_model": lambda t: _model_json(t / "layers", {"format": "layers-model", "modelTopology": {"model_config": {}}, "weightsManifest": []}),
    "tfjs_graph_model": lambda t: _model_json(t / "graph", {"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": []}),
}


@pytest.mark.parametrize("expected", list(FORMATS))
def test_every_format_is_recognised(tmp_path, expected):
    assert detect_format(FORMATS[expected](tmp_path)) == expected


def test_every_input_format_of_the_converter_is_covered():
    assert set(pairs.INPUT_FORMATS) <= set(FORMATS)
    assert set(flow.INPUT_DESCRIPTIONS) == set(pairs.INPUT_FORMATS)


def test_model_json_directory_and_file_are_the_same_model(tmp_path):
    path = FORMATS["tfjs_layers_model"](tmp_path)
    assert detect_format(os.path.dirname(path)) == detect_format(path) == "tfjs_layers_model"


def test_frozen_graph_is_recognised_by_content_not_name(tmp_path):
    assert detect_format(_write(tmp_path / "graph.bin", GRAPH_DEF)) == "tf_frozen_model"


NOT_MODELS = {
    "text": ("notes.txt", b"just some notes\n"),
    "empty file": ("empty.pb", b""),
    "png": ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
    "zip without config.json": ("archive.keras", None),
    "json that is not a model": ("model.json", b'{"weights": []}'),
    "broken json": ("model.json", b"{not json"),
    # The file of a SavedModel is not itself a model: its first field is a varint.
    "saved_model.pb on its own": ("saved_model.pb", SAVED_MODEL),
    # A GraphDef cut short: the last node claims more bytes than the file has.
    "truncated graph": ("frozen.pb", GRAPH_DEF + _varint(1 << 3 | 2) + _varint(100) + b"abc"),
    "graph without nodes": ("versions_only.pb", _field(4, b"\x08\x01")),
    "random bytes": ("weights.bin", bytes(range(7, 256)) * 3),
}


@pytest.mark.parametrize("case", list(NOT_MODELS))
def test_files_that_are_none_of_the_formats(tmp_path, case):
    name, data = NOT_MODELS[case]
    path = tmp_path / name
    if data is None:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "not a model")
    else:
        _write(path, data)
    assert detect_format(str(path)) is None


def test_directories_that_are_none_of_the_formats(tmp_path):
    assert detect_format(str(tmp_path)) is None
    assert detect_format(_directory(tmp_path / "variables_only", {"variables/variables.index": b""})) is None
    assert detect_format(str(tmp_path / "missing")) is None


# --- what the wizard offers for each format ------------------------------------------------

ONLY_LAYERS_TO_LAYERS = {("tfjs_layers_model", "tfjs_layers_model"): "m:f"}


def test_a_real_run_offers_only_the_pairs_this_build_converts(monkeypatch):
    monkeypatch.setattr(pairs, "HANDLERS", dict(ONLY_LAYERS_TO_LAYERS))
    assert flow.output_choices(["tfjs_layers_model"]) == [("tfjs_layers_model", "tfjs_layers_model")]
    assert flow.output_choices(["keras"]) == []


def test_the_choices_grow_with_pairs_py(monkeypatch):
    handlers = dict(ONLY_LAYERS_TO_LAYERS)
    handlers[("tfjs_layers_model", "keras")] = "m:f"
    handlers[("keras", "tfjs_layers_model")] = "m:f"
    monkeypatch.setattr(pairs, "HANDLERS", handlers)
    # The converter's default output for the input comes first.
    assert [o for _, o in flow.output_choices(["tfjs_layers_model"])] == ["keras", "tfjs_layers_model"]
    assert flow.output_choices(["keras"]) == [("keras", "tfjs_layers_model")]


def test_a_keras_saved_model_can_also_be_read_as_a_tf_saved_model(monkeypatch):
    monkeypatch.setattr(pairs, "HANDLERS", {("tf_saved_model", "tfjs_graph_model"): "m:f"})
    assert flow.output_choices(["keras_saved_model", "tf_saved_model"]) == [("tf_saved_model", "tfjs_graph_model")]
    monkeypatch.setattr(pairs, "HANDLERS", {("tf_saved_model", "tfjs_graph_model"): "m:f", ("keras_saved_model", "tfjs_layers_model"): "m:f"})
    assert flow.output_choices(["keras_saved_model", "tf_saved_model"]) == [
        ("keras_saved_model", "tfjs_layers_model"), ("tf_saved_model", "tfjs_graph_model")]


def test_every_input_format_is_offered_an_output_and_described():
    for input_format in pairs.INPUT_FORMATS:
        assert flow.output_choices([input_format]), input_format
    assert set(flow.INPUT_DESCRIPTIONS) == set(pairs.INPUT_FORMATS)
    assert set(flow.OUTPUT_DESCRIPTIONS) == set(pairs.OUTPUT_FORMATS)


@pytest.mark.parametrize("typed,expected", [
    ("  my model/model.json ", "my model/model.json"),
    ("'my model/model.json'", "my model/model.json"),
    ('"my model"', "my model"),
    ("my\\ model", "my model"),
    ("~/models", os.path.expanduser("~/models")),
])
def test_typed_and_pasted_paths_are_cleaned(typed, expected):
    assert flow.clean_path(typed) == expected


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
