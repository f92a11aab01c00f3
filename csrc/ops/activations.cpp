// Elementwise activations, forward and backward side by side, float and double.
//
// Each activation is a struct with scalar `fwd(x, alpha)` and `bwd(x, dy, alpha)` built on
// the branch-free vector math of vmath.h; one generic loop per direction applies it under
// `#pragma omp simd`, so every activation vectorizes for the ISA this file is compiled for.
// The kernels are serial over the range they are given (callers split across threads).
//
// Numerics: sigmoid-like terms use e = exp(-|x|) <= 1, so saturating inputs never give
// inf/inf or 0*inf; derivatives are computed from x (y = f(x) would lose the relative
// accuracy of small derivatives such as 1 - tanh(x)^2 near saturation).
#include "ops/vmath.h"  // first: sets the floating-point options of this file

#include <cstring>

#include "fastnn/act.h"
#include "ops/act_stream.h"
#include "ops/stream.h"

FASTNN_ISA_BEGIN
namespace {

// SELU constants (Klambauer et al. 2017).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
// gelu_tanh: 0.5 x (1 + tanh(k0 (x + k1 x^3))) = x * sigmoid(2 k0 (x + k1 x^3))
constexpr double kGeluK0 = 0.79788456080286535587989211986876;  // sqrt(2/pi)
constexpr double kGeluK1 = 0.044715;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

template <class T>
struct Identity {
  static FASTNN_VINLINE T fwd(T x, T) { return x; }
  static FASTNN_VINLINE T bwd(T, T dy, T) { return dy; }
};

template <class T>
struct Relu {
  // NaN propagates (x < 0 is false for NaN).
  static FASTNN_VINLINE T fwd(T x, T) { return x < T(0) ? T(0) : x; }
  static FASTNN_VINLINE T bwd(T x, T dy, T) { return x > T(0) ? dy : T(0); }
};

template <class T>
struct LeakyRelu {
  static FASTNN_VINLINE T fwd(T x, T a) { return x < T(0) ? a * x : x; }
  static FASTNN_VINLINE T bwd(T x, T dy, T a) { return x > T(0) ? dy : a * dy; }
};

template <class T>
struct Elu {
  static FASTNN_VINLINE T fwd(T x, T a) {
    const T em = vm::expm1_core(vm::clamp_lo(vm::clamp_hi(x, T(0)), vm::FP<T>::kExpm1Lo));
    return x > T(0) ? x : a * em;
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T a) {
    const T e = vm::exp_ftz(vm::clamp_hi(x, T(0)));
    return x > T(0) ? dy : dy * (a * e);
  }
};

template <class T>
struct Selu {
  static FASTNN_VINLINE T fwd(T x, T) {
    const T em = vm::expm1_core(vm::clamp_lo(vm::clamp_hi(x, T(0)), vm::FP<T>::kExpm1Lo));
    return x > T(0) ? T(kSeluScale) * x : T(kSeluScale * kSeluAlpha) * em;
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    const T e = vm::exp_ftz(vm::clamp_hi(x, T(0)));
    return dy * (x > T(0) ? T(kSeluScale) : T(kSeluScale * kSeluAlpha) * e);
  }
};

template <class T>
struct Sigmoid {
  static FASTNN_VINLINE T fwd(T x, T) {
    const T e = vm::exp_ftz(-vm::vabs(x));
    return (x >= T(0) ? T(1) : e) / (T(1) + e);
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    // s (1 - s) = e / (1 + e)^2
    const T e = vm::exp_ftz(-vm::vabs(x));
    const T inv = T(1) / (T(1) + e);
    return dy * (e * inv * inv);
  }
};

template <class T>
struct Tanh {
  static FASTNN_VINLINE T fwd(T x, T) { return vm::tanh(x); }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    // 1 - tanh^2 = 4 e / (1 + e)^2 with e = exp(-2|x|)
    const T ax = vm::vabs(x);
    const T e = vm::exp_ftz(-(ax + ax));
    const T inv = T(1) / (T(1) + e);
    return dy * (T(4) * e * inv * inv);
  }
};

template <class T>
struct Gelu {  // x * Phi(x), Phi the standard normal CDF
  static FASTNN_VINLINE T fwd(T x, T) {
    T g;
    const T tail = vm::norm_tail(vm::vabs(x), &g);  // P(N > |x|)
    const T phi = x >= T(0) ? T(1) - tail : tail;
    return x * phi;
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    // Phi(x) + x * phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
    T g;
    const T tail = vm::norm_tail(vm::vabs(x), &g);
    const T phi = x >= T(0) ? T(1) - tail : tail;
    return dy * (phi + x * (T(kInvSqrt2Pi) * g));
  }
};

template <class T>
struct GeluTanh {
  // Beyond |x| = kClamp the sigmoid is exactly 0 or 1 in T: clamping keeps the derivative's
  // x^2 term finite (no 0 * inf).
  static constexpr T kClamp = sizeof(T) == 4 ? T(30) : T(50);
  static FASTNN_VINLINE T fwd(T x, T) {
    // No clamp needed here: x^3 overflowing to +-inf still gives e = 0 and the exact limit.
    const T v = T(2 * kGeluK0) * (x + T(kGeluK1) * (x * x * x));
    const T e = vm::exp_ftz(-vm::vabs(v));
    return x * ((v >= T(0) ? T(1) : e) / (T(1) + e));
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    const T xc = vm::clamp_hi(vm::clamp_lo(x, -kClamp), kClamp);
    const T x2 = xc * xc;
    const T v = T(2 * kGeluK0) * (xc + T(kGeluK1) * (x2 * xc));
    const T dv = T(2 * kGeluK0) * (T(1) + T(3 * kGeluK1) * x2);
    const T e = vm::exp_ftz(-vm::vabs(v));
    const T inv = T(1) / (T(1) + e);
    const T s = (v >= T(0) ? T(1) : e) * inv;
    return dy * (s + xc * (e * inv * inv) * dv);
  }
};

template <class T>
struct Silu {
  static FASTNN_VINLINE T fwd(T x, T) {
    const T e = vm::exp_ftz(-vm::vabs(x));
    return x * ((x >= T(0) ? T(1) : e) / (T(1) + e));
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    // s + x s (1 - s)
    const T e = vm::exp_ftz(-vm::vabs(x));
    const T inv = T(1) / (T(1) + e);
    const T s = (x >= T(0) ? T(1) : e) * inv;
    return dy * (s + x * (e * inv * inv));
  }
};

template <class T>
struct Mish {
  // tanh(softplus(x)) = n / (n + 2) with n = e (e + 2), e = exp(x); beyond x = kClamp it
  // is exactly 1 in T and the derivative's second term is 0, so x is clamped there (keeps
  // n finite).
  static constexpr T kClamp = sizeof(T) == 4 ? T(20) : T(40);
  static FASTNN_VINLINE T fwd(T x, T) {
    const T e = vm::exp_ftz(vm::clamp_hi(x, kClamp));
    const T n = e * (e + T(2));
    return x * (n / (n + T(2)));
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    // tanh(sp) + x * sech^2(sp) * sigmoid(x), sech^2(sp) = 4 (n + 1) / (n + 2)^2
    const T xc = vm::clamp_hi(x, kClamp);
    const T e = vm::exp_ftz(xc);
    const T n = e * (e + T(2));
    const T inv = T(1) / (n + T(2));
    const T sig = e / (T(1) + e);
    return dy * (n * inv + xc * ((((T(4) * (n + T(1))) * inv) * inv) * sig));
  }
};

template <class T>
struct Softplus {
  // max(x, 0) + log1p(exp(-|x|))
  static FASTNN_VINLINE T fwd(T x, T) {
    const T e = vm::exp_ftz(-vm::vabs(x));
    return vm::clamp_lo(x, T(0)) + vm::log1p_unit(e);
  }
  static FASTNN_VINLINE T bwd(T x, T dy, T) {
    const T e = vm::exp_ftz(-vm::vabs(x));
    return dy * ((x >= T(0) ? T(1) : e) / (T(1) + e));
  }
};

template <class Op, class T>
void fwd_kernel(index_t n, const T* x, T* y, T alpha) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) y[i] = Op::fwd(x[i], alpha);
}

template <class Op, class T>
void bwd_kernel(index_t n, const T* x, const T* /*y*/, const T* dy, T* dx, T alpha) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) dx[i] = Op::bwd(x[i], dy[i], alpha);
}

// Streaming variants: blocks of kBlock elements computed into an L1 buffer, then copied out
// with non-temporal stores.
constexpr index_t kBlock = 512;

template <class Op, class T>
void fwd_stream(index_t n, const T* x, T* y, T alpha) {
  alignas(64) T tmp[kBlock];
  const index_t head = vm::stream_head(y, n);
  fwd_kernel<Op, T>(head, x, y, alpha);
  for (index_t b = head; b < n; b += kBlock) {
    const index_t len = n - b < kBlock ? n - b : kBlock;
    fwd_kernel<Op, T>(len, x + b, tmp, alpha);
    vm::stream_copy(y + b, tmp, len);
  }
  vm::stream_fence();
}

template <class Op, class T>
void bwd_stream(index_t n, const T* x, const T* y, const T* dy, T* dx, T alpha) {
  alignas(64) T tmp[kBlock];
  const index_t head = vm::stream_head(dx, n);
  bwd_kernel<Op, T>(head, x, y, dy, dx, alpha);
  for (index_t b = head; b < n; b += kBlock) {
    const index_t len = n - b < kBlock ? n - b : kBlock;
    bwd_kernel<Op, T>(len, x + b, y ? y + b : nullptr, dy + b, tmp, alpha);
    vm::stream_copy(dx + b, tmp, len);
  }
  vm::stream_fence();
}

void identity_fwd_f32(index_t n, const float* x, float* y, float) {
  if (x != y) std::memmove(y, x, static_cast<size_t>(n) * sizeof(float));
}
void identity_fwd_f64(index_t n, const double* x, double* y, double) {
  if (x != y) std::memmove(y, x, static_cast<size_t>(n) * sizeof(double));
}

template <template <class> class Op>
void set(ActKernels& t, ActId id) {
  t.fwd_f32[id] = fwd_kernel<Op<float>, float>;
  t.fwd_f64[id] = fwd_kernel<Op<double>, double>;
  t.bwd_f32[id] = bwd_kernel<Op<float>, float>;
  t.bwd_f64[id] = bwd_kernel<Op<double>, double>;
}

template <template <class> class Op>
void set_stream(ActStreamKernels& t, ActId id) {
  t.fwd_f32[id] = fwd_stream<Op<float>, float>;
  t.fwd_f64[id] = fwd_stream<Op<double>, double>;
  t.bwd_f32[id] = bwd_stream<Op<float>, float>;
  t.bwd_f64[id] = bwd_stream<Op<double>, double>;
}

template <template <class> class... Ops>
struct OpList {};
using AllOps = OpList<Identity, Relu, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Gelu, GeluTanh, Silu, Mish, Softplus>;

template <template <class> class... Ops, class F>
void for_each_op(OpList<Ops...>, F&& f) {
  int id = 0;
  (f.template operator()<Ops>(static_cast<ActId>(id++)), ...);
}

}  // namespace

void fill_softmax(ActKernels& t);  // softmax.cpp

struct SetTable {
  ActKernels& t;
  template <template <class> class Op>
  void operator()(ActId id) { set<Op>(t, id); }
};
struct SetStream {
  ActStreamKernels& t;
  template <template <class> class Op>
  void operator()(ActId id) { set_stream<Op>(t, id); }
};

// The order of AllOps is the order of ActId.
static_assert(ACT_IDENTITY == 0 && ACT_RELU == 1 && ACT_LEAKY_RELU == 2 && ACT_ELU == 3 && ACT_SELU == 4 &&
                  ACT_SIGMOID == 5 && ACT_TANH == 6 && ACT_GELU == 7 && ACT_GELU_TANH == 8 && ACT_SILU == 9 &&
                  ACT_MISH == 10 && ACT_SOFTPLUS == 11 && ACT_COUNT == 12,
              "AllOps must list the activations in ActId order");

void fill_act(ActKernels& t) {
  for_each_op(AllOps{}, SetTable{t});
  t.fwd_f32[ACT_IDENTITY] = identity_fwd_f32;
  t.fwd_f64[ACT_IDENTITY] = identity_fwd_f64;
  fill_softmax(t);
}

void fill_act_stream(ActStreamKernels& t) { for_each_op(AllOps{}, SetStream{t}); }
FASTNN_ISA_END
