// torch.optim.Adamax: infinity-norm Adam; weight decay, maximize.
#include <cmath>

#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, bool WD>
void adamax_range(const AdamaxArgs<T>& a, index_t begin, index_t end) {
  const T clr = T(a.lr / bias_correction(a.beta1, a.step));
  const T b1 = T(a.beta1), c1 = T(1.0 - a.beta1), b2 = T(a.beta2), eps = T(a.eps), wd = T(a.weight_decay);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict m = a.exp_avg;
  T* __restrict u = a.exp_inf;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T gi = sign * g[i];
    if constexpr (WD) gi = gi + wd * p[i];
    const T mi = b1 * m[i] + c1 * gi;
    m[i] = mi;
    const T decayed = b2 * u[i];
    const T cand = std::fabs(gi) + eps;
    const T ui = decayed > cand ? decayed : cand;
    u[i] = ui;
    p[i] = p[i] - clr * (mi / ui);
  }
}

template <class T>
void adamax(const AdamaxArgs<T>& a, index_t begin, index_t end) {
  if (a.weight_decay != 0.0) adamax_range<T, true>(a, begin, end);
  else adamax_range<T, false>(a, begin, end);
}

}  // namespace

void fill_adamax(OptimKernels& t) {
  t.f32.adamax = adamax<float>;
  t.f64.adamax = adamax<double>;
}
FASTNN_ISA_END
