#include "cc/quantize/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace tfjs {
namespace {

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float FromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

TEST(FloatToHalf, KnownValues) {
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);  // Smallest subnormal.
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14)), 0x0400);  // Smallest normal.
}

TEST(FloatToHalf, OverflowGoesToInfinity) {
  EXPECT_EQ(FloatToHalf(65519.996f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // Tie, 0x7bff is odd: up to inf.
  EXPECT_EQ(FloatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(FloatToHalf(-1e10f), 0xfc00);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
}

TEST(FloatToHalf, NanStaysNan) {
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::quiet_NaN()), 0x7e00);
  EXPECT_EQ(FloatToHalf(FromBits(0xffc00000u)), 0xfe00);
  EXPECT_EQ(FloatToHalf(FromBits(0x7f800001u)), 0x7c01);  // Payload truncated away: still NaN.
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(FromBits(0x7f800001u)))));
}

// For every pair of adjacent finite halves: just below their midpoint rounds down, just
// above rounds up, and the midpoint itself goes to the even one. Covers subnormals too.
TEST(FloatToHalf, RoundsToNearestEvenEverywhere) {
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    const double low = HalfToFloat(static_cast<uint16_t>(h));
    const double high = HalfToFloat(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((low + high) / 2);  // Exact in float32.
    ASSERT_EQ(static_cast<double>(mid), (low + high) / 2);
    const uint16_t even = (h % 2 == 0) ? h : h + 1;
    ASSERT_EQ(FloatToHalf(mid), even) << "half " << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, 0.0f)), h) << "half " << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, 1e9f)), h + 1) << "half " << h;
    ASSERT_EQ(FloatToHalf(-mid), 0x8000 | even) << "half " << h;
  }
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);                // Tie between 0 and 1.
  EXPECT_EQ(FloatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -30)), 0x0000);
}

TEST(HalfToFloat, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float value = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(value)) {
      ASSERT_EQ(h & 0x7c00u, 0x7c00u);
      ASSERT_NE(h & 0x3ffu, 0u);
      continue;
    }
    ASSERT_EQ(FloatToHalf(value), h) << "half " << h;
  }
  EXPECT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(Bits(HalfToFloat(0x8000)), 0x80000000u);
}

TEST(Float16, ArrayFunctionsMatchScalar) {
  std::vector<float> in = {0.1f, -3.5f, 70000.0f, 1e-6f};
  std::vector<uint16_t> half(in.size());
  std::vector<float> back(in.size());
  EncodeFloat16(in.data(), in.size(), half.data());
  DecodeFloat16(half.data(), half.size(), back.data());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(half[i], FloatToHalf(in[i]));
    EXPECT_EQ(Bits(back[i]), Bits(HalfToFloat(half[i])));
  }
}

// The array functions take F16C where the CPU has it (quantize_without_f16c_test covers the
// scalar loops). Compared with the scalar conversion on every float32 bit pattern where
// rounding is intricate (float32 subnormals, half subnormals and the underflow to zero, the
// overflow to inf, Inf and every NaN payload, either sign) and every 61st pattern elsewhere
// (61 is odd, so the 13 mantissa bits rounded away take every value in every exponent).
TEST(Float16, EncodeArrayMatchesScalarOnEveryIntricateBitPattern) {
  std::vector<float> in(1u << 23);
  std::vector<uint16_t> out(in.size()), expected(in.size());
  for (uint32_t sign = 0; sign < 2; ++sign) {
    for (uint32_t exponent = 0; exponent < 256; ++exponent) {
      const bool intricate = exponent == 0 || (exponent >= 101 && exponent <= 113) || exponent == 142 || exponent == 255;
      const uint32_t step = intricate ? 1 : 61;
      const size_t n = ((1u << 23) + step - 1) / step;
      for (size_t i = 0; i < n; ++i) {
        in[i] = FromBits(sign << 31 | exponent << 23 | static_cast<uint32_t>(i * step));
        expected[i] = FloatToHalf(in[i]);
      }
      EncodeFloat16(in.data(), n, out.data());
      const auto [got, want] = std::mismatch(out.begin(), out.begin() + n, expected.begin());
      ASSERT_TRUE(got == out.begin() + n) << std::hex << "float bits 0x" << Bits(in[got - out.begin()]) << ": 0x"
                                          << *got << " instead of 0x" << *want;
    }
  }
}

TEST(Float16, SignallingNanKeepsItsPayloadInEveryLane) {
  // F16C would quiet these (0x7e01); numpy and FloatToHalf keep the signalling payload.
  std::vector<float> in(21, 1.5f);
  in[3] = FromBits(0x7f802000u);
  in[12] = FromBits(0xff800001u);
  in[20] = FromBits(0x7fa00000u);
  std::vector<uint16_t> out(in.size());
  EncodeFloat16(in.data(), in.size(), out.data());
  EXPECT_EQ(out[3], 0x7c01);
  EXPECT_EQ(out[12], 0xfc01);
  EXPECT_EQ(out[20], 0x7d00);
  EXPECT_EQ(out[0], 0x3e00);
  EXPECT_EQ(out[11], 0x3e00);
}

TEST(Float16, DecodeArrayMatchesScalarOnEveryHalf) {
  std::vector<uint16_t> in(0x10000 + 5);  // Not a whole number of vectors: the tail too.
  for (size_t h = 0; h < in.size(); ++h) in[h] = static_cast<uint16_t>(h);
  std::vector<float> out(in.size());
  DecodeFloat16(in.data(), in.size(), out.data());
  for (size_t h = 0; h < in.size(); ++h) ASSERT_EQ(Bits(out[h]), Bits(HalfToFloat(in[h]))) << "half " << h;
  EXPECT_EQ(Bits(out[0x7c01]), 0x7f802000u);  // Signalling NaN stays signalling, as in numpy.
}

TEST(AffineParams, RangeStraddlingZeroIsNudgedSoZeroIsExact) {
  const std::vector<float> data = {-1.0f, 0.0f, 0.3f, 2.0f};
  AffineParams params;
  ASSERT_TRUE(ComputeAffineParams(data.data(), data.size(), 8, &params));
  EXPECT_DOUBLE_EQ(params.scale, 3.0 / 255.0);
  const double zero_point = std::nearbyint(1.0 / params.scale);
  EXPECT_EQ(params.min, -zero_point * params.scale);
  std::vector<uint8_t> q(data.size());
  AffineEncode8(data.data(), data.size(), params, q.data());
  EXPECT_EQ(q[1], zero_point);
  std::vector<float> back(data.size());
  AffineDecode8(q.data(), q.size(), params, back.data());
  EXPECT_EQ(back[1], 0.0f);
  for (size_t i = 0; i < data.size(); ++i) EXPECT_NEAR(back[i], data[i], params.scale / 2 + 1e-7);
}

TEST(AffineParams, PositiveRangeKeepsItsMinimum) {
  const std::vector<float> data = {0.5f, 1.0f, 4.5f};
  AffineParams params;
  ASSERT_TRUE(ComputeAffineParams(data.data(), data.size(), 16, &params));
  EXPECT_EQ(params.min, 0.5);
  EXPECT_EQ(params.scale, 4.0 / 65535.0);
  std::vector<uint16_t> q(data.size());
  AffineEncode16(data.data(), data.size(), params, q.data());
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[2], 65535);
}

TEST(AffineParams, ConstantTensorIsAllZerosWithScaleOne) {
  const std::vector<float> data(5, -7.25f);
  AffineParams params;
  ASSERT_TRUE(ComputeAffineParams(data.data(), data.size(), 8, &params));
  EXPECT_EQ(params.min, -7.25);
  EXPECT_EQ(params.scale, 1.0);
  std::vector<uint8_t> q(data.size(), 99);
  AffineEncode8(data.data(), data.size(), params, q.data());
  for (uint8_t v : q) EXPECT_EQ(v, 0);
}

TEST(AffineParams, RejectsNanAndInf) {
  AffineParams params;
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> data = {1.0f, 2.0f, 3.0f};
    data[1] = bad;
    EXPECT_FALSE(ComputeAffineParams(data.data(), data.size(), 8, &params));
    data = {bad, 2.0f};
    EXPECT_FALSE(ComputeAffineParams(data.data(), data.size(), 16, &params));
  }
}

TEST(AffineParams, EmptyTensor) {
  AffineParams params;
  ASSERT_TRUE(ComputeAffineParams(nullptr, 0, 8, &params));
  EXPECT_EQ(params.scale, 1.0);
}

TEST(AffineEncode, TiesRoundToEven) {
  // min 0, scale 1: x - min is exact, so 2.5 -> 2 and 3.5 -> 4.
  const AffineParams params{0.0, 1.0};
  const std::vector<float> data = {0.5f, 1.5f, 2.5f, 3.5f, 254.5f, 300.0f, -4.0f};
  std::vector<uint8_t> q(data.size());
  AffineEncode8(data.data(), data.size(), params, q.data());
  EXPECT_EQ(q, (std::vector<uint8_t>{0, 2, 2, 4, 254, 255, 0}));
}

// Long inputs take the vectorized reciprocal path; values on a 1/8 grid put many quotients
// exactly on ties, which must still round as exact division does.
TEST(AffineEncode, VectorPathMatchesExactDivisionOnLongInputs) {
  for (int bits : {8, 16}) {
    std::vector<float> data(20011);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(static_cast<int>(i * 7919 % 1021) - 510) / 8.0f;
    data[5] = 0.1f;  // An ordinary value among the ties.
    AffineParams params;
    ASSERT_TRUE(ComputeAffineParams(data.data(), data.size(), bits, &params));
    const double hi = AffineMax(bits) * params.scale + params.min;
    std::vector<uint16_t> q16(data.size());
    std::vector<uint8_t> q8(data.size());
    AffineEncode16(data.data(), data.size(), params, q16.data());
    AffineEncode8(data.data(), data.size(), params, q8.data());
    for (size_t i = 0; i < data.size(); ++i) {
      const double x = std::min(std::max(static_cast<double>(data[i]), params.min), hi);
      const double expected = std::nearbyint((x - params.min) / params.scale);
      ASSERT_EQ(bits == 8 ? q8[i] : q16[i], expected) << "element " << i << " bits " << bits;
    }
  }
}

// The reference quotient, written out independently of the kernels.
uint32_t ReferenceQuantize(float value, const AffineParams& params, int bits) {
  const double hi = AffineMax(bits) * params.scale + params.min;
  const double x = std::min(std::max(static_cast<double>(value), params.min), hi);
  return static_cast<uint32_t>(std::nearbyint((x - params.min) / params.scale));
}

// Values whose float64 quotient is a tie k + 0.5 or a few float32 steps either side of one,
// values at and around both clip bounds, far outside them, and ordinary ones, shuffled so
// every kind lands in every vector lane.
std::vector<float> Adversarial(const AffineParams& params, int bits, uint32_t seed) {
  const uint32_t qmax = AffineMax(bits);
  const double hi = qmax * params.scale + params.min;
  std::vector<float> data;
  auto around = [&data](double center) {
    float x = static_cast<float>(center);
    for (int k = 0; k < 3; ++k) x = std::nextafter(x, -std::numeric_limits<float>::infinity());
    for (int k = 0; k < 7; ++k, x = std::nextafter(x, std::numeric_limits<float>::infinity())) data.push_back(x);
  };
  const uint32_t step = bits == 8 ? 1 : 97;
  for (uint32_t k = 0; k <= qmax + 1; k += step) around(params.min + (k - 0.5) * params.scale);
  around(params.min + (qmax - 0.5) * params.scale);
  around(params.min);
  around(hi);
  for (double far : {1e30, 3.4e38, 1e-30, 1e-45}) {
    data.push_back(static_cast<float>(far));
    data.push_back(static_cast<float>(-far));
  }
  for (uint32_t k = 0; k < 1000; ++k) data.push_back(static_cast<float>(params.min + (k * 0.7371) * params.scale));
  uint32_t state = seed;
  for (size_t i = data.size() - 1; i > 0; --i) {
    state = state * 1664525u + 1013904223u;
    std::swap(data[i], data[state % (i + 1)]);
  }
  data.resize(data.size() - seed % 32);  // Vary the scalar tail too.
  return data;
}

// Parameters from data (nudged to zero or not) and as callers may pass them: ranges from
// tiny to huge, offsets far from zero (the float32 kernel's error bound grows with them
// until it hands over to float64), and clip bounds inside the data.
TEST(AffineEncode, MatchesFloat64ReferenceNearTiesAndClipBounds) {
  const std::vector<std::pair<float, float>> ranges = {
      {-1.0f, 2.0f},     {-0.37f, 0.0051f}, {0.0f, 1.0f},     {0.5f, 4.5f},      {3.0f, 3.25f},
      {-7.0f, -6.5f},    {1000.0f, 1001.0f}, {12.0f, 20.0f},  {100.0f, 101.0f},  {-3e-38f, 5e-38f},
      {1e-6f, 2e-6f},    {-3e30f, 1e31f},   {-1.0f, 65504.0f}, {2.0f, 2.0009765625f}};
  uint32_t seed = 1;
  for (int bits : {8, 16}) {
    for (const auto& [lo, hi] : ranges) {
      for (bool from_data : {true, false}) {
        AffineParams params;
        const float bounds[2] = {lo, hi};
        ASSERT_TRUE(ComputeAffineParams(bounds, 2, bits, &params));
        if (!from_data) params = {params.min + 7.3 * params.scale, params.scale * 0.61};
        const std::vector<float> data = Adversarial(params, bits, ++seed);
        std::vector<uint8_t> q8(data.size());
        std::vector<uint16_t> q16(data.size());
        if (bits == 8) AffineEncode8(data.data(), data.size(), params, q8.data());
        if (bits == 16) AffineEncode16(data.data(), data.size(), params, q16.data());
        for (size_t i = 0; i < data.size(); ++i) {
          ASSERT_EQ(bits == 8 ? q8[i] : q16[i], ReferenceQuantize(data[i], params, bits))
              << "x " << std::hexfloat << data[i] << " min " << params.min << " scale " << params.scale << " bits "
              << std::dec << bits;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tfjs
