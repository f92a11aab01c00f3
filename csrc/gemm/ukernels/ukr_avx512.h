// AVX-512 micro-kernels: 8 x 48 float (24 zmm accumulators), 8 x 24 double, and
// narrower tiles (8 x 32 / 8 x 16 float, 8 x 16 / 8 x 8 double) the driver picks when they
// pad a narrow C less (N = 2, 10, 64, 256, ...).  Every tile computes each element of C
// with the same operations in the same order, so the choice never changes a result.
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
#define FASTNN_NARROW_UKR(Name, T, NRv, NCv)      \
  struct Name {                                     \
    static constexpr int MR = 8, NR = NRv;          \
    static constexpr index_t KC = 384, NC = NCv;    \
    static FASTNN_UKR_SIGNATURE(T);                 \
  };
FASTNN_NARROW_UKR(UkrF32N2, float, 32, 480)
FASTNN_NARROW_UKR(UkrF32N1, float, 16, 480)
FASTNN_NARROW_UKR(UkrF64N2, double, 16, 240)
FASTNN_NARROW_UKR(UkrF64N1, double, 8, 240)
#undef FASTNN_NARROW_UKR
FASTNN_ISA_END
