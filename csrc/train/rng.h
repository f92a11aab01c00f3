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

}  // namespace train
}  // namespace fastnn
