// Micro-kernel contract (BLIS style).  One MR x NR tile of C:
//
//   C[0:m, 0:n] = alpha * sum_p A[:, p] (x) B[p, :] + beta * C[0:m, 0:n]
//
//   a : packed A micro-panel, k-major: a[p*MR + i]       (zero-padded to MR rows)
//   b : B micro-panel, row p at b + p*ldb, NR contiguous  (ldb = NR when packed)
//   c : C tile, row stride ldc; only m <= MR rows and n <= NR columns are touched
//   beta == 0: C is not read.
//
// Each ISA header (ukr_<isa>.h) defines UkrF32 / UkrF64 with MR, NR and cache blocking
// parameters, a `run` with the signature below, and `run_direct`, the same tile with A read
// in place: A(i, p) = a[p*as + i*ai] for i < m (rows i >= m repeat row m-1 and are never
// stored), for A panels used only once and for small untransposed A that stays in L1
// (packing would cost more than it saves).
// Both compute each element of C with the same operations in the same order.
#pragma once
#include "fastnn/common.h"

// The forward epilogue in registers (epi non-null, last K block only): after alpha/beta,
//   r += bias[j]; z[i][j] = r (z non-null); r = relu(r) (relu)
// with the operations of the separate epilogue pass, so the same bits.
namespace fastnn {
template <class T>
struct UkrEpi {
  const T* bias = nullptr;  // this tile's first column, or nullptr
  T* z = nullptr;           // this tile's first element, or nullptr
  index_t ldz = 0;
  bool relu = false;
};
}  // namespace fastnn

#define FASTNN_UKR_SIGNATURE(T)                                                                              \
  void run(index_t k, const T* a, const T* b, index_t ldb, T* c, index_t ldc, T alpha, T beta, int m, int n,   \
           const UkrEpi<T>* epi);                                                                              \
  static void run_direct(index_t k, const T* a, index_t as, index_t ai, const T* b, index_t ldb, T* c,         \
                         index_t ldc, T alpha, T beta, int m, int n, const UkrEpi<T>* epi)
