// AVX2 + FMA vector traits and micro-kernels.  Edge columns use maskload/maskstore.
#include "gemm/ukernels/ukr_avx2.h"

#include <immintrin.h>

FASTNN_ISA_BEGIN
namespace {

inline __m256i lane_mask32(int n) {  // first n of 8 int32 lanes set
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n < 0 ? 0 : n), idx);
}
inline __m256i lane_mask64(int n) {  // first n of 4 int64 lanes set
  const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n < 0 ? 0 : n), idx);
}

struct VF {
  using T = float; using reg = __m256; using mask = __m256i;
  static constexpr int W = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const T* p) { return _mm256_loadu_ps(p); }
  static reg loadm(const T* p, mask k) { return _mm256_maskload_ps(p, k); }
  static void store(T* p, reg r) { _mm256_storeu_ps(p, r); }
  static void storem(T* p, mask k, reg r) { _mm256_maskstore_ps(p, k, r); }
  static reg set1(T x) { return _mm256_set1_ps(x); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg relu(reg x) { return _mm256_max_ps(zero(), x); }  // x < 0 ? 0 : x, NaN kept
  static mask mask_n(int n) { return lane_mask32(n); }
};

struct VD {
  using T = double; using reg = __m256d; using mask = __m256i;
  static constexpr int W = 4;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg load(const T* p) { return _mm256_loadu_pd(p); }
  static reg loadm(const T* p, mask k) { return _mm256_maskload_pd(p, k); }
  static void store(T* p, reg r) { _mm256_storeu_pd(p, r); }
  static void storem(T* p, mask k, reg r) { _mm256_maskstore_pd(p, k, r); }
  static reg set1(T x) { return _mm256_set1_pd(x); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static reg relu(reg x) { return _mm256_max_pd(zero(), x); }
  static mask mask_n(int n) { return lane_mask64(n); }
};

#include "gemm/ukernels/ukr_vec_body.h"

}  // namespace

void UkrF32::run_direct(index_t k, const float* a, index_t as, index_t ai, const float* b, index_t ldb, float* c,
                        index_t ldc, float alpha, float beta, int m, int n, const UkrEpi<float>* epi) {
  ukr_vec<VF, MR, NR / VF::W, true>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
}
void UkrF64::run_direct(index_t k, const double* a, index_t as, index_t ai, const double* b, index_t ldb, double* c,
                        index_t ldc, double alpha, double beta, int m, int n, const UkrEpi<double>* epi) {
  ukr_vec<VD, MR, NR / VD::W, true>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
}
void UkrF32::run(index_t k, const float* a, const float* b, index_t ldb, float* c, index_t ldc, float alpha,
                 float beta, int m, int n, const UkrEpi<float>* epi) {
  ukr_vec<VF, MR, NR / VF::W>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi);
}
void UkrF64::run(index_t k, const double* a, const double* b, index_t ldb, double* c, index_t ldc, double alpha,
                 double beta, int m, int n, const UkrEpi<double>* epi) {
  ukr_vec<VD, MR, NR / VD::W>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi);
}
FASTNN_ISA_END
