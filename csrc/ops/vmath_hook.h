// Test hook: apply one vmath.h function (compiled for each ISA) to a contiguous array.
#pragma once
#include "fastnn/common.h"

namespace fastnn {
// Function ids of vmath_apply; names as used by fastnn._core._vmath.
enum VmathId : int { VM_EXP = 0, VM_EXPM1, VM_LOG, VM_LOG1P, VM_TANH, VM_NORM_TAIL, VM_EXP_FTZ, VM_COUNT };
}  // namespace fastnn

// Returns false for an unknown id.  log1p accepts u in [0, 1] only (its use in softplus);
// exp_ftz accepts x <= 88 (float) / 709 (double) only (its use in the activations).
FASTNN_FOR_EACH_ISA_DECL(bool vmath_apply_f32(int id, index_t n, const float* x, float* y))
FASTNN_FOR_EACH_ISA_DECL(bool vmath_apply_f64(int id, index_t n, const double* x, double* y))

namespace fastnn {
// The copy of `isa` (the active one: kernels().isa); false for an unknown id.
inline bool vmath_apply_for(Isa isa, int id, index_t n, const float* x, float* y) {
  switch (isa) {
#if defined(FASTNN_X86)
    case Isa::avx512: return avx512::vmath_apply_f32(id, n, x, y);
    case Isa::avx2: return avx2::vmath_apply_f32(id, n, x, y);
#endif
    default: return generic::vmath_apply_f32(id, n, x, y);
  }
}
inline bool vmath_apply_for(Isa isa, int id, index_t n, const double* x, double* y) {
  switch (isa) {
#if defined(FASTNN_X86)
    case Isa::avx512: return avx512::vmath_apply_f64(id, n, x, y);
    case Isa::avx2: return avx2::vmath_apply_f64(id, n, x, y);
#endif
    default: return generic::vmath_apply_f64(id, n, x, y);
  }
}
}  // namespace fastnn
