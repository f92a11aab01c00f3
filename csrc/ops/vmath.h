// Vectorizable elementary functions, written once for float and double.
//
// Every function here is branch-free inline C++ (range reduction + polynomial; bit
// manipulation through memcpy on unsigned integers), so a loop calling them under
// `#pragma omp simd` vectorizes for whichever ISA the including file is compiled for.
// Include only from per-ISA sources: everything lives in fastnn::<isa>::vm.
//
// Accuracy (round-to-nearest, no -ffast-math): exp, expm1, log, log1p, tanh within
// about 2 ulp of the exact value for normal results; results that underflow are gradual
// for exp and 0 below the denormal range.  Special values: exp(+-inf) = inf / 0,
// tanh(+-inf) = +-1, log(0) = -inf, log(x < 0) = NaN, NaN in -> NaN out.
//
// Polynomial coefficients are Chebyshev-interpolation fits computed with mpmath for this
// project (see tests/test_vmath.py for the accuracy checks).
#pragma once

// GCC's if-conversion will not speculate floating-point operations under the default
// -ftrapping-math, and PRE turns `c ? const : x` followed by arithmetic into control flow,
// so without this the AVX2 / generic copies of these loops stay scalar (AVX-512 masks
// around it).  Traps are never enabled, so results are unchanged.  Every file including
// this header gets it for the rest of the translation unit; include it first.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "fastnn/common.h"

#define FASTNN_VINLINE inline __attribute__((always_inline))

FASTNN_ISA_BEGIN
namespace vm {

template <class T>
struct FP;

template <>
struct FP<float> {
  using U = std::uint32_t;
  static constexpr int kMantBits = 23;
  static constexpr U kBias = 127;
  static constexpr U kSign = 0x80000000u;
  static constexpr U kAbs = 0x7fffffffu;
  static constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: x + kMagic rounds x to an integer
  static constexpr U kScaleOff = 256;           // offset keeping the halved exponent non-negative
  static constexpr U kSplitMask = 0xfffff000u;  // keeps 12 significant bits (their square is exact)
  static constexpr float kLog2e = 1.44269502f;
  static constexpr float kLn2Hi = 0.693359375f;  // few bits: k * kLn2Hi is exact
  static constexpr float kLn2Lo = -2.12194440e-4f;
  static constexpr float kExpHi = 88.8f;     // above: the result overflows to inf
  static constexpr float kExpLo = -104.0f;   // below: the result rounds to 0
  static constexpr float kExpm1Lo = -30.0f;  // below: expm1 = -1
  static constexpr float kExpNormLo = -87.33f;  // exp of this is still a normal number
  static constexpr float kTanhClamp = 10.0f; // tanh(10) rounds to 1
  static constexpr float kSqrtHalf = 0.70710677f;
};

template <>
struct FP<double> {
  using U = std::uint64_t;
  static constexpr int kMantBits = 52;
  static constexpr U kBias = 1023;
  static constexpr U kSign = 0x8000000000000000ull;
  static constexpr U kAbs = 0x7fffffffffffffffull;
  static constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr U kScaleOff = 2048;
  static constexpr U kSplitMask = 0xfffffffff8000000ull;  // 26 significant bits
  static constexpr double kLog2e = 1.4426950408889634;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kExpHi = 709.9;
  static constexpr double kExpLo = -745.2;
  static constexpr double kExpm1Lo = -80.0;
  static constexpr double kExpNormLo = -708.39;
  static constexpr double kTanhClamp = 20.0;
  static constexpr double kSqrtHalf = 0.70710678118654752440;
};

// ---------------------------------------------------------------- coefficients
// (e^r - 1 - r) / r^2 on |r| <= 0.35
template <class T> struct ExpC;
template <> struct ExpC<float> {
  static constexpr float c[] = {0.5f, 0.16666573286056519f, 0.04166654869914055f, 0.008363766595721245f,
                                0.0013926918618381023f};
};
template <> struct ExpC<double> {
  static constexpr double c[] = {0.5000000000000001,     0.16666666666666669,   0.04166666666662068,
                                 0.008333333333329796,   0.0013888888918918907, 0.00019841269864364933,
                                 2.4801518672268355e-05, 2.7557266442353424e-06, 2.7621324269313687e-07,
                                 2.5101335854788522e-08};
};
// (2 atanh(s) - 2 s) / s^3 as a polynomial in w = s^2: `narrow` for |s| <= 0.1716 (log with
// the mantissa in [sqrt(1/2), sqrt(2))), `wide` for |s| <= 1/3 (log1p on [0, 1]).
template <class T> struct LogC;
template <> struct LogC<float> {
  static constexpr float narrow[] = {0.6666668653488159f, 0.3998873233795166f, 0.29582157731056213f};
  static constexpr float wide[] = {0.6666666865348816f, 0.3999970555305481f, 0.28592413663864136f,
                                   0.21705657243728638f, 0.23229070007801056f};
};
template <> struct LogC<double> {
  static constexpr double narrow[] = {0.666666666666667,   0.3999999999989819,  0.28571428626570206,
                                      0.2222221103781659,  0.18182896183483085, 0.15331487235865734,
                                      0.14619343453512615};
  static constexpr double wide[] = {0.6666666666666666,  0.3999999999999952,  0.2857142857160142,
                                    0.22222222198071062, 0.18181819908429153, 0.15384543587249763,
                                    0.13335186885534053, 0.1173416786209541,  0.1084608034962759,
                                    0.07488106714611861, 0.1563823493424178};
};
// Upper normal tail Phic(u) = P(N(0,1) > u) = t * exp(-u^2/2) * Q(s), t = 1 / (1 + kP u),
// s = kA t + kB in [-1, 1] over the fitted range (float [0, 14], double [0, 38.625]: past
// where exp(-u^2/2) flushes to 0, 13.2 and 37.6).
template <class T> struct NormC;
template <> struct NormC<float> {
  static constexpr float kP = 0.30000001192092896f, kA = 2.4761905670166016f, kB = -1.476190447807312f;
  static constexpr float c[] = {0.2570205628871918f,     0.16233165562152863f,    0.06705407053232193f,
                                0.014855983667075634f,   -0.0003210323629900813f, -0.0009761209366843104f,
                                -3.7990103010088205e-05f, 7.753891259199008e-05f, 1.2923769645567518e-06f,
                                -5.975691237836145e-06f};
};
template <> struct NormC<double> {
  static constexpr double kP = 0.3, kA = 2.1725997842502696, kB = -1.1725997842502698;
  static constexpr double c[] = {
      0.23560567575229227,    0.16465060110748667,    0.07899864104216325,    0.02198282621985064,
      0.0005781130373096241,  -0.001757415986396477,  -0.0002459504796153164, 0.0001843621944133973,
      2.6969182226558247e-05, -2.605991429850171e-05, -8.499835786009262e-07, 4.01032394174138e-06,
      -6.358091565860568e-07, -5.13270209233794e-07,  2.408889339712049e-07,  2.2653244968590943e-08,
      -5.1593757666475054e-08, 1.1991616304285098e-08, 6.144600726192817e-09, -3.8682203625785636e-09,
      -6.6674172723536585e-12, 4.5751782287124497e-10, -8.36977546683747e-11};
};

// ---------------------------------------------------------------- helpers

template <class T>
FASTNN_VINLINE typename FP<T>::U to_bits(T x) {
  typename FP<T>::U u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
template <class T>
FASTNN_VINLINE T from_bits(typename FP<T>::U u) {
  T x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Horner's rule, fully unrolled at compile time.
template <class T, std::size_t N, std::size_t... I>
FASTNN_VINLINE T horner_impl(T x, const T (&c)[N], std::index_sequence<I...>) {
  T r = c[N - 1];
  ((r = r * x + c[N - 2 - I]), ...);
  return r;
}
template <class T, std::size_t N>
FASTNN_VINLINE T horner(T x, const T (&c)[N]) {
  return horner_impl(x, c, std::make_index_sequence<N - 1>{});
}

// NaN-preserving clamps: a NaN x falls through both comparisons unchanged.
template <class T>
FASTNN_VINLINE T clamp_lo(T x, T lo) { return x < lo ? lo : x; }
template <class T>
FASTNN_VINLINE T clamp_hi(T x, T hi) { return x > hi ? hi : x; }
template <class T>
FASTNN_VINLINE T vabs(T x) { return from_bits<T>(to_bits(x) & FP<T>::kAbs); }
// 2^k for an integer-valued k in the normal exponent range, from kf + kMagic.
template <class T>
FASTNN_VINLINE T pow2_from_magic(typename FP<T>::U kbits_plus_magic) {
  using F = FP<T>;
  const typename F::U k = kbits_plus_magic - to_bits(F::kMagic);  // two's complement k
  return from_bits<T>((k + F::kBias) << F::kMantBits);
}

// ---------------------------------------------------------------- exp family

// exp(a + b) for a small correction b (|b| << 1): exp(a) when b = 0.
// Overflow gives inf, results below the denormal range give 0 (gradual underflow between).
template <class T>
FASTNN_VINLINE T exp_hl(T a, T b) {
  using F = FP<T>;
  using U = typename F::U;
  a = clamp_hi(clamp_lo(a, F::kExpLo), F::kExpHi);
  const T t = a * F::kLog2e + F::kMagic;
  const T kf = t - F::kMagic;
  T r = a - kf * F::kLn2Hi;  // exact
  r = r - kf * F::kLn2Lo;
  r = r + b;
  const T p = T(1) + (r + r * r * horner(r, ExpC<T>::c));
  // 2^k = 2^k1 * 2^k2 with both halves normal, so results in the denormal range round once.
  const U k = to_bits(t) - to_bits(F::kMagic);
  const U k1 = ((k + F::kScaleOff) >> 1) - (F::kScaleOff >> 1);
  const U k2 = k - k1;
  const T s1 = from_bits<T>((k1 + F::kBias) << F::kMantBits);
  const T s2 = from_bits<T>((k2 + F::kBias) << F::kMantBits);
  return (p * s1) * s2;
}

template <class T>
FASTNN_VINLINE T exp(T x) { return exp_hl(x, T(0)); }

// The cheaper exp of the activation kernels: for a <= 88 (float) / 709 (double) only (no
// overflow handling; callers clamp), and results below the normal range flush to 0.
// exp(a + b) for a small correction b.  NaN propagates.
template <class T, bool kHasB = true>
FASTNN_VINLINE T exp_ftz_hl(T a, T b) {
  using F = FP<T>;
  // No clamping: below kExpNormLo (and for -inf) the scale bits are garbage, but the
  // result is replaced by 0; NaN fails the comparison and propagates.
  const bool under = a < F::kExpNormLo;
  const T t = a * F::kLog2e + F::kMagic;
  const T kf = t - F::kMagic;
  T r = a - kf * F::kLn2Hi;
  r = r - kf * F::kLn2Lo;
  if constexpr (kHasB) r = r + b;
  const T p = T(1) + (r + r * r * horner(r, ExpC<T>::c));
  const T s = from_bits<T>((to_bits(t) + (F::kBias - to_bits(F::kMagic))) << F::kMantBits);
  const T e = p * s;
  return under ? T(0) : e;
}

template <class T>
FASTNN_VINLINE T exp_ftz(T a) { return exp_ftz_hl<T, false>(a, T(0)); }

// exp(a) - 1 for a in [kExpm1Lo, kExpHi] (no clamping: callers guarantee the range).
template <class T>
FASTNN_VINLINE T expm1_core(T a) {
  using F = FP<T>;
  const T t = a * F::kLog2e + F::kMagic;
  const T kf = t - F::kMagic;
  T r = a - kf * F::kLn2Hi;
  r = r - kf * F::kLn2Lo;
  const T pm = r + r * r * horner(r, ExpC<T>::c);  // e^r - 1
  // e^a - 1 = 2 * (q * pm + (q - 1/2)) with q = 2^(k-1): exact scaling by 2, no overflow of q.
  const T q = pow2_from_magic<T>(to_bits(t) - 1);
  return T(2) * (q * pm + (q - T(0.5)));
}

// exp(x) - 1, accurate near 0; overflow gives inf.
template <class T>
FASTNN_VINLINE T expm1(T x) {
  using F = FP<T>;
  return expm1_core(clamp_hi(clamp_lo(x, F::kExpm1Lo), F::kExpHi));
}

// ---------------------------------------------------------------- log family

// log(x) for finite x > 0 that is normal (no special cases: used on sums >= 1).
template <class T>
FASTNN_VINLINE T log_pos(T x) {
  using F = FP<T>;
  using U = typename F::U;
  // x = 2^k * m with m in [sqrt(1/2), sqrt(2))
  const U ix = to_bits(x) + (to_bits(T(1)) - to_bits(F::kSqrtHalf));
  const U kb = (ix >> F::kMantBits) + (to_bits(F::kMagic) - F::kBias);
  const T kf = from_bits<T>(kb) - F::kMagic;
  const U mb = (ix & ((U(1) << F::kMantBits) - 1)) + to_bits(F::kSqrtHalf);
  const T f = from_bits<T>(mb) - T(1);
  const T s = f / (T(2) + f);
  const T w = s * s;
  const T lm = T(2) * s + s * w * horner(w, LogC<T>::narrow);
  return kf * F::kLn2Hi + (kf * F::kLn2Lo + lm);
}

// Natural log with special cases: denormals, 0 -> -inf, negative -> NaN, inf -> inf.
template <class T>
FASTNN_VINLINE T log(T x) {
  constexpr T tiny = std::numeric_limits<T>::min();
  constexpr T up = T(1ull << 60);  // scale denormals into the normal range
  const bool den = x < tiny;
  const T xs = den ? x * up : x;
  T r = log_pos(xs);
  r = den ? r - T(60) * T(0.693147180559945309417232121458) : r;
  r = x == T(0) ? -std::numeric_limits<T>::infinity() : r;
  r = x < T(0) ? std::numeric_limits<T>::quiet_NaN() : r;
  r = x == std::numeric_limits<T>::infinity() ? x : r;
  r = x != x ? x : r;
  return r;
}

// log(1 + u) for u in [0, 1] (softplus): 2 atanh(u / (2 + u)).
template <class T>
FASTNN_VINLINE T log1p_unit(T u) {
  const T s = u / (T(2) + u);
  const T w = s * s;
  return T(2) * s + s * w * horner(w, LogC<T>::wide);
}

// ---------------------------------------------------------------- tanh / sigmoid

template <class T>
FASTNN_VINLINE T tanh(T x) {
  using F = FP<T>;
  const T a = clamp_hi(vabs(x), F::kTanhClamp);
  const T em = expm1_core(a + a);  // a + a in [0, 2 kTanhClamp]: no clamping needed
  const T r = em / (em + T(2));
  // A select rather than a sign-bit copy: that form keeps the generic (SSE2) double loop
  // vectorizable.  tanh(-0) is +0.
  return x < T(0) ? -r : r;
}

// ---------------------------------------------------------------- normal distribution

// Standard normal upper tail P(N(0,1) > u) for u >= 0 together with exp(-u^2/2):
// returns Phic, stores the Gaussian factor in *g.
template <class T>
FASTNN_VINLINE T norm_tail(T u, T* g) {
  using C = NormC<T>;
  // No clamp to the fitted range: past it the Gaussian has flushed to 0 and so has the
  // product (inf too: t = 0 there).  A clamp cost its select plus one per derived value
  // (the compiler folded the clamped branch's constants and blended every intermediate
  // result with them): gelu 0.171 -> 0.152 ns/element.
  const T t = T(1) / (T(1) + C::kP * u);
  const T q = horner(C::kA * t + C::kB, C::c);
#if defined(__FMA__)
  // exp(-u^2/2) with u^2 = sq + sq_lo exactly (the product's rounding error by one FMA)
  const T sq = u * u;
  const T sq_lo = std::fma(u, u, -sq);
  const T e = exp_ftz_hl(T(-0.5) * sq, T(-0.5) * sq_lo);
#else
  // exp(-u^2/2) with u^2 = uh^2 (exact) + ul * (u + uh)
  const T uh = from_bits<T>(to_bits(u) & FP<T>::kSplitMask);
  const T ul = u - uh;
  const T e = exp_ftz_hl(T(-0.5) * (uh * uh), T(-0.5) * (ul * (u + uh)));
#endif
  *g = e;
  return t * e * q;
}

}  // namespace vm
FASTNN_ISA_END
