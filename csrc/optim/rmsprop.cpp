// torch.optim.RMSprop: weight decay, centered variant, momentum, maximize.
#include <cmath>

#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, bool WD, bool CENTERED, bool MOMENTUM>
void rmsprop_range(const RmspropArgs<T>& a, index_t begin, index_t end) {
  const T lr = T(a.lr), alpha = T(a.alpha), c = T(1.0 - a.alpha), eps = T(a.eps);
  const T wd = T(a.weight_decay), mu = T(a.momentum);
  const T sign = a.maximize ? T(-1) : T(1);
  T* __restrict p = a.param;
  const T* __restrict g = a.grad;
  T* __restrict sq = a.square_avg;
  T* __restrict buf = a.momentum_buffer;
  T* __restrict ga = a.grad_avg;
#pragma omp simd
  for (index_t i = begin; i < end; ++i) {
    T gi = sign * g[i];
    if constexpr (WD) gi = gi + wd * p[i];
    const T s = alpha * sq[i] + c * (gi * gi);
    sq[i] = s;
    T avg;
    if constexpr (CENTERED) {
      const T gm = alpha * ga[i] + c * gi;
      ga[i] = gm;
      avg = std::sqrt(s - gm * gm) + eps;
    } else {
      avg = std::sqrt(s) + eps;
    }
    if constexpr (MOMENTUM) {
      const T b = mu * buf[i] + gi / avg;
      buf[i] = b;
      p[i] = p[i] - lr * b;
    } else {
      p[i] = p[i] - lr * (gi / avg);
    }
  }
}

template <class T, bool WD>
void rmsprop_mode(const RmspropArgs<T>& a, index_t begin, index_t end) {
  const bool mom = a.momentum > 0.0;
  if (a.centered) {
    if (mom) rmsprop_range<T, WD, true, true>(a, begin, end);
    else rmsprop_range<T, WD, true, false>(a, begin, end);
  } else {
    if (mom) rmsprop_range<T, WD, false, true>(a, begin, end);
    else rmsprop_range<T, WD, false, false>(a, begin, end);
  }
}

template <class T>
void rmsprop(const RmspropArgs<T>& a, index_t begin, index_t end) {
  if (a.weight_decay != 0.0) rmsprop_mode<T, true>(a, begin, end);
  else rmsprop_mode<T, false>(a, begin, end);
}

}  // namespace

void fill_rmsprop(OptimKernels& t) {
  t.f32.rmsprop = rmsprop<float>;
  t.f64.rmsprop = rmsprop<double>;
}
FASTNN_ISA_END
