// GEMM interface: C = alpha * op(A) * op(B) + beta * C, row-major, op in {N, T},
// with an optional fused epilogue for the forward pass of a dense layer:
//   Z = C + bias (broadcast over rows);  C = act(Z)   (Z kept only when z != nullptr)
#pragma once
#include "fastnn/act.h"
#include "fastnn/common.h"

namespace fastnn {

// Memory-bound work that a multi-threaded GEMM runs beside its own: one thread takes the
// side items first while the others start on the product, which is cut into more shares
// than threads and handed out as threads come free; whoever runs out of one kind helps
// with the other.  An optimizer step streaming a layer's parameters from memory then
// overlaps another layer's compute-bound gradient product instead of following it.
// run_one() runs one item and returns false when none is left; it must not throw, nor
// touch the GEMM's operands.
struct SideWork {
  virtual bool run_one() = 0;

 protected:
  ~SideWork() = default;
};

template <class T>
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  index_t m = 0, n = 0, k = 0;       // C is m x n; op(A) is m x k; op(B) is k x n
  T alpha = 1, beta = 0;              // beta == 0: C is never read (may hold NaN)
  const T* a = nullptr; index_t lda = 0;  // row strides, in elements
  const T* b = nullptr; index_t ldb = 0;
  T* c = nullptr; index_t ldc = 0;
  // Epilogue (applied after alpha/beta): bias add, keep pre-activation, activation.
  const T* bias = nullptr;            // length n, or nullptr
  T* z = nullptr; index_t ldz = 0;    // pre-activation output (m x n), or nullptr
  ActFwdFn<T> act = nullptr;          // nullptr: identity
  T act_alpha = 0;
  int act_id = -1;                    // act's ActId when known: identity and relu run in registers
  int num_threads = 1;                // upper bound; the driver may use fewer
  SideWork* side = nullptr;           // run beside a multi-threaded product (single-threaded: left)
};

struct GemmKernels {
  void (*sgemm)(const GemmArgs<float>&) = nullptr;
  void (*dgemm)(const GemmArgs<double>&) = nullptr;
  int mr_f32 = 0, nr_f32 = 0, mr_f64 = 0, nr_f64 = 0;  // register tile (for show_config/tests)
};

}  // namespace fastnn

FASTNN_FOR_EACH_ISA_DECL(void fill_gemm(GemmKernels& t))
