// Non-temporal copy of an L1-resident block to memory (per-ISA vector width).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "fastnn/common.h"

FASTNN_ISA_BEGIN
namespace vm {

#if defined(__AVX512F__)
constexpr int kStreamBytes = 64;
#elif defined(__AVX__)
constexpr int kStreamBytes = 32;
#elif defined(__SSE2__)
constexpr int kStreamBytes = 16;
#else
constexpr int kStreamBytes = 0;
#endif

// Elements before `p` reaches kStreamBytes alignment (0 when streaming is unavailable or p
// is not even aligned to its element size).
template <class T>
inline index_t stream_head(const T* p, index_t n) {
  if (kStreamBytes == 0) return n;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a % sizeof(T)) return n;
  const index_t h = static_cast<index_t>(((kStreamBytes - a % kStreamBytes) % kStreamBytes) / sizeof(T));
  return h < n ? h : n;
}

// dst (kStreamBytes-aligned) <- src (64-byte aligned), n elements.
template <class T>
inline void stream_copy(T* dst, const T* src, index_t n) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  std::size_t i = 0;
  char* d = reinterpret_cast<char*>(dst);
  const char* s = reinterpret_cast<const char*>(src);
#if defined(__AVX512F__)
  for (; i + 64 <= bytes; i += 64)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i), _mm512_load_si512(reinterpret_cast<const void*>(s + i)));
#elif defined(__AVX__)
  for (; i + 32 <= bytes; i += 32)
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i), _mm256_load_si256(reinterpret_cast<const __m256i*>(s + i)));
#elif defined(__SSE2__)
  for (; i + 16 <= bytes; i += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), _mm_load_si128(reinterpret_cast<const __m128i*>(s + i)));
#endif
  if (i < bytes) std::memcpy(d + i, s + i, bytes - i);
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace vm
FASTNN_ISA_END
