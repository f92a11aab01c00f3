// Counter-based random numbers: each value is a pure function of (seed, stream, counter),
// so dropout masks, noise and shuffles never depend on the thread count or on the order
// in which threads run, and a resumed run draws exactly what the uninterrupted one drew.
#pragma once
#include <cmath>
#include <cstdint>

namespace fastnn {
namespace train {

// splitmix64 finalizer: a bijective 64-bit mix with good avalanche.
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A key for (seed, stream): values for counters 0, 1, 2, ... are rand64(key, i).
inline std::uint64_t rng_key(std::uint64_t seed, std::uint64_t stream) {
  return mix64(mix64(seed) ^ (stream * 0xD1B54A32D192ED03ull));
}
inline std::uint64_t rand64(std::uint64_t key, std::uint64_t counter) {
  return mix64(key ^ mix64(counter + 0x632BE59BD9B4E019ull));
}
// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::uint64_t key, std::uint64_t counter) {
  return double(rand64(key, counter) >> 11) * (1.0 / 9007199254740992.0);
}
// Standard normal (Box-Muller on two counters 2c, 2c+1).
inline double normal01(std::uint64_t key, std::uint64_t counter) {
  const double u1 = 1.0 - uniform01(key, 2 * counter);  // (0, 1]
  const double u2 = uniform01(key, 2 * counter + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
// Uniform integer in [0, n) (n >= 1), Lemire's multiply-shift (bias < 2^-64 * n).
inline std::uint64_t below(std::uint64_t key, std::uint64_t counter, std::uint64_t n) {
  return std::uint64_t((static_cast<unsigned __int128>(rand64(key, counter)) * n) >> 64);
}

// ---------------------------------------------------------------- training augmentation
// Every draw of batch `batch` of epoch `epoch` comes from the batch key, so the draws do
// not depend on the thread count, on how an epoch is cut into native calls, or on whether
// the run was resumed (initial_epoch).

inline std::uint64_t aug_batch_key(std::uint64_t seed, std::int64_t epoch, std::int64_t batch) {
  return rand64(rng_key(seed, 0x4155474D454E54ull + std::uint64_t(epoch)), std::uint64_t(batch));  // "AUGMENT"
}
// Stream of the additive noise of model input t: normal01(key, r * width + j).
inline std::uint64_t aug_noise_key(std::uint64_t batch_key, int t) {
  return rng_key(batch_key, 16 + std::uint64_t(t));
}

// log of a Gamma(alpha, 1) draw (alpha > 0) from its own stream `key`: Marsaglia and Tsang's
// squeeze-free rejection method, attempt i using normal01(key, i) and uniform01(key, 1024 + i);
// alpha < 1 draws Gamma(alpha + 1) times U^(1/alpha) (U = uniform01(key, 4096)), in logs so
// that tiny alphas underflow to a very negative log rather than to 0.
inline double log_gamma_draw(double alpha, std::uint64_t key) {
  const bool boost = alpha < 1.0;
  const double a = boost ? alpha + 1.0 : alpha;
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  double lg = std::log(d);  // never reached in practice (acceptance is above 95 % per attempt)
  for (std::uint64_t i = 0; i < 256; ++i) {
    const double x = normal01(key, i);
    const double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    const double v3 = v * v * v;
    const double u = uniform01(key, 1024 + i);
    if (std::log(u) < 0.5 * x * x + d - d * v3 + d * std::log(v3)) {
      lg = std::log(d * v3);
      break;
    }
  }
  if (boost) lg += std::log(1.0 - uniform01(key, 4096)) / alpha;  // U in (0, 1]
  return lg;
}

// Beta(alpha, alpha) as G1 / (G1 + G2) with two independent Gamma(alpha) draws.
inline double beta_draw(double alpha, std::uint64_t key1, std::uint64_t key2) {
  const double l1 = log_gamma_draw(alpha, key1), l2 = log_gamma_draw(alpha, key2);
  return 1.0 / (1.0 + std::exp(l2 - l1));
}

// Mixup draws of a batch: row r's lam ~ Beta(alpha, alpha) from row r's own streams, and a
// partner permutation of the b batch positions (Fisher-Yates).
inline double mixup_lambda(std::uint64_t batch_key, double alpha, std::int64_t r) {
  return beta_draw(alpha, rng_key(rng_key(batch_key, 2), std::uint64_t(r)),
                   rng_key(rng_key(batch_key, 3), std::uint64_t(r)));
}
inline void mixup_partners(std::uint64_t batch_key, std::int64_t b, std::int64_t* partner) {
  const std::uint64_t kp = rng_key(batch_key, 1);
  for (std::int64_t r = 0; r < b; ++r) partner[r] = r;
  for (std::int64_t i = b - 1; i > 0; --i) {
    const std::int64_t j = std::int64_t(below(kp, std::uint64_t(i), std::uint64_t(i) + 1));
    const std::int64_t t = partner[i];
    partner[i] = partner[j];
    partner[j] = t;
  }
}

}  // namespace train
}  // namespace fastnn
