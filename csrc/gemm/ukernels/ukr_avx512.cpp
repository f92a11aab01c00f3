// AVX-512 (F/BW/DQ/VL) vector traits and micro-kernels.
#include "gemm/ukernels/ukr_avx512.h"

#include <immintrin.h>

FASTNN_ISA_BEGIN
namespace {

struct VF {
  using T = float; using reg = __m512; using mask = __mmask16;
  static constexpr int W = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const T* p) { return _mm512_loadu_ps(p); }
  static reg loadm(const T* p, mask k) { return _mm512_maskz_loadu_ps(k, p); }
  static void store(T* p, reg r) { _mm512_storeu_ps(p, r); }
  static void storem(T* p, mask k, reg r) { _mm512_mask_storeu_ps(p, k, r); }
  static reg set1(T x) { return _mm512_set1_ps(x); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg relu(reg x) { return _mm512_max_ps(zero(), x); }  // x < 0 ? 0 : x, NaN kept
  static mask mask_n(int n) { return n <= 0 ? mask(0) : n >= W ? mask(0xFFFF) : mask((1u << n) - 1u); }
};

struct VD {
  using T = double; using reg = __m512d; using mask = __mmask8;
  static constexpr int W = 8;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg load(const T* p) { return _mm512_loadu_pd(p); }
  static reg loadm(const T* p, mask k) { return _mm512_maskz_loadu_pd(k, p); }
  static void store(T* p, reg r) { _mm512_storeu_pd(p, r); }
  static void storem(T* p, mask k, reg r) { _mm512_mask_storeu_pd(p, k, r); }
  static reg set1(T x) { return _mm512_set1_pd(x); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  static reg relu(reg x) { return _mm512_max_pd(zero(), x); }
  static mask mask_n(int n) { return n <= 0 ? mask(0) : n >= W ? mask(0xFF) : mask((1u << n) - 1u); }
};

#include "gemm/ukernels/ukr_vec_body.h"

}  // namespace

// The packed and the in-place-A entry points of each tile.
#define FASTNN_RUNS(Name, T, V)                                                                               \
  void Name::run(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, T alpha, T beta, int m,     \
                 int n, const UkrEpi<T>* epi) {                                                                 \
    ukr_vec<V, MR, NR / V::W>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi);                                    \
  }                                                                                                             \
  void Name::run_direct(index_t k, const T* a, index_t as, index_t ai, const T* b, index_t ldb, T* c,           \
                        index_t ldc, T alpha, T beta, int m, int n, const UkrEpi<T>* epi) {                     \
    ukr_vec<V, MR, NR / V::W, true>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);                      \
  }
FASTNN_RUNS(UkrF32, float, VF)
FASTNN_RUNS(UkrF32N2, float, VF)
FASTNN_RUNS(UkrF32N1, float, VF)
FASTNN_RUNS(UkrF64, double, VD)
FASTNN_RUNS(UkrF64N2, double, VD)
FASTNN_RUNS(UkrF64N1, double, VD)
#undef FASTNN_RUNS
FASTNN_ISA_END
