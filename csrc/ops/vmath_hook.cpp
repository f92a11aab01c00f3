// Test hook for the vector math (see vmath_hook.h); one copy per ISA.
#include "ops/vmath.h"  // first: sets the floating-point options of this file
#include "ops/vmath_hook.h"

FASTNN_ISA_BEGIN
namespace {

template <class T, class F>
void apply(index_t n, const T* x, T* y, F f) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class T>
bool vmath_apply(int id, index_t n, const T* x, T* y) {
  switch (id) {
    case VM_EXP: apply(n, x, y, [](T v) { return vm::exp(v); }); return true;
    case VM_EXPM1: apply(n, x, y, [](T v) { return vm::expm1(v); }); return true;
    case VM_LOG: apply(n, x, y, [](T v) { return vm::log(v); }); return true;
    case VM_LOG1P: apply(n, x, y, [](T v) { return vm::log1p_unit(v); }); return true;
    case VM_TANH: apply(n, x, y, [](T v) { return vm::tanh(v); }); return true;
    case VM_EXP_FTZ: apply(n, x, y, [](T v) { return vm::exp_ftz(v); }); return true;
    case VM_NORM_TAIL: apply(n, x, y, [](T v) { T g; return vm::norm_tail(v, &g); }); return true;
    default: return false;
  }
}

}  // namespace

bool vmath_apply_f32(int id, index_t n, const float* x, float* y) { return vmath_apply(id, n, x, y); }
bool vmath_apply_f64(int id, index_t n, const double* x, double* y) { return vmath_apply(id, n, x, y); }
FASTNN_ISA_END
