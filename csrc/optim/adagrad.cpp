// torch.optim.Adagrad: learning-rate decay, weight decay, maximize.
#include <cmath>

#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, bool WD>
void adagrad_range(const AdagradArgs<T>& a, index_t begin, index_t end) {
  const T clr = T(a.lr / (1.0 + double(a.step - 1) * a.lr_decay));
  const T wd = T(a.weight_decay), eps = T(a.eps);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict ss = a.state_sum;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T gi = sign * g[i];
    if constexpr (WD) gi = gi + wd * p[i];
    const T s = ss[i] + gi * gi;
    ss[i] = s;
    p[i] = p[i] - clr * (gi / (std::sqrt(s) + eps));
  }
}

template <class T>
void adagrad(const AdagradArgs<T>& a, index_t begin, index_t end) {
  if (a.weight_decay != 0.0) adagrad_range<T, true>(a, begin, end);
  else adagrad_range<T, false>(a, begin, end);
}

}  // namespace

void fill_adagrad(OptimKernels& t) {
  t.f32.adagrad = adagrad<float>;
  t.f64.adagrad = adagrad<double>;
}
FASTNN_ISA_END
