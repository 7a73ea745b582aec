#include "cc/quantize/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
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

}  // namespace
}  // namespace tfjs
