// Streaming (non-temporal store) variants of the activation kernels, for outputs too large
// to stay in cache: each block is computed into an L1 buffer by the regular kernel, then
// written with non-temporal stores, which skips the read-for-ownership of the destination.
// Same results as the table kernels, bit for bit.  Chosen by the bindings for large
// arrays; the GEMM epilogue keeps the table kernels (its output is hot in cache).
#pragma once
#include "fastnn/act.h"

namespace fastnn {
struct ActStreamKernels {
  ActFwdFn<float> fwd_f32[ACT_COUNT] = {};
  ActFwdFn<double> fwd_f64[ACT_COUNT] = {};
  ActBwdFn<float> bwd_f32[ACT_COUNT] = {};
  ActBwdFn<double> bwd_f64[ACT_COUNT] = {};
};
}  // namespace fastnn

FASTNN_FOR_EACH_ISA_DECL(void fill_act_stream(ActStreamKernels& t))
