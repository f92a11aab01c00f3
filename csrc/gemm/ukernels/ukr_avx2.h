// AVX2+FMA micro-kernels: 6 x 16 float (12 ymm accumulators), 6 x 8 double.
#pragma once
#include "gemm/ukernels/ukr.h"

FASTNN_ISA_BEGIN
struct UkrF32 {
  static constexpr int MR = 6, NR = 16;
  static constexpr index_t KC = 256, NC = 512;
  static FASTNN_UKR_SIGNATURE(float);
};
struct UkrF64 {
  static constexpr int MR = 6, NR = 8;
  static constexpr index_t KC = 256, NC = 256;
  static FASTNN_UKR_SIGNATURE(double);
};
// One tile width only: the driver's narrow choices fall back to it.
using UkrF32N2 = UkrF32;
using UkrF32N1 = UkrF32;
using UkrF64N2 = UkrF64;
using UkrF64N1 = UkrF64;
FASTNN_ISA_END
