// Bindings for the fused optimizer updates and the gradient-clipping helpers.
//
// fastnn._ops_optim validates first (friendly messages, hyperparameter ranges); these checks
// are the last line before a kernel: dtype, size, contiguity, writability, required state
// and non-overlapping buffers.  Then the GIL is released and the array is split across
// threads in fixed-size chunks (elements are independent, so any split gives the same bits).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bindings/checks.h"
#include "fastnn/dispatch.h"

namespace fastnn {
namespace {

// Elements per parallel chunk of an update.
constexpr index_t kChunk = index_t(1) << 15;
// Rough single-thread cost of streaming memory, for threads_for (about 10 GB/s).
constexpr double kNsPerByte = 0.1;

template <class T>
const OptimFns<T>& fns();
template <>
const OptimFns<float>& fns<float>() { return kernels().optim.f32; }
template <>
const OptimFns<double>& fns<double>() { return kernels().optim.f64; }

// The buffers of one update, for the overlap check.
class Buffers {
 public:
  void add(const char* name, const void* p, index_t n, std::size_t item) {
    if (p) items_.push_back({name, static_cast<const char*>(p), static_cast<const char*>(p) + n * index_t(item)});
  }
  void check_disjoint() const {
    for (std::size_t i = 0; i < items_.size(); ++i)
      for (std::size_t j = i + 1; j < items_.size(); ++j)
        if (items_[i].lo < items_[j].hi && items_[j].lo < items_[i].hi)
          throw py::value_error(std::string(items_[i].name) + " and " + items_[j].name +
                                " share memory: the update is in place, each array must be a separate buffer");
  }

 private:
  struct Item { const char* name; const char* lo; const char* hi; };
  std::vector<Item> items_;
};

py::array to_array(const py::object& o, const char* name) {
  if (!py::isinstance<py::array>(o))
    throw py::type_error(std::string(name) + ": expected a numpy.ndarray (updated in place), got " +
                         std::string(py::str(py::type::handle_of(o).attr("__name__"))));
  return o.cast<py::array>();
}

// A state (or grad) array of dtype T with n elements; nullptr when `o` is None and the
// array is optional (`need` is the reason it is required, or nullptr).
template <class T>
T* state(const py::object& o, const char* name, index_t n, bool writable, const char* need, Buffers& bufs) {
  if (o.is_none()) {
    if (need) throw py::value_error(std::string(name) + ": an array is required" + (*need ? std::string(" ") + need : ""));
    return nullptr;
  }
  T* p = as_vec<T>(to_array(o, name), name, n, writable);
  bufs.add(name, p, n, sizeof(T));
  return p;
}

template <class T>
T* param_of(const py::array& param, Buffers& bufs) {
  if (param.size() == 0) throw py::value_error("param: empty arrays are not supported, got " + describe(param));
  T* p = as_vec<T>(param, "param", param.size(), true);
  bufs.add("param", p, param.size(), sizeof(T));
  return p;
}

index_t check_step(long long step) {
  if (step < 1) throw py::value_error("step: must be >= 1 (the 1-based step count), got " + std::to_string(step));
  return index_t(step);
}

// Runs fn over [0, n) with the GIL released, split in kChunk chunks across threads.
template <class A>
void run_update(UpdateFn<A> fn, const A& args, index_t n, int arrays_touched, std::size_t item) {
  if (!fn) throw py::value_error("optimizer kernel not available");
  const int nt = threads_for(double(n) * double(arrays_touched) * double(item) * kNsPerByte);
  py::gil_scoped_release release;
  if (nt <= 1 || n <= kChunk) {
    fn(args, 0, n);
    return;
  }
  const index_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(nt)
  for (index_t c = 0; c < nchunks; ++c) {
    const index_t b = c * kChunk;
    fn(args, b, std::min(n, b + kChunk));
  }
}

// Calls f.template operator()<T>() for the dtype of param (float32 / float64).
template <class F>
auto by_dtype(const py::array& param, F&& f) {
  if (param.dtype().is(py::dtype::of<float>())) return f(float{});
  if (param.dtype().is(py::dtype::of<double>())) return f(double{});
  throw py::type_error("param: expected dtype float32 or float64, got " + describe(param));
}

void sgd_update(const py::object& param_obj, const py::object& grad, const py::object& buf, double lr, double momentum,
                double dampening, bool nesterov, double weight_decay, bool maximize, bool first_step) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    SgdArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    if (momentum != 0.0) a.momentum_buffer = state<T>(buf, "momentum_buffer", n, true, "when momentum != 0", bufs);
    bufs.check_disjoint();
    a.lr = lr; a.momentum = momentum; a.dampening = dampening; a.weight_decay = weight_decay;
    a.nesterov = nesterov; a.maximize = maximize; a.first_step = first_step;
    run_update(fns<T>().sgd, a, n, a.momentum_buffer ? 4 : 3, sizeof(T));
  });
}

void adam_update(const py::object& param_obj, const py::object& grad, const py::object& exp_avg,
                 const py::object& exp_avg_sq, const py::object& max_exp_avg_sq, long long step, double lr,
                 double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad,
                 bool maximize) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    AdamArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    a.exp_avg = state<T>(exp_avg, "exp_avg", n, true, "", bufs);
    a.exp_avg_sq = state<T>(exp_avg_sq, "exp_avg_sq", n, true, "", bufs);
    if (amsgrad) a.max_exp_avg_sq = state<T>(max_exp_avg_sq, "max_exp_avg_sq", n, true, "when amsgrad=True", bufs);
    bufs.check_disjoint();
    a.step = check_step(step);
    a.lr = lr; a.beta1 = beta1; a.beta2 = beta2; a.eps = eps; a.weight_decay = weight_decay;
    a.decoupled_weight_decay = decoupled; a.amsgrad = amsgrad; a.maximize = maximize;
    adam_bias_corrections(a);
    run_update(fns<T>().adam, a, n, amsgrad ? 9 : 7, sizeof(T));
  });
}

void rmsprop_update(const py::object& param_obj, const py::object& grad, const py::object& square_avg, double lr,
                    double alpha, double eps, double weight_decay, double momentum, bool centered,
                    const py::object& momentum_buffer, const py::object& grad_avg, bool maximize) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    RmspropArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    a.square_avg = state<T>(square_avg, "square_avg", n, true, "", bufs);
    if (momentum > 0.0)
      a.momentum_buffer = state<T>(momentum_buffer, "momentum_buffer", n, true, "when momentum > 0", bufs);
    if (centered) a.grad_avg = state<T>(grad_avg, "grad_avg", n, true, "when centered=True", bufs);
    bufs.check_disjoint();
    a.lr = lr; a.alpha = alpha; a.eps = eps; a.weight_decay = weight_decay; a.momentum = momentum;
    a.centered = centered; a.maximize = maximize;
    run_update(fns<T>().rmsprop, a, n, 5 + (momentum > 0.0 ? 2 : 0) + (centered ? 2 : 0), sizeof(T));
  });
}

void adagrad_update(const py::object& param_obj, const py::object& grad, const py::object& state_sum, long long step,
                    double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    AdagradArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    a.state_sum = state<T>(state_sum, "state_sum", n, true, "", bufs);
    bufs.check_disjoint();
    a.step = check_step(step);
    a.lr = lr; a.lr_decay = lr_decay; a.weight_decay = weight_decay; a.eps = eps; a.maximize = maximize;
    run_update(fns<T>().adagrad, a, n, 5, sizeof(T));
  });
}

void adadelta_update(const py::object& param_obj, const py::object& grad, const py::object& square_avg,
                     const py::object& acc_delta, double lr, double rho, double eps, double weight_decay,
                     bool maximize) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    AdadeltaArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    a.square_avg = state<T>(square_avg, "square_avg", n, true, "", bufs);
    a.acc_delta = state<T>(acc_delta, "acc_delta", n, true, "", bufs);
    bufs.check_disjoint();
    a.lr = lr; a.rho = rho; a.eps = eps; a.weight_decay = weight_decay; a.maximize = maximize;
    run_update(fns<T>().adadelta, a, n, 7, sizeof(T));
  });
}

void adamax_update(const py::object& param_obj, const py::object& grad, const py::object& exp_avg,
                   const py::object& exp_inf, long long step, double lr, double beta1, double beta2, double eps,
                   double weight_decay, bool maximize) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    AdamaxArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    a.exp_avg = state<T>(exp_avg, "exp_avg", n, true, "", bufs);
    a.exp_inf = state<T>(exp_inf, "exp_inf", n, true, "", bufs);
    bufs.check_disjoint();
    a.step = check_step(step);
    a.lr = lr; a.beta1 = beta1; a.beta2 = beta2; a.eps = eps; a.weight_decay = weight_decay; a.maximize = maximize;
    run_update(fns<T>().adamax, a, n, 7, sizeof(T));
  });
}

void nadam_update(const py::object& param_obj, const py::object& grad, const py::object& exp_avg,
                  const py::object& exp_avg_sq, long long step, double mu_product, double lr, double beta1,
                  double beta2, double eps, double weight_decay, double momentum_decay, bool decoupled,
                  bool maximize) {
  const py::array param = to_array(param_obj, "param");
  by_dtype(param, [&](auto tag) {
    using T = decltype(tag);
    Buffers bufs;
    NadamArgs<T> a;
    const index_t n = param.size();
    a.param = param_of<T>(param, bufs);
    a.grad = state<T>(grad, "grad", n, false, "", bufs);
    a.exp_avg = state<T>(exp_avg, "exp_avg", n, true, "", bufs);
    a.exp_avg_sq = state<T>(exp_avg_sq, "exp_avg_sq", n, true, "", bufs);
    bufs.check_disjoint();
    a.step = check_step(step);
    a.mu_product = mu_product;
    a.lr = lr; a.beta1 = beta1; a.beta2 = beta2; a.eps = eps; a.weight_decay = weight_decay;
    a.momentum_decay = momentum_decay; a.decoupled_weight_decay = decoupled; a.maximize = maximize;
    run_update(fns<T>().nadam, a, n, 7, sizeof(T));
  });
}

// One array of a clipping call: float32 or float64, C-contiguous, non-empty.
struct Flat {
  bool f64 = false;
  void* ptr = nullptr;
  index_t n = 0;
};

Flat flat_of(const py::object& o, const std::string& name, bool writable) {
  py::array a = to_array(o, name.c_str());
  Flat f;
  f.n = a.size();
  if (f.n == 0) throw py::value_error(name + ": empty arrays are not supported, got " + describe(a));
  if (a.dtype().is(py::dtype::of<float>())) {
    f.ptr = as_vec<float>(a, name.c_str(), f.n, writable);
  } else if (a.dtype().is(py::dtype::of<double>())) {
    f.f64 = true;
    f.ptr = as_vec<double>(a, name.c_str(), f.n, writable);
  } else {
    throw py::type_error(name + ": expected dtype float32 or float64, got " + describe(a));
  }
  return f;
}

std::vector<Flat> flats_of(const py::sequence& arrays, bool writable) {
  if (py::len(arrays) == 0) throw py::value_error("arrays: expected at least one array");
  std::vector<Flat> v;
  for (std::size_t i = 0; i < py::len(arrays); ++i) v.push_back(flat_of(arrays[i], "arrays[" + std::to_string(i) + "]", writable));
  if (writable) {
    for (std::size_t i = 0; i < v.size(); ++i)
      for (std::size_t j = i + 1; j < v.size(); ++j) {
        const char* a0 = static_cast<const char*>(v[i].ptr);
        const char* a1 = a0 + v[i].n * (v[i].f64 ? 8 : 4);
        const char* b0 = static_cast<const char*>(v[j].ptr);
        const char* b1 = b0 + v[j].n * (v[j].f64 ? 8 : 4);
        if (a0 < b1 && b0 < a1)
          throw py::value_error("arrays[" + std::to_string(i) + "] and arrays[" + std::to_string(j) +
                                "] share memory: each array must be a separate buffer");
      }
  }
  return v;
}

// sqrt(sum of squares of every element of every array), deterministic: kNormBlock-element
// blocks are reduced independently (in parallel), then the block sums are added in order.
double global_norm(const py::sequence& arrays) {
  const std::vector<Flat> v = flats_of(arrays, false);
  struct Block { const Flat* f; index_t begin, len; };
  std::vector<Block> blocks;
  double bytes = 0;
  for (const Flat& f : v) {
    for (index_t b = 0; b < f.n; b += kNormBlock) blocks.push_back({&f, b, std::min(kNormBlock, f.n - b)});
    bytes += double(f.n) * (f.f64 ? 8 : 4);
  }
  std::vector<double> partial(blocks.size(), 0.0);
  const OptimFns<float>& k32 = fns<float>();
  const OptimFns<double>& k64 = fns<double>();
  if (!k32.sumsq || !k64.sumsq) throw py::value_error("sumsq kernel not available");
  const int nt = threads_for(bytes * kNsPerByte);
  {
    py::gil_scoped_release release;
    const index_t nb = index_t(blocks.size());
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (index_t i = 0; i < nb; ++i) {
      const Block& b = blocks[std::size_t(i)];
      partial[std::size_t(i)] = b.f->f64 ? k64.sumsq(static_cast<const double*>(b.f->ptr) + b.begin, b.len)
                                         : k32.sumsq(static_cast<const float*>(b.f->ptr) + b.begin, b.len);
    }
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return std::sqrt(total);
}

// x *= s for every array (s cast to each array's dtype).
void scale_arrays(const py::sequence& arrays, double s) {
  const std::vector<Flat> v = flats_of(arrays, true);
  double bytes = 0;
  for (const Flat& f : v) bytes += double(f.n) * (f.f64 ? 16 : 8);
  const int nt = threads_for(bytes * kNsPerByte);
  py::gil_scoped_release release;
  for (const Flat& f : v) {
    const index_t nchunks = (f.n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nchunks > 1)
    for (index_t c = 0; c < nchunks; ++c) {
      const index_t b = c * kChunk, len = std::min(kChunk, f.n - b);
      if (f.f64) fns<double>().scale(static_cast<double*>(f.ptr) + b, len, s);
      else fns<float>().scale(static_cast<float*>(f.ptr) + b, len, float(s));
    }
  }
}

void clip_by_value(const py::object& grad, double lo, double hi) {
  const Flat f = flat_of(grad, "grad", true);
  const index_t nchunks = (f.n + kChunk - 1) / kChunk;
  const int nt = threads_for(double(f.n) * (f.f64 ? 16 : 8) * kNsPerByte);
  py::gil_scoped_release release;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nchunks > 1)
  for (index_t c = 0; c < nchunks; ++c) {
    const index_t b = c * kChunk, len = std::min(kChunk, f.n - b);
    if (f.f64) fns<double>().clamp(static_cast<double*>(f.ptr) + b, len, lo, hi);
    else fns<float>().clamp(static_cast<float*>(f.ptr) + b, len, float(lo), float(hi));
  }
}

}  // namespace

void register_optim(py::module_& m) {
  using py::arg;
  m.def("sgd_update", &sgd_update, arg("param"), arg("grad"), arg("momentum_buffer"), arg("lr"), arg("momentum"),
        arg("dampening"), arg("nesterov"), arg("weight_decay"), arg("maximize"), arg("first_step"),
        "In-place torch.optim.SGD step (validated by fastnn.ops.sgd_update).");
  m.def("adam_update", &adam_update, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"),
        arg("max_exp_avg_sq"), arg("step"), arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay"),
        arg("decoupled_weight_decay"), arg("amsgrad"), arg("maximize"),
        "In-place torch.optim.Adam / AdamW step (validated by fastnn.ops.adam_update).");
  m.def("rmsprop_update", &rmsprop_update, arg("param"), arg("grad"), arg("square_avg"), arg("lr"), arg("alpha"),
        arg("eps"), arg("weight_decay"), arg("momentum"), arg("centered"), arg("momentum_buffer"), arg("grad_avg"),
        arg("maximize"), "In-place torch.optim.RMSprop step (validated by fastnn.ops.rmsprop_update).");
  m.def("adagrad_update", &adagrad_update, arg("param"), arg("grad"), arg("state_sum"), arg("step"), arg("lr"),
        arg("lr_decay"), arg("weight_decay"), arg("eps"), arg("maximize"),
        "In-place torch.optim.Adagrad step (validated by fastnn.ops.adagrad_update).");
  m.def("adadelta_update", &adadelta_update, arg("param"), arg("grad"), arg("square_avg"), arg("acc_delta"),
        arg("lr"), arg("rho"), arg("eps"), arg("weight_decay"), arg("maximize"),
        "In-place torch.optim.Adadelta step (validated by fastnn.ops.adadelta_update).");
  m.def("adamax_update", &adamax_update, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_inf"), arg("step"),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay"), arg("maximize"),
        "In-place torch.optim.Adamax step (validated by fastnn.ops.adamax_update).");
  m.def("nadam_update", &nadam_update, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"), arg("step"),
        arg("mu_product"), arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay"),
        arg("momentum_decay"), arg("decoupled_weight_decay"), arg("maximize"),
        "In-place torch.optim.NAdam step; mu_product is the product of the previous steps' mu.");
  m.def("global_norm", &global_norm, arg("arrays"),
        "sqrt of the sum of squares of all elements; deterministic at any thread count.");
  m.def("scale_arrays", &scale_arrays, arg("arrays"), arg("s"), "arrays[i] *= s, in place.");
  m.def("clip_by_value", &clip_by_value, arg("grad"), arg("lo"), arg("hi"), "grad = clip(grad, lo, hi), in place.");
}

}  // namespace fastnn
