// Bindings for GEMM and the fused dense-layer forward (linear).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/checks.h"
#include "fastnn/dispatch.h"

namespace fastnn {
namespace {

template <class T>
void run_gemm(const GemmArgs<T>& g);
template <>
void run_gemm<float>(const GemmArgs<float>& g) { kernels().gemm.sgemm(g); }
template <>
void run_gemm<double>(const GemmArgs<double>& g) { kernels().gemm.dgemm(g); }

template <class T>
ActFwdFn<T> act_fn(int act);
template <>
ActFwdFn<float> act_fn<float>(int act) { return kernels().act.fwd_f32[act]; }
template <>
ActFwdFn<double> act_fn<double>(int act) { return kernels().act.fwd_f64[act]; }

// c = alpha * op(a) @ op(b) + beta * c   (+ optional bias / pre-activation / activation)
template <class T>
void gemm_t(const py::array& a, const py::array& b, const py::array& c, bool ta, bool tb, double alpha,
            double beta, const py::object& bias, const py::object& z, int act, double act_alpha) {
  Mat<T> A = as_mat<T>(a, "a", false), B = as_mat<T>(b, "b", false), C = as_mat<T>(c, "out", true);
  const index_t m = ta ? A.cols : A.rows, k = ta ? A.rows : A.cols;
  const index_t kb = tb ? B.cols : B.rows, n = tb ? B.rows : B.cols;
  if (k != kb)
    throw py::value_error("matmul: inner dimensions differ: op(a) is " + std::to_string(m) + "x" + std::to_string(k) +
                          ", op(b) is " + std::to_string(kb) + "x" + std::to_string(n));
  if (C.rows != m || C.cols != n)
    throw py::value_error("out: expected shape (" + std::to_string(m) + ", " + std::to_string(n) + "), got " +
                          describe(c));
  if (act < 0 || act >= ACT_COUNT) throw py::value_error("activation id out of range");
  GemmArgs<T> g;
  g.trans_a = ta; g.trans_b = tb; g.m = m; g.n = n; g.k = k;
  g.alpha = T(alpha); g.beta = T(beta);
  g.a = A.ptr; g.lda = A.ld; g.b = B.ptr; g.ldb = B.ld; g.c = C.ptr; g.ldc = C.ld;
  if (!bias.is_none()) g.bias = as_vec<T>(bias.cast<py::array>(), "b", n, false);
  if (!z.is_none()) {
    Mat<T> Z = as_mat<T>(z.cast<py::array>(), "z", true);
    if (Z.rows != m || Z.cols != n) throw py::value_error("z: expected shape (m, n), got " + describe(z.cast<py::array>()));
    g.z = Z.ptr; g.ldz = Z.ld;
  }
  if (act != ACT_IDENTITY) {
    g.act = act_fn<T>(act);
    g.act_id = act;
    if (!g.act) throw py::value_error("activation kernel not available");
  }
  g.act_alpha = T(act_alpha);
  g.num_threads = max_threads();
  py::gil_scoped_release release;
  run_gemm<T>(g);
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def("gemm", [](const py::array& a, const py::array& b, const py::array& c, bool ta, bool tb, double alpha,
                   double beta, const py::object& bias, const py::object& z, int act, double act_alpha) {
    if (c.dtype().is(py::dtype::of<float>()))
      gemm_t<float>(a, b, c, ta, tb, alpha, beta, bias, z, act, act_alpha);
    else if (c.dtype().is(py::dtype::of<double>()))
      gemm_t<double>(a, b, c, ta, tb, alpha, beta, bias, z, act, act_alpha);
    else
      throw py::type_error("out: expected float32 or float64, got " + describe(c));
  }, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false, py::arg("trans_b") = false,
     py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("bias") = py::none(), py::arg("z") = py::none(),
     py::arg("act") = 0, py::arg("act_alpha") = 0.0,
     "out = alpha * op(a) @ op(b) + beta * out, then out += bias; z = out; out = act(out).");
}

}  // namespace fastnn
