// Weight quantization math of TF.js model files: float16 and uint8/uint16 affine.
//
// Pure C++17, no Python: the pybind11 binding (binding.cc) is a thin layer over this.
// The affine math reproduces the public tensorflowjs converter bit for bit, so shards we
// write are byte-identical to its shards for the same weights.
#ifndef TFJS_CC_QUANTIZE_QUANTIZE_H_
#define TFJS_CC_QUANTIZE_QUANTIZE_H_

#include <cstddef>
#include <cstdint>

namespace tfjs {

// float32 -> IEEE 754 binary16, round to nearest even; subnormals exact, overflow to
// +-inf, NaN stays NaN with its sign and top payload bits (as numpy does).
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t bits);

// The same conversions over arrays, by F16C where the CPU has it.
void EncodeFloat16(const float* in, size_t count, uint16_t* out);
void DecodeFloat16(const uint16_t* in, size_t count, float* out);

// Per-tensor affine parameters: value = q * scale + min, in float64 like the reference.
struct AffineParams {
  double min;
  double scale;
};

// Largest quantized value for 8 or 16 bits (255 or 65535).
uint32_t AffineMax(int bits);

// Computes min/scale for `bits` (8 or 16). Returns false when the tensor holds NaN or Inf,
// which affine quantization cannot represent. An empty tensor gets min 0, scale 1.
bool ComputeAffineParams(const float* in, size_t count, int bits, AffineParams* params);

// q = round_half_even((clip(x, min, max) - min) / scale), bit-identical to computing it in
// float64 (most lanes are computed in float32 with a proven error bound; see quantize.cc).
void AffineEncode8(const float* in, size_t count, const AffineParams& params, uint8_t* out);
void AffineEncode16(const float* in, size_t count, const AffineParams& params, uint16_t* out);

void AffineDecode8(const uint8_t* in, size_t count, const AffineParams& params, float* out);
void AffineDecode16(const uint16_t* in, size_t count, const AffineParams& params, float* out);

}  // namespace tfjs

#endif  // TFJS_CC_QUANTIZE_QUANTIZE_H_
