// PLACEHOLDER (to be replaced): activation bindings.
#include <pybind11/pybind11.h>
namespace fastnn {
void register_act(pybind11::module_&) {}
}
