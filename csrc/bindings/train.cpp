// Bindings of the training engine: network descriptions, the Engine32/Engine64 classes
// (flat buffers as zero-copy numpy views, the native epoch, prediction, gradients) and the
// counter-based shuffle.  fastnn/_engine.py validates everything first; the checks here
// are the last line before native code (dtype, contiguity, sizes).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/checks.h"
#include "fastnn/dispatch.h"
#include "train/engine.h"
#include "train/rng.h"

namespace fastnn {
namespace {
using namespace train;
using py::arg;

// Python side of the engine: custom layers and Ctrl-C.  Keeps the first exception raised.
template <class T>
class PyHost final : public Host<T> {
 public:
  explicit PyHost(py::object layers, py::object penalty = py::none())
      : layers_(std::move(layers)), penalty_(std::move(penalty)) {}
  py::object error = py::none();

  bool py_forward(int k, const std::vector<const T*>& xs, const std::vector<index_t>& wids, index_t rows, T* y,
                  index_t width, bool training) override {
    py::gil_scoped_acquire gil;
    try {
      py::list xl;
      for (std::size_t i = 0; i < xs.size(); ++i) xl.append(view(const_cast<T*>(xs[i]), rows, wids[i], false));
      layers_[py::int_(k)].attr("_native_forward")(xl, view(y, rows, width, true), training);
      return true;
    } catch (py::error_already_set& e) {
      keep(e);
      return false;
    }
  }
  bool py_backward(int k, const std::vector<const T*>& xs, const std::vector<index_t>& wids, index_t rows, const T* y,
                   const T* dy, index_t width, const std::vector<T*>& dxs, const std::vector<bool>& acc) override {
    py::gil_scoped_acquire gil;
    try {
      py::list xl, dl, al;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        xl.append(view(const_cast<T*>(xs[i]), rows, wids[i], false));
        dl.append(dxs[i] ? py::object(view(dxs[i], rows, wids[i], true)) : py::object(py::none()));
        al.append(py::bool_(acc[i]));
      }
      layers_[py::int_(k)].attr("_native_backward")(xl, view(const_cast<T*>(y), rows, width, false),
                                                    view(const_cast<T*>(dy), rows, width, false), dl, al);
      return true;
    } catch (py::error_already_set& e) {
      keep(e);
      return false;
    }
  }
  bool py_penalty(double* penalty) override {
    py::gil_scoped_acquire gil;
    try {
      if (penalty_.is_none()) throw py::value_error("the model has Python regularizers but no penalty callback");
      *penalty = penalty_().cast<double>();
      return true;
    } catch (py::error_already_set& e) {
      keep(e);
      return false;
    } catch (const std::exception& e) {  // (a cast or the value_error above)
      PyErr_SetString(PyExc_ValueError, e.what());
      py::error_already_set err;
      keep(err);
      return false;
    }
  }
  bool interrupted() override {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return false;
    try {
      throw py::error_already_set();
    } catch (py::error_already_set& e) {
      keep(e);
    }
    return true;
  }

 private:
  // A numpy view of engine memory, valid only during the call (the Python side copies).
  static py::array view(T* p, index_t rows, index_t cols, bool writable) {
    py::array a(py::dtype::of<T>(), {rows, cols}, {cols * index_t(sizeof(T)), index_t(sizeof(T))}, p,
                py::capsule(p, [](void*) {}));
    if (!writable) py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
  }
  void keep(py::error_already_set& e) {
    if (error.is_none()) error = e.value();  // pybind11 has already cleared the error indicator
  }
  py::object layers_, penalty_;
};

template <class T>
T* rows_of(const py::handle& h, const char* name, index_t n, index_t w, bool writable) {
  py::array a = py::reinterpret_borrow<py::array>(h);
  T* p = as_vec<T>(a, name, n * w, writable);
  if (a.ndim() < 1 || a.shape(0) != n)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(n) + " rows, got " + describe(a));
  return p;
}

template <class T>
Data<T> data_of(Engine<T>& e, const py::list& xs, const py::list& ys, const py::list& labels,
                const py::object& sw, index_t n) {
  Data<T> d;
  d.n = n;
  if (index_t(xs.size()) != e.n_inputs()) throw py::value_error("xs: expected one array per model input");
  using O = typename Data<T>::Other;
  for (int t = 0; t < e.n_inputs(); ++t) {
    // Inputs may be float32 or float64 whatever the model's type (converted per batch).
    const py::handle h = xs[std::size_t(t)];
    if (py::isinstance<py::array>(h) && py::reinterpret_borrow<py::array>(h).dtype().is(py::dtype::of<O>())) {
      d.x.push_back(nullptr);
      d.x_other.push_back(rows_of<O>(h, "x", n, e.tensor_width(t), false));
    } else {
      d.x.push_back(rows_of<T>(h, "x", n, e.tensor_width(t), false));
      d.x_other.push_back(nullptr);
    }
  }
  const auto& outs = e.outputs();
  if (!ys.empty() || !labels.empty()) {
    if (ys.size() != outs.size() || labels.size() != outs.size())
      throw py::value_error("targets: expected one entry per model output");
    for (std::size_t o = 0; o < outs.size(); ++o) {
      const index_t w = e.tensor_width(outs[o].tensor);
      if (outs[o].loss.id == LOSS_SPARSE_CCE) {
        d.y.push_back(nullptr);
        d.labels.push_back(rows_of<std::int64_t>(labels[o], "labels", n, 1, false));
      } else {
        d.y.push_back(rows_of<T>(ys[o], "y", n, w, false));
        d.labels.push_back(nullptr);
      }
    }
  }
  if (!sw.is_none()) d.sample_weight = rows_of<T>(sw, "sample_weight", n, 1, false);
  return d;
}

// (noise, mixup, seed, epoch) or None.
Augment augment_of(const py::object& o) {
  Augment g;
  if (o.is_none()) return g;
  py::tuple t = o.cast<py::tuple>();
  if (t.size() != 4) throw py::value_error("augment: expected (noise, mixup, seed, epoch) or None");
  g.noise = t[0].cast<double>();
  g.mixup = t[1].cast<double>();
  g.seed = t[2].cast<std::uint64_t>();
  g.epoch = t[3].cast<std::int64_t>();
  if (!(std::isfinite(g.noise) && g.noise >= 0)) throw py::value_error("augment: noise must be finite and >= 0");
  if (!(std::isfinite(g.mixup) && g.mixup >= 0)) throw py::value_error("augment: mixup must be finite and >= 0");
  return g;
}

py::dict stats_dict(const EpochStats& s) {
  py::dict r;
  r["batches"] = s.batches;
  r["samples"] = s.samples;
  r["loss_sum"] = s.loss_sum;
  r["weight_sum"] = s.weight_sum;
  r["output_loss_sum"] = s.output_loss_sum;
  r["nan_batch"] = s.nan_batch;
  r["interrupted"] = s.interrupted;
  r["grad_norm_sum"] = s.grad_norm_sum;
  r["tensor_grad_norm_sum"] = s.tensor_grad_norm_sum;
  r["update_ratio"] = s.update_ratio;
  r["dead_fraction"] = s.dead_fraction;
  return r;
}

// The validated arguments of one run_epoch call (kept alive with the arrays they point to).
template <class T>
struct EpochCall {
  Data<T> d;
  EpochArgs a;
  py::list keep;
  EpochCall(Engine<T>& e, py::list xs, py::list ys, py::list labels, py::object sw, py::array_t<std::int64_t> order,
            index_t batch_size, index_t batch_begin, index_t batch_end, py::array_t<double> lrs, py::list collect,
            bool stop_on_nan, bool diagnostics, const py::object& augment) {
    const index_t n = order.size();
    if (n < 1 || batch_size < 1) throw py::value_error("run_epoch: empty data or batch_size < 1");
    const index_t nb = (n + batch_size - 1) / batch_size;
    if (batch_begin < 0 || batch_end > nb || batch_begin > batch_end)
      throw py::value_error("run_epoch: batch range outside the epoch");
    if (lrs.size() < batch_end - batch_begin) throw py::value_error("run_epoch: one learning rate per batch");
    d = data_of<T>(e, xs, ys, labels, sw, n);
    if (d.y.empty()) throw py::value_error("run_epoch: targets are required");
    d.order = as_vec<std::int64_t>(order, "order", n, false);
    for (index_t i = 0; i < n; ++i)
      if (d.order[i] < 0 || d.order[i] >= n) throw py::value_error("order: row index out of range");
    for (std::size_t o = 0; o < collect.size(); ++o)
      d.collect.push_back(collect[o].is_none()
                              ? nullptr
                              : rows_of<T>(collect[o], "collect", n, e.tensor_width(e.outputs()[o].tensor), true));
    a.batch_size = batch_size;
    a.batch_begin = batch_begin;
    a.batch_end = batch_end;
    a.lrs = lrs.data();
    a.stop_on_nan = stop_on_nan;
    a.diagnostics = diagnostics;
    a.augment = augment_of(augment);
    keep.append(xs); keep.append(ys); keep.append(labels); keep.append(sw); keep.append(order);
    keep.append(lrs); keep.append(collect);
  }
};

// Several models (same or different architectures) each train one epoch, one model per
// thread (no cross-model synchronization; inside a model everything runs serially), so
// small networks that cannot use several cores alone scale with cores.  Each model's
// result is bitwise the one of training it alone.  No Python layers; Ctrl-C is checked by
// the caller between calls.
template <class T>
py::list run_epochs_many(py::list engines, py::list calls) {
  if (engines.size() != calls.size()) throw py::value_error("run_epochs_many: one call per engine");
  std::vector<Engine<T>*> es;
  std::vector<std::unique_ptr<EpochCall<T>>> cs;
  for (std::size_t k = 0; k < engines.size(); ++k) {
    Engine<T>& e = engines[k].cast<Engine<T>&>();
    for (const NodeSpec& nd : e.nodes())
      if (nd.kind == NODE_PYTHON) throw py::value_error("run_epochs_many: models with Python layers train one at a time");
    if (e.py_penalty) throw py::value_error("run_epochs_many: models with Python regularizers train one at a time");
    py::tuple c = calls[k].cast<py::tuple>();
    if (c.size() != 12 && c.size() != 13)
      throw py::value_error("run_epochs_many: each call is a 12-tuple of run_epoch arguments (13th: augment)");
    cs.emplace_back(new EpochCall<T>(e, c[0].cast<py::list>(), c[1].cast<py::list>(), c[2].cast<py::list>(), c[3],
                                     c[4].cast<py::array_t<std::int64_t>>(), c[5].cast<index_t>(),
                                     c[6].cast<index_t>(), c[7].cast<index_t>(), c[8].cast<py::array_t<double>>(),
                                     c[9].cast<py::list>(), c[10].cast<bool>(), c[11].cast<bool>(),
                                     c.size() == 13 ? py::object(c[12]) : py::object(py::none())));
    for (Engine<T>* prev : es)
      if (prev == &e) throw py::value_error("run_epochs_many: an engine appears twice");
    es.push_back(&e);
  }
  const index_t K = index_t(es.size());
  std::vector<EpochStats> st(es.size());
  {
    py::gil_scoped_release release;
    const int nt = int(std::min<index_t>(K, team_threads()));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (index_t k = 0; k < K; ++k) st[std::size_t(k)] = es[std::size_t(k)]->run_epoch(cs[std::size_t(k)]->d, cs[std::size_t(k)]->a, nullptr);
  }
  py::list out;
  for (const EpochStats& s : st) {
    py::dict r = stats_dict(s);
    r["error"] = py::none();
    out.append(r);
  }
  return out;
}

template <class T>
py::array buffer_view(Buffer<T>& b, py::handle owner) {
  return py::array(py::dtype::of<T>(), {b.size()}, {index_t(sizeof(T))}, b.data(), owner);
}

template <class T>
void bind_engine(py::module_& m, const char* name) {
  using E = Engine<T>;
  py::class_<E>(m, name)
      .def(py::init<std::vector<NodeSpec>, std::vector<index_t>, std::vector<ParamSpec>, index_t, index_t,
                    std::vector<OutputSpec>, OptSpec>(),
           arg("nodes"), arg("input_widths"), arg("params"), arg("n_params"), arg("n_state"), arg("outputs"),
           arg("opt"))
      .def_property_readonly("params", [](py::object self) { return buffer_view(self.cast<E&>().params(), self); })
      .def_property_readonly("grads", [](py::object self) { return buffer_view(self.cast<E&>().grads(), self); })
      .def_property_readonly("state", [](py::object self) { return buffer_view(self.cast<E&>().state(), self); })
      .def_property_readonly("opt_state",
                             [](py::object self) {
                               py::list l;
                               for (auto& b : self.cast<E&>().opt_state()) l.append(buffer_view(b, self));
                               return l;
                             })
      .def_readwrite("iterations", &E::iterations)
      .def_readwrite("py_penalty", &E::py_penalty)
      .def_readwrite("nadam_mu_product", &E::nadam_mu_product)
      .def_readonly("early_steps", &E::early_steps, "Steps whose updates ran early (beside the backward pass).")
      .def_readonly("overlapped_products", &E::overlapped_products,
                    "Gradient products that ran early updates beside their own work.")
      .def("set_opt", &E::set_opt, arg("opt"))
      .def("set_outputs", &E::set_outputs, arg("outputs"))
      .def(
          "set_mask",
          [](E& e, py::object mask) {
            if (mask.is_none()) return e.set_mask(nullptr);
            py::array a = mask.cast<py::array>();
            const T* m = as_vec<T>(a, "mask", e.params().size(), false);
            for (index_t i = 0; i < e.params().size(); ++i)
              if (!(m[i] == T(0) || m[i] == T(1))) throw py::value_error("mask: entries must be 0 or 1");
            e.set_mask(m);
          },
          arg("mask"), "Prune: params *= mask now and after every step (None removes the mask).")
      .def_property_readonly("mask",
                             [](py::object self) -> py::object {
                               E& e = self.cast<E&>();
                               if (!e.has_mask()) return py::none();
                               return buffer_view(e.mask(), self);
                             })
      .def("reset_opt_state", &E::reset_opt_state)
      .def(
          "run_epoch",
          [](E& e, py::list xs, py::list ys, py::list labels, py::object sw, py::array_t<std::int64_t> order,
             index_t batch_size, index_t batch_begin, index_t batch_end, py::array_t<double> lrs, py::list collect,
             bool stop_on_nan, bool diagnostics, py::object py_layers, py::object augment, py::object py_penalty) {
            EpochCall<T> call(e, xs, ys, labels, sw, order, batch_size, batch_begin, batch_end, lrs, collect,
                              stop_on_nan, diagnostics, augment);
            PyHost<T> host(py_layers, py_penalty);
            EpochStats st;
            {
              py::gil_scoped_release release;
              st = e.run_epoch(call.d, call.a, &host);
            }
            py::dict r = stats_dict(st);
            r["error"] = host.error;
            return r;
          },
          arg("xs"), arg("ys"), arg("labels"), arg("sample_weight"), arg("order"), arg("batch_size"),
          arg("batch_begin"), arg("batch_end"), arg("lrs"), arg("collect"), arg("stop_on_nan") = false,
          arg("diagnostics") = false, arg("py_layers") = py::none(), arg("augment") = py::none(),
          arg("py_penalty") = py::none())
      .def(
          "predict",
          [](E& e, py::list xs, index_t n, index_t batch_size, py::list outs, py::object py_layers,
             py::object logits) {
            if (n < 1 || batch_size < 1) throw py::value_error("predict: empty data or batch_size < 1");
            Data<T> d = data_of<T>(e, xs, py::list(), py::list(), py::none(), n);
            std::vector<T*> out, lg;
            const auto& os = e.outputs();
            if (outs.size() != os.size()) throw py::value_error("predict: one output array per model output");
            for (std::size_t o = 0; o < os.size(); ++o)
              out.push_back(rows_of<T>(outs[o], "out", n, e.tensor_width(os[o].tensor), true));
            if (!logits.is_none()) {
              py::list l = logits.cast<py::list>();
              if (l.size() != os.size()) throw py::value_error("predict: one logits entry (array or None) per output");
              for (std::size_t o = 0; o < os.size(); ++o)
                lg.push_back(l[o].is_none() ? nullptr : rows_of<T>(l[o], "logits", n, e.tensor_width(os[o].tensor), true));
            }
            PyHost<T> host(py_layers);
            bool ok;
            {
              py::gil_scoped_release release;
              ok = e.predict(d, batch_size, out, &host, logits.is_none() ? nullptr : &lg);
            }
            if (!ok) {
              if (host.error.is_none()) throw py::value_error("predict failed");
              PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(host.error.ptr())), host.error.ptr());
              throw py::error_already_set();
            }
          },
          arg("xs"), arg("n"), arg("batch_size"), arg("outs"), arg("py_layers") = py::none(),
          arg("logits") = py::none())
      .def_property_readonly("fused_outputs",
                             [](const E& e) {
                               py::list l;
                               for (std::size_t o = 0; o < e.outputs().size(); ++o) l.append(py::bool_(e.fused(o)));
                               return l;
                             })
      .def(
          "compute_gradients",
          [](E& e, py::list xs, py::list ys, py::list labels, py::object sw, index_t n, std::int64_t step,
             py::object py_layers, py::object py_penalty) {
            if (n < 1) throw py::value_error("compute_gradients: empty data");
            Data<T> d = data_of<T>(e, xs, ys, labels, sw, n);
            if (d.y.empty()) throw py::value_error("compute_gradients: targets are required");
            std::vector<std::int64_t> order(static_cast<std::size_t>(n));
            for (index_t i = 0; i < n; ++i) order[std::size_t(i)] = i;
            d.order = order.data();
            PyHost<T> host(py_layers, py_penalty);
            bool ok;
            double loss;
            {
              py::gil_scoped_release release;
              loss = e.compute_gradients(d, step, &host, &ok);
            }
            if (!ok) {
              if (host.error.is_none()) throw py::value_error("compute_gradients failed");
              PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(host.error.ptr())), host.error.ptr());
              throw py::error_already_set();
            }
            return loss;
          },
          arg("xs"), arg("ys"), arg("labels"), arg("sample_weight"), arg("n"), arg("step") = 0,
          arg("py_layers") = py::none(), arg("py_penalty") = py::none());
}

}  // namespace

void register_train(py::module_& m) {
  py::class_<NodeSpec>(m, "NodeSpec")
      .def(py::init<>())
      .def_readwrite("kind", &NodeSpec::kind)
      .def_readwrite("inputs", &NodeSpec::inputs)
      .def_readwrite("width", &NodeSpec::width)
      .def_readwrite("act", &NodeSpec::act)
      .def_readwrite("alpha", &NodeSpec::alpha)
      .def_readwrite("use_bias", &NodeSpec::use_bias)
      .def_readwrite("trainable", &NodeSpec::trainable)
      .def_readwrite("w_off", &NodeSpec::w_off)
      .def_readwrite("b_off", &NodeSpec::b_off)
      .def_readwrite("s_off", &NodeSpec::s_off)
      .def_readwrite("rate", &NodeSpec::rate)
      .def_readwrite("stddev", &NodeSpec::stddev)
      .def_readwrite("eps", &NodeSpec::eps)
      .def_readwrite("momentum", &NodeSpec::momentum)
      .def_readwrite("seed", &NodeSpec::seed)
      .def_readwrite("py_index", &NodeSpec::py_index);
  py::class_<ParamSpec>(m, "ParamSpec")
      .def(py::init<>())
      .def_readwrite("off", &ParamSpec::off)
      .def_readwrite("size", &ParamSpec::size)
      .def_readwrite("trainable", &ParamSpec::trainable)
      .def_readwrite("l1", &ParamSpec::l1)
      .def_readwrite("l2", &ParamSpec::l2)
      .def_readwrite("node", &ParamSpec::node);
  py::class_<OutputSpec>(m, "OutputSpec")
      .def(py::init<>())
      .def_readwrite("tensor", &OutputSpec::tensor)
      .def_readwrite("weight", &OutputSpec::weight)
      .def_readwrite("sum", &OutputSpec::sum)
      .def_property("loss_id", [](const OutputSpec& o) { return o.loss.id; }, [](OutputSpec& o, int v) { o.loss.id = v; })
      .def_property("from_logits", [](const OutputSpec& o) { return o.loss.from_logits; },
                    [](OutputSpec& o, bool v) { o.loss.from_logits = v; })
      .def_property("delta", [](const OutputSpec& o) { return o.loss.delta; }, [](OutputSpec& o, double v) { o.loss.delta = v; })
      .def_property("label_smoothing", [](const OutputSpec& o) { return o.loss.label_smoothing; },
                    [](OutputSpec& o, double v) { o.loss.label_smoothing = v; });
  py::class_<OptSpec>(m, "OptSpec")
      .def(py::init<>())
      .def_readwrite("kind", &OptSpec::kind)
      .def_readwrite("beta1", &OptSpec::beta1)
      .def_readwrite("beta2", &OptSpec::beta2)
      .def_readwrite("eps", &OptSpec::eps)
      .def_readwrite("weight_decay", &OptSpec::weight_decay)
      .def_readwrite("momentum", &OptSpec::momentum)
      .def_readwrite("dampening", &OptSpec::dampening)
      .def_readwrite("rho", &OptSpec::rho)
      .def_readwrite("initial_accumulator_value", &OptSpec::initial_accumulator_value)
      .def_readwrite("lr_decay", &OptSpec::lr_decay)
      .def_readwrite("momentum_decay", &OptSpec::momentum_decay)
      .def_readwrite("nesterov", &OptSpec::nesterov)
      .def_readwrite("amsgrad", &OptSpec::amsgrad)
      .def_readwrite("centered", &OptSpec::centered)
      .def_readwrite("decoupled_weight_decay", &OptSpec::decoupled_weight_decay)
      .def_readwrite("clipvalue", &OptSpec::clipvalue)
      .def_readwrite("clipnorm", &OptSpec::clipnorm)
      .def_readwrite("global_clipnorm", &OptSpec::global_clipnorm);
  m.def("opt_state_slots", &opt_state_slots, arg("opt"));
  bind_engine<float>(m, "Engine32");
  bind_engine<double>(m, "Engine64");
  m.def("run_epochs_many", &run_epochs_many<float>, arg("engines"), arg("calls"),
        "One epoch (or batch range) for each float32 engine, one model per thread.");
  m.def("run_epochs_many64", &run_epochs_many<double>, arg("engines"), arg("calls"),
        "One epoch (or batch range) for each float64 engine, one model per thread.");
  m.def(
      "all_finite",
      [](const py::array& a, bool as_float32) {
        // No temporary (numpy's isfinite(x).all() allocates a bool array as large as x).
        auto check = [&](auto tag) {
          using T = decltype(tag);
          const T* p = static_cast<const T*>(a.data());
          const index_t n = a.size();
          bool ok = true;
          {
            py::gil_scoped_release release;
            const int nt = threads_for(double(n) * 0.1);
#pragma omp parallel for num_threads(nt) reduction(&& : ok) schedule(static) if (nt > 1)
            for (index_t c = 0; c < (n + 4095) / 4096; ++c) {
              int bad = 0;
              const index_t e = std::min(n, (c + 1) * 4096);
              if (as_float32) {  // float64 data that a float32 model converts per batch
#pragma omp simd reduction(| : bad)
                for (index_t i = c * 4096; i < e; ++i) {
                  const float f = float(p[i]);
                  bad |= !(f - f == 0.0f);
                }
              } else {
#pragma omp simd reduction(| : bad)
                for (index_t i = c * 4096; i < e; ++i) bad |= !(p[i] - p[i] == T(0));  // NaN for NaN/Inf
              }
              ok = ok && !bad;
            }
          }
          return ok;
        };
        if (!(a.flags() & py::array::c_style)) throw py::value_error("all_finite: expected a C-contiguous array");
        if (a.dtype().is(py::dtype::of<float>())) return check(float{});
        if (a.dtype().is(py::dtype::of<double>())) return check(double{});
        throw py::type_error("all_finite: expected float32 or float64, got " + describe(a));
      },
      arg("a"), arg("as_float32") = false,
      "True when no element is NaN or +-Inf (no temporary array); as_float32: after rounding to float32.");
  m.def(
      "_augment_draws",
      [](std::uint64_t seed, std::int64_t epoch, std::int64_t batch, index_t b, double mixup) {
        if (b < 0) throw py::value_error("b: must be >= 0");
        if (!(std::isfinite(mixup) && mixup > 0)) throw py::value_error("mixup: must be finite and > 0");
        py::array_t<double> lam(b);
        py::array_t<std::int64_t> partner(b);
        const std::uint64_t bk = aug_batch_key(seed, epoch, batch);
        for (index_t r = 0; r < b; ++r) lam.mutable_data()[r] = mixup_lambda(bk, mixup, r);
        mixup_partners(bk, b, partner.mutable_data());
        return py::make_tuple(lam, partner);
      },
      arg("seed"), arg("epoch"), arg("batch"), arg("b"), arg("mixup"),
      "The mixup draws of training batch `batch` (b rows) of `epoch`: (lambdas, partner positions).");
  m.def(
      "_augment_normals",
      [](std::uint64_t seed, std::int64_t epoch, std::int64_t batch, int input, index_t count) {
        if (count < 0) throw py::value_error("count: must be >= 0");
        py::array_t<double> out(count);
        const std::uint64_t key = aug_noise_key(aug_batch_key(seed, epoch, batch), input);
        for (index_t i = 0; i < count; ++i) out.mutable_data()[i] = normal01(key, std::uint64_t(i));
        return out;
      },
      arg("seed"), arg("epoch"), arg("batch"), arg("input"), arg("count"),
      "The standard normals of the input noise of a training batch: element (r, j) of input `input` "
      "(width w) is entry r * w + j.");
  m.def(
      "shuffle_order",
      [](index_t n, std::uint64_t seed, std::uint64_t epoch) {
        if (n < 0) throw py::value_error("n: must be >= 0");
        py::array_t<std::int64_t> out(n);
        std::int64_t* p = out.mutable_data();
        {
          py::gil_scoped_release release;
          for (index_t i = 0; i < n; ++i) p[i] = i;
          const std::uint64_t key = rng_key(seed, 0x5348554646ull + epoch);  // "SHUFF" + epoch
          for (index_t i = n - 1; i > 0; --i) {  // Fisher-Yates from counter-based draws
            const index_t j = index_t(below(key, std::uint64_t(i), std::uint64_t(i) + 1));
            std::swap(p[i], p[j]);
          }
        }
        return out;
      },
      arg("n"), arg("seed"), arg("epoch"), "A permutation of range(n), a pure function of (n, seed, epoch).");
}

}  // namespace fastnn
