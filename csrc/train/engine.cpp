// The engine's structure checks, workspace, forward and backward passes (optimizer.cpp
// holds clipping and the update; epoch.cpp the epoch, prediction and gradient drivers).
#include "train/engine.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "fastnn/act.h"
#include "train/nodes.h"
#include "train/parallel.h"
#include "train/rng.h"

namespace fastnn {
namespace train {

namespace {
std::string node_name(std::size_t i) { return "node " + std::to_string(i); }
bool is_ce_prob(const OutputSpec& o, int act) {
  if (o.loss.from_logits) return false;
  if (act == kActSoftmax) return o.loss.id == LOSS_CCE || o.loss.id == LOSS_SPARSE_CCE;
  if (act == ACT_SIGMOID) return o.loss.id == LOSS_BCE;
  return false;
}
}  // namespace

template <class T>
Engine<T>::Engine(std::vector<NodeSpec> nodes, std::vector<index_t> input_widths, std::vector<ParamSpec> params,
                  index_t n_params, index_t n_state, std::vector<OutputSpec> outputs, OptSpec opt)
    : nodes_(std::move(nodes)), pspecs_(std::move(params)), outputs_(std::move(outputs)) {
  n_inputs_ = int(input_widths.size());
  if (n_inputs_ < 1) throw std::invalid_argument("a network needs at least one input");
  if (n_params < 0 || n_state < 0) throw std::invalid_argument("negative buffer size");
  width_ = input_widths;
  for (const NodeSpec& nd : nodes_) width_.push_back(nd.width);
  params_.resize(n_params);
  grads_.resize(n_params);
  state_.resize(n_state);
  check_structure();
  plan_fusion();
  set_opt(opt);
}

template <class T>
std::vector<typename Engine<T>::Span> Engine<T>::param_reads(std::size_t i) const {
  const NodeSpec& nd = nodes_[i];
  const index_t w = nd.width;
  std::vector<Span> r;
  switch (nd.kind) {
    case NODE_DENSE:  // W (in, out), b (out)
      r.push_back({nd.w_off, width_[std::size_t(nd.inputs[0])] * w});
      if (nd.use_bias) r.push_back({nd.b_off, w});
      break;
    case NODE_PRELU: r.push_back({nd.w_off, w}); break;
    case NODE_BATCHNORM:  // gamma, beta: each optional
    case NODE_LAYERNORM:
      if (nd.w_off >= 0) r.push_back({nd.w_off, w});
      if (nd.b_off >= 0) r.push_back({nd.b_off, w});
      break;
    default: break;
  }
  return r;
}

template <class T>
void Engine<T>::check_structure() {
  const index_t np = params_.size(), ns = state_.size();
  auto in_params = [&](index_t off, index_t len) { return off >= 0 && len >= 0 && off + len <= np; };
  for (index_t w : width_)
    if (w <= 0) throw std::invalid_argument("every tensor needs a positive width");
  const std::size_t ntens = width_.size();
  consumers_.assign(ntens, 0);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSpec& nd = nodes_[i];
    const int self = n_inputs_ + int(i);
    if (nd.kind < 0 || nd.kind >= NODE_COUNT) throw std::invalid_argument(node_name(i) + ": unknown kind");
    if (nd.inputs.empty()) throw std::invalid_argument(node_name(i) + ": no input");
    for (int t : nd.inputs) {
      if (t < 0 || t >= self) throw std::invalid_argument(node_name(i) + ": inputs must come earlier (topological order)");
      consumers_[std::size_t(t)]++;
    }
    const index_t in = width_[std::size_t(nd.inputs[0])], w = nd.width;
    const bool single = nd.kind != NODE_ADD && nd.kind != NODE_CONCAT && nd.kind != NODE_PYTHON;
    if (single && nd.inputs.size() != 1) throw std::invalid_argument(node_name(i) + ": takes one input");
    bool ok = true;
    switch (nd.kind) {
      case NODE_DENSE:
        ok = nd.act == kActSoftmax || nd.act == kActLogSoftmax || (nd.act >= 0 && nd.act < ACT_COUNT);
        break;
      case NODE_ACTIVATION:
        ok = w == in && (nd.act == kActSoftmax || nd.act == kActLogSoftmax || (nd.act >= 0 && nd.act < ACT_COUNT));
        break;
      case NODE_DROPOUT: ok = w == in && nd.rate >= 0 && nd.rate < 1; break;
      case NODE_NOISE: ok = w == in && nd.stddev >= 0; break;
      case NODE_BATCHNORM:
        ok = w == in && nd.s_off >= 0 && nd.s_off + 2 * w <= ns;
        break;
      case NODE_LAYERNORM: ok = w == in; break;
      case NODE_PRELU: ok = w == in; break;
      case NODE_ADD:
        for (int t : nd.inputs) ok = ok && width_[std::size_t(t)] == w;
        break;
      case NODE_CONCAT: {
        index_t s = 0;
        for (int t : nd.inputs) s += width_[std::size_t(t)];
        ok = s == w;
        break;
      }
      case NODE_PYTHON: ok = nd.py_index >= 0; break;
    }
    for (const Span& r : param_reads(i)) ok = ok && in_params(r.off, r.len);
    if (!ok) throw std::invalid_argument(node_name(i) + ": inconsistent shapes or parameter offsets");
  }
  for (const ParamSpec& p : pspecs_)
    if (!in_params(p.off, p.size) || p.node < 0 || p.node >= int(nodes_.size()))
      throw std::invalid_argument("parameter tensor outside the parameter buffer");
  for (const OutputSpec& o : outputs_)
    if (o.tensor < n_inputs_ || o.tensor >= int(ntens) || o.loss.id < 0 || o.loss.id >= LOSS_COUNT)
      throw std::invalid_argument("bad output specification");
  // Which tensors need a gradient: outputs of nodes with trainable parameters (or Python
  // layers, which may own some), and everything downstream of them.
  std::vector<bool> has_trainable(nodes_.size(), false);
  for (const ParamSpec& p : pspecs_)
    if (p.trainable && p.size > 0) has_trainable[std::size_t(p.node)] = true;
  chunkable_ = true;
  dense_macs_ = 0;
  for (const NodeSpec& nd : nodes_) {
    if (nd.kind == NODE_BATCHNORM || nd.kind == NODE_PYTHON) chunkable_ = false;
    if (nd.kind == NODE_DENSE) dense_macs_ += width_[std::size_t(nd.inputs[0])] * nd.width;
  }
  req_.assign(ntens, false);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    bool r = has_trainable[i] || nodes_[i].kind == NODE_PYTHON;
    for (int t : nodes_[i].inputs) r = r || req_[std::size_t(t)];
    req_[std::size_t(n_inputs_) + i] = r;
  }
}

template <class T>
void Engine<T>::set_outputs(std::vector<OutputSpec> outputs) {
  std::vector<OutputSpec> old = std::move(outputs_);
  outputs_ = std::move(outputs);
  try {
    check_structure();
  } catch (...) {
    outputs_ = std::move(old);
    throw;
  }
  plan_fusion();
  train_ws_ = Workspace<T>();
  infer_ws_ = Workspace<T>();
}

template <class T>
void Engine<T>::plan_fusion() {
  fused_.assign(outputs_.size(), -1);
  skip_act_bwd_.assign(nodes_.size(), false);
  skip_node_bwd_.assign(nodes_.size(), false);
  for (std::size_t o = 0; o < outputs_.size(); ++o) {
    const int t = outputs_[o].tensor;
    const int ni = t - n_inputs_;
    const NodeSpec& nd = nodes_[std::size_t(ni)];
    if (consumers_[std::size_t(t)] != 0) continue;
    int twice = 0;
    for (const OutputSpec& p : outputs_) twice += p.tensor == t;
    if (twice != 1) continue;
    if (nd.kind == NODE_DENSE && is_ce_prob(outputs_[o], nd.act)) {
      fused_[o] = ni;
      skip_act_bwd_[std::size_t(ni)] = true;
    } else if (nd.kind == NODE_ACTIVATION && is_ce_prob(outputs_[o], nd.act) &&
               nd.inputs[0] >= n_inputs_ && consumers_[std::size_t(nd.inputs[0])] == 1) {
      fused_[o] = ni;
      skip_node_bwd_[std::size_t(ni)] = true;
    }
  }
}

template <class T>
void Engine<T>::prepare(Workspace<T>& ws, index_t batch, bool training) {
  const std::size_t ntens = width_.size();
  const bool fresh = ws.act.size() != ntens;
  if (!fresh && ws.batch >= batch && (!training || ws.grad.size() == ntens)) return;
  const index_t B = std::max(batch, ws.batch);
  ws.batch = B;
  ws.act.resize(ntens);
  ws.xin.assign(std::size_t(n_inputs_), nullptr);
  for (std::size_t t = 0; t < ntens; ++t) ws.act[t].resize(B * width_[t]);
  ws.aux.resize(nodes_.size());
  ws.aux2.resize(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSpec& nd = nodes_[i];
    const index_t w = nd.width;
    index_t a = 0, a2 = 0;
    switch (nd.kind) {
      // The pre-activation z, for the activation's backward pass: relu's needs only the
      // output (y > 0 exactly where z > 0, NaN and -0 included), so relu layers keep none.
      case NODE_DENSE: a = nd.act != ACT_IDENTITY && nd.act != ACT_RELU ? B * w : 0; break;
      case NODE_DROPOUT: a = training ? B * w : 0; break;
      case NODE_BATCHNORM: a = training ? B * w : 0; a2 = 2 * w; break;
      case NODE_LAYERNORM: a = B * w; a2 = B; break;
      default: break;
    }
    ws.aux[i].resize(a);
    ws.aux2[i].resize(a2);
  }
  if (training) {
    ws.grad.resize(ntens);
    for (std::size_t t = 0; t < ntens; ++t)
      ws.grad[t].resize(t >= std::size_t(n_inputs_) && req_[t] ? B * width_[t] : 0);
    ws.loss_rows.resize(outputs_.size());
    for (auto& lr : ws.loss_rows) lr.resize(B);
    ws.ready.assign(ntens, 0);
    ws.target.resize(outputs_.size());
    ws.labels.resize(outputs_.size());
    for (std::size_t o = 0; o < outputs_.size(); ++o) {
      const index_t w = width_[std::size_t(outputs_[o].tensor)];
      const bool sparse = outputs_[o].loss.id == LOSS_SPARSE_CCE;
      ws.target[o].resize(sparse ? 0 : B * w);
      ws.labels[o].resize(sparse ? B : 0);
    }
    ws.weight.resize(B);
    ws.lam.resize(B);
    ws.partner.resize(B);
    ws.labels2.resize(outputs_.size());
    for (std::size_t o = 0; o < outputs_.size(); ++o) ws.labels2[o].resize(outputs_[o].loss.id == LOSS_SPARSE_CCE ? B : 0);
    index_t wmax = 0;
    for (const OutputSpec& o : outputs_) wmax = std::max(wmax, width_[std::size_t(o.tensor)]);
    ws.loss_scratch.resize(B * wmax);
  }
}

namespace {
// dst[0, w) = src[0, w) converted to T (a plain copy when S is T).
template <class T, class S>
inline void load_row(T* dst, const S* src, index_t w) {
  if constexpr (std::is_same<T, S>::value) {
    // Rows of a few hundred bytes (tabular data): 16-byte pieces in line, where a libc call
    // per row cost ~0.2 us of a 20-feature network's 8 us step.
    constexpr index_t kPiece = index_t(16 / sizeof(T));
    if (w > 16 * kPiece) return void(std::memcpy(dst, src, sizeof(T) * std::size_t(w)));
    index_t j = 0;
    for (; j + kPiece <= w; j += kPiece) std::memcpy(dst + j, src + j, 16);
    for (; j < w; ++j) dst[j] = src[j];
  } else {
#pragma omp simd
    for (index_t j = 0; j < w; ++j) dst[j] = T(src[j]);
  }
}
// An augmented row, in double and rounded once: lam * a + (1 - lam) * p (p: nullptr when not
// mixing), plus sigma * normal01(key, c0 + j) when sigma > 0.  Inputs of the other type S
// are first rounded to T, so that a float64 file feeding a float32 model gives the bits of
// the same file converted whole before training.
template <class T, class S>
inline void aug_row(T* dst, const S* a, const S* p, double lam, double sigma, std::uint64_t key, std::uint64_t c0,
                    index_t w) {
  for (index_t j = 0; j < w; ++j) {
    double v = double(T(a[j]));
    if (p) v = lam * v + (1.0 - lam) * double(T(p[j]));
    if (sigma > 0) v += sigma * normal01(key, c0 + std::uint64_t(j));
    dst[j] = T(v);
  }
}
}  // namespace

template <class T>
void Engine<T>::gather_input(Workspace<T>& ws, const Data<T>& d, int t, const std::int64_t* rows, index_t b,
                             const Augment* aug, std::uint64_t batch_key) {
  const index_t w = width_[std::size_t(t)];
  T* dst = ws.act[std::size_t(t)].data();
  const double sigma = aug ? aug->noise : 0.0;
  const bool mix = ws.mixed;
  auto run = [&](const auto* src) {
    if (!mix && !(sigma > 0)) {
      parallel_range(b, double(w) * 0.3, [&](index_t r0, index_t r1) {
        for (index_t r = r0; r < r1; ++r) load_row(dst + r * w, src + rows[r] * w, w);
      });
      return;
    }
    const std::uint64_t key = sigma > 0 ? aug_noise_key(batch_key, t) : 0;
    const double* lam = ws.lam.data();
    const std::int64_t* part = ws.partner.data();
    parallel_range(b, double(w) * (sigma > 0 ? 25.0 : 1.0), [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r)
        aug_row(dst + r * w, src + rows[r] * w, mix ? src + rows[part[r]] * w : nullptr, mix ? lam[r] : 1.0, sigma,
                key, std::uint64_t(r * w), w);
    }, 1);
  };
  if (d.x[std::size_t(t)])
    run(d.x[std::size_t(t)]);
  else
    run(d.x_other[std::size_t(t)]);
  ws.xin[std::size_t(t)] = dst;
}

template <class T>
void Engine<T>::gather(Workspace<T>& ws, const Data<T>& d, const std::int64_t* rows, index_t b, const Augment* aug,
                       index_t batch) {
  if (aug && !aug->active()) aug = nullptr;
  ws.mixed = aug && aug->mixup > 0;
  const std::uint64_t bk = aug ? aug_batch_key(aug->seed, aug->epoch, batch) : 0;
  const double* lam = ws.lam.data();
  const std::int64_t* part = ws.partner.data();
  if (ws.mixed) {
    const double alpha = aug->mixup;
    double* L = ws.lam.data();
    parallel_range(b, 300.0, [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r) L[r] = mixup_lambda(bk, alpha, r);
    }, 1);
    mixup_partners(bk, b, ws.partner.data());
  }
  for (int t = 0; t < n_inputs_; ++t) gather_input(ws, d, t, rows, b, aug, bk);
  for (std::size_t o = 0; o < outputs_.size(); ++o) {
    const index_t w = width_[std::size_t(outputs_[o].tensor)];
    if (d.labels[o]) {
      for (index_t r = 0; r < b; ++r) ws.labels[o][r] = d.labels[o][rows[r]];
      if (ws.mixed)
        for (index_t r = 0; r < b; ++r) ws.labels2[o][r] = d.labels[o][rows[part[r]]];
    } else {
      T* dst = ws.target[o].data();
      const T* y = d.y[o];
      if (ws.mixed)
        for (index_t r = 0; r < b; ++r) aug_row(dst + r * w, y + rows[r] * w, y + rows[part[r]] * w, lam[r], 0.0, 0, 0, w);
      else
        for (index_t r = 0; r < b; ++r) std::memcpy(dst + r * w, y + rows[r] * w, sizeof(T) * std::size_t(w));
    }
  }
  if (d.sample_weight) {
    const T* sw = d.sample_weight;
    if (ws.mixed)
      for (index_t r = 0; r < b; ++r)
        ws.weight[r] = T(lam[r] * double(sw[rows[r]]) + (1.0 - lam[r]) * double(sw[rows[part[r]]]));
    else
      for (index_t r = 0; r < b; ++r) ws.weight[r] = sw[rows[r]];
  }
}

template <class T>
bool Engine<T>::forward(Workspace<T>& ws, index_t r0, index_t B, bool training, std::int64_t step,
                        bool update_stats, Host<T>* host) {
  T* P = params_.data();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSpec& nd = nodes_[i];
    const int t = n_inputs_ + int(i);
    const int t0 = nd.inputs[0];
    const index_t w = nd.width, in = width_[std::size_t(t0)];
    const T* x = input_ptr(ws, t0) + r0 * in;
    T* y = ws.act[std::size_t(t)].data() + r0 * w;
    T* aux = ws.aux[i].size() ? ws.aux[i].data() + r0 * w : nullptr;
    const T alpha = T(nd.alpha);
    switch (nd.kind) {
      case NODE_DENSE:
        // A softmax/sigmoid output whose loss is computed from the logits: in training, its
        // probabilities are computed only when the epoch collects the outputs.
        dense_forward(y, aux, x, P + nd.w_off, nd.use_bias ? P + nd.b_off : nullptr, B, in, w, nd.act,
                      alpha, !(training && skip_act_bwd_[i] && !ws.want_outputs));
        break;
      case NODE_ACTIVATION: act_forward(y, x, B, w, nd.act, alpha); break;
      case NODE_DROPOUT:
        if (training && nd.rate > 0)
          dropout_forward(y, aux, x, B, w, nd.rate, rng_key(nd.seed, std::uint64_t(step)), r0 * w);
        else
          copy_into(y, x, B * w, false);
        break;
      case NODE_NOISE:
        if (training && nd.stddev > 0)
          noise_forward(y, x, B * w, nd.stddev, rng_key(nd.seed, std::uint64_t(step)), r0 * w);
        else
          copy_into(y, x, B * w, false);
        break;
      case NODE_BATCHNORM: {
        T* rm = state_.data() + nd.s_off;
        T* rv = rm + w;
        const T* gamma = nd.w_off >= 0 ? P + nd.w_off : nullptr;
        const T* beta = nd.b_off >= 0 ? P + nd.b_off : nullptr;
        T* mean = ws.aux2[i].data();
        T* invstd = mean + w;
        if (training && nd.trainable) {
          batchnorm_forward_train(y, aux, mean, invstd, rm, rv, x, gamma, beta, B, w, nd.eps,
                                  nd.momentum, update_stats);
        } else {
          batchnorm_forward_infer(y, x, rm, rv, gamma, beta, B, w, nd.eps);
          if (training)
            for (index_t j = 0; j < w; ++j) invstd[j] = T(1) / std::sqrt(rv[j] + T(nd.eps));
        }
        break;
      }
      case NODE_LAYERNORM:
        layernorm_forward(y, aux, ws.aux2[i].data() + r0, x, nd.w_off >= 0 ? P + nd.w_off : nullptr,
                          nd.b_off >= 0 ? P + nd.b_off : nullptr, B, w, nd.eps);
        break;
      case NODE_PRELU: prelu_forward(y, x, P + nd.w_off, B, w); break;
      case NODE_ADD:
        copy_into(y, x, B * w, false);
        for (std::size_t k = 1; k < nd.inputs.size(); ++k) copy_into(y, input_ptr(ws, nd.inputs[k]) + r0 * w, B * w, true);
        break;
      case NODE_CONCAT: {
        index_t col = 0;
        for (int s : nd.inputs) {
          const index_t ws_ = width_[std::size_t(s)];
          copy_rows(y + col, w, input_ptr(ws, s) + r0 * ws_, ws_, B, ws_, false);
          col += ws_;
        }
        break;
      }
      case NODE_PYTHON: {
        std::vector<const T*> xs;
        std::vector<index_t> wids;
        for (int s : nd.inputs) {
          xs.push_back(input_ptr(ws, s) + r0 * width_[std::size_t(s)]);
          wids.push_back(width_[std::size_t(s)]);
        }
        if (!host || !host->py_forward(nd.py_index, xs, wids, B, y, w, training)) return false;
        break;
      }
    }
  }
  return true;
}

template <class T>
void Engine<T>::loss_seed(Workspace<T>& ws, index_t B, bool weighted) {
  char* ready = ws.ready.data();
  for (std::size_t o = 0; o < outputs_.size(); ++o) {
    const OutputSpec& out = outputs_[o];
    const int t = out.tensor;
    const index_t w = width_[std::size_t(t)];
    LossSpec spec = out.loss;
    const T* pred = ws.act[std::size_t(t)].data();
    T* dpred = nullptr;
    const int f = fused_[o];
    if (f >= 0) {
      spec.from_logits = true;
      const NodeSpec& nd = nodes_[std::size_t(f)];
      if (nd.kind == NODE_DENSE) {
        pred = ws.aux[std::size_t(f)].data();  // z
        if (req_[std::size_t(t)]) dpred = ws.grad[std::size_t(t)].data();  // holds dz
      } else {
        const int in = nd.inputs[0];
        pred = ws.act[std::size_t(in)].data();
        if (req_[std::size_t(in)]) dpred = ws.grad[std::size_t(in)].data();
      }
    } else if (req_[std::size_t(t)]) {
      dpred = ws.grad[std::size_t(t)].data();
    }
    // Two losses may seed one buffer (a tensor that is two outputs, or logits that are an
    // output and also feed a fused softmax output): the second one adds to the first.
    const int seeded =
        !dpred ? -1 : (f >= 0 && nodes_[std::size_t(f)].kind != NODE_DENSE ? nodes_[std::size_t(f)].inputs[0] : t);
    const bool add = seeded >= 0 && ready[seeded];
    T* target = add ? ws.loss_scratch.data() : dpred;
    if (seeded >= 0) ready[seeded] = 1;
    const bool sparse = spec.id == LOSS_SPARSE_CCE;
    const T scale = T(out.sum ? out.weight : out.weight / double(B));  // d(batch loss) / d(sample loss)
    if (sparse && ws.mixed)
      loss_rows_mixed<T>(spec, 0, B, w, pred, w, ws.labels[o].data(), ws.labels2[o].data(), ws.lam.data(),
                         weighted ? ws.weight.data() : nullptr, scale, ws.loss_rows[o].data(), target, w);
    else
      loss_rows<T>(spec, 0, B, w, pred, w, sparse ? nullptr : ws.target[o].data(), w,
                 sparse ? ws.labels[o].data() : nullptr, weighted ? ws.weight.data() : nullptr, scale,
                 ws.loss_rows[o].data(), target, w);
    if (add) copy_into(dpred, target, B * w, true);
  }
}

template <class T>
double Engine<T>::loss_total(Workspace<T>& ws, index_t B, bool weighted, std::vector<double>* per_output) {
  double total = 0;
  for (std::size_t o = 0; o < outputs_.size(); ++o) {
    const double* lr = ws.loss_rows[o].data();
    double s = 0;
    if (weighted)
      for (index_t r = 0; r < B; ++r) s += double(ws.weight[r]) * lr[r];
    else
      for (index_t r = 0; r < B; ++r) s += lr[r];
    // (per output, batch size times the batch's loss, as loss_sum counts the total)
    const bool sum = outputs_[o].sum;
    if (per_output) (*per_output)[o] += sum ? s * double(B) : s;
    total += outputs_[o].weight * (sum ? s : s / double(B));
  }
  return total;
}

template <class T>
bool Engine<T>::backward(Workspace<T>& ws, index_t B, Host<T>* host) {
  T* P = params_.data();
  T* G = grads_.data();
  char* ready = ws.ready.data();
  for (std::size_t ii = nodes_.size(); ii-- > 0;) {
    queue_updates(ii + 1);  // early updates: the nodes the pass is past
    const NodeSpec& nd = nodes_[ii];
    const std::size_t t = std::size_t(n_inputs_) + ii;
    if (!req_[t] || skip_node_bwd_[ii]) continue;
    if (!ready[t]) {  // no loss depends on this node in this network
      zero_node_grads(ii);
      continue;
    }
    const int t0 = nd.inputs[0];
    const index_t w = nd.width, in = width_[std::size_t(t0)];
    T* dy = ws.grad[t].data();
    const T* y = ws.act[t].data();
    const T* x = input_ptr(ws, t0);
    T* aux = ws.aux[ii].size() ? ws.aux[ii].data() : nullptr;
    // The gradient of input k: nullptr when not needed; `acc` when it already holds a part.
    auto dx_of = [&](int s, bool* acc) -> T* {
      if (!req_[std::size_t(s)]) return nullptr;
      *acc = ready[s] != 0;
      ready[s] = 1;
      return ws.grad[std::size_t(s)].data();
    };
    bool acc = false;
    switch (nd.kind) {
      case NODE_DENSE: {
        if (!skip_act_bwd_[ii] && nd.act != ACT_IDENTITY)  // relu: from y (no z kept)
          act_backward(dy, dy, nd.act == ACT_RELU ? y : aux, y, B, w, nd.act, T(nd.alpha));
        T* dx = dx_of(t0, &acc);
        NodeHooks hooks;  // early updates (an input layer's W rows queued as dW's are done)
        hooks.e = this;
        hooks.node = ii;
        hooks.w_off = nd.w_off;
        hooks.row_len = w;
        if (!dx && nd.trainable && rows_early_[ii])
          hooks.row_blocks =
              std::min<index_t>(kEarlyRowBlocks, index_t(2.0 * double(B) * double(in) * double(w) / kEarlyRowBlockFlops));
        dense_backward(dx, nd.trainable ? G + nd.w_off : nullptr,
                       nd.trainable && nd.use_bias ? G + nd.b_off : nullptr, dy, x, P + nd.w_off, B, in, w, acc,
                       side_on_ ? &hooks : nullptr);
        break;
      }
      case NODE_ACTIVATION: {
        T* dx = dx_of(t0, &acc);
        if (!dx) break;
        if (acc) {
          act_backward(dy, dy, x, y, B, w, nd.act, T(nd.alpha));
          copy_into(dx, dy, B * w, true);
        } else {
          act_backward(dx, dy, x, y, B, w, nd.act, T(nd.alpha));
        }
        break;
      }
      case NODE_DROPOUT: {
        T* dx = dx_of(t0, &acc);
        if (!dx) break;
        if (nd.rate > 0)
          mul_into(dx, dy, aux, B * w, acc);
        else
          copy_into(dx, dy, B * w, acc);
        break;
      }
      case NODE_NOISE: {
        T* dx = dx_of(t0, &acc);
        if (dx) copy_into(dx, dy, B * w, acc);
        break;
      }
      case NODE_BATCHNORM: {
        T* dx = dx_of(t0, &acc);
        const bool tr = nd.trainable;
        batchnorm_backward(dx, tr && nd.w_off >= 0 ? G + nd.w_off : nullptr, tr && nd.b_off >= 0 ? G + nd.b_off : nullptr,
                           dy, aux, ws.aux2[ii].data() + w, nd.w_off >= 0 ? P + nd.w_off : nullptr, B,
                           w, tr, acc);
        break;
      }
      case NODE_LAYERNORM: {
        T* dx = dx_of(t0, &acc);
        const bool tr = nd.trainable;
        layernorm_backward(dx, tr && nd.w_off >= 0 ? G + nd.w_off : nullptr, tr && nd.b_off >= 0 ? G + nd.b_off : nullptr,
                           dy, aux, ws.aux2[ii].data(), nd.w_off >= 0 ? P + nd.w_off : nullptr, B, w,
                           acc);
        break;
      }
      case NODE_PRELU: {
        T* dx = dx_of(t0, &acc);
        prelu_backward(dx, nd.trainable ? G + nd.w_off : nullptr, dy, x, P + nd.w_off, B, w, acc);
        break;
      }
      case NODE_ADD:
        for (int s : nd.inputs) {
          T* dx = dx_of(s, &acc);
          if (dx) copy_into(dx, dy, B * w, acc);
        }
        break;
      case NODE_CONCAT: {
        index_t col = 0;
        for (int s : nd.inputs) {
          const index_t sw = width_[std::size_t(s)];
          T* dx = dx_of(s, &acc);
          if (dx) copy_rows(dx, sw, dy + col, w, B, sw, acc);
          col += sw;
        }
        break;
      }
      case NODE_PYTHON: {
        std::vector<const T*> xs;
        std::vector<index_t> wids;
        std::vector<T*> dxs;
        std::vector<bool> accs;
        for (int s : nd.inputs) {
          xs.push_back(input_ptr(ws, s));
          wids.push_back(width_[std::size_t(s)]);
          dxs.push_back(dx_of(s, &acc));
          accs.push_back(acc);
        }
        if (!host || !host->py_backward(nd.py_index, xs, wids, B, y, dy, w, dxs, accs)) return false;
        break;
      }
    }
  }
  return true;
}

template <class T>
void Engine<T>::zero_node_grads(std::size_t node) {
  for (const ParamSpec& p : pspecs_)
    if (p.node == int(node)) std::memset(static_cast<void*>(grads_.data() + p.off), 0, sizeof(T) * std::size_t(p.size));
}

template class Engine<float>;
template class Engine<double>;

}  // namespace train
}  // namespace fastnn
