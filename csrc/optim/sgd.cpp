// torch.optim.SGD: weight decay, (Nesterov) momentum with dampening, maximize.
#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

enum Momentum { kNone, kBuffer, kFirst };

template <class T, bool WD, int MOM, bool NESTEROV>
void sgd_range(const SgdArgs<T>& a, index_t begin, index_t end) {
  const T lr = T(a.lr), wd = T(a.weight_decay), mu = T(a.momentum), keep = T(1.0 - a.dampening);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict buf = a.momentum_buffer;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T d = sign * g[i];
    if constexpr (WD) d = d + wd * p[i];
    if constexpr (MOM == kBuffer) {
      const T b = mu * buf[i] + keep * d;
      buf[i] = b;
      d = NESTEROV ? d + mu * b : b;
    } else if constexpr (MOM == kFirst) {
      buf[i] = d;
      if constexpr (NESTEROV) d = d + mu * d;
    }
    p[i] = p[i] - lr * d;
  }
}

template <class T, bool WD>
void sgd_mode(const SgdArgs<T>& a, index_t begin, index_t end) {
  if (a.momentum == 0.0) return sgd_range<T, WD, kNone, false>(a, begin, end);
  if (a.first_step)
    return a.nesterov ? sgd_range<T, WD, kFirst, true>(a, begin, end) : sgd_range<T, WD, kFirst, false>(a, begin, end);
  return a.nesterov ? sgd_range<T, WD, kBuffer, true>(a, begin, end) : sgd_range<T, WD, kBuffer, false>(a, begin, end);
}

template <class T>
void sgd(const SgdArgs<T>& a, index_t begin, index_t end) {
  if (a.weight_decay != 0.0) sgd_mode<T, true>(a, begin, end);
  else sgd_mode<T, false>(a, begin, end);
}

}  // namespace

void fill_sgd(OptimKernels& t) {
  t.f32.sgd = sgd<float>;
  t.f64.sgd = sgd<double>;
}
FASTNN_ISA_END
