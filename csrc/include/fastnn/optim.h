// Fused optimizer update kernels and gradient-clipping helpers (csrc/optim/).
//
// Every update kernel is ONE pass over [begin, end) of flat, contiguous arrays: it reads
// param, grad and the optimizer state and writes param and the state, each element
// independent of the others.  Kernels are serial; callers split large arrays across
// threads in chunks (any split gives bitwise the same result).  The step-dependent scalars
// (bias corrections, decayed learning rates, ...) are computed in double precision once at
// the kernel's entry, before the element loop, from the hyperparameters below; arithmetic
// in the loop is in T.
//
// The update rules are those of torch.optim (see python/fastnn/_ops_optim.py for each rule
// written out).  Hyperparameters are passed as the user gave them; `step` is the 1-based
// step count after increment.  Pointers must not alias each other; optional state pointers
// are nullptr when the option that needs them is off.
//
// This header holds types only (no function bodies): it is included by sources compiled
// once per ISA.
#pragma once
#include <cmath>
#include "fastnn/common.h"

namespace fastnn {

// torch.optim.SGD.  momentum_buffer may be nullptr when momentum == 0.  With first_step the
// buffer is set to the (weight-decayed) gradient and its old contents are never read.
template <class T>
struct SgdArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* momentum_buffer = nullptr;
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false, first_step = false;
};

// torch.optim.Adam (coupled L2 weight decay) / AdamW (decoupled_weight_decay).
template <class T>
struct AdamArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* exp_avg = nullptr;
  T* exp_avg_sq = nullptr;
  T* max_exp_avg_sq = nullptr;  // amsgrad only
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  index_t step = 1;
  bool decoupled_weight_decay = false, amsgrad = false, maximize = false;
  // 1 - beta1^step and 1 - beta2^step when the caller computed them once for many range
  // calls (adam_bias_corrections); 0: the kernel computes them.
  double bias_correction1 = 0, bias_correction2 = 0;
};

// 1 - beta^step: Adam's bias correction (the kernel's formula, one place).
inline double bias_correction(double beta, index_t step) { return 1.0 - std::pow(beta, double(step)); }

// Fills a.bias_correction1/2 once for many range calls.
template <class T>
inline void adam_bias_corrections(AdamArgs<T>& a) {
  a.bias_correction1 = bias_correction(a.beta1, a.step);
  a.bias_correction2 = bias_correction(a.beta2, a.step);
}

// torch.optim.RMSprop.
template <class T>
struct RmspropArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* square_avg = nullptr;
  T* momentum_buffer = nullptr;  // momentum > 0 only
  T* grad_avg = nullptr;         // centered only
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
};

// torch.optim.Adagrad (state_sum starts at initial_accumulator_value, set by the caller).
template <class T>
struct AdagradArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* state_sum = nullptr;
  double lr = 1e-2, lr_decay = 0, weight_decay = 0, eps = 1e-10;
  index_t step = 1;
  bool maximize = false;
};

// torch.optim.Adadelta.
template <class T>
struct AdadeltaArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* square_avg = nullptr;
  T* acc_delta = nullptr;
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0;
  bool maximize = false;
};

// torch.optim.Adamax.
template <class T>
struct AdamaxArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* exp_avg = nullptr;
  T* exp_inf = nullptr;
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  index_t step = 1;
  bool maximize = false;
};

// torch.optim.NAdam.  mu_product is the product of the momentum coefficients mu_1..mu_{t-1}
// of the previous steps (1.0 before the first step); the caller stores mu_product * mu_t
// for the next step (mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))).
template <class T>
struct NadamArgs {
  T* param = nullptr;
  const T* grad = nullptr;
  T* exp_avg = nullptr;
  T* exp_avg_sq = nullptr;
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0, momentum_decay = 4e-3;
  double mu_product = 1.0;
  index_t step = 1;
  bool decoupled_weight_decay = false, maximize = false;
};

// Range kernels: update elements [begin, end).
template <class A> using UpdateFn = void (*)(const A& args, index_t begin, index_t end);
// Sum of squares of x[0..n) in double precision, in an order fixed by n and the ISA only.
template <class T> using SumSqFn = double (*)(const T* x, index_t n);
// g[i] += c * w[i], returning the sum of squares of w[0..n) as SumSqFn does (L2 penalty).
template <class T> using SumSqAxpyFn = double (*)(const T* w, T* g, index_t n, T c);
// x[i] *= s.
template <class T> using ScaleFn = void (*)(T* x, index_t n, T s);
// x[i] = min(max(x[i], lo), hi); NaN stays NaN.
template <class T> using ClampFn = void (*)(T* x, index_t n, T lo, T hi);
// out[j] = x[0][j] + x[1][j] + ... + x[rows-1][j] (added in that order) for j < cols, row
// stride ld: a bias gradient.  Each column is reduced on its own, so any split of the
// columns gives the same bits.
template <class T> using ColSumFn = void (*)(T* out, const T* x, index_t rows, index_t cols, index_t ld);

// Block size (elements) of the deterministic global-norm reduction: the sum of squares of
// each block is computed independently (in parallel), then the block sums are added in
// order on one thread, so the result never depends on the thread count.
constexpr index_t kNormBlock = 4096;

template <class T>
struct OptimFns {
  UpdateFn<SgdArgs<T>> sgd = nullptr;
  UpdateFn<AdamArgs<T>> adam = nullptr;
  UpdateFn<RmspropArgs<T>> rmsprop = nullptr;
  UpdateFn<AdagradArgs<T>> adagrad = nullptr;
  UpdateFn<AdadeltaArgs<T>> adadelta = nullptr;
  UpdateFn<AdamaxArgs<T>> adamax = nullptr;
  UpdateFn<NadamArgs<T>> nadam = nullptr;
  SumSqFn<T> sumsq = nullptr;
  SumSqAxpyFn<T> sumsq_axpy = nullptr;
  ScaleFn<T> scale = nullptr;
  ClampFn<T> clamp = nullptr;
  ColSumFn<T> colsum = nullptr;
};

struct OptimKernels {
  OptimFns<float> f32;
  OptimFns<double> f64;
};

}  // namespace fastnn

FASTNN_FOR_EACH_ISA_DECL(void fill_optim(OptimKernels& t))
