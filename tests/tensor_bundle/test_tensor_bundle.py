"""tensor_bundle: checkpoints written by real TensorFlow, read without it, compared with tf.train.load_checkpoint."""

import os
import shutil
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tensorflowjs import tf_protos  # noqa: E402
from tensorflowjs.errors import ConversionError  # noqa: E402
from tensorflowjs.graph import tensor_bundle  # noqa: E402
from tensorflowjs.graph.tensor_bundle import OBJECT_GRAPH_KEY, TensorBundle  # noqa: E402

RNG = np.random.default_rng(11)


def _values():
    """One variable per supported dtype and shape corner (scalar, zero-size, strings of every length)."""
    floats = RNG.normal(size=(3, 4)).astype(np.float32)
    floats[0, :3] = [np.nan, np.inf, -0.0]
    return {
        "f32": tf.constant(floats),
        "f16": tf.constant(RNG.normal(size=(5,)).astype(np.float16)),
        "f64": tf.constant(RNG.normal(size=(2, 2, 2))),
        "bf16": tf.cast(tf.constant([1.5, -2.25, 3e38]), tf.bfloat16),
        "i8": tf.constant(np.array([-128, 0, 127], np.int8)),
        "i16": tf.constant(np.array([-32768, 7], np.int16)),
        "i32": tf.constant(np.arange(-5, 5, dtype=np.int32).reshape(2, 5)),
        "i64": tf.constant(np.array([-(2**62), 2**62 + 1], np.int64)),
        "u8": tf.constant(np.array([0, 200, 255], np.uint8)),
        "u16": tf.constant(np.array([0, 65535], np.uint16)),
        "boolean": tf.constant([[True, False], [False, True]]),
        "c64": tf.constant(np.array([1 + 2j, -3.5j], np.complex64)),
        "c128": tf.constant(np.array([[1e300 + 1j]], np.complex128)),
        "str_scalar": tf.constant(b"hello"),
        "str_2d": tf.constant([[b"a", b""], [b"\x00\xff" * 200, "wéight ✓".encode()]]),
        "str_empty": tf.constant(np.zeros((0, 2), dtype=object).astype(bytes), dtype=tf.string),
        "zero_size": tf.zeros((0, 4)),
        "scalar": tf.constant(3.5, tf.float64),
        "big": tf.constant(RNG.normal(size=(300, 200)).astype(np.float32)),
        "wéight": tf.constant([1.0, 2.0]),  # a non-ASCII key: keys sort by UTF-8 bytes
    }


def _assert_same_as_tf(prefix):
    """Every key, dtype, shape and value equals what TensorFlow's own reader returns."""
    bundle = TensorBundle(prefix)
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    assert bundle.keys() == sorted(shapes)
    for key in bundle.keys():
        assert bundle.dtype_name(key) == tf_protos.data_type_name(dtypes[key].as_datatype_enum), key
        assert bundle.shape(key) == list(shapes[key]), key
        actual = bundle.tensor(key)
        if dtypes[key] == tf.string:
            expected = np.asarray(reader.get_tensor(key), dtype=object)
            assert actual.dtype == object and actual.shape == expected.shape, key
            assert actual.tolist() == expected.tolist(), key
        else:
            expected = np.asarray(reader.get_tensor(key))
            assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape), key
            assert actual.tobytes() == expected.tobytes(), key  # bit-exact, NaNs included
            assert not actual.flags.writeable, key
    return bundle


def _data_block_count(index_path):
    """How many data blocks the index's SSTable has (its index block's entry count)."""
    data = memoryview(open(index_path, "rb").read())
    footer = len(data) - 48
    _, _, pos = tensor_bundle._block_handle(data, footer, footer + 40)
    offset, size, _ = tensor_bundle._block_handle(data, pos, footer + 40)
    return len(tensor_bundle._block_entries(tensor_bundle._read_block(data, offset, size, footer)))


def _assert_one_line_error(call, path, *words):
    with pytest.raises(ConversionError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and path in message, message
    for word in words:
        assert word in message, message
    return message


def _read_all(prefix):
    bundle = TensorBundle(prefix)
    for key in bundle.keys():
        bundle.tensor(key)
    return bundle


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tf.train.Checkpoint of every dtype; its prefix."""
    variables = {name: tf.Variable(value) for name, value in _values().items()}
    return tf.train.Checkpoint(**variables).write(str(tmp_path_factory.mktemp("ckpt") / "ckpt"))


@pytest.fixture
def broken(checkpoint, tmp_path):
    """A private copy of the checkpoint to damage: (prefix, index path, data path)."""
    for name in os.listdir(os.path.dirname(checkpoint)):
        shutil.copy(os.path.join(os.path.dirname(checkpoint), name), tmp_path)
    prefix = str(tmp_path / "ckpt")
    return prefix, prefix + ".index", prefix + ".data-00000-of-00001"


def test_every_dtype_matches_tensorflow(checkpoint):
    bundle = _assert_same_as_tf(checkpoint)
    assert bundle.dtype_name("bf16/.ATTRIBUTES/VARIABLE_VALUE") == "DT_BFLOAT16"
    assert bundle.tensor("scalar/.ATTRIBUTES/VARIABLE_VALUE").shape == ()
    assert bundle.tensor("str_scalar/.ATTRIBUTES/VARIABLE_VALUE")[()] == b"hello"
    assert bundle.shape("zero_size/.ATTRIBUTES/VARIABLE_VALUE") == [0, 4]


def test_numeric_tensors_are_views_of_the_mapped_shard(checkpoint):
    bundle = TensorBundle(checkpoint)
    big = bundle.tensor("big/.ATTRIBUTES/VARIABLE_VALUE")
    base = big
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)
    with pytest.raises(ValueError):
        big[0, 0] = 1.0


def test_saved_model_variables(tmp_path):
    module = tf.Module()
    module.dense = tf.Variable(RNG.normal(size=(4, 3)).astype(np.float32))
    module.vocab = tf.Variable([b"cat", b"dog", b""])
    module.step = tf.Variable(7, dtype=tf.int64)
    module.call = tf.function(
        lambda x: tf.matmul(x, module.dense), input_signature=[tf.TensorSpec([None, 4], tf.float32)]
    )
    tf.saved_model.save(module, str(tmp_path / "sm"))
    prefix = str(tmp_path / "sm" / "variables" / "variables")
    bundle = _assert_same_as_tf(prefix)
    assert OBJECT_GRAPH_KEY in bundle.keys()
    assert bundle.object_graph().nodes  # the SavedModel's object graph, parsed


def test_object_graph_equals_tensorflows(checkpoint):
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    serialized = tf.train.load_checkpoint(checkpoint).get_tensor(OBJECT_GRAPH_KEY)
    expected = trackable_object_graph_pb2.TrackableObjectGraph.FromString(serialized)
    actual = TensorBundle(checkpoint).object_graph()
    assert actual.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    names = {child.local_name for child in actual.nodes[0].children}
    assert {"f32", "str_2d", "wéight"} <= names


def test_many_keys_span_many_data_blocks(tmp_path):
    prefix = str(tmp_path / "many")
    names = [f"{i:05d}/" + "a_layer_with_a_long_name/" * 8 + "kernel" for i in range(3000)]
    tensors = [tf.constant([i, -i], tf.int32) for i in range(3000)]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
    assert _data_block_count(prefix + ".index") >= 3
    bundle = _assert_same_as_tf(prefix)
    assert len(bundle.keys()) == 3000
    assert bundle.tensor(names[1234]).tolist() == [1234, -1234]


def test_several_data_shards(tmp_path):
    variables = {f"v{i}": tf.Variable(np.full((1000,), i, np.float32)) for i in range(8)}
    variables["words"] = tf.Variable([b"x" * 100, b"y"])
    # The policy fills each shard up to max_shard_size and splits a variable that does not fit into
    # slices (refused by TensorBundle): with 4000-byte variables, 8000 fits two whole ones per shard.
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=8000)
    options = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    prefix = tf.train.Checkpoint(**variables).write(str(tmp_path / "sharded"), options=options)
    shards = sorted(name for name in os.listdir(tmp_path) if ".data-" in name)
    assert len(shards) > 1, shards
    bundle = _assert_same_as_tf(prefix)
    assert len({bundle._entries[key].shard_id for key in bundle.keys()}) == len(shards)
    assert not any(bundle._entries[key].slices for key in bundle.keys())


def test_sliced_variables_are_refused(tmp_path):
    # A sharding policy splits variables bigger than max_shard_size into slices.
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=3000)
    options = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    ckpt = tf.train.Checkpoint(big=tf.Variable(np.zeros(2000, np.float32)), small=tf.Variable([1.0]))
    prefix = ckpt.write(str(tmp_path / "sliced"), options=options)
    bundle = TensorBundle(prefix)
    assert bundle.keys() == sorted(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
    assert bundle.tensor("small/.ATTRIBUTES/VARIABLE_VALUE").tolist() == [1.0]
    _assert_one_line_error(lambda: bundle.tensor("big/.ATTRIBUTES/VARIABLE_VALUE"), prefix, "slice")

    # A TF1 partitioned variable, written slice by slice.
    prefix = str(tmp_path / "partitioned")
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["part", "whole"],
        shape_and_slices=["4 2 0,2:-", ""],
        tensors=[tf.ones((2, 2)), tf.constant([1.0, 2.0])],
    )
    bundle = TensorBundle(prefix)
    assert bundle.keys() == ["part", "whole"]
    assert bundle.shape("part") == [4, 2]
    _assert_one_line_error(lambda: bundle.tensor("part"), prefix, "slice")


def test_unknown_key(checkpoint):
    bundle = TensorBundle(checkpoint)
    message = _assert_one_line_error(lambda: bundle.tensor("f33/.ATTRIBUTES/VARIABLE_VALUE"), checkpoint)
    assert "f32/.ATTRIBUTES/VARIABLE_VALUE" in message  # the close match is suggested
    _assert_one_line_error(lambda: bundle.shape("nope"), checkpoint)


TRUNCATIONS = {
    "empty": lambda raw: b"",
    "20 bytes": lambda raw: raw[:20],
    "47 bytes": lambda raw: raw[:47],
    "the footer only": lambda raw: raw[-48:],
    "half": lambda raw: raw[: len(raw) // 2],
    "last byte cut": lambda raw: raw[:-1],
    "middle cut, footer kept": lambda raw: raw[: len(raw) // 2] + raw[-48:],
}


@pytest.mark.parametrize("cut", sorted(TRUNCATIONS))
def test_truncated_index(broken, cut):
    prefix, index, _ = broken
    raw = open(index, "rb").read()
    with open(index, "wb") as f:
        f.write(TRUNCATIONS[cut](raw))
    _assert_one_line_error(lambda: TensorBundle(prefix), index, "re-save")


def test_garbage_index(broken):
    prefix, index, _ = broken
    size = os.path.getsize(index)
    with open(index, "wb") as f:
        f.write(np.random.default_rng(3).bytes(size))
    _assert_one_line_error(lambda: TensorBundle(prefix), index, "not a TensorFlow checkpoint index")


def test_damaged_index_fails_its_checksum(broken):
    prefix, index, _ = broken
    raw = bytearray(open(index, "rb").read())
    raw[40] ^= 0x01  # inside the first data block, whose crc no longer matches
    with open(index, "wb") as f:
        f.write(bytes(raw))
    _assert_one_line_error(lambda: TensorBundle(prefix), index, "checksum")


def test_index_with_the_magic_but_garbage_blocks(broken):
    prefix, index, _ = broken
    raw = open(index, "rb").read()
    with open(index, "wb") as f:
        f.write(np.random.default_rng(5).bytes(len(raw) - 8) + raw[-8:])
    _assert_one_line_error(lambda: TensorBundle(prefix), index)


def test_any_damage_to_the_index_is_a_conversion_error(tmp_path):
    """Every truncation and many random byte changes of a small index: a clean error or a correct read."""
    prefix = str(tmp_path / "small")
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["a", "b/c", "s"],
        shape_and_slices=["", "", ""],
        tensors=[tf.constant([1.0, 2.0]), tf.constant([[3]], tf.int64), tf.constant([b"x", b"yz"])],
    )
    index = prefix + ".index"
    raw = open(index, "rb").read()
    rng = np.random.default_rng(9)
    damaged = [raw[:n] for n in range(len(raw))]
    for _ in range(300):
        changed = bytearray(raw)
        for at in rng.integers(0, len(raw), size=rng.integers(1, 4)):
            changed[at] = rng.integers(0, 256)
        damaged.append(bytes(changed))
    for data in damaged:
        with open(index, "wb") as f:
            f.write(data)
        try:
            bundle = _read_all(prefix)
        except ConversionError as e:
            assert "\n" not in str(e) and prefix in str(e)
        else:  # only bytes nothing depends on were changed (e.g. the footer's padding)
            assert bundle.tensor("a").tolist() == [1.0, 2.0] and bundle.tensor("s").tolist() == [b"x", b"yz"]


def test_bfloat16_without_ml_dtypes_is_refused_clearly(checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # makes `import ml_dtypes` fail
    bundle = TensorBundle(checkpoint)
    _assert_one_line_error(lambda: bundle.tensor("bf16/.ATTRIBUTES/VARIABLE_VALUE"), checkpoint, "ml_dtypes")
    assert bundle.tensor("f16/.ATTRIBUTES/VARIABLE_VALUE").dtype == np.float16


def test_missing_index(tmp_path):
    prefix = str(tmp_path / "nothing")
    _assert_one_line_error(lambda: TensorBundle(prefix), prefix + ".index", "does not exist")


def test_missing_data_shard(broken):
    prefix, _, data = broken
    os.remove(data)
    _assert_one_line_error(lambda: _read_all(prefix), data, "missing")


def test_short_data_shard(broken):
    prefix, _, data = broken
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    _assert_one_line_error(lambda: _read_all(prefix), data, "shorter")


def test_damaged_string_tensor(broken):
    prefix, _, data = broken
    bundle = TensorBundle(prefix)
    entry = bundle._entries["str_2d/.ATTRIBUTES/VARIABLE_VALUE"]
    raw = bytearray(open(data, "rb").read())
    raw[entry.offset + entry.size - 1] ^= 0xFF  # the last string byte: only the entry's crc32c catches it
    with open(data, "wb") as f:
        f.write(bytes(raw))
    _assert_one_line_error(lambda: TensorBundle(prefix).tensor("str_2d/.ATTRIBUTES/VARIABLE_VALUE"), data, "checksum")
    raw[entry.offset] = 0x7F  # the first length: the lengths' own checksum catches it
    with open(data, "wb") as f:
        f.write(bytes(raw))
    _assert_one_line_error(lambda: TensorBundle(prefix).tensor("str_2d/.ATTRIBUTES/VARIABLE_VALUE"), data)


def test_crc32c_is_castagnoli_and_masked_like_leveldb():
    assert tensor_bundle._crc32c(b"123456789") == 0xE3069283
    assert tensor_bundle._crc32c(b"56789", tensor_bundle._crc32c(b"1234")) == 0xE3069283
    assert tensor_bundle._mask(0) == 0xA282EAD8


def test_reading_does_not_import_tensorflow(checkpoint):
    code = (
        "import sys\n"
        "from tensorflowjs.graph.tensor_bundle import TensorBundle\n"
        "bundle = TensorBundle(sys.argv[1])\n"
        "total = sum(int(bundle.tensor(key).size) for key in bundle.keys())\n"
        "assert bundle.object_graph().nodes and total > 60000\n"
        "print('tensorflow' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "-c", code, checkpoint], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
