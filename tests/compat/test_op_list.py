"""The op mapper tables shipped as tensorflowjs/op_list/*.json (as the public package ships them):
exactly what tools/update_op_list.py derives from the pinned @tensorflow/tfjs-converter, readable
through resource_loader, and the same op set the converter's op check uses."""

import json
import os
import sys

import pytest

import update_op_list
from tensorflowjs import resource_loader
from tensorflowjs.graph import op_check
from tfjs_e2e import node_modules_dir


def test_shipped_op_lists_are_what_the_tool_derives_from_the_pinned_npm_package():
    derived = update_op_list.derive(node_modules_dir())
    assert sorted(resource_loader.list_dir("op_list")) == sorted(c + ".json" for c in derived)
    for category, entries in derived.items():
        with resource_loader.open_file(os.path.join("op_list", category + ".json")) as f:
            assert f.read() == update_op_list.render(entries), category
    assert {"arithmetic", "convolution", "control", "hash_table"} <= set(derived)


def test_each_entry_names_its_tf_op_and_category():
    with resource_loader.open_file(os.path.join("op_list", "convolution.json")) as f:
        entries = json.load(f)
    conv = next(e for e in entries if e["tfOpName"] == "Conv2D")
    assert conv["category"] == "convolution"
    assert [i["name"] for i in conv["inputs"]] == ["x", "filter"]
    assert any(a["tfName"] == "data_format" for a in conv["attrs"])


def test_op_lists_cover_the_op_set_of_the_op_check():
    names = set()
    for filename in resource_loader.list_dir("op_list"):
        with resource_loader.open_file(os.path.join("op_list", filename)) as f:
            names.update(entry["tfOpName"] for entry in json.load(f))
    with open(os.path.join(os.path.dirname(op_check.__file__), "supported_ops.json"), encoding="utf-8") as f:
        assert names == set(json.load(f)["ops"])


def test_missing_resource_raises_an_io_error():
    with pytest.raises(IOError):
        resource_loader.open_file("___no_such_resource")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
