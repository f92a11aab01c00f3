// torch.optim.NAdam: Nesterov-accelerated Adam with momentum decay; coupled or decoupled
// weight decay, maximize.
#include <cmath>

#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, bool COUPLED_WD>
void nadam_range(const NadamArgs<T>& a, index_t begin, index_t end) {
  const double t = double(a.step);
  const double mu = a.beta1 * (1.0 - 0.5 * std::pow(0.96, t * a.momentum_decay));
  const double mu_next = a.beta1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * a.momentum_decay));
  const double mu_prod = a.mu_product * mu;  // product up to this step
  const T cg = T(a.lr * (1.0 - mu) / (1.0 - mu_prod));
  const T cm = T(a.lr * mu_next / (1.0 - mu_prod * mu_next));
  const T bc2 = T(bias_correction(a.beta2, a.step));
  const T decay = T(a.decoupled_weight_decay ? 1.0 - a.lr * a.weight_decay : 1.0);
  const T wd = T(a.weight_decay), b1 = T(a.beta1), c1 = T(1.0 - a.beta1);
  const T b2 = T(a.beta2), c2 = T(1.0 - a.beta2), eps = T(a.eps);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict m = a.exp_avg;
  T* __restrict v = a.exp_avg_sq;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T gi = sign * g[i];
    const T pi = p[i] * decay;
    if constexpr (COUPLED_WD) gi = gi + wd * pi;
    const T mi = b1 * m[i] + c1 * gi;
    const T vi = b2 * v[i] + c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    const T denom = std::sqrt(vi / bc2) + eps;
    p[i] = pi - (cg * gi + cm * mi) / denom;
  }
}

template <class T>
void nadam(const NadamArgs<T>& a, index_t begin, index_t end) {
  if (a.weight_decay != 0.0 && !a.decoupled_weight_decay) nadam_range<T, true>(a, begin, end);
  else nadam_range<T, false>(a, begin, end);
}

}  // namespace

void fill_nadam(OptimKernels& t) {
  t.f32.nadam = nadam<float>;
  t.f64.nadam = nadam<double>;
}
FASTNN_ISA_END
