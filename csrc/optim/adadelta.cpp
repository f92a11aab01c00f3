// torch.optim.Adadelta: weight decay, maximize.
#include <cmath>

#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, bool WD>
void adadelta_range(const AdadeltaArgs<T>& a, index_t begin, index_t end) {
  const T lr = T(a.lr), rho = T(a.rho), c = T(1.0 - a.rho), eps = T(a.eps), wd = T(a.weight_decay);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict sq = a.square_avg;
  T* __restrict acc = a.acc_delta;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T gi = sign * g[i];
    if constexpr (WD) gi = gi + wd * p[i];
    const T s = rho * sq[i] + c * (gi * gi);
    sq[i] = s;
    const T delta = std::sqrt(acc[i] + eps) / std::sqrt(s + eps) * gi;
    acc[i] = rho * acc[i] + c * (delta * delta);
    p[i] = p[i] - lr * delta;
  }
}

template <class T>
void adadelta(const AdadeltaArgs<T>& a, index_t begin, index_t end) {
  if (a.weight_decay != 0.0) adadelta_range<T, true>(a, begin, end);
  else adadelta_range<T, false>(a, begin, end);
}

}  // namespace

void fill_adadelta(OptimKernels& t) {
  t.f32.adadelta = adadelta<float>;
  t.f64.adadelta = adadelta<double>;
}
FASTNN_ISA_END
