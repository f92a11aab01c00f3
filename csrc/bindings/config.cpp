// Build and run-time configuration: ISA dispatch, threads, OpenMP runtime, compiler.
#include <omp.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "fastnn/dispatch.h"

#ifndef FASTNN_VERSION
#define FASTNN_VERSION "0.0.0"
#endif
#ifndef FASTNN_COMPILER
#define FASTNN_COMPILER "unknown"
#endif

namespace fastnn {
namespace py = pybind11;

namespace {

std::string openmp_runtime() {
#if defined(__clang__)
  const char* vendor = "LLVM libomp";
#elif defined(__GNUC__)
  const char* vendor = "GNU libgomp";
#else
  const char* vendor = "unknown";
#endif
  return std::string(vendor) + " (OpenMP " + std::to_string(_OPENMP) + ")";
}

}  // namespace

void register_config(py::module_& m) {
  m.attr("__version__") = FASTNN_VERSION;
  m.def("config", []() {
    py::dict d;
    d["version"] = FASTNN_VERSION;
    d["compiler"] = FASTNN_COMPILER;
    d["openmp"] = openmp_runtime();
    d["arch"] = isa_name(kernels().isa);
    py::list avail, compiled;
    for (int i = 0; i < kNumIsa; ++i) {
      Isa isa = static_cast<Isa>(i);
      if (isa_compiled(isa)) compiled.append(isa_name(isa));
      if (isa_compiled(isa) && cpu_supports(isa)) avail.append(isa_name(isa));
    }
    d["available_archs"] = avail;
    d["compiled_archs"] = compiled;
    d["num_threads"] = max_threads();
    d["num_procs"] = omp_get_num_procs();
    const GemmKernels& g = kernels().gemm;
    d["gemm_tile_f32"] = py::make_tuple(g.mr_f32, g.nr_f32);
    d["gemm_tile_f64"] = py::make_tuple(g.mr_f64, g.nr_f64);
    return d;
  }, "Build and run-time configuration as a dict.");
  m.def("get_arch", []() { return std::string(isa_name(kernels().isa)); });
  m.def("set_arch", [](const std::string& name) {
    Isa isa;
    try { isa = parse_isa(name); } catch (const std::invalid_argument& e) { throw py::value_error(e.what()); }
    try { set_active_isa(isa); } catch (const std::invalid_argument& e) { throw py::value_error(e.what()); }
  }, py::arg("name"), "Switch the active kernel table (generic, avx2, avx512).");
  m.def("available_archs", []() {
    std::vector<std::string> v;
    for (int i = 0; i < kNumIsa; ++i)
      if (isa_compiled(Isa(i)) && cpu_supports(Isa(i))) v.push_back(isa_name(Isa(i)));
    return v;
  });
  m.def("get_num_threads", []() { return max_threads(); });
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("n: number of threads must be >= 1, got " + std::to_string(n));
    set_max_threads(n);
  }, py::arg("n"));
  // Contention backoff (tests): teams' thread count now, and a parallel region's timings.
  m.def("_team_threads", []() { return team_threads(); });
  m.def("_note_team_wait", [](double region_s, double own_s) { note_team_wait(region_s, own_s); },
        py::arg("region_s"), py::arg("own_s"));
  m.def("_contention_backoffs", []() { return contention_backoffs(); });
}

}  // namespace fastnn
