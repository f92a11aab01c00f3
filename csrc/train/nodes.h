// One function per layer pass (outputs first, shapes in comments).  All buffers are
// row-major and contiguous; `B` is the batch rows, `n` / `w` the features.  Column
// reductions (bias, gamma/beta gradients, batch statistics) run serially over rows and are
// vectorized over columns, so they never depend on the thread count.
#pragma once
#include <cstdint>

#include "fastnn/common.h"
#include "fastnn/gemm.h"

namespace fastnn {
namespace train {

// y = act(z) for an activation code (ActId or kActSoftmax/kActLogSoftmax); y may alias z.
template <class T> void act_forward(T* y, const T* z, index_t B, index_t w, int act, T alpha);
// dz = dy * act'(z) (row-wise Jacobian for softmax); dz may alias dy.
template <class T> void act_backward(T* dz, const T* dy, const T* z, const T* y, index_t B, index_t w, int act, T alpha);

// y (B,out) = act(z), z (B,out) = x (B,in) @ W (in,out) + b (out); z may be nullptr when
// act is the identity (then y holds z).  want_y false: z only (y is not written).
template <class T>
void dense_forward(T* y, T* z, const T* x, const T* W, const T* b, index_t B, index_t in, index_t out, int act, T alpha,
                   bool want_y = true);
// Early updates (the engine's): work for the products to run beside their own, and a note
// as dW's rows become final.
struct BackwardHooks {
  virtual SideWork* side(double flops) = 0;  // for a product of `flops`, or nullptr
  virtual void rows_done(index_t r1) = 0;    // dW rows [0, r1) are final (W no longer read)
  index_t row_blocks = 1;                    // dW in this many blocks of rows

 protected:
  ~BackwardHooks() = default;
};

// Given dz (B,out): dW (in,out) = x^T dz, db (out) = column sums of dz (either may be
// nullptr), dx (B,in) = dz W^T (+= when accumulate; nullptr: not needed).  With hooks, dx
// comes first, then dW block by block (same results in either order).
template <class T>
void dense_backward(T* dx, T* dW, T* db, const T* dz, const T* x, const T* W, index_t B, index_t in, index_t out,
                    bool accumulate, BackwardHooks* hooks = nullptr);

// Inverted dropout: mask (B,w) = 1/(1-rate) kept, 0 dropped; y = x * mask.  Element i draws
// counter base + i (base: the offset of these rows in the batch).
template <class T>
void dropout_forward(T* y, T* mask, const T* x, index_t B, index_t w, double rate, std::uint64_t key, index_t base);
// y = x + stddev * N(0, 1), element i drawing counter base + i.
template <class T>
void noise_forward(T* y, const T* x, index_t n, double stddev, std::uint64_t key, index_t base);
// out = a * b (elementwise), or out += a * b.
template <class T> void mul_into(T* out, const T* a, const T* b, index_t n, bool accumulate);
// out = a, or out += a.
template <class T> void copy_into(T* out, const T* a, index_t n, bool accumulate);
// Strided 2-D versions: out (B, w) at row stride ldo from a (B, w) at row stride lda.
template <class T> void copy_rows(T* out, index_t ldo, const T* a, index_t lda, index_t B, index_t w, bool accumulate);

// Batch normalization, training: mean/invstd (w) of this batch, xhat (B,w), y (B,w);
// running mean/var (w) updated with `momentum` when update_stats.  gamma/beta may be nullptr.
template <class T>
void batchnorm_forward_train(T* y, T* xhat, T* mean, T* invstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, index_t B, index_t w, double eps, double momentum,
                             bool update_stats);
// Inference: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
template <class T>
void batchnorm_forward_infer(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,
                             const T* beta, index_t B, index_t w, double eps);
// dgamma, dbeta (w) (nullptr: not needed); dx (B,w) (nullptr: not needed).  With
// `batch_stats` the statistics were the batch's (training), else the running ones
// (frozen layer: invstd holds 1/sqrt(running_var + eps)).
template <class T>
void batchnorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* xhat, const T* invstd, const T* gamma,
                        index_t B, index_t w, bool batch_stats, bool accumulate);

// Layer normalization over each row: xhat (B,w), invstd (B), y = gamma * xhat + beta.
template <class T>
void layernorm_forward(T* y, T* xhat, T* invstd, const T* x, const T* gamma, const T* beta, index_t B, index_t w,
                       double eps);
template <class T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* xhat, const T* invstd, const T* gamma,
                        index_t B, index_t w, bool accumulate);

// PReLU with one slope per feature: y = x (x > 0), a_j x otherwise.
template <class T> void prelu_forward(T* y, const T* x, const T* a, index_t B, index_t w);
template <class T>
void prelu_backward(T* dx, T* da, const T* dy, const T* x, const T* a, index_t B, index_t w, bool accumulate);

// db (w) = column sums of dz (B,w).
template <class T> void column_sums(T* db, const T* dz, index_t B, index_t w);

}  // namespace train
}  // namespace fastnn
