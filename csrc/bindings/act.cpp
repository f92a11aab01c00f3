// Bindings for the elementwise activations, softmax / log_softmax and the vmath test hook.
//
// Python (fastnn._ops_act) validates and allocates; these functions re-check what a kernel
// relies on (dtype, sizes, layout, writability, overlap), release the GIL and split large
// inputs across threads in fixed chunks (elementwise) or row blocks (softmax).  Every
// output element depends only on its own inputs (or its own row), so results are bitwise
// identical at any thread count.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define FASTNN_POSIX_ALLOC 1
#elif defined(_WIN32)
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

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

// ---------------------------------------------------------------- output buffers
//
// Outputs of >= 1 MiB come from a small cache of recently freed buffers: a fresh anonymous
// mapping costs the kernel a page fault and a page clear per 4 KiB (per 2 MiB with
// transparent huge pages), which on large arrays takes longer than the activation itself.
// A freed output goes back to the cache (at most kCacheMaxBuffers buffers and
// FASTNN_BUFFER_CACHE_MB MiB, default 256; 0 disables the cache); the oldest are released
// first.  The arrays are ordinary writable C-contiguous numpy arrays whose base is a capsule.
class BufferCache {
 public:
  static BufferCache& get() {
    static BufferCache* c = new BufferCache();  // never destroyed: capsules may outlive exit
    return *c;
  }
  void* acquire(std::size_t need, std::size_t* cap) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_;
      for (std::size_t i = free_.size(); i-- > 0;) {  // newest first (warmest)
        const Entry e = free_[i];
        if (e.cap >= need && e.cap - need <= need / 8) {
          free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
          cached_ -= e.cap;
          ++hits_;
          *cap = e.cap;
          return e.ptr;
        }
      }
    }
    const std::size_t c = round_up(need);
    void* p = raw_alloc(c);
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, c, MADV_HUGEPAGE);  // advisory; ignored where unsupported
#endif
    *cap = c;
    return p;
  }
  void release(void* p, std::size_t cap) {
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cap <= limit_) {
        free_.push_back({p, cap});
        cached_ += cap;
        p = nullptr;
        while (cached_ > limit_ || free_.size() > kCacheMaxBuffers) {
          drop.push_back(free_.front().ptr);
          cached_ -= free_.front().cap;
          free_.erase(free_.begin());
        }
      }
    }
    if (p) raw_free(p);
    for (void* q : drop) raw_free(q);
  }
  void clear() {
    std::vector<Entry> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      drop.swap(free_);
      cached_ = 0;
    }
    for (const Entry& e : drop) raw_free(e.ptr);
  }
  void set_limit(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      limit_ = bytes;
    }
    if (bytes == 0) clear();
  }
  py::dict info() {
    std::lock_guard<std::mutex> lock(mu_);
    py::dict d;
    d["limit_bytes"] = limit_;
    d["cached_bytes"] = cached_;
    d["cached_buffers"] = free_.size();
    d["requests"] = requests_;
    d["hits"] = hits_;
    return d;
  }
  static constexpr std::size_t kMinBytes = std::size_t(1) << 20;

 private:
  struct Entry {
    void* ptr;
    std::size_t cap;
  };
  // 2 MiB: the whole buffer can be backed by transparent huge pages (madvise needs a
  // page-aligned start), which makes first-touch page faults ~500x rarer.
  static constexpr std::size_t kAlign = std::size_t(1) << 21;
  static constexpr std::size_t kCacheMaxBuffers = 8;
  static std::size_t round_up(std::size_t n) { return (n + 4095) & ~std::size_t(4095); }
  static void* raw_alloc(std::size_t bytes) {
#if defined(FASTNN_POSIX_ALLOC)
    void* p = nullptr;
    return posix_memalign(&p, kAlign, bytes) == 0 ? p : nullptr;
#elif defined(_WIN32)
    return _aligned_malloc(bytes, kAlign);
#else
    return std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
#endif
  }
  static void raw_free(void* p) {
#if defined(_WIN32) && !defined(FASTNN_POSIX_ALLOC)
    _aligned_free(p);
#else
    std::free(p);
#endif
  }
  BufferCache() {
    limit_ = std::size_t(256) << 20;
    if (const char* env = std::getenv("FASTNN_BUFFER_CACHE_MB")) {
      char* end = nullptr;
      const double mb = std::strtod(env, &end);
      if (end != env && mb >= 0) limit_ = static_cast<std::size_t>(mb * 1048576.0);
    }
  }
  std::mutex mu_;
  std::vector<Entry> free_;
  std::size_t cached_ = 0, limit_ = 0, requests_ = 0, hits_ = 0;
};

struct CachedBuffer {
  void* ptr;
  std::size_t cap;
};

// A new C-contiguous array of T with the given shape (cached buffer when large).
template <class T>
py::array new_array(const std::vector<py::ssize_t>& shape) {
  std::size_t n = 1;
  for (py::ssize_t d : shape) n *= static_cast<std::size_t>(d);
  const std::size_t bytes = n * sizeof(T);
  if (bytes < BufferCache::kMinBytes) return py::array_t<T>(shape);
  std::size_t cap = 0;
  void* p = BufferCache::get().acquire(bytes, &cap);
  auto* holder = new CachedBuffer{p, cap};
  py::capsule owner(holder, [](void* h) {
    auto* b = static_cast<CachedBuffer*>(h);
    BufferCache::get().release(b->ptr, b->cap);
    delete b;
  });
  return py::array_t<T>(shape, static_cast<T*>(p), owner);
}

std::vector<py::ssize_t> shape_of(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

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
py::array act_forward_t(int act, const py::array& x, const py::object& out_obj, double alpha) {
  const T* xp = contiguous<T>(x, "x", false);
  const py::array out = out_obj.is_none() ? new_array<T>(shape_of(x)) : out_obj.cast<py::array>();
  T* op = contiguous<T>(out, "out", true);
  const index_t n = static_cast<index_t>(x.size());
  if (static_cast<index_t>(out.size()) != n)
    throw py::value_error("out: expected " + std::to_string(n) + " elements to match x, got " + describe(out));
  check_alias(op, xp, n, "out", "x");
  ActFwdFn<T> fn = use_stream(n, sizeof(T)) ? fwd_fn<T>(stream_kernels(), act) : fwd_fn<T>(kernels().act, act);
  if (!fn) throw py::value_error("activation kernel not available");
  const T a = static_cast<T>(alpha);
  const double cost = act_cost_ns(act);
  {
    py::gil_scoped_release release;
    parallel_chunks(n, cost, [&](index_t b, index_t len) { fn(len, xp + b, op + b, a); });
  }
  return out;
}

template <class T>
py::array act_backward_t(int act, const py::array& x, const py::object& y, const py::array& dy,
                         const py::object& out_obj, double alpha) {
  const T* xp = contiguous<T>(x, "x", false);
  const T* gp = contiguous<T>(dy, "dy", false);
  const py::array out = out_obj.is_none() ? new_array<T>(shape_of(x)) : out_obj.cast<py::array>();
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
  {
    py::gil_scoped_release release;
    parallel_chunks(n, cost,
                    [&](index_t b, index_t len) { fn(len, xp + b, yp ? yp + b : nullptr, gp + b, op + b, a); });
  }
  return out;
}

// ---------------------------------------------------------------- softmax

template <class T>
py::array softmax_t(const py::array& x, const py::object& out_obj, bool log) {
  const Mat<T> X = as_mat<T>(x, "x", false);
  const py::array out = out_obj.is_none() ? new_array<T>(shape_of(x)) : out_obj.cast<py::array>();
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
  {
    py::gil_scoped_release release;
    parallel_rows(X.rows, X.cols, 1.0, [&](index_t b, index_t r) {
      fn(r, X.cols, X.ptr + b * X.ld, X.ld, Y.ptr + b * Y.ld, Y.ld);
    });
  }
  return out;
}

template <class T>
py::array softmax_backward_t(const py::array& y, const py::array& dy, const py::object& out_obj, bool log) {
  const Mat<T> Yv = as_mat<T>(y, "y", false);
  const py::array out = out_obj.is_none() ? new_array<T>(shape_of(y)) : out_obj.cast<py::array>();
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
  {
    py::gil_scoped_release release;
    parallel_rows(Yv.rows, Yv.cols, log ? 1.0 : 0.5, [&](index_t b, index_t r) {
      fn(r, Yv.cols, Yv.ptr + b * Yv.ld, Yv.ld, G.ptr + b * G.ld, G.ld, D.ptr + b * D.ld, D.ld);
    });
  }
  return out;
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
    ok = vmath_apply_for(isa, id, n, xp, op);
  }
  if (!ok) throw py::value_error("unknown vmath id");
  return out;
}

}  // namespace

void register_act(py::module_& m) {
  m.def("act_forward", [](int act, const py::array& x, const py::object& out, double alpha) -> py::array {
    check_act_id(act);
    if (is_f32(x)) return act_forward_t<float>(act, x, out, alpha);
    if (is_f64(x)) return act_forward_t<double>(act, x, out, alpha);
    throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("act"), py::arg("x"), py::arg("out") = py::none(), py::arg("alpha") = 0.0,
     "out = f(x) elementwise for activation id `act`; out may be x itself, or None for a new array. "
     "Returns out.");

  m.def("act_backward", [](int act, const py::array& x, const py::object& y, const py::array& dy,
                           const py::object& out, double alpha) -> py::array {
    check_act_id(act);
    if (is_f32(x)) return act_backward_t<float>(act, x, y, dy, out, alpha);
    if (is_f64(x)) return act_backward_t<double>(act, x, y, dy, out, alpha);
    throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("act"), py::arg("x"), py::arg("y"), py::arg("dy"), py::arg("out") = py::none(), py::arg("alpha") = 0.0,
     "out = dy * f'(x) elementwise (y = f(x) or None; out may be dy or x itself, or None). Returns out.");

  m.def("softmax", [](const py::array& x, const py::object& out, bool log) -> py::array {
    if (is_f32(x)) return softmax_t<float>(x, out, log);
    if (is_f64(x)) return softmax_t<double>(x, out, log);
    throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("x"), py::arg("out") = py::none(), py::arg("log") = false,
     "Row-wise softmax (log=True: log_softmax) of a 2-D array with contiguous rows. Returns out.");

  m.def("softmax_backward", [](const py::array& y, const py::array& dy, const py::object& out, bool log) -> py::array {
    if (is_f32(y)) return softmax_backward_t<float>(y, dy, out, log);
    if (is_f64(y)) return softmax_backward_t<double>(y, dy, out, log);
    throw py::type_error("y: expected float32 or float64, got " + describe(y));
  }, py::arg("y"), py::arg("dy"), py::arg("out") = py::none(), py::arg("log") = false,
     "Row-wise softmax backward from the forward output y (log=True: y = log_softmax(x)). Returns out.");

  m.def("_buffer_cache_info", []() { return BufferCache::get().info(); },
        "Output-buffer cache statistics (limit, cached bytes/buffers, requests, hits).");
  m.def("_buffer_cache_clear", []() { BufferCache::get().clear(); }, "Release every cached output buffer.");
  m.def("_buffer_cache_set_limit", [](double mib) {
    if (!(mib >= 0)) throw py::value_error("mib: must be >= 0");
    BufferCache::get().set_limit(static_cast<std::size_t>(mib * 1048576.0));
  }, py::arg("mib"), "Set the cache limit in MiB (0 disables and releases the cache).");

  m.def("_vmath", [](const std::string& name, const py::array& x) -> py::array {
    const int id = vmath_id(name);
    if (is_f32(x)) return vmath_t<float>(id, x);
    if (is_f64(x)) return vmath_t<double>(id, x);
    throw py::type_error("x: expected float32 or float64, got " + describe(x));
  }, py::arg("name"), py::arg("x"),
     "Test hook: a vector-math function of the active ISA (exp, exp_ftz, expm1, log, log1p, tanh, norm_tail).");
}

}  // namespace fastnn
