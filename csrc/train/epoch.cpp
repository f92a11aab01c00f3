// The native epoch (shuffled batches: gather, forward, loss, backward, penalties,
// clipping, update, metric collection), batched prediction and one-batch gradients.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "fastnn/act.h"
#include "train/engine.h"
#include "train/parallel.h"

namespace fastnn {
namespace train {

namespace {
// Ctrl-C is checked this often (re-acquiring the GIL costs about a microsecond).
constexpr double kSignalCheckSeconds = 0.05;

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}
}  // namespace

template <class T>
void Engine<T>::collect(const Workspace<T>& ws, const Data<T>& d, const std::int64_t* rows, index_t b) {
  for (std::size_t o = 0; o < outputs_.size(); ++o) {
    T* dst = d.collect.size() > o ? d.collect[o] : nullptr;
    if (!dst) continue;
    const index_t w = width_[std::size_t(outputs_[o].tensor)];
    const T* src = ws.act[std::size_t(outputs_[o].tensor)].data();
    for (index_t r = 0; r < b; ++r) std::memcpy(dst + rows[r] * w, src + r * w, sizeof(T) * std::size_t(w));
  }
}

template <class T>
void Engine<T>::track_dead_units(const Workspace<T>& ws, index_t b) {
  alive_.resize(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSpec& nd = nodes_[i];
    if (nd.kind != NODE_DENSE || nd.act != ACT_RELU) continue;
    const index_t w = nd.width;
    if (alive_[i].size() != w) alive_[i].resize(w);
    const T* y = ws.act[std::size_t(n_inputs_) + i].data();
    unsigned char* a = alive_[i].data();
    for (index_t r = 0; r < b; ++r)
      for (index_t j = 0; j < w; ++j) a[j] |= y[r * w + j] > T(0);
  }
}

template <class T>
int Engine<T>::predict_chunks(index_t b) const {
  if (!chunkable_ || dense_macs_ >= kPredictChunkMaxMacs || b < 2 * kPredictChunkRows) return 1;
  return int(std::min<index_t>(kMaxPredictChunks, b / kPredictChunkRows));
}

template <class T>
bool Engine<T>::step_grads(Workspace<T>& ws, index_t b, std::int64_t step, bool update_stats, bool weighted,
                           Host<T>* host) {
  // One pass over the whole batch.  (Row chunks on several threads with private gradient
  // buffers were tried for mid-sized networks: on 2 cores they lost to this, and with the
  // other core busy each fork/join cost a scheduler slice; fit_many uses the cores instead.)
  std::memset(ws.ready.data(), 0, width_.size());
  if (!forward(ws, 0, b, true, step, update_stats, host)) return false;
  loss_seed(ws, b, weighted);
  return backward(ws, b, host);
}

template <class T>
EpochStats Engine<T>::run_epoch(const Data<T>& d, const EpochArgs& a, Host<T>* host) {
  EpochStats st;
  st.output_loss_sum.assign(outputs_.size(), 0.0);
  const index_t B = a.batch_size;
  prepare(train_ws_, B, true);
  Workspace<T>& ws = train_ws_;
  ws.want_outputs = false;
  for (std::size_t o = 0; o < outputs_.size() && o < d.collect.size(); ++o) ws.want_outputs = ws.want_outputs || d.collect[o];
  if (a.diagnostics) {
    alive_.clear();
    st.tensor_grad_norm_sum.assign(pspecs_.size(), 0.0);
  }
  const bool weighted = d.sample_weight != nullptr;
  const bool early = early_step(a);
  side_on_ = false;  // (a step that ended in an exception may have left it on)
  double last_check = now_seconds();
  for (index_t bi = a.batch_begin; bi < a.batch_end; ++bi) {
    const index_t r0 = bi * B, r1 = std::min(d.n, r0 + B), b = r1 - r0;
    if (b <= 0) break;
    const std::int64_t* rows = d.order + r0;
    gather(ws, d, rows, b, a.augment.active() ? &a.augment : nullptr, bi);
    if (early) begin_early(a.lrs[bi - a.batch_begin]);
    if (!step_grads(ws, b, iterations, true, weighted, host)) {
      st.host_error = true;
      break;
    }
    const double loss = loss_total(ws, b, weighted, &st.output_loss_sum);
    double py_pen = 0;
    if (py_penalty && (!host || !host->py_penalty(&py_pen))) {
      st.host_error = true;
      break;
    }
    const double total = loss + regularize() + py_pen;
    if (a.diagnostics) track_dead_units(ws, b);
    clip(&st, a.diagnostics);
    const bool last = bi + 1 == a.batch_end || r1 >= d.n;
    if (a.diagnostics && last) std::memcpy(prev_params(), params_.data(), sizeof(T) * std::size_t(params_.size()));
    optimizer_step(a.lrs[bi - a.batch_begin]);
    if (a.diagnostics && last) update_ratios(&st);
    collect(ws, d, rows, b);
    if (weighted)
      for (index_t r = 0; r < b; ++r) st.weight_sum += double(ws.weight[r]);
    else
      st.weight_sum += double(b);
    st.loss_sum += double(b) * total;
    st.samples += b;
    st.batches++;
    if (!std::isfinite(total) && st.nan_batch < 0) {
      st.nan_batch = bi;
      if (a.stop_on_nan) break;
    }
    if (host) {
      const double t = now_seconds();
      if (t - last_check > kSignalCheckSeconds) {
        last_check = t;
        if (host->interrupted()) {
          st.interrupted = true;
          break;
        }
      }
    }
  }
  if (a.diagnostics) {
    st.dead_fraction.assign(nodes_.size(), std::nan(""));
    for (std::size_t i = 0; i < alive_.size(); ++i) {
      if (alive_[i].size() == 0) continue;
      index_t dead = 0;
      for (index_t j = 0; j < alive_[i].size(); ++j) dead += alive_[i][j] == 0;
      st.dead_fraction[i] = double(dead) / double(alive_[i].size());
    }
  }
  return st;
}

template <class T>
T* Engine<T>::prev_params() {
  if (prev_params_.size() != params_.size()) prev_params_.resize(params_.size());
  return prev_params_.data();
}

template <class T>
void Engine<T>::update_ratios(EpochStats* st) {
  // ||w_new - w_old|| / ||w_old|| per parameter tensor, for the last step of the call.
  st->update_ratio.assign(pspecs_.size(), std::nan(""));
  const T* P = params_.data();
  const T* Q = prev_params_.data();
  for (std::size_t k = 0; k < pspecs_.size(); ++k) {
    const ParamSpec& p = pspecs_[k];
    double du = 0, ww = 0;
    for (index_t i = p.off; i < p.off + p.size; ++i) {
      const double d = double(P[i]) - double(Q[i]);
      du += d * d;
      ww += double(Q[i]) * double(Q[i]);
    }
    st->update_ratio[k] = ww > 0 ? std::sqrt(du / ww) : (du > 0 ? INFINITY : 0.0);
  }
}

template <class T>
bool Engine<T>::predict(const Data<T>& d, index_t batch_size, const std::vector<T*>& out, Host<T>* host,
                        const std::vector<T*>* logits) {
  prepare(infer_ws_, std::min(batch_size, std::max<index_t>(d.n, 1)), false);
  Workspace<T>& ws = infer_ws_;
  const index_t B = std::min(batch_size, ws.batch);
  for (index_t r0 = 0; r0 < d.n; r0 += B) {
    const index_t b = std::min(B, d.n - r0);
    for (int t = 0; t < n_inputs_; ++t) {
      const index_t w = width_[std::size_t(t)];
      if (d.x[std::size_t(t)]) {  // rows in place
        ws.xin[std::size_t(t)] = d.x[std::size_t(t)] + r0 * w;
      } else {  // the other floating type: converted one batch at a time
        const auto* src = d.x_other[std::size_t(t)] + r0 * w;
        T* dst = ws.act[std::size_t(t)].data();
        parallel_range(b * w, 0.3, [&](index_t i0, index_t i1) {
#pragma omp simd
          for (index_t i = i0; i < i1; ++i) dst[i] = T(src[i]);
        });
        ws.xin[std::size_t(t)] = dst;
      }
    }
    const int C = predict_chunks(b);
    if (C <= 1) {
      if (!forward(ws, 0, b, false, 0, false, host)) return false;
    } else {
      // Small network: the batch's rows are cut into C chunks (C from the shapes only), each
      // run through the whole network by one thread: one fork/join per batch instead of one
      // per layer, and a chunk's activations stay in cache. A row's result does not depend
      // on the chunk it is in.
      const index_t rc = (b + C - 1) / C;
      const int nt = omp_in_parallel() ? 1 : std::min(C, team_threads());
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
      for (int c = 0; c < C; ++c) {
        const index_t c0 = std::min(b, c * rc), bc = std::min(b, c0 + rc) - c0;
        if (bc > 0) forward(ws, c0, bc, false, 0, false, nullptr);
      }
    }
    for (std::size_t o = 0; o < outputs_.size() && o < out.size(); ++o) {
      const index_t w = width_[std::size_t(outputs_[o].tensor)];
      std::memcpy(out[o] + r0 * w, ws.act[std::size_t(outputs_[o].tensor)].data(), sizeof(T) * std::size_t(b * w));
      if (logits && o < logits->size() && (*logits)[o] && fused(o)) {
        // The logits: a fused dense layer's z (kept for its softmax/sigmoid), or the input
        // of a fused activation node.
        const std::size_t f = std::size_t(fused_[o]);
        const T* z = nodes_[f].kind == NODE_DENSE ? ws.aux[f].data() : ws.act[std::size_t(nodes_[f].inputs[0])].data();
        std::memcpy((*logits)[o] + r0 * w, z, sizeof(T) * std::size_t(b * w));
      }
    }
  }
  return true;
}

template <class T>
double Engine<T>::compute_gradients(const Data<T>& d, std::int64_t step, Host<T>* host, bool* ok) {
  side_on_ = false;  // (a step that ended in an exception may have left it on) no updates here
  const index_t b = d.n;
  prepare(train_ws_, b, true);
  Workspace<T>& ws = train_ws_;
  ws.want_outputs = true;
  *ok = false;
  gather(ws, d, d.order, b);
  // Parameters no loss reaches (and frozen ones) report a zero gradient.
  std::memset(static_cast<void*>(grads_.data()), 0, sizeof(T) * std::size_t(grads_.size()));
  const bool weighted = d.sample_weight != nullptr;
  if (!step_grads(ws, b, step, false, weighted, host)) return 0;
  double py_pen = 0;
  if (py_penalty && (!host || !host->py_penalty(&py_pen))) return 0;
  *ok = true;
  return loss_total(ws, b, weighted, nullptr) + regularize() + py_pen;
}

#define FASTNN_INST(T)                                                                              \
  template EpochStats Engine<T>::run_epoch(const Data<T>&, const EpochArgs&, Host<T>*);             \
  template int Engine<T>::predict_chunks(index_t) const;                                            \
  template bool Engine<T>::step_grads(Workspace<T>&, index_t, std::int64_t, bool, bool, Host<T>*);  \
  template bool Engine<T>::predict(const Data<T>&, index_t, const std::vector<T*>&, Host<T>*,        \
                                   const std::vector<T*>*);                                           \
  template double Engine<T>::compute_gradients(const Data<T>&, std::int64_t, Host<T>*, bool*);      \
  template void Engine<T>::collect(const Workspace<T>&, const Data<T>&, const std::int64_t*, index_t); \
  template void Engine<T>::track_dead_units(const Workspace<T>&, index_t);                          \
  template T* Engine<T>::prev_params();                                                             \
  template void Engine<T>::update_ratios(EpochStats*);
FASTNN_INST(float)
FASTNN_INST(double)
#undef FASTNN_INST

}  // namespace train
}  // namespace fastnn
