// Portable reference micro-kernel (ukr_ref): a plain MR x NR accumulator array.
#include "gemm/ukernels/ukr_generic.h"

FASTNN_ISA_BEGIN
namespace {

// A(i, p) = a[p*as + i*ai]: packed (as = MR, ai = 1) or read in place (rows >= m repeat row m-1).
template <class T, int MR, int NR>
void ukr_ref(index_t k, const T* __restrict a, const T* __restrict b, index_t ldb, T* __restrict c, index_t ldc,
             T alpha, T beta, int m, int n, const UkrEpi<T>* epi, index_t as = MR, index_t a_row = 1) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < k; ++p) {
    const T* bp = b + p * ldb;
    const T* ap = a + p * as;
    for (int i = 0; i < MR; ++i) {
      const T ai = ap[(i < m ? i : m - 1) * a_row];
#pragma omp simd
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
    }
  }
  for (int i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    for (int j = 0; j < n; ++j) {
      T r = alpha * acc[i][j];
      if (beta != T(0)) r = beta * ci[j] + r;
      if (epi) {
        if (epi->bias) r = r + epi->bias[j];
        if (epi->z) epi->z[i * epi->ldz + j] = r;
        if (epi->relu) r = r < T(0) ? T(0) : r;
      }
      ci[j] = r;
    }
  }
}

}  // namespace

void UkrF32::run_direct(index_t k, const float* a, index_t as, index_t ai, const float* b, index_t ldb, float* c,
                        index_t ldc, float alpha, float beta, int m, int n, const UkrEpi<float>* epi) {
  ukr_ref<float, MR, NR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
}
void UkrF64::run_direct(index_t k, const double* a, index_t as, index_t ai, const double* b, index_t ldb, double* c,
                        index_t ldc, double alpha, double beta, int m, int n, const UkrEpi<double>* epi) {
  ukr_ref<double, MR, NR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
}
void UkrF32::run(index_t k, const float* a, const float* b, index_t ldb, float* c, index_t ldc, float alpha,
                 float beta, int m, int n, const UkrEpi<float>* epi) {
  ukr_ref<float, MR, NR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi);
}
void UkrF64::run(index_t k, const double* a, const double* b, index_t ldb, double* c, index_t ldc, double alpha,
                 double beta, int m, int n, const UkrEpi<double>* epi) {
  ukr_ref<double, MR, NR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi);
}
FASTNN_ISA_END
