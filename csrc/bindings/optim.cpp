// PLACEHOLDER (to be replaced): optimizer bindings.
#include <pybind11/pybind11.h>
namespace fastnn {
void register_optim(pybind11::module_&) {}
}
