// Portable reference micro-kernels (plain C++; the compiler vectorizes for the baseline
// ISA of the target, SSE2 on x86-64, NEON on aarch64).  Also the reference twin the
// tests compare the fast kernels against.
#pragma once
#include "gemm/ukernels/ukr.h"

FASTNN_ISA_BEGIN
struct UkrF32 {
  static constexpr int MR = 4, NR = 8;
  static constexpr index_t KC = 256, NC = 256;
  static FASTNN_UKR_SIGNATURE(float);
};
struct UkrF64 {
  static constexpr int MR = 4, NR = 4;
  static constexpr index_t KC = 256, NC = 128;
  static FASTNN_UKR_SIGNATURE(double);
};
// One tile width only: the driver's narrow choices fall back to it.
using UkrF32N2 = UkrF32;
using UkrF32N1 = UkrF32;
using UkrF64N2 = UkrF64;
using UkrF64N1 = UkrF64;
FASTNN_ISA_END
