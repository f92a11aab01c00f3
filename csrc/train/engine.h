// The training engine: a network (a DAG of nodes over tensors), its flat parameter,
// gradient, state and optimizer buffers, and the native epoch.
//
// Layout: tensors 0 .. n_inputs-1 are the model inputs; node i produces tensor n_inputs + i.
// Nodes are in topological order.  Every activation tensor is a row-major (batch, width)
// buffer of the workspace, sized once per batch size.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "fastnn/dispatch.h"
#include "fastnn/gemm.h"
#include "train/buffer.h"
#include "train/nodes.h"
#include "train/spec.h"

namespace fastnn {

// Sparse categorical cross-entropy of a mixup batch (losses.cpp): row r's target is
// lam[r] * onehot(labels[r]) + (1 - lam[r]) * onehot(labels2[r]); as loss_rows otherwise.
template <class T>
void loss_rows_mixed(const LossSpec& spec, index_t r0, index_t r1, index_t cols, const T* pred, index_t ldp,
                     const std::int64_t* labels, const std::int64_t* labels2, const double* lam, const T* w,
                     T grad_scale, double* loss_row, T* dpred, index_t ldd);

namespace train {

// Calls into Python (custom layers, Ctrl-C checks) made by the bindings.  Each returns false
// when Python raised; the bindings keep the exception and re-raise it after the epoch.
template <class T>
struct Host {
  virtual ~Host() = default;
  // NODE_PYTHON forward: x_k (rows, in_k) for each input, y (rows, width).
  virtual bool py_forward(int py_index, const std::vector<const T*>& xs, const std::vector<index_t>& in_widths,
                          index_t rows, T* y, index_t width, bool training) = 0;
  // NODE_PYTHON backward: dxs[k] may be nullptr (not needed); accumulate says whether to add
  // into dxs[k] (true) or overwrite it.  Parameter gradients go to the layer's grad views.
  virtual bool py_backward(int py_index, const std::vector<const T*>& xs, const std::vector<index_t>& in_widths,
                           index_t rows, const T* y, const T* dy, index_t width, const std::vector<T*>& dxs,
                           const std::vector<bool>& accumulate) = 0;
  // Ctrl-C: true when a signal handler raised (KeyboardInterrupt).
  virtual bool interrupted() = 0;
  // Penalties of regularizers written in Python (Engine::py_penalty): adds their gradients
  // to the gradient buffer and their sum to *penalty.
  virtual bool py_penalty(double* penalty) = 0;
};

// Per-batch-size buffers.
template <class T>
struct Workspace {
  index_t batch = 0;
  std::vector<Buffer<T>> act, grad;     // per tensor (batch, width)
  std::vector<const T*> xin;            // per model input: the batch rows (gathered or in place)
  std::vector<Buffer<T>> aux;           // per node: z (dense), mask (dropout), xhat (norms)
  std::vector<Buffer<T>> aux2;          // per node: invstd (norms), mean (batchnorm)
  std::vector<Buffer<T>> target;        // per output (batch, width), float targets
  std::vector<Buffer<std::int64_t>> labels;  // per output (batch), sparse targets
  Buffer<T> weight;                     // (batch) sample weights
  std::vector<Buffer<double>> loss_rows;  // per output (batch): unweighted sample losses
  Buffer<T> loss_scratch;                 // (batch, widest output): a second seed of one buffer
  // Mixup (training batches only): per row its lambda and partner position; per sparse
  // output the partner's labels.  `mixed` says whether the batch in the workspace is mixed.
  Buffer<double> lam;
  Buffer<std::int64_t> partner;
  std::vector<Buffer<std::int64_t>> labels2;
  bool mixed = false;
  bool want_outputs = true;               // training: the output tensors are read (collected)
  std::vector<char> ready;                // per tensor: its gradient buffer holds a value
};

// What one call of run_epoch did.
struct EpochStats {
  index_t batches = 0, samples = 0;
  double loss_sum = 0;                    // sum over batches of batch_size * batch loss
  std::vector<double> output_loss_sum;    // per output, weighted loss sums (no loss weight, no penalty)
  double weight_sum = 0;
  index_t nan_batch = -1;                 // first batch (index within the epoch) with a non-finite loss
  bool interrupted = false, host_error = false;
  // Diagnostics (when enabled): sums over steps of norms; per tensor; dead units per node.
  double grad_norm_sum = 0;
  std::vector<double> tensor_grad_norm_sum, update_ratio;
  std::vector<double> dead_fraction;      // per node (NaN where not a relu dense)
};

// Inputs of one training call, validated by the bindings.
template <class T>
struct Data {
  // The other floating type: model inputs may be stored as either, and are converted one
  // batch at a time (a float64 memory-mapped file feeding a float32 model is never copied whole).
  using Other = typename std::conditional<std::is_same<T, float>::value, double, float>::type;
  index_t n = 0;
  std::vector<const T*> x;                 // per model input, (n, width), or nullptr: see x_other
  std::vector<const Other*> x_other;       // per model input: the rows as Other where x[t] is nullptr
  std::vector<const T*> y;                 // per output (n, width) or nullptr
  std::vector<const std::int64_t*> labels; // per output (n) or nullptr
  const T* sample_weight = nullptr;        // (n) or nullptr
  const std::int64_t* order = nullptr;     // (n) row order of the epoch
  std::vector<T*> collect;                 // per output (n, width) or nullptr: predictions
};

// Augmentation of training batches (run_epoch only): mixup, then additive Gaussian noise
// on every model input, from the counter-based streams of (seed, epoch, batch) (rng.h).
struct Augment {
  double noise = 0;   // standard deviation; 0: off
  double mixup = 0;   // alpha of Beta(alpha, alpha); 0: off
  std::uint64_t seed = 0;
  std::int64_t epoch = 0;
  bool active() const { return noise > 0 || mixup > 0; }
};

struct EpochArgs {
  index_t batch_size = 32;
  index_t batch_begin = 0, batch_end = 0;  // batches [begin, end) of the epoch
  const double* lrs = nullptr;             // learning rate of each batch in [begin, end)
  bool stop_on_nan = false;
  bool diagnostics = false;
  Augment augment;
};

template <class T>
class Engine {
 public:
  Engine(std::vector<NodeSpec> nodes, std::vector<index_t> input_widths, std::vector<ParamSpec> params,
         index_t n_params, index_t n_state, std::vector<OutputSpec> outputs, OptSpec opt);

  // Buffers Python sees as numpy views.
  Buffer<T>& params() { return params_; }
  Buffer<T>& grads() { return grads_; }
  Buffer<T>& state() { return state_; }
  std::vector<Buffer<T>>& opt_state() { return opt_state_; }
  std::int64_t iterations = 0;   // optimizer steps taken
  // Early updates (see SideUpdates): steps that ran them, and gradient products that ran
  // some of them beside their own work.
  std::int64_t early_steps = 0, overlapped_products = 0;
  double nadam_mu_product = 1.0;
  // Some trainable weight has a regularizer written in Python: each step calls
  // Host::py_penalty after the native penalties (and updates no layer early).
  bool py_penalty = false;

  const OptSpec& opt() const { return opt_; }
  void set_outputs(std::vector<OutputSpec> outputs);  // losses (compile); re-plans fusion
  // Pruning: params *= mask now and after every optimizer step (pruned weights stay exactly
  // zero).  mask has one 0/1 entry per parameter; nullptr removes it.
  void set_mask(const T* mask);
  bool has_mask() const { return mask_.size() > 0; }
  Buffer<T>& mask() { return mask_; }
  void set_opt(const OptSpec& o);  // reallocates state when the slot count changes
  void reset_opt_state();
  const std::vector<NodeSpec>& nodes() const { return nodes_; }
  const std::vector<OutputSpec>& outputs() const { return outputs_; }
  index_t tensor_width(int t) const { return width_[std::size_t(t)]; }
  int n_inputs() const { return n_inputs_; }

  // Trains on batches [a.batch_begin, a.batch_end) of an epoch.  GIL released by caller.
  EpochStats run_epoch(const Data<T>& d, const EpochArgs& a, Host<T>* host);
  // Inference over rows [0, d.n) in batches; writes each output to out[o] (n, width), and,
  // where logits[o] is not null, the pre-activation of an output whose loss training
  // computes from it (fused(o)) to logits[o] (n, width).
  bool predict(const Data<T>& d, index_t batch_size, const std::vector<T*>& out, Host<T>* host,
               const std::vector<T*>* logits = nullptr);
  // Output o ends in a softmax/sigmoid whose cross-entropy training computes from the logits.
  bool fused(std::size_t o) const { return o < fused_.size() && fused_[o] >= 0; }
  // Loss and gradient (into grads()) of rows order[0..n) as one batch, in training mode,
  // without updating anything else (no optimizer step, no running statistics).  Returns the
  // total loss (weighted, with penalties).  `step` keys dropout/noise.
  double compute_gradients(const Data<T>& d, std::int64_t step, Host<T>* host, bool* ok);

 private:
  void check_structure();
  void plan_fusion();
  void prepare(Workspace<T>& ws, index_t batch, bool training);
  // Batch rows into the workspace; with `aug`, mixup and noise of batch `batch` are applied
  // on the way (one pass either way).
  void gather(Workspace<T>& ws, const Data<T>& d, const std::int64_t* rows, index_t b,
              const Augment* aug = nullptr, index_t batch = 0);
  void gather_input(Workspace<T>& ws, const Data<T>& d, int t, const std::int64_t* rows, index_t b,
                    const Augment* aug, std::uint64_t batch_key);
  // Passes over rows [r0, r0 + b) of the batch in the workspace (row-independent nodes only
  // when r0 > 0: no batch normalization, no Python layers).
  bool forward(Workspace<T>& ws, index_t r0, index_t b, bool training, std::int64_t step, bool update_stats,
               Host<T>* host);
  // Sample losses of the B rows of the batch, and the output gradients they seed (marked in
  // ws.ready).
  void loss_seed(Workspace<T>& ws, index_t B, bool weighted);
  // Loss of the batch: sum over outputs of weight * mean weighted loss (no penalty);
  // per_output[o] += sum of weighted sample losses.
  double loss_total(Workspace<T>& ws, index_t B, bool weighted, std::vector<double>* per_output);
  const T* input_ptr(const Workspace<T>& ws, int t) const {
    return t < n_inputs_ ? ws.xin[std::size_t(t)] : ws.act[std::size_t(t)].data();
  }
  void zero_node_grads(std::size_t node);
  bool chunkable_ = false;   // no batch normalization or Python layers (see predict)
  index_t dense_macs_ = 0;  // sum over Dense layers of in * out
  // Inference of small networks (dense in*out summed over layers below kPredictChunkMaxMacs,
  // no batch normalization or Python layers): rows in chunks of kPredictChunkRows or more,
  // one thread per chunk through all layers (see Engine::predict).
  static constexpr index_t kPredictChunkRows = 128, kMaxPredictChunks = 64;
  static constexpr index_t kPredictChunkMaxMacs = 1 << 16;
  int predict_chunks(index_t b) const;
  // Forward, loss and backward of the b gathered rows (gradients into grads_).
  bool step_grads(Workspace<T>& ws, index_t b, std::int64_t step, bool update_stats, bool weighted, Host<T>* host);
  void collect(const Workspace<T>& ws, const Data<T>& d, const std::int64_t* rows, index_t b);
  void track_dead_units(const Workspace<T>& ws, index_t b);
  T* prev_params();
  void update_ratios(EpochStats* st);
  // Blocks of at most kNormBlock elements of one trainable tensor.
  struct Block { int tensor; index_t off, len; };
  void block_sumsq();                                  // partial_[b] = sum of squares of grad block b
  double tensor_norm_sq(std::vector<double>& per_tensor);  // from partial_
  std::vector<Block> blocks_;
  // Elementwise passes (the update, masks, clamps, scaling) run over spans instead: the
  // trainable tensors that lie side by side in the buffer merged, cut into pieces of at
  // most kSpan elements (one call per piece, not per tensor: a small network's step made
  // six calls for 5634 parameters).
  struct Span { index_t off, len; };
  static constexpr index_t kSpan = index_t(1) << 14;
  std::vector<Span> spans_;
  // Runs (offset, length) sorted and merged where they touch, cut into pieces of <= kSpan.
  static std::vector<Span> cut_spans(std::vector<Span> runs);
  // The parameter ranges node i reads (offset, length): checked by check_structure, and
  // what early updates must not touch while node i's passes may still run.
  std::vector<Span> param_reads(std::size_t i) const;
  // Early updates: in a step that needs no figure over the whole gradient first (no
  // penalties, clipping, pruning mask or diagnostics), a node's parameters are updated as
  // soon as the backward pass is past it, as side work of the earlier layers' gradient
  // products (see SideWork): the update streams a layer's parameters and optimizer state
  // from memory while another layer's product keeps the cores' arithmetic busy.  Only when
  // no other node reads a node's parameters (no Python layers either).
  struct SideUpdates final : SideWork {
    std::vector<Span> spans;  // appended to between products only
    index_t n = 0;            // spans.size(), read inside products
    std::atomic<index_t> next{0};
    std::function<void(index_t, index_t)> update;
    void run(index_t i) const { update(spans[std::size_t(i)].off, spans[std::size_t(i)].off + spans[std::size_t(i)].len); }
    bool run_one() override {
      const index_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return false;
      run(i);
      return true;
    }
  };
  SideUpdates side_;
  bool side_on_ = false;                       // this step updates early
  std::size_t queued_from_ = 0;                // nodes >= this one are queued
  bool early_ok_ = false;                      // the network allows early updates (set_opt)
  index_t early_params_ = 0;                   // trainable parameters
  std::vector<std::vector<Span>> node_spans_;  // per node: its trainable parameters, in spans
  std::vector<std::size_t> node_queued_;       // per node: how many of its spans are queued
  // Per node: a dense layer whose trainable parameters are W then b, side by side.  When
  // it is an input layer (no dx: nothing follows it in the backward pass for its update to
  // run beside), its dW runs in up to kEarlyRowBlocks blocks of rows of at least
  // kEarlyRowBlockFlops, each block's rows queued as soon as they are done.  (Smaller blocks
  // made 784-512-256-10 3 % slower; hidden layers in blocks repacked dz once per block for
  // no gain.)  1024-2048-2048-10 epochs ran 2.5-3.3 % faster with early updates than
  // without (paired epochs; whole layers only: 0.6-2.3 %).
  std::vector<char> rows_early_;
  static constexpr index_t kEarlyRowBlocks = 4;
  static constexpr double kEarlyRowBlockFlops = 2.5e8;
  static constexpr index_t kEarlyMinParams = index_t(1) << 18;  // smaller: nothing to overlap
  void plan_early_updates();  // (set_opt)
  bool early_step(const EpochArgs& a) const;
  void begin_early(double lr);
  void queue_updates(std::size_t first_node);  // queues nodes [first_node, queued_from_)
  void queue_spans(std::size_t node, index_t end_off);  // the node's spans that end by end_off
  struct NodeHooks final : BackwardHooks {
    Engine* e = nullptr;
    std::size_t node = 0;
    index_t row_len = 0, w_off = 0;
    SideWork* side(double flops) override { return e->side(flops); }
    void rows_done(index_t r1) override {
      if (e->rows_early_[node]) e->queue_spans(node, w_off + r1 * row_len);
    }
  };
  // The queue, for a product of `flops` multiply-adds x 2, when its updates would take one
  // thread at least half as long as the product takes the team: cut into finer shares, a
  // product runs a few per cent slower, which only that much overlap repays (784-512-256-10,
  // 131k parameters beside 784x512x128: 3 % slower per epoch).  Rough figures: an update
  // streams ~28 bytes per parameter at ~70 GB/s on one thread; a product runs ~200 GFLOP/s
  // per thread.
  SideWork* side(double flops) {
    if (!side_on_) return nullptr;
    const index_t left = side_.n - std::min(side_.n, side_.next.load(std::memory_order_relaxed));
    const double side_ns = double(left * kSpan) * 0.4, product_ns = flops / (200.0 * team_threads());
    if (side_ns < 0.5 * product_ns) return nullptr;
    ++overlapped_products;
    return &side_;
  }
  Buffer<double> partial_;
  std::vector<double> tensor_sq_;
  // Parameter gradients into grads_; ws.ready marks the tensors whose gradient buffers hold
  // a value (seeded by loss_seed).
  bool backward(Workspace<T>& ws, index_t b, Host<T>* host);
  double regularize();  // adds penalty gradients, returns the penalty
  void clip(EpochStats* st, bool diag);
  // The update of parameters [b, e) with learning rate lr (the step's arguments bound).
  std::function<void(index_t, index_t)> update_fn(double lr);
  void optimizer_step(double lr);  // every trainable parameter (or what early updates left)
  void finish_step();              // step counters, pruning mask

  std::vector<NodeSpec> nodes_;
  std::vector<ParamSpec> pspecs_;
  std::vector<OutputSpec> outputs_;
  OptSpec opt_;
  int n_inputs_ = 0;
  std::vector<index_t> width_;           // per tensor
  std::vector<bool> req_;                // per tensor: needs a gradient
  std::vector<int> consumers_;           // per tensor: number of nodes reading it
  std::vector<int> fused_;               // per output: -1, or the node whose activation the loss absorbs
  std::vector<bool> skip_act_bwd_;       // per node: dense whose softmax/sigmoid is fused into the loss
  std::vector<bool> skip_node_bwd_;      // per node: activation node fused into the loss
  Buffer<T> params_, grads_, state_, prev_params_, mask_;
  void apply_mask();
  std::vector<Buffer<T>> opt_state_;
  Workspace<T> train_ws_, infer_ws_;
  std::vector<Buffer<unsigned char>> alive_;  // per node (width): unit active at least once
};

}  // namespace train
}  // namespace fastnn
