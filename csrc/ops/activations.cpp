// PLACEHOLDER (to be replaced): activation kernels.
#include "fastnn/act.h"

FASTNN_ISA_BEGIN
namespace {
template <class T>
void relu_fwd(index_t n, const T* x, T* y, T) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
}  // namespace
void fill_act(ActKernels& t) {
  t.fwd_f32[ACT_RELU] = relu_fwd<float>;
  t.fwd_f64[ACT_RELU] = relu_fwd<double>;
}
FASTNN_ISA_END
