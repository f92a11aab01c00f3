// Regularization, gradient clipping and the optimizer step over the flat parameter buffer.
//
// Reductions (penalties, norms) are computed in blocks of kNormBlock elements that never
// straddle two parameter tensors; block sums are computed in parallel and added in order,
// so every figure is independent of the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "fastnn/dispatch.h"
#include "fastnn/optim.h"
#include "train/engine.h"
#include "train/parallel.h"

namespace fastnn {
namespace train {

namespace {
template <class T> const OptimFns<T>& fns();
template <> const OptimFns<float>& fns<float>() { return kernels().optim.f32; }
template <> const OptimFns<double>& fns<double>() { return kernels().optim.f64; }

// f(ranges[i], i) for every range (blocks or spans), split across a team sized as if each
// range held len_max elements of ns_per_elem each.
template <class R, class F>
void for_ranges(const std::vector<R>& ranges, index_t len_max, double ns_per_elem, F&& f) {
  parallel_range(index_t(ranges.size()), double(len_max) * ns_per_elem, [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) f(ranges[std::size_t(r)], r);
  }, 1);
}

}  // namespace

int opt_state_slots(const OptSpec& o) {
  switch (o.kind) {
    case OPT_SGD: return o.momentum != 0 ? 1 : 0;
    case OPT_RMSPROP: return 1 + (o.momentum != 0 ? 1 : 0) + (o.centered ? 1 : 0);
    case OPT_ADAGRAD: return 1;
    case OPT_ADADELTA: return 2;
    case OPT_ADAM: return o.amsgrad ? 3 : 2;
    case OPT_ADAMAX: return 2;
    case OPT_NADAM: return 2;
  }
  throw std::invalid_argument("unknown optimizer kind");
}

template <class T>
void Engine<T>::set_opt(const OptSpec& o) {
  const int slots = opt_state_slots(o);
  const bool same = o.kind == opt_.kind && int(opt_state_.size()) == slots && opt_state_.size() > 0 &&
                    opt_state_[0].size() == params_.size();
  opt_ = o;
  if (!same || slots == 0) {
    opt_state_.clear();
    opt_state_.resize(std::size_t(slots));
    for (auto& b : opt_state_) b.resize(params_.size());
    reset_opt_state();
  }
  // Blocks of the trainable tensors (for norms, penalties and the update).
  blocks_.clear();
  for (std::size_t k = 0; k < pspecs_.size(); ++k) {
    const ParamSpec& p = pspecs_[k];
    if (!p.trainable) continue;
    for (index_t b = 0; b < p.size; b += kNormBlock) blocks_.push_back({int(k), p.off + b, std::min(kNormBlock, p.size - b)});
  }
  partial_.resize(index_t(blocks_.size()) + 1);
  std::vector<Span> runs;
  for (const ParamSpec& p : pspecs_)
    if (p.trainable && p.size > 0) runs.push_back({p.off, p.size});
  spans_ = cut_spans(std::move(runs));
  plan_early_updates();
}

template <class T>
std::vector<typename Engine<T>::Span> Engine<T>::cut_spans(std::vector<Span> runs) {
  std::sort(runs.begin(), runs.end(), [](const Span& a, const Span& b) { return a.off < b.off; });
  std::vector<Span> out;
  for (std::size_t i = 0; i < runs.size();) {
    index_t off = runs[i].off, end = off + runs[i].len;
    for (++i; i < runs.size() && runs[i].off <= end; ++i) end = std::max(end, runs[i].off + runs[i].len);
    for (index_t b = off; b < end; b += kSpan) out.push_back({b, std::min(kSpan, end - b)});
  }
  return out;
}

template <class T>
void Engine<T>::plan_early_updates() {
  // A node's parameters may be updated once the backward pass is past it when no other node
  // reads them and no node is a Python layer.
  node_spans_.assign(nodes_.size(), {});
  node_queued_.assign(nodes_.size(), 0);
  rows_early_.assign(nodes_.size(), 0);
  early_params_ = 0;
  early_ok_ = true;
  for (const NodeSpec& nd : nodes_) early_ok_ = early_ok_ && nd.kind != NODE_PYTHON;
  std::vector<std::vector<Span>> own(nodes_.size());
  for (const ParamSpec& p : pspecs_) {
    if (!p.trainable || p.size <= 0) continue;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (int(i) != p.node)
        for (const Span& r : param_reads(i)) early_ok_ = early_ok_ && (r.off + r.len <= p.off || r.off >= p.off + p.size);
    own[std::size_t(p.node)].push_back({p.off, p.size});
    early_params_ += p.size;
  }
  if (!early_ok_) return;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSpec& nd = nodes_[i];
    node_spans_[i] = cut_spans(std::move(own[i]));
    // W then b side by side: its spans run from w_off over exactly in * out (+ out) elements
    const index_t w_size = width_[std::size_t(nd.inputs[0])] * nd.width, len = w_size + (nd.use_bias ? nd.width : 0);
    const std::vector<Span>& sp = node_spans_[i];
    rows_early_[i] = nd.kind == NODE_DENSE && !sp.empty() && sp.front().off == nd.w_off &&
                     sp.back().off + sp.back().len == nd.w_off + len && index_t(sp.size()) == (len + kSpan - 1) / kSpan &&
                     (!nd.use_bias || nd.b_off == nd.w_off + w_size);
  }
}

template <class T>
bool Engine<T>::early_step(const EpochArgs& a) const {
  if (!early_ok_ || early_params_ < kEarlyMinParams || a.diagnostics || mask_.size() || team_threads() < 2) return false;
  if (opt_.clipnorm > 0 || opt_.global_clipnorm > 0 || opt_.clipvalue > 0 || py_penalty) return false;
  for (const ParamSpec& p : pspecs_)
    if (p.trainable && (p.l1 != 0 || p.l2 != 0)) return false;
  return true;
}

template <class T>
void Engine<T>::begin_early(double lr) {
  side_.spans.clear();
  side_.n = 0;
  side_.next.store(0, std::memory_order_relaxed);
  side_.update = update_fn(lr);
  queued_from_ = nodes_.size();
  std::fill(node_queued_.begin(), node_queued_.end(), 0);
  side_on_ = true;
  ++early_steps;
}

template <class T>
void Engine<T>::queue_spans(std::size_t node, index_t end_off) {
  const std::vector<Span>& sp = node_spans_[node];
  std::size_t& q = node_queued_[node];
  if (q >= sp.size() || sp[q].off + sp[q].len > end_off) return;
  // (Threads that found the queue empty moved `next` past its end.)
  side_.next.store(std::min(side_.n, side_.next.load(std::memory_order_relaxed)), std::memory_order_relaxed);
  for (; q < sp.size() && sp[q].off + sp[q].len <= end_off; ++q) side_.spans.push_back(sp[q]);
  side_.n = index_t(side_.spans.size());
}

template <class T>
void Engine<T>::queue_updates(std::size_t first_node) {
  if (!side_on_) return;
  for (; queued_from_ > first_node; --queued_from_) queue_spans(queued_from_ - 1, std::numeric_limits<index_t>::max());
}

template <class T>
void Engine<T>::reset_opt_state() {
  for (auto& b : opt_state_)
    for (index_t i = 0; i < b.size(); ++i) b[i] = T(0);
  if (opt_.kind == OPT_ADAGRAD && !opt_state_.empty())
    for (index_t i = 0; i < opt_state_[0].size(); ++i) opt_state_[0][i] = T(opt_.initial_accumulator_value);
  iterations = 0;
  nadam_mu_product = 1.0;
}

template <class T>
double Engine<T>::regularize() {
  bool any = false;
  for (const ParamSpec& p : pspecs_) any = any || (p.trainable && (p.l1 != 0 || p.l2 != 0));
  if (!any) return 0;
  T* P = params_.data();
  T* G = grads_.data();
  double* part = partial_.data();
  auto sumsq_axpy = fns<T>().sumsq_axpy;
  for_ranges(blocks_, kNormBlock, 0.3, [&](const Block& blk, index_t b) {
    const ParamSpec& p = pspecs_[std::size_t(blk.tensor)];
    double s = 0;
    T* g = G + blk.off;
    const T* w = P + blk.off;
    const index_t n = blk.len;
    // penalty l2 * sum w^2 (double accumulation), gradient 2 l2 w: one ISA pass
    if (p.l2 != 0) s += p.l2 * sumsq_axpy(w, g, n, T(2 * p.l2));
    if (p.l1 != 0) {  // penalty l1 * sum |w|, subgradient l1 sign(w) (0 at 0)
      const T c = T(p.l1);
      double s1 = 0;
#pragma omp simd reduction(+ : s1)
      for (index_t i = 0; i < n; ++i) {
        s1 += std::fabs(double(w[i]));
        g[i] += c * T((w[i] > T(0)) - (w[i] < T(0)));
      }
      s += p.l1 * s1;
    }
    part[b] = s;
  });
  double total = 0;
  for (std::size_t b = 0; b < blocks_.size(); ++b) total += part[b];
  return total;
}

template <class T>
void Engine<T>::block_sumsq() {
  const T* G = grads_.data();
  double* part = partial_.data();
  auto sumsq = fns<T>().sumsq;
  for_ranges(blocks_, kNormBlock, 0.3, [&](const Block& blk, index_t b) { part[b] = sumsq(G + blk.off, blk.len); });
}

template <class T>
double Engine<T>::tensor_norm_sq(std::vector<double>& per_tensor) {
  per_tensor.assign(pspecs_.size(), 0.0);
  double total = 0;
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    per_tensor[std::size_t(blocks_[b].tensor)] += partial_[index_t(b)];
    total += partial_[index_t(b)];
  }
  return total;
}

template <class T>
void Engine<T>::clip(EpochStats* st, bool diag) {
  const OptSpec& o = opt_;
  T* G = grads_.data();
  const bool norms = diag || o.clipnorm > 0 || o.global_clipnorm > 0;
  if (!norms && o.clipvalue <= 0) return;
  std::vector<double>& tn = tensor_sq_;
  if (norms) {
    block_sumsq();
    double total = tensor_norm_sq(tn);
    if (diag && st) {
      st->grad_norm_sum += std::sqrt(total);
      st->tensor_grad_norm_sum.resize(pspecs_.size(), 0.0);
      for (std::size_t k = 0; k < tn.size(); ++k) st->tensor_grad_norm_sum[k] += std::sqrt(tn[k]);
    }
    if (o.clipnorm > 0) {  // per tensor: g * c / max(|g|, c)
      total = 0;
      for (std::size_t k = 0; k < pspecs_.size(); ++k) {
        const double nk = std::sqrt(tn[k]);
        if (pspecs_[k].trainable && nk > o.clipnorm) {
          const double s = o.clipnorm / nk;
          fns<T>().scale(G + pspecs_[k].off, pspecs_[k].size, T(s));
          tn[k] *= s * s;
        }
        if (pspecs_[k].trainable) total += tn[k];
      }
    }
    const double g = std::sqrt(total);
    if (o.global_clipnorm > 0 && g > o.global_clipnorm) {
      const T s = T(o.global_clipnorm / g);
      for_ranges(spans_, kSpan, 0.3, [&](const Span& sp, index_t) { fns<T>().scale(G + sp.off, sp.len, s); });
    }
  }
  if (o.clipvalue > 0) {
    const T v = T(o.clipvalue);
    for_ranges(spans_, kSpan, 0.3, [&](const Span& sp, index_t) { fns<T>().clamp(G + sp.off, sp.len, -v, v); });
  }
}

template <class T>
void Engine<T>::set_mask(const T* mask) {
  if (!mask) {
    mask_.resize(0);
    return;
  }
  mask_.resize(params_.size());
  for (index_t i = 0; i < params_.size(); ++i) mask_[i] = mask[i];
  apply_mask();
}

template <class T>
void Engine<T>::apply_mask() {
  T* P = params_.data();
  const T* M = mask_.data();
  for_ranges(spans_, kSpan, 0.3, [&](const Span& sp, index_t) {
#pragma omp simd
    for (index_t i = sp.off; i < sp.off + sp.len; ++i) P[i] *= M[i];
  });
}

template <class T>
std::function<void(index_t, index_t)> Engine<T>::update_fn(double lr) {
  const OptSpec& o = opt_;
  T* P = params_.data();
  const T* G = grads_.data();
  auto slot = [&](int k) { return opt_state_[std::size_t(k)].data(); };
  const index_t step = index_t(iterations) + 1;
  const OptimFns<T>& f = fns<T>();
  auto bind = [](auto fn, const auto& args) -> std::function<void(index_t, index_t)> {
    return [fn, args](index_t b, index_t e) { fn(args, b, e); };
  };
  switch (o.kind) {
    case OPT_SGD: {
      SgdArgs<T> a;
      a.param = P; a.grad = G; a.momentum_buffer = o.momentum != 0 ? slot(0) : nullptr;
      a.lr = lr; a.momentum = o.momentum; a.dampening = o.dampening; a.weight_decay = o.weight_decay;
      a.nesterov = o.nesterov; a.first_step = iterations == 0;
      return bind(f.sgd, a);
    }
    case OPT_RMSPROP: {
      RmspropArgs<T> a;
      int k = 0;
      a.param = P; a.grad = G; a.square_avg = slot(k++);
      if (o.momentum != 0) a.momentum_buffer = slot(k++);
      if (o.centered) a.grad_avg = slot(k++);
      a.lr = lr; a.alpha = o.rho; a.eps = o.eps; a.weight_decay = o.weight_decay; a.momentum = o.momentum;
      a.centered = o.centered;
      return bind(f.rmsprop, a);
    }
    case OPT_ADAGRAD: {
      AdagradArgs<T> a;
      a.param = P; a.grad = G; a.state_sum = slot(0);
      a.lr = lr; a.lr_decay = o.lr_decay; a.weight_decay = o.weight_decay; a.eps = o.eps; a.step = step;
      return bind(f.adagrad, a);
    }
    case OPT_ADADELTA: {
      AdadeltaArgs<T> a;
      a.param = P; a.grad = G; a.square_avg = slot(0); a.acc_delta = slot(1);
      a.lr = lr; a.rho = o.rho; a.eps = o.eps; a.weight_decay = o.weight_decay;
      return bind(f.adadelta, a);
    }
    case OPT_ADAM: {
      AdamArgs<T> a;
      a.param = P; a.grad = G; a.exp_avg = slot(0); a.exp_avg_sq = slot(1);
      a.max_exp_avg_sq = o.amsgrad ? slot(2) : nullptr;
      a.lr = lr; a.beta1 = o.beta1; a.beta2 = o.beta2; a.eps = o.eps; a.weight_decay = o.weight_decay;
      a.step = step; a.decoupled_weight_decay = o.decoupled_weight_decay; a.amsgrad = o.amsgrad;
      adam_bias_corrections(a);  // once, not per block
      return bind(f.adam, a);
    }
    case OPT_ADAMAX: {
      AdamaxArgs<T> a;
      a.param = P; a.grad = G; a.exp_avg = slot(0); a.exp_inf = slot(1);
      a.lr = lr; a.beta1 = o.beta1; a.beta2 = o.beta2; a.eps = o.eps; a.weight_decay = o.weight_decay; a.step = step;
      return bind(f.adamax, a);
    }
    case OPT_NADAM: {
      NadamArgs<T> a;
      a.param = P; a.grad = G; a.exp_avg = slot(0); a.exp_avg_sq = slot(1);
      a.lr = lr; a.beta1 = o.beta1; a.beta2 = o.beta2; a.eps = o.eps; a.weight_decay = o.weight_decay;
      a.momentum_decay = o.momentum_decay; a.mu_product = nadam_mu_product; a.step = step;
      a.decoupled_weight_decay = o.decoupled_weight_decay;
      return bind(f.nadam, a);
    }
  }
  throw std::invalid_argument("unknown optimizer kind");
}

template <class T>
void Engine<T>::finish_step() {
  if (opt_.kind == OPT_NADAM)
    nadam_mu_product *= opt_.beta1 * (1.0 - 0.5 * std::pow(0.96, double(iterations + 1) * opt_.momentum_decay));
  if (mask_.size()) apply_mask();
  ++iterations;
}

template <class T>
void Engine<T>::optimizer_step(double lr) {
  if (side_on_) {  // what the gradient products left of the early updates
    queue_updates(0);
    side_on_ = false;
    const index_t first = std::min(side_.n, side_.next.load(std::memory_order_relaxed));
    // (contiguous shares, as below: spans handed out one by one ran ~2 % slower)
    parallel_range(side_.n - first, double(kSpan), [&](index_t r0, index_t r1) {
      for (index_t r = first + r0; r < first + r1; ++r) side_.run(r);
    }, 1);
  } else {
    const auto update = update_fn(lr);
    for_ranges(spans_, kSpan, 1.0, [&](const Span& sp, index_t) { update(sp.off, sp.off + sp.len); });
  }
  finish_step();
}

#define FASTNN_INST(T)                                  \
  template void Engine<T>::set_opt(const OptSpec&);     \
  template void Engine<T>::reset_opt_state();           \
  template double Engine<T>::regularize();              \
  template void Engine<T>::block_sumsq();               \
  template double Engine<T>::tensor_norm_sq(std::vector<double>&); \
  template void Engine<T>::clip(EpochStats*, bool);     \
  template void Engine<T>::optimizer_step(double);     \
  template std::function<void(index_t, index_t)> Engine<T>::update_fn(double); \
  template void Engine<T>::finish_step();               \
  template void Engine<T>::plan_early_updates();        \
  template std::vector<Engine<T>::Span> Engine<T>::cut_spans(std::vector<Span>); \
  template bool Engine<T>::early_step(const EpochArgs&) const; \
  template void Engine<T>::begin_early(double);         \
  template void Engine<T>::queue_updates(std::size_t);  \
  template void Engine<T>::queue_spans(std::size_t, index_t); \
  template void Engine<T>::set_mask(const T*);          \
  template void Engine<T>::apply_mask();
FASTNN_INST(float)
FASTNN_INST(double)
#undef FASTNN_INST

}  // namespace train
}  // namespace fastnn
