// Bindings for the elementwise activations, softmax / log_softmax and the vmath test hook.
//
// Python (fastnn._ops_act) validates and allocates; these functions re-check what a kernel
// relies on (dtype, sizes, layout, writability, overlap), release the GIL and split large
// inputs across threads in fixed chunks (elementwise) or row blocks (softmax).  Every
// output element depends only on its own inputs (or its own row), so results are bitwise
// identical at any thread count.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>

#include "bindings/checks.h"
#include "fastnn/dispatch.h"
#include "ops/act_stream.h"
#include "ops/vmath_hook.h"

namespace fastnn {
namespace {

constexpr index_t kChunk = index_t(1) << 15;  // elements per parallel work item
// Outputs at least this large are written with non-temporal stores: they would not stay in
// cache for the next consumer anyway, and streaming skips the destination's read.
constexpr double kStreamBytes = 16.0 * 1024 * 1024;

const ActStreamKernels& stream_kernels() {
  static ActStreamKernels tables[kNumIsa];
  static std::once_flag once;
  std::call_once(once, [] {
    generic::fill_act_stream(tables[0]);
#if defined(FASTNN_X86)
    avx2::fill_act_stream(tables[1]);
    avx512::fill_act_stream(tables[2]);
#endif
  });
  return tables[static_cast<int>(kernels().isa)];
}

bool use_stream(index_t n, std::size_t elem) { return double(n) * double(elem) >= kStreamBytes; }

// Rough single-thread cost in ns per element, for threads_for().
double act_cost_ns(int act) {
  switch (act) {
    case ACT_IDENTITY:
    case ACT_RELU:
    case ACT_LEAKY_RELU: return 0.3;
    case ACT_GELU:
    case ACT_MISH: return 1.5;
    default: return 1.0;
  }
}

template <class F>
void parallel_chunks(index_t n, double ns_per_elem, F&& f) {
  const index_t nchunks = (n + kChunk - 1) / kChunk;
  const int nt = nchunks > 1 ? threads_for(double(n) * ns_per_elem) : 1;
  if (nt <= 1) {
    f(index_t(0), n);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (index_t c = 0; c < nchunks; ++c) {
    const index_t b = c * kChunk;
    f(b, std::min(kChunk, n - b));
  }
}

template <class F>
void parallel_rows(index_t rows, index_t cols, double ns_per_elem, F&& f) {
  const index_t block = std::max<index_t>(1, kChunk / std::max<index_t>(cols, 1));
  const index_t nblocks = (rows + block - 1) / block;
  const int nt = nblocks > 1 ? threads_for(double(rows) * double(cols) * ns_per_elem) : 1;
  if (nt <= 1) {
    f(index_t(0), rows);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (index_t c = 0; c < nblocks; ++c) {
    const index_t b = c * block;
    f(b, std::min(block, rows - b));
  }
}

// ---------------------------------------------------------------- checks

bool is_f32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }
bool is_f64(const py::array& a) { return a.dtype().is(py::dtype::of<double>()); }

// A C-contiguous array of T; returns its data pointer.
template <class T>
T* contiguous(const py::array& a, const char* name, bool writable) {
  if (!a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) +
                         ", got " + describe(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": must be C-contiguous, got " + describe(a));
  if (writable && !a.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
  return static_cast<T*>(const_cast<void*>(a.data()));
}

// `out` may be `in` exactly (in place) but must not overlap it otherwise.
template <class T>
void check_alias(const T* out, const T* in, index_t n, const char* out_name, const char* in_name) {
  if (out == in || n == 0) return;
  const auto o = reinterpret_cast<std::uintptr_t>(out), i = reinterpret_cast<std::uintptr_t>(in);
  const auto bytes = static_cast<std::uintptr_t>(n) * sizeof(T);
  if (o < i + bytes && i < o + bytes)
    throw py::value_error(std::string(out_name) + ": partially overlaps " + in_name +
                          " (only the very same array may be reused in place)");
}

// Whether two 2-D views (rows x cols, row stride ld) share memory other than identically.
template <class T>
void check_alias_mat(const Mat<T>& out, const Mat<T>& in, const char* out_name, const char* in_name) {
  if (out.ptr == in.ptr && out.ld == in.ld) return;
  if (out.rows == 0 || out.cols == 0) return;
  const auto span = [](const Mat<T>& m) {
    const auto b = reinterpret_cast<std::uintptr_t>(m.ptr);
    return std::make_pair(b, b + static_cast<std::uintptr_t>((m.rows - 1) * m.ld + m.cols) * sizeof(T));
  };
  const auto a = span(out), b = span(in);
  if (a.first < b.second && b.first < a.second)
    throw py::value_error(std::string(out_name) + ": overlaps " + in_name +
                          " (only the very same array may be reused in place)");
}

void check_act_id(int act) {
  if (act < 0 || act >= ACT_COUNT)
    throw py::value_error("act: activation id out of range [0, " + std::to_string(ACT_COUNT) + "), got " +
                          std::to_string(act));
}

// ---------------------------------------------------------------- elementwise

template <class T, class K>
ActFwdFn<T> fwd_fn(const K& k, int act) {
  if constexpr (sizeof(T) == 4) return k.fwd_f32[act];
  else return k.fwd_f64[act];
}
template <class T, class K>
ActBwdFn<T> bwd_fn(const K& k, int act) {
  if constexpr (sizeof(T) == 4) return k.bwd_f32[act];
  else return k.bwd_f64[act];
}

template <class T>
void act_forward_t(int act, const py::array& x, const py::array& out, double alpha) {
  const T* xp = contiguous<T>(x, "x", false);
  T* op = contiguous<T>(out, "out", true);
  const index_t n = static_cast<index_t>(x.size());
  if (static_cast<index_t>(out.size()) != n)
    throw py::value_error("out: expected " + std::to_string(n) + " elements to match x, got " + describe(out));
  check_alias(op, xp, n, "out", "x");
  ActFwdFn<T> fn = use_stream(n, sizeof(T)) ? fwd_fn<T>(stream_kernels(), act) : fwd_fn<T>(kernels().act, act);
  if (!fn) throw py::value_error("activation kernel not available");
  const T a = static_cast<T>(alpha);
  const double cost = act_cost_ns(act);
  py::gil_scoped_release release;
  parallel_chunks(n, cost, [&](index_t b, index_t len) { fn(len, xp + b, op + b, a); });
}

template <class T>
void act_backward_t(int act, const py::array& x, const py::object& y, const py::array& dy, const py::array& out,
                    double alpha) {
  const T* xp = contiguous<T>(x, "x", false);
  const T* gp = contiguous<T>(dy, "dy", false);
  T* op = contiguous<T>(out, "out", true);
  const T* yp = nullptr;
  const index_t n = static_cast<index_t>(x.size());
  if (!y.is_none()) {
    py::array ya = y.cast<py::array>();
    yp = contiguous<T>(ya, "y", false);
    if (static_cast<index_t>(ya.size()) != n)
      throw py::value_error("y: expected " + std::to_string(n) + " elements to match x, got " + describe(ya));
    check_alias(op, yp, n, "out", "y");
  }
  if (static_cast<index_t>(dy.size()) != n)
    throw py::value_error("dy: expected " + std::to_string(n) + " elements to match x, got " + describe(dy));
  if (static_cast<index_t>(out.size()) != n)
    throw py::value_error("out: expected " + std::to_string(n) + " elements to match x, got " + describe(out));
  check_alias(op, xp, n, "out", "x");
  check_alias(op, gp, n, "out", "dy");
  ActBwdFn<T> fn = use_stream(n, sizeof(T)) ? bwd_fn<T>(stream_kernels(), act) : bwd_fn<T>(kernels().act, act);
  if (!fn) throw py::value_error("activation kernel not available");
  const T a = static_cast<T>(alpha);
  const double cost = act_cost_ns(act) * 1.3;
  py::gil_scoped_release release;
  parallel_chunks(n, cost, [&](index_t b, index_t len) { fn(len, xp + b, yp ? yp + b : nullptr, gp + b, op + b, a); });
}

// ---------------------------------------------------------------- softmax

template <class T>
void softmax_t(const py::array& x, const py::array& out, bool log) {
  const Mat<T> X = as_mat<T>(x, "x", false);
  const Mat<T> Y = as_mat<T>(out, "out", true);
  if (Y.rows != X.rows || Y.cols != X.cols)
    throw py::value_error("out: expected shape (" + std::to_string(X.rows) + ", " + std::to_string(X.cols) +
                          ") to match x, got " + describe(out));
  check_alias_mat(Y, X, "out", "x");
  const ActKernels& k = kernels().act;
  RowFwdFn<T> fn;
  if constexpr (sizeof(T) == 4) fn = log ? k.log_softmax_f32 : k.softmax_f32;
  else fn = log ? k.log_softmax_f64 : k.softmax_f64;
  if (!fn) throw py::value_error("softmax kernel not available");
  py::gil_scoped_release release;
  parallel_rows(X.rows, X.cols, 1.0, [&](index_t b, index_t r) {
    fn(r, X.cols, X.ptr + b * X.ld, X.ld, Y.ptr + b * Y.ld, Y.ld);
  });
}

template <class T>
void softmax_backward_t(const py::array& y, const py::array& dy, const py::array& out, bool log) {
  const Mat<T> Yv = as_mat<T>(y, "y", false);
  const Mat<T> G = as_mat<T>(dy, "dy", false);
  const Mat<T> D = as_mat<T>(out, "out", true);
  for (const auto& pr : {std::make_pair(&G, "dy"), std::make_pair(&D, "out")})
    if (pr.first->rows != Yv.rows || pr.first->cols != Yv.cols)
      throw py::value_error(std::string(pr.second) + ": expected shape (" + std::to_string(Yv.rows) + ", " +
                            std::to_string(Yv.cols) + ") to match y");
  check_alias_mat(D, Yv, "out", "y");
  check_alias_mat(D, G, "out", "dy");
  const ActKernels& k = kernels().act;
  RowBwdFn<T> fn;
  if constexpr (sizeof(T) == 4) fn = log ? k.log_softmax_bwd_f32 : k.softmax_bwd_f32;
  else fn = log ? k.log_softmax_bwd_f64 : k.softmax_bwd_f64;
  if (!fn) throw py::value_error("softmax kernel not available");
  py::gil_scoped_release release;
  parallel_rows(Yv.rows, Yv.cols, log ? 1.0 : 0.5, [&](index_t b, index_t r) {
    fn(r, Yv.cols, Yv.ptr + b * Yv.ld, Yv.ld, G.ptr + b * G.ld, G.ld, D.ptr + b * D.ld, D.ld);
  });
}

// ---------------------------------------------------------------- vmath test hook

int vmath_id(const std::string& name) {
  if (name == "exp") return VM_EXP;
  if (name == "expm1") return VM_EXPM1;
  if (name == "log") return VM_LOG;
  if (name == "log1p") return VM_LOG1P;
  if (name == "tanh") return VM_TANH;
  if (name == "norm_tail") return VM_NORM_TAIL;
  if (name == "exp_ftz") return VM_EXP_FTZ;
  throw py::value_error("name: unknown vmath function '" + name +
                        "'; known: exp, exp_ftz (x <= 88), expm1, log, log1p (u in [0, 1]), tanh, norm_tail");
}

template <class T>
py::array vmath_t(int id, const py::array& x) {
  const T* xp = contiguous<T>(x, "x", false);
  const index_t n = static_cast<index_t>(x.size());
  py::array_t<T> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  T* op = out.mutable_data();
  const Isa isa = kernels().isa;
  bool ok = false;
  {
    py::gil_scoped_release release;
    if constexpr (sizeof(T) == 4) {
      switch (isa) {
#if defined(FASTNN_X86)
        case Isa::avx512: ok = avx512::vmath_apply_f32(id, n, xp, op); break;
        case Isa::avx2: ok = avx2::vmath_apply_f32(id, n, xp, op); break;
#endif
        default: ok = generic::vmath_apply_f32(id, n, xp, op); break;
      }
    } else {
      switch (isa) {
#if defined(FASTNN_X86)
        case Isa::avx512: ok = avx512::vmath_apply_f64(id, n, xp, op); break;
        case Isa::avx2: ok = avx2::vmath_apply_f64(id, n, xp, op); break;
#endif
        default: ok = generic::vmath_apply_f64(id, n, xp, op); break;
      }
    }
  }
  if (!ok) throw py::value_error("unknown vmath id");
  return out;
}

}  // namespace

void register_act(py::module_& m) {
  m.def("act_forward", [](int act, const py::array& x, const py::array& out, double alpha) {
    check_act_id(act);
    if (is_f32(x)) act_forward_t<float>(act, x, out, alpha);
    else if (is_f64(x)) act_forward_t<double>(act, x, out, alpha);
    else throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("act"), py::arg("x"), py::arg("out"), py::arg("alpha") = 0.0,
     "out = f(x) elementwise for activation id `act` (out may be x itself).");

  m.def("act_backward", [](int act, const py::array& x, const py::object& y, const py::array& dy,
                           const py::array& out, double alpha) {
    check_act_id(act);
    if (is_f32(x)) act_backward_t<float>(act, x, y, dy, out, alpha);
    else if (is_f64(x)) act_backward_t<double>(act, x, y, dy, out, alpha);
    else throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("act"), py::arg("x"), py::arg("y"), py::arg("dy"), py::arg("out"), py::arg("alpha") = 0.0,
     "out = dy * f'(x) elementwise (y = f(x) or None; out may be dy or x itself).");

  m.def("softmax", [](const py::array& x, const py::array& out, bool log) {
    if (is_f32(x)) softmax_t<float>(x, out, log);
    else if (is_f64(x)) softmax_t<double>(x, out, log);
    else throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("x"), py::arg("out"), py::arg("log") = false,
     "Row-wise softmax (log=True: log_softmax) of a 2-D array with contiguous rows.");

  m.def("softmax_backward", [](const py::array& y, const py::array& dy, const py::array& out, bool log) {
    if (is_f32(y)) softmax_backward_t<float>(y, dy, out, log);
    else if (is_f64(y)) softmax_backward_t<double>(y, dy, out, log);
    else throw py::type_error("y: expected float32 or float64, got " + describe(y));
  }, py::arg("y"), py::arg("dy"), py::arg("out"), py::arg("log") = false,
     "Row-wise softmax backward from the forward output y (log=True: y = log_softmax(x)).");

  m.def("_vmath", [](const std::string& name, const py::array& x) -> py::array {
    const int id = vmath_id(name);
    if (is_f32(x)) return vmath_t<float>(id, x);
    if (is_f64(x)) return vmath_t<double>(id, x);
    throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("name"), py::arg("x"),
     "Test hook: a vector-math function of the active ISA (exp, exp_ftz, expm1, log, log1p, tanh, norm_tail).");
}

}  // namespace fastnn
