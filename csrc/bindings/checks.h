// Argument checks shared by the bindings.  Python's fastnn layer validates first and
// gives the friendly messages; these checks are the last line that keeps a bad call from
// reaching a kernel (never a crash), and run before the GIL is released.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "fastnn/common.h"

namespace fastnn {
namespace py = pybind11;

inline std::string describe(const py::array& a) {
  std::string s = "shape (";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  if (a.ndim() == 1) s += ",";
  return s + ") and dtype " + std::string(py::str(a.dtype()));
}

// A 2-D view of a numpy array: unit stride along columns, any positive row stride.
template <class T>
struct Mat {
  T* ptr = nullptr;
  index_t rows = 0, cols = 0, ld = 0;
};

template <class T>
Mat<T> as_mat(const py::array& a, const char* name, bool writable) {
  if (!py::isinstance<py::array_t<T>>(a) || !a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) +
                         ", got " + describe(a));
  if (a.ndim() != 2) throw py::value_error(std::string(name) + ": expected a 2-D array, got " + describe(a));
  const index_t r = a.shape(0), c = a.shape(1);
  const index_t s0 = a.strides(0), s1 = a.strides(1);
  if (c > 1 && s1 != static_cast<index_t>(sizeof(T)))
    throw py::value_error(std::string(name) + ": columns must be contiguous, got " + describe(a));
  if (r > 1 && (s0 <= 0 || s0 % static_cast<index_t>(sizeof(T)) != 0 || s0 / index_t(sizeof(T)) < c))
    throw py::value_error(std::string(name) + ": rows must have a positive stride >= the row length, got " +
                          describe(a));
  if (writable && !a.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
  Mat<T> m;
  m.ptr = static_cast<T*>(const_cast<void*>(a.data()));
  m.rows = r;
  m.cols = c;
  m.ld = r > 1 ? s0 / index_t(sizeof(T)) : c;
  if (m.ld < 1) m.ld = 1;
  return m;
}

// A contiguous 1-D array of T with n elements.
template <class T>
T* as_vec(const py::array& a, const char* name, index_t n, bool writable) {
  if (!a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) +
                         ", got " + describe(a));
  if (a.size() != n) throw py::value_error(std::string(name) + ": expected " + std::to_string(n) +
                                           " elements, got " + describe(a));
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
  if (writable && !a.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
  return static_cast<T*>(const_cast<void*>(a.data()));
}

}  // namespace fastnn
