// Binding of the loss kernels (fastnn/loss.h): _core.loss_forward and _core.LOSS_IDS.
//
// fastnn.losses validates first (friendly messages, label ranges, finite targets); these
// checks are the last line before the kernel: ids, dtypes, shapes, layout, label range and
// hyperparameter ranges.  Large batches run with the GIL released, split across threads in
// fixed row blocks; rows are independent, so the results never depend on the thread count.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "bindings/checks.h"
#include "fastnn/dispatch.h"
#include "fastnn/loss.h"

namespace fastnn {
namespace {

constexpr index_t kBlockElems = index_t(1) << 14;  // elements per parallel row block
constexpr double kGilElems = 1e5;                  // release the GIL above this many elements

// Rough single-thread cost per element in ns, for threads_for().
double cost_ns(int id) {
  switch (id) {
    case LOSS_MSE:
    case LOSS_MAE:
    case LOSS_HUBER:
    case LOSS_HINGE:
    case LOSS_SQUARED_HINGE: return 1.0;
    default: return 10.0;  // an exp or a log per element
  }
}

const char* const kLossNames[LOSS_COUNT] = {
    "mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "hinge", "squared_hinge", "kl_divergence", "poisson"};

void check_spec(const LossSpec& s) {
  if (s.id < 0 || s.id >= LOSS_COUNT)
    throw py::value_error("loss_id: expected 0 <= loss_id < " + std::to_string(int(LOSS_COUNT)) + ", got " +
                          std::to_string(s.id));
  if (!(std::isfinite(s.delta) && s.delta > 0.0))
    throw py::value_error("delta: must be finite and > 0, got " + std::to_string(s.delta));
  if (!(s.label_smoothing >= 0.0 && s.label_smoothing <= 1.0))
    throw py::value_error("label_smoothing: must be in [0, 1], got " + std::to_string(s.label_smoothing));
}

const std::int64_t* labels_of(const py::array& a, index_t rows, index_t cols) {
  if (!a.dtype().is(py::dtype::of<std::int64_t>()))
    throw py::type_error("labels: expected dtype int64, got " + describe(a));
  if (a.ndim() != 1) throw py::value_error("labels: expected a 1-D array, got " + describe(a));
  const std::int64_t* lab = as_vec<std::int64_t>(a, "labels", rows, false);
  for (index_t r = 0; r < rows; ++r)
    if (lab[r] < 0 || lab[r] >= cols)
      throw py::value_error("labels: expected class indices in [0, " + std::to_string(cols) + "), got " +
                            std::to_string(lab[r]) + " at position " + std::to_string(r));
  return lab;
}

template <class T>
py::tuple forward_t(const LossSpec& spec, const py::array& pred, const py::array& target, const py::object& sw,
                    double grad_scale, bool want_grad) {
  if (pred.ndim() == 2 && pred.shape(1) < 1)
    throw py::value_error("y_pred: needs at least one column, got " + describe(pred));
  const Mat<T> p = as_mat<T>(pred, "y_pred", false);
  const index_t rows = p.rows, cols = p.cols;
  const bool sparse = spec.id == LOSS_SPARSE_CCE;
  const std::int64_t* labels = nullptr;
  Mat<T> y;
  if (sparse) {
    labels = labels_of(target, rows, cols);
  } else {
    y = as_mat<T>(target, "y_true", false);
    if (y.rows != rows || y.cols != cols)
      throw py::value_error("y_true: expected shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
                            ") like y_pred, got " + describe(target));
  }
  const T* w = nullptr;
  if (!sw.is_none()) {
    if (!py::isinstance<py::array>(sw))
      throw py::type_error("sample_weight: expected a numpy.ndarray or None");
    const py::array wa = sw.cast<py::array>();
    if (wa.ndim() != 1) throw py::value_error("sample_weight: expected a 1-D array, got " + describe(wa));
    w = as_vec<T>(wa, "sample_weight", rows, false);
  }
  if (!std::isfinite(grad_scale)) throw py::value_error("grad_scale: must be finite");

  py::array_t<double> loss(rows);
  py::object grad = py::none();
  T* d = nullptr;
  if (want_grad) {
    py::array_t<T> g({rows, cols});
    d = g.mutable_data();
    grad = g;
  }
  double* l = loss.mutable_data();
  const T gs = T(grad_scale);
  auto run = [&](index_t r0, index_t r1) {
    loss_rows<T>(spec, r0, r1, cols, p.ptr, p.ld, y.ptr, y.ld, labels, w, gs, l, d, cols);
  };
  const double elems = double(rows) * double(cols);
  if (elems <= kGilElems) {
    run(0, rows);
  } else {
    const index_t block = std::max<index_t>(1, kBlockElems / cols);
    const index_t nblocks = (rows + block - 1) / block;
    const int nt = nblocks > 1 ? threads_for(elems * cost_ns(spec.id)) : 1;
    py::gil_scoped_release release;
    if (nt <= 1) {
      run(0, rows);
    } else {
#pragma omp parallel for num_threads(nt) schedule(static)
      for (index_t b = 0; b < nblocks; ++b) run(b * block, std::min(rows, (b + 1) * block));
    }
  }
  return py::make_tuple(loss, grad);
}

}  // namespace

void register_loss(py::module_& m) {
  py::dict ids;
  for (int i = 0; i < LOSS_COUNT; ++i) ids[kLossNames[i]] = i;
  m.attr("LOSS_IDS") = ids;

  m.def("loss_forward", [](int loss_id, const py::array& y_pred, const py::array& target,
                           const py::object& sample_weight, bool from_logits, double delta,
                           double label_smoothing, double grad_scale, bool want_grad) -> py::tuple {
    LossSpec spec;
    spec.id = loss_id;
    spec.from_logits = from_logits;
    spec.delta = delta;
    spec.label_smoothing = label_smoothing;
    check_spec(spec);
    if (y_pred.dtype().is(py::dtype::of<float>()))
      return forward_t<float>(spec, y_pred, target, sample_weight, grad_scale, want_grad);
    if (y_pred.dtype().is(py::dtype::of<double>()))
      return forward_t<double>(spec, y_pred, target, sample_weight, grad_scale, want_grad);
    throw py::type_error("y_pred: expected dtype float32 or float64, got " + describe(y_pred));
  }, py::arg("loss_id"), py::arg("y_pred"), py::arg("y_true"), py::arg("sample_weight") = py::none(), py::kw_only(),
     py::arg("from_logits") = false, py::arg("delta") = 1.0, py::arg("label_smoothing") = 0.0,
     py::arg("grad_scale") = 1.0, py::arg("want_grad") = false,
     "Per-sample losses (float64, shape (n,)) and, with want_grad, grad_scale * w_r * dloss_r/dy_pred "
     "(dtype of y_pred).  y_pred: 2-D float32/float64 with contiguous rows; y_true: the same dtype and "
     "shape, or int64 labels of shape (n,) for sparse_categorical_crossentropy; sample_weight: None or "
     "(n,) of y_pred's dtype.  Returns (loss_rows, grad or None).");
}

}  // namespace fastnn
