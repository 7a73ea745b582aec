#include "cc/quantize/quantize.h"

#include <cfloat>
#include <cmath>
#include <limits>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace tfjs {
namespace {

uint32_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float BitsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Rounds 0 <= v < 2^52 to the nearest integer, ties to even, under the default rounding
// mode: adding 2^52 leaves no fraction bits. Unlike std::nearbyint it inlines and vectorizes.
inline double RoundHalfEven(double v) {
  constexpr double kTwo52 = 4503599627370496.0;
  return (v + kTwo52) - kTwo52;
}

// The reference arithmetic itself: q = round_half_even((clip(x, lo, hi) - lo) / scale).
template <typename Q>
void EncodeByDivision(const float* in, size_t count, double lo, double hi, double scale, Q* out) {
  for (size_t i = 0; i < count; ++i) {
    double x = static_cast<double>(in[i]);
    x = !(x >= lo) ? lo : (x > hi ? hi : x);  // NaN (only from a caller's own params) -> lo, not UB
    // (hi - lo) / scale can round past the top code when min dwarfs scale (a caller's own
    // params): clamp, since casting 2^16 to uint16 is undefined.
    const double q = RoundHalfEven((x - lo) / scale);
    constexpr double kTop = static_cast<double>(std::numeric_limits<Q>::max());
    out[i] = static_cast<Q>(q < kTop ? q : kTop);
  }
}

// Quotients closer than this to a rounding tie (k + 0.5) are recomputed by exact division.
// The multiply-by-reciprocal quotient is within 2^-35 of the exact one for q < 2^16, so a
// larger margin guarantees both round to the same integer everywhere else.
constexpr double kTieMargin = 0x1p-30;
constexpr size_t kBlock = 4096;

// Kernels for instruction set extensions carry target attributes and are chosen at run time,
// so the binary still runs on any x86-64. The TFJS_QUANTIZE_NO_* defines let test builds
// exercise the fallbacks on machines that have the extensions.
#if defined(__SSE2__)
bool HasAvx2Fma() {
#if defined(TFJS_QUANTIZE_NO_AVX2)
  return false;
#else
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#endif
}

bool HasF16c() {
#if defined(TFJS_QUANTIZE_NO_F16C)
  return false;
#else
  static const bool has = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  return has;
#endif
}

// ---- float16 by F16C. Its rounding (nearest even, subnormals, overflow to inf) is IEEE's,
// like FloatToHalf's, but it quiets signalling NaNs, which numpy keeps: vectors holding a
// NaN take the scalar path.
__attribute__((target("avx,f16c"))) void EncodeFloat16F16c(const float* in, size_t count, uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))) {
      for (size_t k = i; k < i + 8; ++k) out[k] = FloatToHalf(in[k]);
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    }
  }
  for (; i < count; ++i) out[i] = FloatToHalf(in[i]);
}

__attribute__((target("avx,f16c"))) void DecodeFloat16F16c(const uint16_t* in, size_t count, float* out) {
  const __m128i magnitude = _mm_set1_epi16(0x7fff);
  const __m128i infinity = _mm_set1_epi16(0x7c00);
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(h, magnitude), infinity))) {  // A NaN.
      for (size_t k = i; k < i + 8; ++k) out[k] = HalfToFloat(in[k]);
    } else {
      _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
    }
  }
  for (; i < count; ++i) out[i] = HalfToFloat(in[i]);
}

// ---- Affine encoding in float32, eight lanes per AVX2 instruction.
//
// Each lane computes y = fl32(x * inverse + offset) with one FMA rounding, where
// inverse = fl32(fl64(1 / scale)), offset = fl32(fl64(fl64(-lo * fl64(1 / scale)) - C)), and
// C = (qmax + 1) / 2 centres y on zero, which halves float32's rounding error at the top of
// the range. y is clamped to qmax - C from above (so that huge y cannot convert to INT_MIN;
// below, the signed packing saturates to -C), rounded to the nearest integer r, and r + C is
// stored. The reference rounds Q(x) = fl64(fl64(x - lo) / scale) instead; we show
// |y - (Q(x) - C)| <= E, so a lane whose |y - r| < 0.5 - E rounds exactly like the reference,
// and the other lanes are recomputed by division.
//
// Bound. Let u = 2^-24, T(x) = (x - lo) / scale - C exactly, X = max(|lo|, |hi|) (1 + 2^-22)
// + 2^-149 (every float32 in [lo, hi] and its neighbours x0 < lo, x1 > hi), P = X / scale,
// L = |lo| / scale <= P and B = |lo / scale + C|. The plan requires scale >= 2^-100, so
// T(x1) - T(hi) and T(lo) - T(x0) are at most 2^-23 P + 2^-49 and |T| <= C + 2^-22 P + 2^-49
// on [x0, x1]. There, with inverse a normal float:
//   |inverse - 1/scale| <= (u + 2^-52) / scale;  |offset + lo/scale + C| <= u B + 2^-50 (B + P)
//     + 2^-150 (float64 roundings of relative size 2^-53 on L and B; 2^-150: subnormal);
//   z = x * inverse + offset exactly:  |z - T| <= u (P + B) + 2^-49 (P + B) + 2^-150;
//   y = fl32(z):  |y - z| <= u |z| + 2^-150 <= u C + 2^-45 (P + B) + 2^-73 + 2^-149;
//   |Q - C - T| <= 2^-51 (P + L)  (two float64 roundings).
// Summed: |y - (Q - C)| <= u (P + B + C) (1 + 2^-20) + 2^-72 <= E := (P + B + C) *
// 0x1.0001p-24 + 0x1p-60.
//
// Clipping. The plan requires E <= 1/16 (beyond that, too many lanes are recomputed); then
// P <= 2^20, so Q(hi) is within 2^-30 of qmax (hi - lo is qmax * scale up to float64
// roundings of size 2^-52 P). y and Q are monotone in x. For x < lo, y(x) <= y(x0) <=
// Q(x0) - C + E <= E - C, so r <= -C stores 0, as the reference clips to Q(lo) = 0. For
// x > hi, y(x) >= y(x1) >= qmax - C - E - 2^-30, so the clamped y rounds to qmax - C, the
// reference's RNE(Q(hi)) = qmax. Inside [lo, hi], y < -C means Q < E (r = -C) and a clamped
// y means Q > qmax - E, which the reference also rounds to 0 and qmax. Only lanes below x0,
// far outside, can be recomputed needlessly (near some -C - k - 0.5).
struct SinglePlan {
  float inverse;
  float offset;
  float top;    // qmax - C
  float trust;  // Lanes with |y - r| >= trust (<= 0.5 - E) are recomputed.
};

// False when float32 cannot bound the error tightly enough: an offset huge against the range
// (like uint16 of values in [100, 101]), or a scale below 2^-100 or above 2^126.
bool MakeSinglePlan(double lo, double hi, double scale, uint32_t qmax, SinglePlan* plan) {
  if (!(scale >= 0x1p-100) || !std::isfinite(lo) || !std::isfinite(hi)) return false;
  const double center = (qmax + 1) / 2;
  const double inverse = 1.0 / scale;
  const double offset = -lo * inverse - center;
  if (!(inverse >= FLT_MIN)) return false;
  const double p = (std::fmax(std::fabs(lo), std::fabs(hi)) * (1 + 0x1p-22) + 0x1p-149) / scale;
  const double error = (p + std::fabs(offset) + center) * 0x1.0001p-24 + 0x1p-60;
  // Past 1/16 so many lanes fall near ties that the float64 kernel is faster.
  if (!(error <= 1.0 / 16)) return false;
  float trust = static_cast<float>(0.5 - error);
  if (trust > 0.5 - error) trust = std::nextafter(trust, 0.0f);
  *plan = {static_cast<float>(inverse), static_cast<float>(offset), static_cast<float>(qmax - center), trust};
  return true;
}

struct SingleLanes {
  __m256 inverse, offset, top, trust;
};

// Eight rounded, centred quotients r as int32; `retry` gets the lanes to recompute.
__attribute__((target("avx2,fma"))) inline __m256i RoundX8(const float* in, const SingleLanes& v, __m256* retry) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 y = _mm256_min_ps(v.top, _mm256_fmadd_ps(_mm256_loadu_ps(in), v.inverse, v.offset));
  const __m256 r = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  *retry = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(y, r), abs_mask), v.trust, _CMP_GE_OQ);
  return _mm256_cvttps_epi32(r);
}

// Recomputes by division the lanes of in[0, 32) flagged in `lanes`.
template <typename Q>
void Retry(uint32_t lanes, const float* in, double lo, double hi, double scale, Q* out) {
  for (; lanes != 0; lanes &= lanes - 1) {
    const int k = __builtin_ctz(lanes);
    EncodeByDivision(in + k, 1, lo, hi, scale, out + k);
  }
}

// Encodes the largest prefix of whole groups (32 lanes for uint8, 16 for uint16) and returns
// its length.
template <typename Q>
__attribute__((target("avx2,fma"))) size_t EncodeSingleAvx2(const float* in, size_t count, const SinglePlan& plan,
                                                             double lo, double hi, double scale, Q* out) {
  const SingleLanes v = {_mm256_set1_ps(plan.inverse), _mm256_set1_ps(plan.offset), _mm256_set1_ps(plan.top),
                         _mm256_set1_ps(plan.trust)};
  size_t i = 0;
  if constexpr (sizeof(Q) == 1) {
    // The packs interleave the 128-bit halves; this permutation restores element order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (; i + 32 <= count; i += 32) {
      __m256 t[4];
      const __m256i ab = _mm256_packs_epi32(RoundX8(in + i, v, &t[0]), RoundX8(in + i + 8, v, &t[1]));
      const __m256i cd = _mm256_packs_epi32(RoundX8(in + i + 16, v, &t[2]), RoundX8(in + i + 24, v, &t[3]));
      const __m256i bytes = _mm256_xor_si256(_mm256_packs_epi16(ab, cd), _mm256_set1_epi8(-128));  // r + 128
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permutevar8x32_epi32(bytes, order));
      if (_mm256_movemask_ps(_mm256_or_ps(_mm256_or_ps(t[0], t[1]), _mm256_or_ps(t[2], t[3])))) {
        const uint32_t lanes = _mm256_movemask_ps(t[0]) | _mm256_movemask_ps(t[1]) << 8 |
                               _mm256_movemask_ps(t[2]) << 16 | static_cast<uint32_t>(_mm256_movemask_ps(t[3])) << 24;
        Retry(lanes, in + i, lo, hi, scale, out + i);
      }
    }
  } else {
    for (; i + 16 <= count; i += 16) {
      __m256 t[2];
      const __m256i ab = _mm256_packs_epi32(RoundX8(in + i, v, &t[0]), RoundX8(in + i + 8, v, &t[1]));
      const __m256i words = _mm256_xor_si256(ab, _mm256_set1_epi16(-32768));  // r + 32768
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permute4x64_epi64(words, 0xd8));
      const uint32_t lanes = _mm256_movemask_ps(t[0]) | _mm256_movemask_ps(t[1]) << 8;
      if (lanes) Retry(lanes, in + i, lo, hi, scale, out + i);
    }
  }
  return i;
}

// ---- Affine encoding in float64 by reciprocal, for CPUs without AVX2 and FMA and for
// parameters the float32 plan refuses.

// Four clipped, reciprocal-scaled, rounded quotients as int32; ORs a near-tie flag into `ties`.
inline __m128i QuotientsX4(const float* in, __m128d lo, __m128d hi, __m128d inverse, __m128d* ties) {
  const __m128d two52 = _mm_set1_pd(4503599627370496.0);
  const __m128d half = _mm_set1_pd(0.5);
  const __m128d margin = _mm_set1_pd(kTieMargin);
  const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
  const __m128 x = _mm_loadu_ps(in);
  __m128d pair[2] = {_mm_cvtps_pd(x), _mm_cvtps_pd(_mm_movehl_ps(x, x))};
  __m128i ints[2];
  for (int k = 0; k < 2; ++k) {
    const __m128d clipped = _mm_min_pd(_mm_max_pd(pair[k], lo), hi);
    const __m128d quotient = _mm_mul_pd(_mm_sub_pd(clipped, lo), inverse);
    const __m128d rounded = _mm_sub_pd(_mm_add_pd(quotient, two52), two52);
    const __m128d distance = _mm_and_pd(_mm_sub_pd(_mm_and_pd(_mm_sub_pd(quotient, rounded), abs_mask), half), abs_mask);
    *ties = _mm_or_pd(*ties, _mm_cmplt_pd(distance, margin));
    ints[k] = _mm_cvttpd_epi32(rounded);
  }
  return _mm_unpacklo_epi64(ints[0], ints[1]);
}

// Encodes the largest prefix of whole vectors by reciprocal; returns how many elements it
// wrote, or 0 when a quotient sat near a tie (the caller then divides the whole block).
size_t EncodeByReciprocalSse2(const float* in, size_t count, double lo, double hi, double inverse, uint8_t* out) {
  const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi), vinv = _mm_set1_pd(inverse);
  __m128d ties = _mm_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i a = _mm_packs_epi32(QuotientsX4(in + i, vlo, vhi, vinv, &ties), QuotientsX4(in + i + 4, vlo, vhi, vinv, &ties));
    const __m128i b = _mm_packs_epi32(QuotientsX4(in + i + 8, vlo, vhi, vinv, &ties), QuotientsX4(in + i + 12, vlo, vhi, vinv, &ties));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(a, b));
  }
  return _mm_movemask_pd(ties) ? 0 : i;
}

size_t EncodeByReciprocalSse2(const float* in, size_t count, double lo, double hi, double inverse, uint16_t* out) {
  const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi), vinv = _mm_set1_pd(inverse);
  // SSE2 packs with signed saturation only: shift 0..65535 into int16 range and back.
  const __m128i bias32 = _mm_set1_epi32(32768);
  const __m128i bias16 = _mm_set1_epi16(-32768);
  __m128d ties = _mm_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m128i a = _mm_sub_epi32(QuotientsX4(in + i, vlo, vhi, vinv, &ties), bias32);
    const __m128i b = _mm_sub_epi32(QuotientsX4(in + i + 4, vlo, vhi, vinv, &ties), bias32);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_xor_si128(_mm_packs_epi32(a, b), bias16));
  }
  return _mm_movemask_pd(ties) ? 0 : i;
}

// The same kernels on four doubles per instruction.
__attribute__((target("avx2"))) inline __m128i QuotientsX4Avx2(const float* in, __m256d lo, __m256d hi, __m256d inverse,
                                                                 __m256d* ties) {
  const __m256d half = _mm256_set1_pd(0.5);
  const __m256d margin = _mm256_set1_pd(kTieMargin);
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  const __m256d clipped = _mm256_min_pd(_mm256_max_pd(_mm256_cvtps_pd(_mm_loadu_ps(in)), lo), hi);
  const __m256d quotient = _mm256_mul_pd(_mm256_sub_pd(clipped, lo), inverse);
  const __m256d rounded = _mm256_round_pd(quotient, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d distance =
      _mm256_and_pd(_mm256_sub_pd(_mm256_and_pd(_mm256_sub_pd(quotient, rounded), abs_mask), half), abs_mask);
  *ties = _mm256_or_pd(*ties, _mm256_cmp_pd(distance, margin, _CMP_LT_OQ));
  return _mm256_cvtpd_epi32(rounded);
}

__attribute__((target("avx2"))) size_t EncodeByReciprocalAvx2(const float* in, size_t count, double lo, double hi,
                                                                double inverse, uint8_t* out) {
  const __m256d vlo = _mm256_set1_pd(lo), vhi = _mm256_set1_pd(hi), vinv = _mm256_set1_pd(inverse);
  __m256d ties = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i a = _mm_packs_epi32(QuotientsX4Avx2(in + i, vlo, vhi, vinv, &ties), QuotientsX4Avx2(in + i + 4, vlo, vhi, vinv, &ties));
    const __m128i b = _mm_packs_epi32(QuotientsX4Avx2(in + i + 8, vlo, vhi, vinv, &ties), QuotientsX4Avx2(in + i + 12, vlo, vhi, vinv, &ties));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(a, b));
  }
  return _mm256_movemask_pd(ties) ? 0 : i;
}

__attribute__((target("avx2"))) size_t EncodeByReciprocalAvx2(const float* in, size_t count, double lo, double hi,
                                                                double inverse, uint16_t* out) {
  const __m256d vlo = _mm256_set1_pd(lo), vhi = _mm256_set1_pd(hi), vinv = _mm256_set1_pd(inverse);
  __m256d ties = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m128i packed = _mm_packus_epi32(QuotientsX4Avx2(in + i, vlo, vhi, vinv, &ties), QuotientsX4Avx2(in + i + 4, vlo, vhi, vinv, &ties));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
  }
  return _mm256_movemask_pd(ties) ? 0 : i;
}

template <typename Q>
size_t EncodeByReciprocal(const float* in, size_t count, double lo, double hi, double inverse, Q* out) {
  return HasAvx2Fma() ? EncodeByReciprocalAvx2(in, count, lo, hi, inverse, out)
                      : EncodeByReciprocalSse2(in, count, lo, hi, inverse, out);
}

template <typename Q>
size_t EncodeSingle(const float* in, size_t count, double lo, double hi, double scale, uint32_t qmax, Q* out) {
  SinglePlan plan;
  if (!HasAvx2Fma() || !MakeSinglePlan(lo, hi, scale, qmax, &plan)) return 0;
  return EncodeSingleAvx2(in, count, plan, lo, hi, scale, out);
}
#else
template <typename Q>
size_t EncodeByReciprocal(const float*, size_t, double, double, double, Q*) {
  return 0;
}

template <typename Q>
size_t EncodeSingle(const float*, size_t, double, double, double, uint32_t, Q*) {
  return 0;
}
#endif

// Parameters ComputeAffineParams cannot produce (a caller's own, e.g. from a damaged
// manifest): each quotient is clamped into [0, qmax] in float64 (NaN to 0) so that converting
// it to an integer is defined; the values are then unspecified but the same on every path.
template <typename Q>
void EncodeWithForeignParams(const float* in, size_t count, const AffineParams& params, uint32_t qmax, Q* out) {
  for (size_t i = 0; i < count; ++i) {
    const double q = (static_cast<double>(in[i]) - params.min) / params.scale;
    out[i] = static_cast<Q>(q >= 0.0 ? (q <= qmax ? RoundHalfEven(q) : qmax) : 0.0);
  }
}

template <typename Q>
void AffineEncode(const float* in, size_t count, const AffineParams& params, uint32_t qmax, Q* out) {
  // The clip bound of the reference: hi = qmax * scale + min.
  const double lo = params.min;
  const double hi = static_cast<double>(qmax) * params.scale + params.min;
  if (!(std::isfinite(lo) && std::isfinite(hi) && params.scale > 0.0 && std::isfinite(1.0 / params.scale))) {
    EncodeWithForeignParams(in, count, params, qmax, out);
    return;
  }
  const size_t single = EncodeSingle(in, count, lo, hi, params.scale, qmax, out);
  in += single, out += single, count -= single;
  const double inverse = 1.0 / params.scale;
  for (size_t start = 0; start < count; start += kBlock) {
    const size_t n = count - start < kBlock ? count - start : kBlock;
    const size_t done = EncodeByReciprocal(in + start, n, lo, hi, inverse, out + start);
    EncodeByDivision(in + start + done, n - done, lo, hi, params.scale, out + start + done);
  }
}

template <typename Q>
void AffineDecode(const Q* in, size_t count, const AffineParams& params, float* out) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = static_cast<float>(static_cast<double>(in[i]) * params.scale + params.min);
  }
}

}  // namespace

uint16_t FloatToHalf(float value) {
  const uint32_t bits = FloatBits(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) {  // Inf or NaN.
    if (magnitude == 0x7f800000u) return sign | 0x7c00u;
    uint16_t nan = static_cast<uint16_t>(0x7c00u + ((magnitude & 0x007fffffu) >> 13));
    if (nan == 0x7c00u) ++nan;  // Payload lost in truncation: still a NaN.
    return sign | nan;
  }
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to inf.
  if (magnitude < 0x38800000u) {
    // Below 2^-14, the smallest normal half: adding 0.5f puts the half's subnormal unit
    // (2^-24) at the float's last mantissa bit, so the FPU rounds to nearest even for us.
    const float shifted = BitsFloat(magnitude) + 0.5f;
    return sign | static_cast<uint16_t>(FloatBits(shifted) - FloatBits(0.5f));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even.
  const uint32_t odd = (magnitude >> 13) & 1u;
  const uint32_t rounded = magnitude + 0xc8000fffu + odd;
  return sign | static_cast<uint16_t>(rounded >> 13);
}

float HalfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1fu) return BitsFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return BitsFloat(sign | FloatBits(magnitude));
  }
  return BitsFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

void EncodeFloat16(const float* in, size_t count, uint16_t* out) {
#if defined(__SSE2__)
  if (HasF16c()) return EncodeFloat16F16c(in, count, out);
#endif
  for (size_t i = 0; i < count; ++i) out[i] = FloatToHalf(in[i]);
}

void DecodeFloat16(const uint16_t* in, size_t count, float* out) {
#if defined(__SSE2__)
  if (HasF16c()) return DecodeFloat16F16c(in, count, out);
#endif
  for (size_t i = 0; i < count; ++i) out[i] = HalfToFloat(in[i]);
}

uint32_t AffineMax(int bits) { return bits == 8 ? 255u : 65535u; }

namespace {

// Min, max and whether any element is Inf or NaN (an all-ones exponent), in one pass.
struct Range {
  float lo;
  float hi;
  bool finite;
};

Range ScanRange(const float* in, size_t count) {
  float lo = in[0];
  float hi = in[0];
  uint32_t non_finite = 0;
  size_t i = 0;
#if defined(__SSE2__)
  if (count >= 8) {
    // Two independent accumulator pairs hide the latency of min/max.
    const __m128i exponent = _mm_set1_epi32(0x7f800000);
    __m128 lo4[2] = {_mm_loadu_ps(in), _mm_loadu_ps(in + 4)};
    __m128 hi4[2] = {lo4[0], lo4[1]};
    __m128i bad = _mm_setzero_si128();
    for (; i + 8 <= count; i += 8) {
      for (int k = 0; k < 2; ++k) {
        const __m128 x = _mm_loadu_ps(in + i + 4 * k);
        lo4[k] = _mm_min_ps(lo4[k], x);
        hi4[k] = _mm_max_ps(hi4[k], x);
        bad = _mm_or_si128(bad, _mm_cmpeq_epi32(_mm_and_si128(_mm_castps_si128(x), exponent), exponent));
      }
    }
    alignas(16) float lanes[8];
    _mm_store_ps(lanes, _mm_min_ps(lo4[0], lo4[1]));
    _mm_store_ps(lanes + 4, _mm_max_ps(hi4[0], hi4[1]));
    for (int k = 0; k < 4; ++k) {
      lo = lanes[k] < lo ? lanes[k] : lo;
      hi = lanes[4 + k] > hi ? lanes[4 + k] : hi;
    }
    non_finite = static_cast<uint32_t>(_mm_movemask_epi8(bad));
  }
#endif
  for (; i < count; ++i) {
    const float x = in[i];
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    non_finite |= (FloatBits(x) & 0x7f800000u) == 0x7f800000u;
  }
  return {lo, hi, non_finite == 0};
}

}  // namespace

bool ComputeAffineParams(const float* in, size_t count, int bits, AffineParams* params) {
  if (count == 0) {
    *params = {0.0, 1.0};
    return true;
  }
  const Range range = ScanRange(in, count);
  if (!range.finite) return false;
  double min = range.lo;
  const double max = range.hi;
  if (min == max) {
    *params = {min, 1.0};
    return true;
  }
  const double qmax = AffineMax(bits);
  const double scale = (max - min) / qmax;
  if (min <= 0.0 && 0.0 <= max) {
    const double zero_point = std::nearbyint(-min / scale);
    min = -zero_point * scale;
  }
  *params = {min, scale};
  return true;
}

void AffineEncode8(const float* in, size_t count, const AffineParams& params, uint8_t* out) {
  AffineEncode(in, count, params, AffineMax(8), out);
}

void AffineEncode16(const float* in, size_t count, const AffineParams& params, uint16_t* out) {
  AffineEncode(in, count, params, AffineMax(16), out);
}

void AffineDecode8(const uint8_t* in, size_t count, const AffineParams& params, float* out) {
  AffineDecode(in, count, params, out);
}

void AffineDecode16(const uint16_t* in, size_t count, const AffineParams& params, float* out) {
  AffineDecode(in, count, params, out);
}

}  // namespace tfjs
