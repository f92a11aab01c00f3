// Column sums over rows (bias gradients): every column added row by row, in row order.
#include "optim/kernels.h"

FASTNN_ISA_BEGIN
namespace {

template <class T>
void colsum(T* __restrict out, const T* __restrict x, index_t rows, index_t cols, index_t ld) {
  // kW columns per pass, their sums in registers (four AVX-512 vectors: independent
  // chains, where one vector's adds would wait on each other); a narrower rest in one pass.
  constexpr index_t kW = 256 / sizeof(T);
  for (index_t j0 = 0; j0 < cols; j0 += kW) {
    T acc[kW] = {};
    if (j0 + kW <= cols) {
      for (index_t i = 0; i < rows; ++i) {
        const T* r = x + i * ld + j0;
#pragma omp simd
        for (index_t j = 0; j < kW; ++j) acc[j] += r[j];
      }
    } else {
      const index_t w = cols - j0;
      for (index_t i = 0; i < rows; ++i) {
        const T* r = x + i * ld + j0;
#pragma omp simd
        for (index_t j = 0; j < w; ++j) acc[j] += r[j];
      }
    }
    for (index_t j = 0; j < kW && j0 + j < cols; ++j) out[j0 + j] = acc[j];
  }
}

}  // namespace

void fill_colsum(OptimKernels& t) {
  t.f32.colsum = colsum<float>;
  t.f64.colsum = colsum<double>;
}
FASTNN_ISA_END
