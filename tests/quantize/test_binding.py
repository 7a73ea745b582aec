"""The pybind11 binding of cc/quantize, checked against a float64 numpy model of the same math.

Property tests (hypothesis) draw arbitrary float32 tensors, including subnormals, huge values
and exact ties, and require bit-for-bit agreement with the reference.
"""

import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quantization_reference import reference_affine
from tensorflowjs import _quantize

finite_float32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
any_float32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
tensors = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=40), elements=finite_float32)
# Values on a coarse grid hit exact rounding ties much more often than arbitrary floats.
grid_tensors = hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=60),
    elements=st.integers(-512, 512).map(lambda i: np.float32(i / 8)),
)


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(max_dims=2, max_side=50), elements=any_float32))
def test_float16_encode_matches_numpy_bit_for_bit(data):
    np.testing.assert_array_equal(_quantize.float16_encode(data), data.astype(np.float16).view(np.uint16))


def test_float16_encode_matches_numpy_on_a_dense_sweep_of_bit_patterns():
    # Every 4099th float32 bit pattern and every third NaN payload of either sign: the F16C
    # kernel must round, underflow, overflow and keep signalling NaNs exactly as numpy does.
    sweep = np.arange(0, 2**32, 4099, dtype=np.uint64).astype(np.uint32)
    nans = np.arange(0x7F800001, 0x80000000, 3, dtype=np.uint32)
    data = np.concatenate([sweep, nans, nans | 0x80000000]).view(np.float32)
    with np.errstate(over="ignore"):  # Overflow to inf is the expected result.
        expected = data.astype(np.float16).view(np.uint16)
    np.testing.assert_array_equal(_quantize.float16_encode(data), expected)


def test_float16_decode_matches_numpy_on_every_half():
    bits = np.arange(2**16, dtype=np.uint16)
    np.testing.assert_array_equal(
        _quantize.float16_decode(bits).view(np.uint32), bits.view(np.float16).astype(np.float32).view(np.uint32)
    )


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.uint16, hnp.array_shapes(max_dims=2, max_side=50)))
def test_float16_decode_matches_numpy_bit_for_bit(bits):
    np.testing.assert_array_equal(
        _quantize.float16_decode(bits).view(np.uint32), bits.view(np.float16).astype(np.float32).view(np.uint32)
    )


@pytest.mark.parametrize("bits", [8, 16])
@settings(max_examples=200, deadline=None)
@given(data=st.one_of(tensors, grid_tensors))
def test_affine_matches_the_float64_reference(bits, data):
    expected, minimum, scale = reference_affine(data, bits)
    got_min, got_scale = _quantize.affine_params(data, bits)
    assert (got_min, got_scale) == (minimum, scale)
    quantized = _quantize.affine_encode(data, bits, got_min, got_scale)
    assert quantized.dtype == expected.dtype
    np.testing.assert_array_equal(quantized, expected)
    np.testing.assert_array_equal(
        _quantize.affine_decode(quantized, got_min, got_scale),
        (expected.astype(np.float64) * scale + minimum).astype(np.float32),
    )


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("offset", [0.0, 0.3, 3.0, 12.0, 1000.0])
def test_affine_matches_the_reference_on_large_tensors(bits, offset):
    # A million values per tensor: the float32 kernel recomputes thousands of lanes near ties
    # (uint16), and the offsets move its error bound up to and past the float64 hand-over.
    data = (np.random.default_rng(bits).normal(size=1 << 20) + offset).astype(np.float32)
    expected, minimum, scale = reference_affine(data, bits)
    assert _quantize.affine_params(data, bits) == (minimum, scale)
    np.testing.assert_array_equal(_quantize.affine_encode(data, bits, minimum, scale), expected)


@pytest.mark.parametrize("bits", [8, 16])
def test_affine_error_is_at_most_half_a_step(bits):
    data = np.random.default_rng(1).normal(size=10000).astype(np.float32)
    minimum, scale = _quantize.affine_params(data, bits)
    back = _quantize.affine_decode(_quantize.affine_encode(data, bits, minimum, scale), minimum, scale)
    assert np.abs(back.astype(np.float64) - data).max() <= scale / 2 * (1 + 1e-6) + 1e-7


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_affine_params_reject_non_finite(bad):
    data = np.ones(100, np.float32)
    data[57] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        _quantize.affine_params(data, 8)


def test_shapes_are_kept_and_non_contiguous_input_is_accepted():
    data = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2]
    assert _quantize.float16_encode(data).shape == (4, 3)
    minimum, scale = _quantize.affine_params(data, 8)
    assert _quantize.affine_encode(data, 16, minimum, scale).shape == (4, 3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="8 or 16 bits"):
        _quantize.affine_params(np.ones(3, np.float32), 4)
    with pytest.raises(TypeError, match="uint8 or uint16"):
        _quantize.affine_decode(np.ones(3, np.int32), 0.0, 1.0)


def _shards(directory, names):
    return b"".join(open(os.path.join(directory, n), "rb").read() for n in names)


def test_shard_writer_streams_every_kind_of_write(tmp_path):
    data = np.linspace(-3, 5, 1001, dtype=np.float32)
    minimum, scale = _quantize.affine_params(data, 8)
    raw = b"\x01\x02\x03"
    total = data.nbytes + 2 * data.size + data.size + len(raw)
    writer = _quantize.ShardWriter(str(tmp_path), 3, total, 1000)
    writer.write(data)
    writer.write_float16(data)
    writer.write_affine(data, 8, minimum, scale)
    writer.write(raw)
    names = writer.close()
    assert names == [f"group3-shard{i}of{-(-total // 1000)}.bin" for i in range(1, -(-total // 1000) + 1)]
    expected = data.tobytes() + data.astype(np.float16).tobytes() + reference_affine(data, 8)[0].tobytes() + raw
    assert _shards(tmp_path, names) == expected


def test_shard_writer_refuses_more_or_fewer_bytes_than_planned(tmp_path):
    writer = _quantize.ShardWriter(str(tmp_path), 1, 4, 10)
    with pytest.raises(Exception, match="exceed"):
        writer.write(b"12345")
    writer.write(b"12")
    with pytest.raises(Exception, match="wrote 2 of the planned 4"):
        writer.close()


def test_shard_writer_io_failure_is_an_oserror_naming_the_file(tmp_path):
    writer = _quantize.ShardWriter(str(tmp_path / "missing"), 1, 4, 10)
    with pytest.raises(OSError, match="group1-shard1of1.bin"):
        writer.write(b"1234")


def test_shard_writer_rejects_zero_shard_size(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        _quantize.ShardWriter(str(tmp_path), 1, 4, 0)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
