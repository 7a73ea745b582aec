"""write_weights and read_weights: every dtype, sharding, and hostile manifests."""

import json
import os
import sys

import numpy as np
import pytest

from tensorflowjs import read_weights, write_weights
from tensorflowjs.dtypes import DtypeWarning
from tensorflowjs.errors import ConversionError


def _round_trip(tmp_path, groups, **kwargs):
    manifest = write_weights.write_weights(groups, str(tmp_path), **kwargs)
    return manifest, read_weights.read_weights(manifest, str(tmp_path))


def test_every_dtype_round_trips(tmp_path):
    data = {
        "f": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        "i": np.array([[-(2**31), 2**31 - 1]], np.int32),
        "b": np.array([True, False, True]),
        "c": np.array([1 + 2j, -3.5j], np.complex64),
        "s": np.array([["héllo", ""], ["wörld", "x" * 300]], dtype=object),
        "scalar": np.float32(3.5),
    }
    manifest, groups = _round_trip(tmp_path, [[{"name": k, "data": v} for k, v in data.items()]])
    assert [w["dtype"] for w in manifest[0]["weights"]] == ["float32", "int32", "bool", "complex64", "string", "float32"]
    for entry in groups[0]:
        expected = data[entry["name"]]
        if entry["name"] == "s":
            assert entry["data"].tolist() == [[s.encode() for s in row] for row in expected.tolist()]
        else:
            np.testing.assert_array_equal(entry["data"], expected)
            assert entry["data"].shape == np.shape(expected)
    assert json.load(open(tmp_path / "weights_manifest.json")) == manifest


def test_strings_are_length_prefixed_utf8(tmp_path):
    write_weights.write_weights([[{"name": "s", "data": np.array(["ab", "é"], dtype=object)}]], str(tmp_path))
    assert (tmp_path / "group1-shard1of1.bin").read_bytes() == b"\x02\x00\x00\x00ab\x02\x00\x00\x00\xc3\xa9"


def test_float64_and_int64_are_narrowed_with_a_notice(tmp_path):
    with pytest.warns(DtypeWarning, match="float64 stored as float32"):
        manifest, groups = _round_trip(tmp_path, [[{"name": "d", "data": np.array([0.1, 2.0])}, {"name": "l", "data": np.array([5, -7], np.int64)}]])
    assert [w["dtype"] for w in manifest[0]["weights"]] == ["float32", "int32"]
    np.testing.assert_array_equal(groups[0][1]["data"], [5, -7])


def test_int64_outside_int32_range_raises(tmp_path):
    with pytest.raises(ConversionError, match="'big'.*int32"):
        write_weights.write_weights([[{"name": "big", "data": np.array([2**40], np.int64)}]], str(tmp_path))


def test_unsupported_dtype_names_the_weight(tmp_path):
    with pytest.raises(ConversionError, match="'t'.*datetime64"):
        write_weights.write_weights([[{"name": "t", "data": np.array(["2020-01-01"], "datetime64[D]")}]], str(tmp_path))


def test_shards_are_cut_at_the_size_limit_and_weights_straddle(tmp_path):
    a = np.arange(10, dtype=np.float32)  # 40 bytes
    b = np.arange(7, dtype=np.int32)  # 28 bytes
    manifest, groups = _round_trip(tmp_path, [[{"name": "a", "data": a}, {"name": "b", "data": b}]], shard_size_bytes=16, write_manifest=False)
    assert manifest[0]["paths"] == [f"group1-shard{i}of5.bin" for i in range(1, 6)]
    assert [os.path.getsize(tmp_path / p) for p in manifest[0]["paths"]] == [16, 16, 16, 16, 4]
    np.testing.assert_array_equal(groups[0][0]["data"], a)
    np.testing.assert_array_equal(groups[0][1]["data"], b)
    assert not (tmp_path / "weights_manifest.json").exists()


def test_groups_get_their_own_shards_and_flatten(tmp_path):
    groups = [[{"name": "x", "data": np.ones(3, np.float32)}], [{"name": "y", "data": np.zeros(2, np.int32)}]]
    manifest = write_weights.write_weights(groups, str(tmp_path))
    assert [g["paths"] for g in manifest] == [["group1-shard1of1.bin"], ["group2-shard1of1.bin"]]
    flat = read_weights.read_weights(manifest, str(tmp_path), flatten=True)
    assert [w["name"] for w in flat] == ["x", "y"]


def test_quantized_entries_carry_metadata_and_dequantize(tmp_path):
    kernel = np.linspace(-1, 1, 100, dtype=np.float32)
    groups = [[{"name": "dense/kernel", "data": kernel}, {"name": "dense/bias", "data": kernel[:5]}, {"name": "step", "data": np.array([3], np.int32)}]]
    manifest, read = _round_trip(tmp_path, groups, quantization_dtype_map={"uint8": "*/kernel", "float16": True})
    entries = {w["name"]: w for w in manifest[0]["weights"]}
    assert entries["dense/kernel"]["quantization"]["dtype"] == "uint8"
    assert set(entries["dense/kernel"]["quantization"]) == {"dtype", "min", "scale", "original_dtype"}
    assert entries["dense/bias"]["quantization"] == {"dtype": "float16", "original_dtype": "float32"}
    assert "quantization" not in entries["step"]  # only float32 weights are quantized
    assert os.path.getsize(tmp_path / "group1-shard1of1.bin") == 100 + 5 * 2 + 4
    np.testing.assert_allclose(read[0][0]["data"], kernel, atol=entries["dense/kernel"]["quantization"]["scale"] / 2 + 1e-7)


def test_duplicate_names_across_groups_raise(tmp_path):
    with pytest.raises(ConversionError, match="'w' appears twice"):
        write_weights.write_weights([[{"name": "w", "data": np.ones(1)}], [{"name": "w", "data": np.ones(1)}]], str(tmp_path))


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_nonpositive_shard_size_raises(tmp_path, size):
    with pytest.raises(ConversionError, match="shard size"):
        write_weights.write_weights([[{"name": "w", "data": np.ones(1, np.float32)}]], str(tmp_path), shard_size_bytes=size)


def test_decode_weights_from_buffers(tmp_path):
    manifest = write_weights.write_weights([[{"name": "w", "data": np.arange(4, dtype=np.float32)}]], str(tmp_path), shard_size_bytes=6)
    buffer = b"".join((tmp_path / p).read_bytes() for p in manifest[0]["paths"])
    for buffers in ([buffer], buffer):
        np.testing.assert_array_equal(read_weights.decode_weights(manifest, buffers, flatten=True)[0]["data"], np.arange(4))


# --- Hostile manifests: each a clear ConversionError, nothing read out of bounds. ---

def _manifest(weights, paths=("group1-shard1of1.bin",)):
    return [{"paths": list(paths), "weights": weights}]


def _shard(tmp_path, nbytes):
    (tmp_path / "group1-shard1of1.bin").write_bytes(b"\0" * nbytes)


@pytest.mark.parametrize("path", ["../x.bin", "/etc/passwd", "a/../../x.bin", "C:\\x.bin", ""])
def test_shard_paths_escaping_the_directory_are_refused(tmp_path, path):
    with pytest.raises(ConversionError, match="shard path"):
        read_weights.read_weights(_manifest([], [path]), str(tmp_path))


def test_symlink_escaping_the_directory_is_refused(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "outside.bin").write_bytes(b"\0" * 4)
    os.symlink(tmp_path / "outside.bin", tmp_path / "model" / "group1-shard1of1.bin")
    with pytest.raises(ConversionError, match="outside"):
        read_weights.read_weights(_manifest([{"name": "w", "shape": [1], "dtype": "float32"}]), str(tmp_path / "model"))


def test_missing_shard_is_named(tmp_path):
    with pytest.raises(ConversionError, match="group1-shard1of1.bin is missing"):
        read_weights.read_weights(_manifest([{"name": "w", "shape": [1], "dtype": "float32"}]), str(tmp_path))


def test_short_shard_is_reported(tmp_path):
    _shard(tmp_path, 7)
    with pytest.raises(ConversionError, match="'w'.*truncated"):
        read_weights.read_weights(_manifest([{"name": "w", "shape": [2], "dtype": "float32"}]), str(tmp_path))


def test_extra_shard_bytes_are_reported(tmp_path):
    _shard(tmp_path, 12)
    with pytest.raises(ConversionError, match="does not match"):
        read_weights.read_weights(_manifest([{"name": "w", "shape": [2], "dtype": "float32"}]), str(tmp_path))


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"name": "w", "shape": [1], "dtype": "float128"}, "unknown dtype"),
        ({"name": "w", "shape": [-1], "dtype": "float32"}, "invalid shape"),
        ({"name": "w", "shape": [2**40, 2**40], "dtype": "float32"}, "invalid shape"),
        ({"name": "w", "shape": [2**31 - 1, 2**31 - 1], "dtype": "float32"}, "truncated"),
        ({"name": "w", "shape": "3", "dtype": "float32"}, "invalid shape"),
        ({"shape": [1], "dtype": "float32"}, "name"),
        ({"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint8"}}, "min"),
        ({"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": "int4"}}, "invalid quantization"),
    ],
)
def test_bad_entries_are_reported(tmp_path, entry, message):
    _shard(tmp_path, 4)
    with pytest.raises(ConversionError, match=message):
        read_weights.read_weights(_manifest([entry]), str(tmp_path))


def test_truncated_string_weight_is_reported(tmp_path):
    (tmp_path / "group1-shard1of1.bin").write_bytes(b"\x10\x00\x00\x00abc")
    with pytest.raises(ConversionError, match="truncated"):
        read_weights.read_weights(_manifest([{"name": "s", "shape": [1], "dtype": "string"}]), str(tmp_path))


def test_manifest_that_is_not_a_list_of_groups(tmp_path):
    with pytest.raises(ConversionError, match="list of"):
        read_weights.read_weights({"paths": []}, str(tmp_path))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
