// Gradient clipping helpers: sum of squares (for the global norm), scale, clamp.
#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

// Float64 accumulation; the simd reduction order depends only on n and the vector width
// of this ISA, never on threads (callers reduce fixed-size blocks, then add in order).
template <class T>
double sumsq(const T* x, index_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (index_t i = 0; i < n; ++i) {
    const double v = double(x[i]);
    acc += v * v;
  }
  return acc;
}

// One pass for an L2 penalty: its gradient into g and the sum of squares of w.
template <class T>
double sumsq_axpy(const T* __restrict w, T* __restrict g, index_t n, T c) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (index_t i = 0; i < n; ++i) {
    const T wi = w[i];
    const double v = double(wi);
    acc += v * v;
    g[i] += c * wi;
  }
  return acc;
}

template <class T>
void scale(T* x, index_t n, T s) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) x[i] = x[i] * s;
}

template <class T>
void clamp(T* x, index_t n, T lo, T hi) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) {
    const T v = x[i];
    x[i] = v < lo ? lo : (v > hi ? hi : v);
  }
}

}  // namespace

void fill_clip(OptimKernels& t) {
  t.f32.sumsq = sumsq<float>;
  t.f64.sumsq = sumsq<double>;
  t.f32.sumsq_axpy = sumsq_axpy<float>;
  t.f64.sumsq_axpy = sumsq_axpy<double>;
  t.f32.scale = scale<float>;
  t.f64.scale = scale<double>;
  t.f32.clamp = clamp<float>;
  t.f64.clamp = clamp<double>;
}
FASTNN_ISA_END
