// The private extension module fastnn._core.  Each area registers its own functions.
#include <pybind11/pybind11.h>

#include "fastnn/dispatch.h"

namespace py = pybind11;

namespace fastnn {
void register_config(py::module_& m);
void register_gemm(py::module_& m);
void register_act(py::module_& m);
void register_optim(py::module_& m);
void register_loss(py::module_& m);
}  // namespace fastnn

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastnn native core (private; use fastnn.ops and the model API)";
  fastnn::kernels();  // fill the tables now: a bad FASTNN_ARCH fails the import clearly
  fastnn::register_config(m);
  fastnn::register_gemm(m);
  fastnn::register_act(m);
  fastnn::register_optim(m);
  fastnn::register_loss(m);
}
