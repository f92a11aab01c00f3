// AVX-512 micro-kernels: 8 x 48 float (24 zmm accumulators), 8 x 24 double.
#pragma once
#include "gemm/ukernels/ukr.h"

FASTNN_ISA_BEGIN
struct UkrF32 {
  static constexpr int MR = 8, NR = 48;
  static constexpr index_t KC = 384, NC = 480;
  static FASTNN_UKR_SIGNATURE(float);
};
struct UkrF64 {
  static constexpr int MR = 8, NR = 24;
  static constexpr index_t KC = 384, NC = 240;
  static FASTNN_UKR_SIGNATURE(double);
};
FASTNN_ISA_END
