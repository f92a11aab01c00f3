// torch.optim.Adam / AdamW: coupled (L2) or decoupled weight decay, AMSGrad, maximize.
#include <cmath>

#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, bool COUPLED_WD, bool AMSGRAD>
void adam_range(const AdamArgs<T>& a, index_t begin, index_t end) {
  const double bc1 = a.bias_correction1 > 0 ? a.bias_correction1 : bias_correction(a.beta1, a.step);
  const double bc2 = a.bias_correction2 > 0 ? a.bias_correction2 : bias_correction(a.beta2, a.step);
  const T step_size = T(a.lr / bc1);
  const T inv_bc2_sqrt = T(1.0 / std::sqrt(bc2));
  // Decoupled decay multiplies param by (1 - lr*wd); 1 exactly when it is off.
  const T decay = T(a.decoupled_weight_decay ? 1.0 - a.lr * a.weight_decay : 1.0);
  const T wd = T(a.weight_decay), b1 = T(a.beta1), b2 = T(a.beta2);
  const T c1 = T(1.0 - a.beta1), c2 = T(1.0 - a.beta2), eps = T(a.eps);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict m = a.exp_avg;
  T* __restrict v = a.exp_avg_sq;
  T* __restrict vmax = a.max_exp_avg_sq;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T gi = sign * g[i];
    T pi = p[i] * decay;
    if constexpr (COUPLED_WD) gi = gi + wd * pi;
    const T mi = b1 * m[i] + c1 * gi;
    const T vi = b2 * v[i] + c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    T vv = vi;
    if constexpr (AMSGRAD) {
      const T old = vmax[i];
      vv = old > vi ? old : vi;
      vmax[i] = vv;
    }
    const T denom = std::sqrt(vv) * inv_bc2_sqrt + eps;
    p[i] = pi - step_size * (mi / denom);
  }
}

template <class T>
void adam(const AdamArgs<T>& a, index_t begin, index_t end) {
  const bool coupled = a.weight_decay != 0.0 && !a.decoupled_weight_decay;
  if (coupled) {
    if (a.amsgrad) adam_range<T, true, true>(a, begin, end);
    else adam_range<T, true, false>(a, begin, end);
  } else {
    if (a.amsgrad) adam_range<T, false, true>(a, begin, end);
    else adam_range<T, false, false>(a, begin, end);
  }
}

}  // namespace

void fill_adam(OptimKernels& t) {
  t.f32.adam = adam<float>;
  t.f64.adam = adam<double>;
}
FASTNN_ISA_END
