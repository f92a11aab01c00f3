// Loss kernels (fastnn/loss.h): the per-sample loss and its gradient with respect to the
// predictions, fused in one pass over each row (two or three for the cross-entropies).
//
// Compiled once for the baseline instruction set.  Every element is evaluated in double,
// whatever T is, and each row's loss is accumulated in double: the float32 results are the
// float64 results rounded once, and the work (O(rows * cols)) is small next to the GEMMs.
// (One exception: float32 sparse cross-entropy from logits with at most 16 classes takes its
// exp and log1p from the vector math, within a few double ulp of libm's; see
// sparse_logits_rows_f32.)
// Semantics follow Keras's loss functions, with eps = 1e-7 for both dtypes (the clip
// bounds eps and 1 - eps are applied in double).

#include "fastnn/loss.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "fastnn/dispatch.h"
#include "ops/vmath_hook.h"

namespace fastnn {
namespace {

constexpr double kEps = 1e-7;
constexpr double kLog2 = 0.69314718055994530941723212145817657;

// What a row kernel needs besides the row pointers.
struct RowArgs {
  const LossSpec* spec;
  index_t n;     // columns
  double s;      // gradient scale of this row: grad_scale * w[r]
};

// ---------------------------------------------------------------- elementwise means

template <class T, bool G>
double mse_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double g = 2.0 * a.s / double(n);
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (index_t j = 0; j < n; ++j) {
    const double e = double(p[j]) - double(y[j]);
    acc += e * e;
    if constexpr (G) d[j] = T(g * e);
  }
  return acc / double(n);
}

template <class T, bool G>
double mae_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double g = a.s / double(n);
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (index_t j = 0; j < n; ++j) {
    const double e = double(p[j]) - double(y[j]);
    acc += std::fabs(e);
    if constexpr (G) d[j] = T(g * (double(e > 0.0) - double(e < 0.0)));
  }
  return acc / double(n);
}

template <class T, bool G>
double huber_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double delta = a.spec->delta, g = a.s / double(n);
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (index_t j = 0; j < n; ++j) {
    const double e = double(p[j]) - double(y[j]);
    const double ae = std::fabs(e);
    const bool quad = ae <= delta;
    acc += quad ? 0.5 * e * e : delta * (ae - 0.5 * delta);
    if constexpr (G) d[j] = T(g * (ae > delta ? std::copysign(delta, e) : e));  // (NaN: e, not +-delta)
  }
  return acc / double(n);
}

// log(cosh(e)) with u = expm1(|e|): cosh(e) - 1 = u^2 / (2 (1 + u)), so
// log(cosh(e)) = log1p(u^2 / (2 (1 + u))), accurate down to tiny |e| (where Keras's form
// |e| + softplus(-2|e|) - log 2 cancels); tanh(|e|) = u (u + 2) / (u (u + 2) + 2).  Beyond
// |e| = 20 (where u^2 could overflow): |e| - log 2 + log1p(exp(-2|e|)) and tanh = 1.
template <class T, bool G>
double log_cosh_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double g = a.s / double(n);
  double acc = 0.0;
  for (index_t j = 0; j < n; ++j) {
    const double e = double(p[j]) - double(y[j]);
    const double ae = std::fabs(e);
    double th = ae >= 20.0 ? 1.0 : ae;  // (NaN stays NaN)
    if (ae < 20.0) {
      const double u = std::expm1(ae), v = u * (u + 2.0);
      acc += std::log1p(u * u / (2.0 * (1.0 + u)));
      th = v / (v + 2.0);
    } else {
      acc += (ae - kLog2) + std::log1p(std::exp(-2.0 * ae));
    }
    if constexpr (G) d[j] = T(g * std::copysign(th, e));
  }
  return acc / double(n);
}

template <class T, bool G, bool Sq>
double hinge_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double g = (Sq ? 2.0 : 1.0) * a.s / double(n);
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (index_t j = 0; j < n; ++j) {
    const double yv = y[j] == T(0) ? -1.0 : double(y[j]);  // {0, 1} labels -> {-1, 1}
    const double h = std::max(1.0 - yv * double(p[j]), 0.0);
    if constexpr (Sq) {
      acc += h * h;
      if constexpr (G) d[j] = T(-g * yv * h);
    } else {
      acc += h;
      if constexpr (G) d[j] = T(h > 0.0 ? -g * yv : 0.0);
    }
  }
  return acc / double(n);
}

template <class T, bool G>
double kld_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double s = a.s;
  double acc = 0.0;
  for (index_t j = 0; j < n; ++j) {
    const double pv = double(p[j]);
    const double yc = std::min(std::max(double(y[j]), kEps), 1.0);
    const double pc = std::min(std::max(pv, kEps), 1.0);
    acc += yc * std::log(yc / pc);
    if constexpr (G) d[j] = T(pc == pv ? -s * yc / pc : 0.0);  // 0 where p is clipped
  }
  return acc;
}

template <class T, bool G>
double poisson_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double g = a.s / double(n);
  double acc = 0.0;
  for (index_t j = 0; j < n; ++j) {
    const double pe = double(p[j]) + kEps, yv = double(y[j]);
    acc += double(p[j]) - yv * std::log(pe);
    if constexpr (G) d[j] = T(g * (1.0 - yv / pe));
  }
  return acc / double(n);
}

// ---------------------------------------------------------------- binary cross-entropy

template <class T, bool G>
double bce_row(const RowArgs& a, const T* p, const T* y, T* d) {
  const index_t n = a.n;
  const double ls = a.spec->label_smoothing, ta = 1.0 - ls, tb = 0.5 * ls;
  const double g = a.s / double(n);
  double acc = 0.0;
  if (a.spec->from_logits) {
    for (index_t j = 0; j < n; ++j) {
      const double x = double(p[j]), t = ta * double(y[j]) + tb;
      const double e = std::exp(-std::fabs(x));
      acc += (std::max(x, 0.0) - x * t) + std::log1p(e);
      if constexpr (G) d[j] = T(g * ((x >= 0.0 ? 1.0 : e) / (1.0 + e) - t));
    }
  } else {
    for (index_t j = 0; j < n; ++j) {
      const double pv = double(p[j]), t = ta * double(y[j]) + tb;
      const double pc = std::min(std::max(pv, kEps), 1.0 - kEps);
      acc -= t * std::log(pc) + (1.0 - t) * std::log1p(-pc);
      if constexpr (G) d[j] = T(pv < kEps || pv > 1.0 - kEps ? 0.0 : g * (pv - t) / (pv * (1.0 - pv)));
    }
  }
  return acc / double(n);
}

// ---------------------------------------------------------------- categorical cross-entropy
//
// Targets t_j = ta * y_j + tb (smoothed dense targets, kDense), the one-hot of `label`
// (kSparse; y unused) or, for a mixup batch, lam * onehot(label) + (1 - lam) * onehot(label2)
// (kMixed).  Plain parameters rather than a functor object, whose fields, read
// through memory, could alias the gradient row and keep the loops from vectorizing.

enum TargetMode : int { kDense = 0, kSparse = 1, kMixed = 2 };
struct Labels {
  index_t label = 0, label2 = 0;
  double lam = 1.0;
};

template <int kMode, class T>
inline double target(const T* y, double ta, double tb, const Labels& l, index_t j) {
  if constexpr (kMode == kSparse) return j == l.label ? 1.0 : 0.0;
  else if constexpr (kMode == kMixed) return (j == l.label ? l.lam : 0.0) + (j == l.label2 ? 1.0 - l.lam : 0.0);
  else return ta * double(y[j]) + tb;
}

// From logits: loss = sum_j t_j (lse - x_j), lse = m + log S with m = max_j x_j and
// S = sum_j exp(x_j - m) = 1 + R (R: every term but the first maximum's), so
// log S = log1p(R) stays accurate when one class dominates.  The gradient is
// softmax(x) * sum_j t_j - t.
constexpr index_t kKeep = 1024;  // rows up to this long keep exp(x_j - m) for the gradient

// sum_{j in [j0, j1)} exp(x_j - m), stored in z[j] when kStore.
template <bool kStore, class T>
double exp_sum(const T* x, index_t j0, index_t j1, double m, double* z) {
  double sum = 0.0;
  for (index_t j = j0; j < j1; ++j) {
    const double zj = std::exp(double(x[j]) - m);
    if constexpr (kStore) z[j] = zj;
    sum += zj;
  }
  return sum;
}

// The first index of the row's maximum (NaN never compares greater).
template <class T>
index_t first_max(const T* x, index_t n) {
  index_t im = 0;
  for (index_t j = 1; j < n; ++j)
    if (x[j] > x[im]) im = j;
  return im;
}

// A row's loss and gradient from m = max_j x_j, R, log S = log1p(R) and, when kept, the
// terms z_j = exp(x_j - m) (nullptr: recomputed for the gradient).
template <class T, bool G, int kMode>
double cce_logits_tail(index_t n, const T* x, const T* y, double ta, double tb, const Labels lb, double m,
                       double rest, double log_s, const double* z, double s, T* d) {
  const double inv_s = 1.0 / (1.0 + rest);
  double acc = 0.0, tsum = 0.0;
#pragma omp simd reduction(+ : acc, tsum)
  for (index_t j = 0; j < n; ++j) {
    const double tj = target<kMode>(y, ta, tb, lb, j);
    acc += tj * ((m - double(x[j])) + log_s);
    tsum += tj;
  }
  if constexpr (G) {
    const double c = inv_s * tsum;
    if (z) {
#pragma omp simd
      for (index_t j = 0; j < n; ++j) d[j] = T(s * (z[j] * c - target<kMode>(y, ta, tb, lb, j)));
    } else {
      for (index_t j = 0; j < n; ++j) {  // exp(x_im - m) = exp(0) = 1 exactly
        const double zj = std::exp(double(x[j]) - m);
        d[j] = T(s * (zj * c - target<kMode>(y, ta, tb, lb, j)));
      }
    }
  }
  return acc;
}

template <class T, bool G, int kMode>
double cce_logits_row(const RowArgs& a, const T* x, const T* y, double ta, double tb, const Labels lb, T* d) {
  const index_t n = a.n;
  const index_t im = first_max(x, n);
  const double m = double(x[im]);
  double z[G ? kKeep : 1];
  const bool keep = G && n <= kKeep;
  // R: the terms either side of the (first) maximum, whose own term is exactly 1.
  double rest;
  if (keep) {
    rest = exp_sum<true>(x, 0, im, m, z) + exp_sum<true>(x, im + 1, n, m, z);
    z[im] = 1.0;
  } else {
    rest = exp_sum<false>(x, 0, im, m, z) + exp_sum<false>(x, im + 1, n, m, z);
  }
  return cce_logits_tail<T, G, kMode>(n, x, y, ta, tb, lb, m, rest, std::log1p(rest), keep ? z : nullptr, a.s, d);
}

// From probabilities (Keras): q = p / sum(p), c = clip(q, eps, 1 - eps),
// loss = -sum_j t_j log c_j.  With g_j = dL/dq_j = -t_j / q_j where eps <= q_j <= 1 - eps
// (else 0), dL/dp_k = (g_k - sum_j g_j q_j) / sum(p).
template <class T, bool G, int kMode>
double cce_probs_row(const RowArgs& a, const T* p, const T* y, double ta, double tb, const Labels lb, T* d) {
  const index_t n = a.n;
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (index_t j = 0; j < n; ++j) sum += double(p[j]);
  const double inv = 1.0 / sum;
  double acc = 0.0, dot = 0.0;
  for (index_t j = 0; j < n; ++j) {
    const double tj = target<kMode>(y, ta, tb, lb, j);
    if (tj == 0.0) continue;  // no contribution: one log per row for one-hot targets
    const double q = double(p[j]) * inv;
    const double c = std::min(std::max(q, kEps), 1.0 - kEps);
    acc -= tj * std::log(c);
    if (q == c) dot -= tj;  // g_j q_j = -t_j where the clip is inactive
  }
  if constexpr (G) {
    const double sc = a.s * inv;
#pragma omp simd
    for (index_t j = 0; j < n; ++j) {
      const double tj = target<kMode>(y, ta, tb, lb, j);
      const double q = double(p[j]) * inv;
      const double c = std::min(std::max(q, kEps), 1.0 - kEps);
      const double gj = tj != 0.0 && q == c ? -tj / c : 0.0;  // 0 where q is clipped
      d[j] = T(sc * (gj - dot));
    }
  }
  return acc;
}

// ---------------------------------------------------------------- dispatch

template <class T, bool G>
double row_loss(const RowArgs& a, const T* p, const T* y, std::int64_t label, T* d) {
  const LossSpec& sp = *a.spec;
  switch (sp.id) {
    case LOSS_MSE: return mse_row<T, G>(a, p, y, d);
    case LOSS_MAE: return mae_row<T, G>(a, p, y, d);
    case LOSS_HUBER: return huber_row<T, G>(a, p, y, d);
    case LOSS_LOG_COSH: return log_cosh_row<T, G>(a, p, y, d);
    case LOSS_BCE: return bce_row<T, G>(a, p, y, d);
    case LOSS_CCE: {
      const double ls = sp.label_smoothing, ta = 1.0 - ls, tb = ls / double(a.n);
      return sp.from_logits ? cce_logits_row<T, G, kDense>(a, p, y, ta, tb, Labels{}, d)
                            : cce_probs_row<T, G, kDense>(a, p, y, ta, tb, Labels{}, d);
    }
    case LOSS_SPARSE_CCE: {
      const Labels lb{index_t(label), 0, 1.0};
      return sp.from_logits ? cce_logits_row<T, G, kSparse>(a, p, y, 1.0, 0.0, lb, d)
                            : cce_probs_row<T, G, kSparse>(a, p, y, 1.0, 0.0, lb, d);
    }
    case LOSS_HINGE: return hinge_row<T, G, false>(a, p, y, d);
    case LOSS_SQUARED_HINGE: return hinge_row<T, G, true>(a, p, y, d);
    case LOSS_KLD: return kld_row<T, G>(a, p, y, d);
    case LOSS_POISSON: return poisson_row<T, G>(a, p, y, d);
    default: break;
  }
  return 0.0;  // unknown id: callers validate it; never reached from the bindings
}

}  // namespace

// Sparse categorical cross-entropy from the logits of float32 rows with few classes (the
// output layer of a small classifier, where one libm exp and log1p per row cost as much as
// the layer): cce_logits_row's arithmetic (the same cce_logits_tail), with the
// exponentials of a block of rows and their log1p computed by the vector math.
constexpr index_t kBlockCols = 16, kBlockRows = 128;

template <bool G>
void sparse_logits_rows_f32(index_t r0, index_t r1, index_t n, const float* pred, index_t ldp,
                            const std::int64_t* labels, const float* w, float grad_scale, double* loss_row,
                            float* dpred, index_t ldd) {
  double arg[kBlockRows * kBlockCols], z[kBlockRows * kBlockCols];
  double m[kBlockRows], rest[kBlockRows], log_s[kBlockRows];
  index_t im[kBlockRows];
  for (index_t b0 = r0; b0 < r1; b0 += kBlockRows) {
    const index_t nr = std::min(kBlockRows, r1 - b0);
    for (index_t r = 0; r < nr; ++r) {
      const float* x = pred + (b0 + r) * ldp;
      im[r] = first_max(x, n);
      m[r] = double(x[im[r]]);
      for (index_t j = 0; j < n; ++j) arg[r * n + j] = double(x[j]) - m[r];
    }
    vmath_apply_for(kernels().isa, VM_EXP, nr * n, arg, z);  // within ~2 ulp, like libm
    bool unit = true;  // every R in [0, 1] (always so for two classes)
    for (index_t r = 0; r < nr; ++r) {
      // R: the terms either side of the (first) maximum, whose own term is exactly 1.
      const double* zr = z + r * n;
      double lo = 0.0, hi = 0.0;
      for (index_t j = 0; j < im[r]; ++j) lo += zr[j];
      for (index_t j = im[r] + 1; j < n; ++j) hi += zr[j];
      rest[r] = lo + hi;
      z[r * n + im[r]] = 1.0;
      unit = unit && rest[r] <= 1.0;
    }
    if (unit) {
      vmath_apply_for(kernels().isa, VM_LOG1P, nr, rest, log_s);
    } else {
      for (index_t r = 0; r < nr; ++r) log_s[r] = std::log1p(rest[r]);
    }
    for (index_t r = 0; r < nr; ++r) {
      const Labels lb{index_t(labels[b0 + r]), 0, 1.0};
      const double s = double(grad_scale) * (w ? double(w[b0 + r]) : 1.0);
      const double l = cce_logits_tail<float, G, kSparse>(n, pred + (b0 + r) * ldp, static_cast<const float*>(nullptr),
                                                          1.0, 0.0, lb, m[r], rest[r], log_s[r], z + r * n, s,
                                                          G ? dpred + (b0 + r) * ldd : nullptr);
      if (loss_row) loss_row[b0 + r] = l;
    }
  }
}

// Two classes (a binary classifier written with two logits), the common case of the above:
// the same operations, row by row without the loops over classes.  Per row: the first
// maximum m (x1 only when x1 > x0), the other class's term R = exp(x_other - m) (the
// maximum's own term is exactly 1), log S = log1p(R), loss = sum_j t_j ((m - x_j) + log S)
// with t one-hot (both terms kept: an infinite logit gives NaN as there), gradient
// s (z_j / (1 + R) - t_j) with z = 1 for the maximum and R for the other.
template <bool G>
void sparse_logits2_rows_f32(index_t r0, index_t r1, const float* pred, index_t ldp, const std::int64_t* labels,
                             const float* w, float grad_scale, double* loss_row, float* dpred, index_t ldd) {
  double arg[kBlockRows], rest[kBlockRows], log_s[kBlockRows];
  for (index_t b0 = r0; b0 < r1; b0 += kBlockRows) {
    const index_t nr = std::min(kBlockRows, r1 - b0);
    for (index_t r = 0; r < nr; ++r) {  // branch-free: which class is larger is a coin toss
      const float* x = pred + (b0 + r) * ldp;
      const int im = x[1] > x[0];
      arg[r] = double(x[1 - im]) - double(x[im]);
    }
    vmath_apply_for(kernels().isa, VM_EXP, nr, arg, rest);
    bool unit = true;  // every R in [0, 1] (false only for NaN)
    for (index_t r = 0; r < nr; ++r) unit = unit && rest[r] <= 1.0;
    if (unit) {
      vmath_apply_for(kernels().isa, VM_LOG1P, nr, rest, log_s);
    } else {
      for (index_t r = 0; r < nr; ++r) log_s[r] = std::log1p(rest[r]);
    }
    for (index_t r = 0; r < nr; ++r) {
      const float* x = pred + (b0 + r) * ldp;
      const int im = x[1] > x[0];
      const double m = double(x[im]);
      const std::int64_t label = labels[b0 + r];
      const double t0 = double(label == 0), t1 = double(label == 1);
      const double l = t0 * ((m - double(x[0])) + log_s[r]) + t1 * ((m - double(x[1])) + log_s[r]);
      if (loss_row) loss_row[b0 + r] = l;
      if constexpr (G) {
        const double s = double(grad_scale) * (w ? double(w[b0 + r]) : 1.0);
        const double c = 1.0 / (1.0 + rest[r]);
        float* d = dpred + (b0 + r) * ldd;
        d[im] = float(s * (1.0 * c - double(label == im)));
        d[1 - im] = float(s * (rest[r] * c - double(label == 1 - im)));
      }
    }
  }
}

template <class T>
void loss_rows(const LossSpec& spec, index_t r0, index_t r1, index_t cols, const T* pred, index_t ldp,
               const T* y, index_t ldy, const std::int64_t* labels, const T* w, T grad_scale,
               double* loss_row, T* dpred, index_t ldd) {
  if (cols <= 0 || (!loss_row && !dpred)) return;
  const bool sparse = spec.id == LOSS_SPARSE_CCE;
  if constexpr (std::is_same<T, float>::value) {
    if (sparse && spec.from_logits && cols == 2) {
      if (dpred)
        sparse_logits2_rows_f32<true>(r0, r1, pred, ldp, labels, w, grad_scale, loss_row, dpred, ldd);
      else
        sparse_logits2_rows_f32<false>(r0, r1, pred, ldp, labels, w, grad_scale, loss_row, nullptr, 0);
      return;
    }
    if (sparse && spec.from_logits && cols <= kBlockCols) {
      if (dpred)
        sparse_logits_rows_f32<true>(r0, r1, cols, pred, ldp, labels, w, grad_scale, loss_row, dpred, ldd);
      else
        sparse_logits_rows_f32<false>(r0, r1, cols, pred, ldp, labels, w, grad_scale, loss_row, nullptr, 0);
      return;
    }
  }
  RowArgs a{&spec, cols, 0.0};
  for (index_t r = r0; r < r1; ++r) {
    const T* p = pred + r * ldp;
    const T* yr = sparse ? nullptr : y + r * ldy;
    const std::int64_t label = sparse ? labels[r] : 0;
    double l;
    if (dpred) {
      a.s = double(grad_scale) * (w ? double(w[r]) : 1.0);
      l = row_loss<T, true>(a, p, yr, label, dpred + r * ldd);
    } else {
      l = row_loss<T, false>(a, p, yr, label, nullptr);
    }
    if (loss_row) loss_row[r] = l;
  }
}

template <class T>
void loss_rows_mixed(const LossSpec& spec, index_t r0, index_t r1, index_t cols, const T* pred, index_t ldp,
                     const std::int64_t* labels, const std::int64_t* labels2, const double* lam, const T* w,
                     T grad_scale, double* loss_row, T* dpred, index_t ldd) {
  if (cols <= 0 || (!loss_row && !dpred)) return;
  RowArgs a{&spec, cols, 0.0};
  for (index_t r = r0; r < r1; ++r) {
    const T* p = pred + r * ldp;
    const Labels lb{index_t(labels[r]), index_t(labels2[r]), lam[r]};
    double l;
    if (dpred) {
      a.s = double(grad_scale) * (w ? double(w[r]) : 1.0);
      T* d = dpred + r * ldd;
      l = spec.from_logits ? cce_logits_row<T, true, kMixed>(a, p, static_cast<const T*>(nullptr), 1.0, 0.0, lb, d)
                           : cce_probs_row<T, true, kMixed>(a, p, static_cast<const T*>(nullptr), 1.0, 0.0, lb, d);
    } else {
      l = spec.from_logits ? cce_logits_row<T, false, kMixed>(a, p, static_cast<const T*>(nullptr), 1.0, 0.0, lb, nullptr)
                           : cce_probs_row<T, false, kMixed>(a, p, static_cast<const T*>(nullptr), 1.0, 0.0, lb, nullptr);
    }
    if (loss_row) loss_row[r] = l;
  }
}

template void loss_rows_mixed<float>(const LossSpec&, index_t, index_t, index_t, const float*, index_t,
                                     const std::int64_t*, const std::int64_t*, const double*, const float*, float,
                                     double*, float*, index_t);
template void loss_rows_mixed<double>(const LossSpec&, index_t, index_t, index_t, const double*, index_t,
                                      const std::int64_t*, const std::int64_t*, const double*, const double*, double,
                                      double*, double*, index_t);

template void loss_rows<float>(const LossSpec&, index_t, index_t, index_t, const float*, index_t, const float*,
                               index_t, const std::int64_t*, const float*, float, double*, float*, index_t);
template void loss_rows<double>(const LossSpec&, index_t, index_t, index_t, const double*, index_t,
                                const double*, index_t, const std::int64_t*, const double*, double, double*,
                                double*, index_t);

}  // namespace fastnn
