// The array kernels on every length around their vector widths, each input in a buffer of
// exactly its size (so AddressSanitizer sees any read or write past either end), with NaN,
// Inf, signed zeros and subnormals: every element must equal the one-element call, which
// takes the scalar tail path. Run under --config=asan in CI.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "cc/quantize/quantize.h"

namespace tfjs {
namespace {

constexpr size_t kMaxLength = 300;

std::vector<float> Values(size_t n, uint32_t seed, bool finite) {
  std::mt19937 rng(seed);
  const float specials[] = {0.0f, -0.0f, 1e-45f, -1e-40f, 65504.0f, 65520.0f, 1e30f, -3.5f,
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()};
  std::uniform_real_distribution<float> uniform(-100.0f, 100.0f);
  std::vector<float> values(n);
  for (float& v : values) {
    v = rng() % 4 == 0 ? specials[rng() % (finite ? 8 : 11)] : uniform(rng);
  }
  return values;
}

// A heap buffer of exactly n elements holding `values` (a vector may over-allocate).
template <typename T>
std::unique_ptr<T[]> Exact(const std::vector<T>& values) {
  std::unique_ptr<T[]> buffer(new T[values.size()]);
  if (!values.empty()) std::memcpy(buffer.get(), values.data(), values.size() * sizeof(T));
  return buffer;
}

TEST(QuantizeEdgeTest, Float16KernelsOnEveryLength) {
  for (size_t n = 0; n <= kMaxLength; ++n) {
    const std::vector<float> values = Values(n, static_cast<uint32_t>(n), false);
    auto in = Exact(values);
    std::unique_ptr<uint16_t[]> half(new uint16_t[n]);
    std::unique_ptr<float[]> back(new float[n]);
    EncodeFloat16(in.get(), n, half.get());
    DecodeFloat16(half.get(), n, back.get());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(half[i], FloatToHalf(values[i])) << "n=" << n << " i=" << i;
      const float expected = HalfToFloat(half[i]);
      ASSERT_EQ(std::memcmp(&back[i], &expected, sizeof(float)), 0) << "n=" << n << " i=" << i;
    }
  }
}

template <typename Q, typename Encode, typename Decode>
void CheckAffine(int bits, Encode encode, Decode decode) {
  for (size_t n = 0; n <= kMaxLength; ++n) {
    const std::vector<float> values = Values(n, static_cast<uint32_t>(1000 + n), true);
    auto in = Exact(values);
    AffineParams params{};
    ASSERT_TRUE(ComputeAffineParams(in.get(), n, bits, &params));
    std::unique_ptr<Q[]> q(new Q[n]);
    std::unique_ptr<float[]> back(new float[n]);
    encode(in.get(), n, params, q.get());
    decode(q.get(), n, params, back.get());
    for (size_t i = 0; i < n; ++i) {
      Q one;
      float one_back;
      encode(&values[i], 1, params, &one);
      decode(&one, 1, params, &one_back);
      ASSERT_EQ(q[i], one) << "bits=" << bits << " n=" << n << " i=" << i;
      ASSERT_EQ(back[i], one_back) << "bits=" << bits << " n=" << n << " i=" << i;
    }
  }
}

TEST(QuantizeEdgeTest, AffineKernelsOnEveryLength) {
  CheckAffine<uint8_t>(8, AffineEncode8, AffineDecode8);
  CheckAffine<uint16_t>(16, AffineEncode16, AffineDecode16);
}

TEST(QuantizeEdgeTest, NonFiniteInputIsRefusedAtAnyPosition) {
  for (size_t n = 1; n <= 70; ++n) {
    for (size_t at : {size_t{0}, n / 2, n - 1}) {
      for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity()}) {
        std::vector<float> values(n, 1.0f);
        values[at] = bad;
        auto in = Exact(values);
        AffineParams params{};
        EXPECT_FALSE(ComputeAffineParams(in.get(), n, 8, &params)) << "n=" << n << " at=" << at;
      }
    }
  }
}

TEST(QuantizeEdgeTest, EmptyInputTouchesNothing) {
  AffineParams params{};
  EXPECT_TRUE(ComputeAffineParams(nullptr, 0, 16, &params));
  EncodeFloat16(nullptr, 0, nullptr);
  DecodeFloat16(nullptr, 0, nullptr);
  AffineEncode8(nullptr, 0, params, nullptr);
  AffineDecode16(nullptr, 0, params, nullptr);
}

// Parameters come from manifests: NaN, Inf, zero or negative scales give unspecified values
// but must not be undefined behaviour (float -> integer conversion of NaN/Inf is, in C++).
TEST(QuantizeEdgeTest, AnyAffineParametersAreDefinedBehaviour) {
  const std::vector<float> values = Values(100, 7, false);
  const double odd[] = {0.0, -1.0, 1e-300, 1e300, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  for (double minimum : odd) {
    for (double scale : odd) {
      std::vector<uint8_t> q8(values.size());
      std::vector<uint16_t> q16(values.size());
      std::vector<float> back(values.size());
      AffineEncode8(values.data(), values.size(), AffineParams{minimum, scale}, q8.data());
      AffineEncode16(values.data(), values.size(), AffineParams{minimum, scale}, q16.data());
      AffineDecode8(q8.data(), q8.size(), AffineParams{minimum, scale}, back.data());
      AffineDecode16(q16.data(), q16.size(), AffineParams{minimum, scale}, back.data());
    }
  }
}

}  // namespace
}  // namespace tfjs
