// Loss kernels: per-sample loss and its gradient with respect to the predictions, fused.
//
// Compiled once (csrc/train/losses.cpp); the training engine calls them on each batch and
// fastnn.losses calls them through _core.  Work is O(rows * cols): never a hot spot next to
// the GEMMs, so no per-ISA copies.
#pragma once
#include <cstdint>

#include "fastnn/common.h"

namespace fastnn {

enum LossId : int {
  LOSS_MSE = 0,        // mean_j (y - p)^2
  LOSS_MAE,            // mean_j |y - p|
  LOSS_HUBER,          // mean_j huber_delta(y - p)
  LOSS_LOG_COSH,       // mean_j log(cosh(p - y))
  LOSS_BCE,            // mean_j binary cross-entropy (from_logits, label_smoothing)
  LOSS_CCE,            // -sum_j y_j log p_j (from_logits: fused log_softmax; label_smoothing)
  LOSS_SPARSE_CCE,     // -log p_label (from_logits: fused log_softmax); integer labels
  LOSS_HINGE,          // mean_j max(0, 1 - y p), y in {-1, 1} ({0, 1} mapped to {-1, 1})
  LOSS_SQUARED_HINGE,  // mean_j max(0, 1 - y p)^2
  LOSS_KLD,            // sum_j y log(y / p), y and p clipped to [eps, 1]
  LOSS_POISSON,        // mean_j (p - y log(p + eps))
  LOSS_COUNT
};

struct LossSpec {
  int id = LOSS_MSE;
  bool from_logits = false;     // BCE, CCE, SPARSE_CCE
  double delta = 1.0;           // HUBER
  double label_smoothing = 0;   // BCE, CCE
};

// Rows [r0, r1) of a batch.  Row r of the predictions is pred + r * ldp (cols values: logits
// when spec.from_logits).  Targets: y + r * ldy (cols values), or labels[r] in [0, cols) for
// LOSS_SPARSE_CCE (y unused).  Outputs, each optional (nullptr: not computed):
//   loss_row[r] = the unweighted loss of sample r (double);
//   dpred row r (at dpred + r * ldd) = s_r * d loss_r / d pred_r, with
//   s_r = grad_scale * (w ? w[r] : 1).
// Rows are independent: any split of [0, rows) gives bitwise the same results.
// Serial; never throws; labels must have been validated by the caller.
template <class T>
void loss_rows(const LossSpec& spec, index_t r0, index_t r1, index_t cols,
               const T* pred, index_t ldp, const T* y, index_t ldy, const std::int64_t* labels,
               const T* w, T grad_scale, double* loss_row, T* dpred, index_t ldd);

extern template void loss_rows<float>(const LossSpec&, index_t, index_t, index_t, const float*, index_t,
                                      const float*, index_t, const std::int64_t*, const float*, float,
                                      double*, float*, index_t);
extern template void loss_rows<double>(const LossSpec&, index_t, index_t, index_t, const double*, index_t,
                                       const double*, index_t, const std::int64_t*, const double*, double,
                                       double*, double*, index_t);

}  // namespace fastnn
