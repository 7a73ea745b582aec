"""Which weights get which quantization, and the public converter's exact math."""

import sys

import numpy as np
import pytest

from tensorflowjs import quantization
from quantization_reference import reference_affine
from tensorflowjs.errors import ConversionError

NAMES = ["conv1/kernel", "conv1/bias", "conv2/kernel", "conv2/bias", "dense/kernel"]


def test_bare_flag_claims_every_weight():
    assert quantization.dtype_names_by_weight(NAMES, {"uint8": True}) == {n: "uint8" for n in NAMES}


def test_patterns_are_fnmatch_wildcards_and_comma_separated():
    result = quantization.dtype_names_by_weight(NAMES, {"float16": "conv*/kernel,dense/*"})
    assert result == {"conv1/kernel": "float16", "conv2/kernel": "float16", "dense/kernel": "float16"}


def test_patterns_as_list_and_bare_flag_for_the_rest():
    result = quantization.dtype_names_by_weight(NAMES, {"uint16": ["*/bias"], "uint8": True})
    assert result["conv1/bias"] == "uint16" and result["conv2/bias"] == "uint16"
    assert result["conv1/kernel"] == "uint8" and result["dense/kernel"] == "uint8"


def test_two_dtypes_claiming_one_weight_raise():
    with pytest.raises(ConversionError, match="conv1/kernel.*both"):
        quantization.dtype_names_by_weight(NAMES, {"uint8": "conv1/*", "float16": "*/kernel"})


def test_two_bare_flags_raise():
    with pytest.raises(ConversionError, match="without patterns"):
        quantization.dtype_names_by_weight(NAMES, {"uint8": True, "float16": True})


def test_pattern_matching_nothing_warns():
    with pytest.warns(quantization.QuantizationWarning, match="nothing/\\*"):
        assert quantization.dtype_names_by_weight(NAMES, {"uint8": "nothing/*"}) == {}


def test_unknown_dtype_raises():
    with pytest.raises(ConversionError, match="int4"):
        quantization.dtype_names_by_weight(NAMES, {"int4": True})


@pytest.mark.parametrize("bits,dtype", [(8, "uint8"), (16, "uint16")])
@pytest.mark.parametrize("low,high", [(-1.0, 3.0), (0.5, 2.0), (-5.0, -0.25), (0.0, 1.0), (-2.0, 0.0)])
def test_affine_is_byte_identical_to_public_math(bits, dtype, low, high):
    data = np.random.default_rng(bits).uniform(low, high, size=(37, 11)).astype(np.float32)
    data.flat[0], data.flat[1] = low, high
    quantized, metadata = quantization.quantize_weights(data, dtype)
    expected, lo, scale = reference_affine(data, bits)
    assert quantized.dtype == expected.dtype
    np.testing.assert_array_equal(quantized, expected)
    assert metadata == {"min": lo, "scale": scale}
    restored = quantization.dequantize_weights(quantized, metadata)
    assert restored.dtype == np.float32
    np.testing.assert_allclose(restored, data, atol=scale / 2 * 1.0001)


def test_zero_is_exact_when_in_range():
    data = np.array([-0.3, 0.0, 0.7, 1.9], np.float32)
    quantized, metadata = quantization.quantize_weights(data, "uint8")
    assert quantization.dequantize_weights(quantized, metadata)[1] == 0.0


def test_constant_tensor_quantizes_to_zeros_with_unit_scale():
    quantized, metadata = quantization.quantize_weights(np.full((4,), 2.5, np.float32), "uint16")
    np.testing.assert_array_equal(quantized, 0)
    assert metadata == {"min": 2.5, "scale": 1.0}
    np.testing.assert_array_equal(quantization.dequantize_weights(quantized, metadata), 2.5)


def test_float16_matches_numpy():
    data = np.random.default_rng(1).normal(0, 100, 1000).astype(np.float32)
    quantized, metadata = quantization.quantize_weights(data, "float16")
    assert metadata == {} and quantized.dtype == np.float16
    np.testing.assert_array_equal(quantized, data.astype(np.float16))
    np.testing.assert_array_equal(quantization.dequantize_weights(quantized), data.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_affine_of_nonfinite_names_the_weight(bad):
    data = np.array([1.0, bad, 2.0], np.float32)
    with pytest.raises(ConversionError, match="'dense/kernel'.*NaN or Inf"):
        quantization.affine_params(data, "uint8", "dense/kernel")


def test_dequantize_affine_without_metadata_raises():
    with pytest.raises(ConversionError, match="min"):
        quantization.dequantize_weights(np.zeros(3, np.uint8), {})


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
