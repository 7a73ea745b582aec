"""The native entry points fed what callers could hand them: odd lengths, unaligned and strided
buffers, NaN/Inf, empty arrays and huge shard sizes.

Each result must equal the same call on a plain aligned copy (or numpy), so an out-of-bounds
read or a misaligned load shows up as a wrong value here, and as a sanitizer report under
`./bazelw test --config=asan //tests/quantize/...`.
"""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorflowjs import _quantize

any_float32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
finite_float32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
# Lengths around the vector widths (8 and 16 lanes) and their tails.
lengths = st.one_of(st.integers(0, 70), st.sampled_from([0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1023, 1025]))


def unaligned(values: np.ndarray, offset: int) -> np.ndarray:
    """The same values in a buffer `offset` bytes past an aligned start (numpy: aligned=False)."""
    raw = bytearray(offset + values.nbytes)
    raw[offset:] = values.tobytes()
    view = np.frombuffer(raw, dtype=values.dtype, count=values.size, offset=offset)
    assert offset % values.itemsize == 0 or values.size == 0 or not view.flags.aligned
    return view


@st.composite
def float_arrays(draw, elements=any_float32):
    values = np.array(draw(st.lists(elements, min_size=0, max_size=draw(lengths))), dtype=np.float32)
    layout = draw(st.sampled_from(["plain", "unaligned", "strided", "reversed"]))
    if layout == "unaligned":
        return values, unaligned(values, draw(st.integers(1, 3)))
    if layout == "strided":
        doubled = np.repeat(values, 2)
        return values, doubled[::2]
    if layout == "reversed":
        return values, values[::-1].copy()[::-1]
    return values, values


@settings(max_examples=300, deadline=None)
@given(float_arrays())
def test_float16_round_trip_on_any_layout(arrays):
    plain, odd = arrays
    with np.errstate(over="ignore"):
        expected = plain.astype(np.float16).view(np.uint16)
    encoded = _quantize.float16_encode(odd)
    np.testing.assert_array_equal(encoded, expected)
    decoded = _quantize.float16_decode(unaligned(encoded, 1) if encoded.size else encoded)
    np.testing.assert_array_equal(decoded.view(np.uint32), expected.view(np.float16).astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("bits", [8, 16])
@settings(max_examples=200, deadline=None)
@given(arrays=float_arrays(any_float32), extra=st.sampled_from([None, np.nan, np.inf, -np.inf]))
def test_affine_on_any_layout_matches_the_aligned_call(bits, arrays, extra):
    plain, odd = arrays
    if extra is not None:
        plain, odd = np.append(plain, np.float32(extra)), np.append(odd, np.float32(extra))
    if not np.isfinite(plain).all():
        with pytest.raises(ValueError, match="NaN or Inf"):
            _quantize.affine_params(odd, bits)
        return
    params = _quantize.affine_params(odd, bits)
    assert params == _quantize.affine_params(plain, bits)
    encoded = _quantize.affine_encode(odd, bits, *params)
    np.testing.assert_array_equal(encoded, _quantize.affine_encode(plain, bits, *params))
    np.testing.assert_array_equal(_quantize.affine_decode(unaligned(encoded, 1) if encoded.size else encoded, *params),
                                  _quantize.affine_decode(encoded, *params))


@pytest.mark.parametrize("bits", [8, 16])
@settings(max_examples=200, deadline=None)
@given(data=float_arrays(any_float32), minimum=st.floats(), scale=st.floats())
def test_affine_encode_and_decode_take_any_parameters(bits, data, minimum, scale):
    """Parameters come from manifests: NaN, Inf, zero or negative scales must not crash the kernels
    (their results are unspecified, but they are computed without undefined behaviour)."""
    plain, odd = data
    encoded = _quantize.affine_encode(odd, bits, minimum, scale)
    assert encoded.shape == plain.shape
    assert _quantize.affine_decode(encoded, minimum, scale).shape == plain.shape


@pytest.mark.parametrize("bits, top", [(8, 255), (16, 65535)])
@pytest.mark.parametrize("minimum, scale", [(1e20, 1.0), (-1e20, 1.0), (3e9, 1e-3), (1.0, 1e-300)])
def test_affine_encode_clamps_when_min_dwarfs_scale(bits, top, minimum, scale):
    """hi = top * scale + min rounds away from min + top * scale: (hi - min) / scale can be top + 1,
    which the kernel clamps instead of casting out of range (UBSan found it, min 1e20-ish)."""
    data = np.array([minimum, np.float32(minimum) * 2, 1e38, -1e38, np.nextafter(np.float32(minimum), np.float32(np.inf))] * 5000, np.float32)
    encoded = _quantize.affine_encode(data, bits, minimum, scale)
    assert encoded.max() <= top


@pytest.mark.parametrize("shard_size", [1, 3, 2**32 + 1, 2**63, 2**64 - 2, 2**64 - 1])
@pytest.mark.parametrize("total", [0, 1, 10, 4097])
def test_shard_writer_with_huge_shard_sizes(tmp_path, shard_size, total):
    data = bytes(range(256)) * (total // 256 + 1)
    writer = _quantize.ShardWriter(str(tmp_path), 2, total, shard_size)
    count = -(-total // shard_size)
    assert writer.shard_count == count
    if shard_size < 8:  # few-byte shards: write through an unaligned view of the same bytes
        writer.write(memoryview(bytearray(b"\x00" + data[:total]))[1:])
    else:
        writer.write(data[:total])
    names = writer.close()
    assert names == [f"group2-shard{i}of{count}.bin" for i in range(1, count + 1)]
    assert b"".join((tmp_path / n).read_bytes() for n in names) == data[:total]


@pytest.mark.parametrize("total", [2**64 - 1, 2**63])
def test_shard_writer_refuses_writes_past_a_huge_plan_without_overflow(tmp_path, total):
    writer = _quantize.ShardWriter(str(tmp_path), 1, total, 2**64 - 1)
    assert writer.shard_count == 1
    writer.write(b"abc")
    with pytest.raises(Exception, match="wrote 3 of the planned"):
        writer.close()


@settings(max_examples=100, deadline=None)
@given(data=float_arrays(finite_float32), shard_size=st.integers(1, 64), bits=st.sampled_from([8, 16]))
def test_shard_writer_encodes_any_layout_like_the_plain_calls(tmp_path_factory, data, shard_size, bits):
    plain, odd = data
    params = _quantize.affine_params(plain, bits) if plain.size else (0.0, 1.0)
    expected = _quantize.float16_encode(plain).tobytes() + _quantize.affine_encode(plain, bits, *params).tobytes()
    directory = tmp_path_factory.mktemp("shards")
    writer = _quantize.ShardWriter(str(directory), 1, len(expected), shard_size)
    writer.write_float16(odd)
    writer.write_affine(odd, bits, *params)
    names = writer.close()
    assert b"".join((directory / n).read_bytes() for n in names) == expected


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
