// Activation and row-wise (softmax) kernel interface.
//
// Every function here is serial over the range it is given; callers split large
// ranges across threads in chunks (results never depend on the split: each output
// element is computed from its own inputs only; softmax rows are never split).
#pragma once
#include "fastnn/common.h"

namespace fastnn {

enum ActId : int {
  ACT_IDENTITY = 0,
  ACT_RELU,
  ACT_LEAKY_RELU,   // alpha: negative slope
  ACT_ELU,          // alpha
  ACT_SELU,
  ACT_SIGMOID,
  ACT_TANH,
  ACT_GELU,         // exact (erf) form
  ACT_GELU_TANH,    // tanh approximation
  ACT_SILU,
  ACT_MISH,
  ACT_SOFTPLUS,
  ACT_COUNT
};

// y[i] = f(x[i]); y may alias x.
template <class T> using ActFwdFn = void (*)(index_t n, const T* x, T* y, T alpha);
// dx[i] = dy[i] * f'(x[i]).  y = f(x) may be passed (or nullptr) so kernels that can use
// it (sigmoid, tanh, ...) skip recomputation; dx may alias dy.
template <class T> using ActBwdFn = void (*)(index_t n, const T* x, const T* y, const T* dy, T* dx, T alpha);
// Row-wise over `rows` rows of `cols` contiguous elements, row strides ldx / ldy.
template <class T> using RowFwdFn = void (*)(index_t rows, index_t cols, const T* x, index_t ldx, T* y, index_t ldy);
// Softmax backward from the forward output y: dx = y * (dy - sum(dy * y)) (softmax),
// dx = dy - exp(y) * sum(dy) (log_softmax, y = log_softmax(x)).
template <class T> using RowBwdFn = void (*)(index_t rows, index_t cols, const T* y, index_t ldy, const T* dy, index_t lddy, T* dx, index_t lddx);

struct ActKernels {
  ActFwdFn<float> fwd_f32[ACT_COUNT] = {};
  ActFwdFn<double> fwd_f64[ACT_COUNT] = {};
  ActBwdFn<float> bwd_f32[ACT_COUNT] = {};
  ActBwdFn<double> bwd_f64[ACT_COUNT] = {};
  RowFwdFn<float> softmax_f32 = nullptr, log_softmax_f32 = nullptr;
  RowFwdFn<double> softmax_f64 = nullptr, log_softmax_f64 = nullptr;
  RowBwdFn<float> softmax_bwd_f32 = nullptr, log_softmax_bwd_f32 = nullptr;
  RowBwdFn<double> softmax_bwd_f64 = nullptr, log_softmax_bwd_f64 = nullptr;
};

}  // namespace fastnn

FASTNN_FOR_EACH_ISA_DECL(void fill_act(ActKernels& t))
