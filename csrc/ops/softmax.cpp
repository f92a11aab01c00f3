// Row-wise softmax / log_softmax, forward and backward, float and double.
//
// A row is processed in L1-sized passes: max, then exp(x - max) with its sum (stored for
// softmax), then the scaling.  Reductions use `#pragma omp simd reduction`, so their order
// depends only on the ISA, never on the thread count (rows are never split).
#include "ops/vmath.h"  // first: sets the floating-point options of this file

#include <limits>

#include "fastnn/act.h"

FASTNN_ISA_BEGIN
namespace {

template <class T>
FASTNN_VINLINE T row_max(index_t n, const T* x) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (index_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <class T>
void softmax_rows(index_t rows, index_t cols, const T* x, index_t ldx, T* y, index_t ldy) {
  for (index_t i = 0; i < rows; ++i) {
    const T* xi = x + i * ldx;
    T* yi = y + i * ldy;
    const T m = row_max(cols, xi);
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (index_t j = 0; j < cols; ++j) {
      const T e = vm::exp_ftz(xi[j] - m);
      yi[j] = e;
      s += e;
    }
    const T inv = T(1) / s;
#pragma omp simd
    for (index_t j = 0; j < cols; ++j) yi[j] *= inv;
  }
}

template <class T>
void log_softmax_rows(index_t rows, index_t cols, const T* x, index_t ldx, T* y, index_t ldy) {
  for (index_t i = 0; i < rows; ++i) {
    const T* xi = x + i * ldx;
    T* yi = y + i * ldy;
    const T m = row_max(cols, xi);
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (index_t j = 0; j < cols; ++j) s += vm::exp_ftz(xi[j] - m);
    const T ls = vm::log_pos(s);  // s >= 1 (the max contributes exp(0))
#pragma omp simd
    for (index_t j = 0; j < cols; ++j) yi[j] = (xi[j] - m) - ls;
  }
}

// dx = y * (dy - sum(dy * y))
template <class T>
void softmax_bwd_rows(index_t rows, index_t cols, const T* y, index_t ldy, const T* dy, index_t lddy, T* dx,
                      index_t lddx) {
  for (index_t i = 0; i < rows; ++i) {
    const T* yi = y + i * ldy;
    const T* gi = dy + i * lddy;
    T* di = dx + i * lddx;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (index_t j = 0; j < cols; ++j) s += gi[j] * yi[j];
#pragma omp simd
    for (index_t j = 0; j < cols; ++j) di[j] = yi[j] * (gi[j] - s);
  }
}

// dx = dy - exp(y) * sum(dy), y = log_softmax(x)
template <class T>
void log_softmax_bwd_rows(index_t rows, index_t cols, const T* y, index_t ldy, const T* dy, index_t lddy, T* dx,
                          index_t lddx) {
  for (index_t i = 0; i < rows; ++i) {
    const T* yi = y + i * ldy;
    const T* gi = dy + i * lddy;
    T* di = dx + i * lddx;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (index_t j = 0; j < cols; ++j) s += gi[j];
#pragma omp simd
    for (index_t j = 0; j < cols; ++j) di[j] = gi[j] - vm::exp(yi[j]) * s;
  }
}

}  // namespace

void fill_softmax(ActKernels& t) {
  t.softmax_f32 = softmax_rows<float>;
  t.softmax_f64 = softmax_rows<double>;
  t.log_softmax_f32 = log_softmax_rows<float>;
  t.log_softmax_f64 = log_softmax_rows<double>;
  t.softmax_bwd_f32 = softmax_bwd_rows<float>;
  t.softmax_bwd_f64 = softmax_bwd_rows<double>;
  t.log_softmax_bwd_f32 = log_softmax_bwd_rows<float>;
  t.log_softmax_bwd_f64 = log_softmax_bwd_rows<double>;
}
FASTNN_ISA_END
