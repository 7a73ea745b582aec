"""Weight quantization: which weights get which dtype, and the math (done natively).

The math matches the public converter exactly (see cc/quantize/quantize.h), so quantized
shards are byte-identical to it on the same weights.
"""

import fnmatch
import math
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from tensorflowjs import _quantize
from tensorflowjs.errors import ConversionError

QUANTIZATION_DTYPE_FLOAT16 = "float16"
QUANTIZATION_DTYPE_UINT8 = "uint8"
QUANTIZATION_DTYPE_UINT16 = "uint16"
QUANTIZATION_DTYPES = (QUANTIZATION_DTYPE_FLOAT16, QUANTIZATION_DTYPE_UINT8, QUANTIZATION_DTYPE_UINT16)
QUANTIZATION_BYTES_TO_DTYPES = {1: QUANTIZATION_DTYPE_UINT8, 2: QUANTIZATION_DTYPE_UINT16}
# The numpy type of each dtype name: what the public API's functions take and return.
QUANTIZATION_OPTION_TO_DTYPES = {QUANTIZATION_DTYPE_UINT8: np.uint8, QUANTIZATION_DTYPE_UINT16: np.uint16, QUANTIZATION_DTYPE_FLOAT16: np.float16}

# Bytes per element of each quantized dtype, and the bits of the affine ones.
QUANTIZED_ITEMSIZE = {QUANTIZATION_DTYPE_FLOAT16: 2, QUANTIZATION_DTYPE_UINT8: 1, QUANTIZATION_DTYPE_UINT16: 2}
AFFINE_BITS = {QUANTIZATION_DTYPE_UINT8: 8, QUANTIZATION_DTYPE_UINT16: 16}

# What a dtype may be given: True or "" (every weight not claimed by a pattern), or
# patterns as a comma-separated string or a list of strings.
PatternSpec = Union[bool, str, Iterable[str]]


class QuantizationWarning(UserWarning):
    """A quantization request that did something other than the user probably meant."""


def _patterns(spec: PatternSpec) -> Optional[List[str]]:
    """Patterns of one dtype, or None for 'every remaining weight'."""
    if spec is True or spec == "":
        return None
    if isinstance(spec, str):
        spec = spec.split(",")
    patterns = [p.strip() for p in spec if p and p.strip()]
    return patterns or None


def dtype_names_by_weight(
    names: Iterable[str], quantization_dtype_map: Optional[Mapping[str, PatternSpec]]
) -> Dict[str, str]:
    """Resolves fnmatch patterns to a {weight name: quantization dtype name} map.

    A dtype given without patterns claims every weight no pattern claimed. A weight
    claimed by two dtypes is an error; a pattern matching nothing is a warning.
    """
    names = list(names)
    result: Dict[str, str] = {}
    catch_all = None
    for dtype, spec in (quantization_dtype_map or {}).items():
        if dtype not in QUANTIZATION_DTYPES:
            raise ConversionError(f"unknown quantization dtype {dtype!r}; use one of {', '.join(QUANTIZATION_DTYPES)}")
        if spec is False or spec is None:
            continue
        patterns = _patterns(spec)
        if patterns is None:
            if catch_all is not None:
                raise ConversionError(
                    f"both --quantize_{catch_all} and --quantize_{dtype} were given without patterns; "
                    "only one dtype can apply to all weights"
                )
            catch_all = dtype
            continue
        for pattern in patterns:
            matched = fnmatch.filter(names, pattern)
            if not matched:
                warnings.warn(f"--quantize_{dtype} pattern {pattern!r} matches no weight", QuantizationWarning, stacklevel=2)
            for name in matched:
                if result.get(name, dtype) != dtype:
                    raise ConversionError(
                        f"weight {name!r} is claimed by both --quantize_{result[name]} and --quantize_{dtype}; "
                        "make the patterns disjoint"
                    )
                result[name] = dtype
    if catch_all is not None:
        for name in names:
            result.setdefault(name, catch_all)
    return result


def map_layers_to_quantization_dtype(
    names: Iterable[str], quantization_dtype_map: Optional[Mapping[str, PatternSpec]]
) -> Dict[str, type]:
    """Public API: {weight name: numpy type (np.uint8, np.uint16, np.float16)} of the patterns."""
    return {name: QUANTIZATION_OPTION_TO_DTYPES[dtype] for name, dtype in dtype_names_by_weight(names, quantization_dtype_map).items()}


def dtype_name(quantization_dtype: Any) -> str:
    """'uint8' for np.uint8, np.dtype('uint8') or 'uint8'; anything else is a ConversionError."""
    if quantization_dtype in QUANTIZATION_DTYPES:
        return quantization_dtype
    try:
        name = np.dtype(quantization_dtype).name
    except TypeError:
        name = None
    if name not in QUANTIZATION_DTYPES:
        raise ConversionError(f"unknown quantization dtype {quantization_dtype!r}; use one of {', '.join(QUANTIZATION_DTYPES)}")
    return name


def affine_params(data: np.ndarray, quantization_dtype: str, name: str = "") -> Tuple[float, float]:
    """(min, scale) of the affine map, with zero exactly representable when in range."""
    try:
        return _quantize.affine_params(np.ascontiguousarray(data, np.float32), AFFINE_BITS[quantization_dtype])
    except ValueError as e:
        raise ConversionError(
            f"weight {name or '<unnamed>'!r} contains NaN or Inf, so it cannot be {quantization_dtype}-quantized; "
            f"exclude it from the --quantize_{quantization_dtype} patterns or use --quantize_float16"
        ) from e


def quantize_weights(data: np.ndarray, quantization_dtype: Any) -> Tuple[np.ndarray, Dict[str, float]]:
    """Quantizes a float32 (or, affinely, int32) array to np.uint8, np.uint16 or np.float16 (a
    numpy type or its name); returns the data and the manifest metadata (min, scale)."""
    name = dtype_name(quantization_dtype)
    data = np.asarray(data)
    if name == QUANTIZATION_DTYPE_FLOAT16:
        if data.dtype != np.float32:
            raise ConversionError(f"float16 quantization takes float32 data, not {data.dtype}")
        return _quantize.float16_encode(np.ascontiguousarray(data)).view(np.float16), {}
    if data.size == 0:
        raise ConversionError(f"cannot {name}-quantize an empty array: it has no range")
    data = np.ascontiguousarray(data, np.float32)
    minimum, scale = affine_params(data, name)
    return _quantize.affine_encode(data, AFFINE_BITS[name], minimum, scale), {"min": minimum, "scale": scale}


def is_finite_number(value) -> bool:
    """Whether a value read from a manifest is a usable min or scale (JSON allows 1e999 and 10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _affine_metadata(metadata: Optional[Mapping[str, float]]) -> Tuple[float, float]:
    """(min, scale) of affine-quantized data: finite numbers, as a manifest from a file may say anything."""
    values = [metadata.get(key) if isinstance(metadata, Mapping) else None for key in ("min", "scale")]
    if not all(is_finite_number(v) for v in values):
        raise ConversionError(f"affine-quantized data needs finite numbers as 'min' and 'scale' metadata to be dequantized, got {values}")
    return float(values[0]), float(values[1])


def dequantize_weights(data: np.ndarray, metadata: Optional[Mapping[str, float]] = None, original_dtype=np.float32) -> np.ndarray:
    """Inverse of quantize_weights, computed the way TF.js does (q * scale + min); int32
    originals are rounded to the nearest integer."""
    data = np.asarray(data)
    if data.dtype == np.float16:
        if np.dtype(original_dtype) != np.float32:
            raise ConversionError(f"float16-quantized data dequantizes to float32 only, not {np.dtype(original_dtype)}")
        return _quantize.float16_decode(np.ascontiguousarray(data).view(np.uint16))
    if data.dtype not in (np.uint8, np.uint16):
        raise ConversionError(f"cannot dequantize data of dtype {data.dtype}; expected float16, uint8 or uint16")
    result = _quantize.affine_decode(np.ascontiguousarray(data), *_affine_metadata(metadata))
    if np.issubdtype(np.dtype(original_dtype), np.integer):
        result = np.round(result)
    return result.astype(original_dtype, copy=False)
