// Layer passes of the training engine (see nodes.h).
#include "train/nodes.h"

#include <algorithm>

#include <omp.h>

#include <cmath>
#include <cstring>

#include "fastnn/dispatch.h"
#include "train/parallel.h"
#include "train/rng.h"
#include "train/spec.h"

namespace fastnn {
namespace train {
namespace {

// Rough single-thread costs, for sizing thread teams.
constexpr double kNsElem = 0.5;     // a streaming elementwise op
constexpr double kNsTrans = 3.0;    // an elementwise op with a transcendental
constexpr double kNsFlop = 0.012;   // GEMM (about 80 GFLOP/s per core)

template <class T> struct Tab;
template <> struct Tab<float> {
  static ActFwdFn<float> fwd(int a) { return kernels().act.fwd_f32[a]; }
  static ActBwdFn<float> bwd(int a) { return kernels().act.bwd_f32[a]; }
  static RowFwdFn<float> softmax(bool log) { return log ? kernels().act.log_softmax_f32 : kernels().act.softmax_f32; }
  static RowBwdFn<float> softmax_bwd(bool log) {
    return log ? kernels().act.log_softmax_bwd_f32 : kernels().act.softmax_bwd_f32;
  }
  static void gemm(const GemmArgs<float>& g) { kernels().gemm.sgemm(g); }
  static ColSumFn<float> colsum() { return kernels().optim.f32.colsum; }
};
template <> struct Tab<double> {
  static ActFwdFn<double> fwd(int a) { return kernels().act.fwd_f64[a]; }
  static ActBwdFn<double> bwd(int a) { return kernels().act.bwd_f64[a]; }
  static RowFwdFn<double> softmax(bool log) { return log ? kernels().act.log_softmax_f64 : kernels().act.softmax_f64; }
  static RowBwdFn<double> softmax_bwd(bool log) {
    return log ? kernels().act.log_softmax_bwd_f64 : kernels().act.softmax_bwd_f64;
  }
  static void gemm(const GemmArgs<double>& g) { kernels().gemm.dgemm(g); }
  static ColSumFn<double> colsum() { return kernels().optim.f64.colsum; }
};

bool is_rowwise(int act) { return act == kActSoftmax || act == kActLogSoftmax; }

// Column reductions: f(c0, c1) on blocks of at most 64 columns, blocks spread over threads.
template <class F>
void parallel_columns(index_t B, index_t w, F&& f) {
  const index_t nblk = (w + 63) / 64;
  parallel_range(
      nblk, double(B) * 64 * kNsElem,
      [&](index_t b0, index_t b1) {
        for (index_t blk = b0; blk < b1; ++blk) f(blk * 64, std::min(w, blk * 64 + 64));
      },
      1);
}

}  // namespace

template <class T>
void act_forward(T* y, const T* z, index_t B, index_t w, int act, T alpha) {
  if (is_rowwise(act)) {
    auto fn = Tab<T>::softmax(act == kActLogSoftmax);
    parallel_range(B, double(w) * kNsTrans, [&](index_t r0, index_t r1) {
      fn(r1 - r0, w, z + r0 * w, w, y + r0 * w, w);
    });
    return;
  }
  if (act == ACT_IDENTITY) {
    if (y != z) std::memcpy(y, z, sizeof(T) * std::size_t(B * w));
    return;
  }
  auto fn = Tab<T>::fwd(act);
  parallel_range(B * w, kNsTrans, [&](index_t b, index_t e) { fn(e - b, z + b, y + b, alpha); });
}

template <class T>
void act_backward(T* dz, const T* dy, const T* z, const T* y, index_t B, index_t w, int act, T alpha) {
  if (is_rowwise(act)) {
    auto fn = Tab<T>::softmax_bwd(act == kActLogSoftmax);
    parallel_range(B, double(w) * kNsElem * 4, [&](index_t r0, index_t r1) {
      fn(r1 - r0, w, y + r0 * w, w, dy + r0 * w, w, dz + r0 * w, w);
    });
    return;
  }
  if (act == ACT_IDENTITY) {
    if (dz != dy) std::memcpy(dz, dy, sizeof(T) * std::size_t(B * w));
    return;
  }
  auto fn = Tab<T>::bwd(act);
  parallel_range(B * w, kNsTrans, [&](index_t b, index_t e) { fn(e - b, z + b, y + b, dy + b, dz + b, alpha); });
}

template <class T>
void dense_forward(T* y, T* z, const T* x, const T* W, const T* b, index_t B, index_t in, index_t out, int act,
                   T alpha, bool want_y) {
  GemmArgs<T> g;
  g.m = B; g.n = out; g.k = in;
  g.a = x; g.lda = in;
  g.b = W; g.ldb = out;
  g.bias = b;
  g.num_threads = omp_in_parallel() ? 1 : max_threads();
  if (!want_y && z) {  // the pre-activation only (a loss computed from the logits)
    g.c = z; g.ldc = out;
    Tab<T>::gemm(g);
    return;
  }
  if (is_rowwise(act)) {
    g.c = z; g.ldc = out;  // z = x W + b, then the row-wise activation
    Tab<T>::gemm(g);
    act_forward(y, z, B, out, act, alpha);
    return;
  }
  g.c = y; g.ldc = out;
  if (act != ACT_IDENTITY) {
    g.act = Tab<T>::fwd(act);
    g.act_id = act;
    g.act_alpha = alpha;
    g.z = z; g.ldz = out;
  }
  Tab<T>::gemm(g);
}

template <class T>
void column_sums(T* db, const T* dz, index_t B, index_t w) {
  const ColSumFn<T> fn = Tab<T>::colsum();
  parallel_columns(B, w, [&](index_t c0, index_t c1) { fn(db + c0, dz + c0, B, c1 - c0, w); });
}

namespace {
// dW rows [r0, r1) (in,out) = x[:, r0:r1]^T (rows, B) dz (B,out)
template <class T>
void dense_weight_grad(T* dW, const T* dz, const T* x, index_t B, index_t in, index_t out, index_t r0, index_t r1,
                       SideWork* side) {
  GemmArgs<T> g;
  g.trans_a = true;
  g.m = r1 - r0; g.n = out; g.k = B;
  g.a = x + r0; g.lda = in;
  g.b = dz; g.ldb = out;
  g.c = dW + r0 * out; g.ldc = out;
  g.num_threads = omp_in_parallel() ? 1 : max_threads();
  g.side = side;
  Tab<T>::gemm(g);
}

// dx (B,in) = dz (B,out) W^T (out,in)
template <class T>
void dense_input_grad(T* dx, const T* dz, const T* W, index_t B, index_t in, index_t out, bool accumulate,
                      SideWork* side) {
  GemmArgs<T> g;
  g.trans_b = true;
  g.m = B; g.n = in; g.k = out;
  g.a = dz; g.lda = out;
  g.b = W; g.ldb = out;
  g.c = dx; g.ldc = in;
  g.beta = accumulate ? T(1) : T(0);
  g.num_threads = omp_in_parallel() ? 1 : max_threads();
  g.side = side;
  Tab<T>::gemm(g);
}
}  // namespace

template <class T>
void dense_backward(T* dx, T* dW, T* db, const T* dz, const T* x, const T* W, index_t B, index_t in, index_t out,
                    bool accumulate, BackwardHooks* hooks) {
  const double flops = 2.0 * double(B) * double(in) * double(out);
  if (!hooks) {
    if (dW) dense_weight_grad(dW, dz, x, B, in, out, 0, in, nullptr);
    if (db) column_sums(db, dz, B, out);
    if (dx) dense_input_grad(dx, dz, W, B, in, out, accumulate, nullptr);
    return;
  }
  if (dx) dense_input_grad(dx, dz, W, B, in, out, accumulate, hooks->side(flops));
  if (dW) {
    const index_t blocks = std::max<index_t>(1, std::min(hooks->row_blocks, in));
    for (index_t k = 0; k < blocks; ++k) {
      const index_t r0 = in * k / blocks, r1 = in * (k + 1) / blocks;
      dense_weight_grad(dW, dz, x, B, in, out, r0, r1, hooks->side(flops * double(r1 - r0) / double(in)));
      hooks->rows_done(r1);
    }
  }
  if (db) column_sums(db, dz, B, out);
}

template <class T>
void dropout_forward(T* y, T* mask, const T* x, index_t B, index_t w, double rate, std::uint64_t key, index_t base) {
  const T keep = T(1.0 / (1.0 - rate));
  parallel_range(B * w, kNsTrans, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      mask[i] = uniform01(key, std::uint64_t(base + i)) >= rate ? keep : T(0);
      y[i] = x[i] * mask[i];
    }
  });
}

template <class T>
void noise_forward(T* y, const T* x, index_t n, double stddev, std::uint64_t key, index_t base) {
  parallel_range(n, kNsTrans * 4, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) y[i] = x[i] + T(stddev * normal01(key, std::uint64_t(base + i)));
  });
}

template <class T>
void mul_into(T* out, const T* a, const T* b, index_t n, bool accumulate) {
  parallel_range(n, kNsElem, [&](index_t s, index_t e) {
    if (accumulate) {
#pragma omp simd
      for (index_t i = s; i < e; ++i) out[i] += a[i] * b[i];
    } else {
#pragma omp simd
      for (index_t i = s; i < e; ++i) out[i] = a[i] * b[i];
    }
  });
}

template <class T>
void copy_into(T* out, const T* a, index_t n, bool accumulate) {
  if (out == a && !accumulate) return;
  parallel_range(n, kNsElem, [&](index_t s, index_t e) {
    if (accumulate) {
#pragma omp simd
      for (index_t i = s; i < e; ++i) out[i] += a[i];
    } else {
      std::memcpy(out + s, a + s, sizeof(T) * std::size_t(e - s));
    }
  });
}

template <class T>
void copy_rows(T* out, index_t ldo, const T* a, index_t lda, index_t B, index_t w, bool accumulate) {
  parallel_range(B, double(w) * kNsElem, [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      T* o = out + r * ldo;
      const T* s = a + r * lda;
      if (accumulate) {
#pragma omp simd
        for (index_t j = 0; j < w; ++j) o[j] += s[j];
      } else {
        std::memcpy(o, s, sizeof(T) * std::size_t(w));
      }
    }
  });
}

template <class T>
void batchnorm_forward_train(T* y, T* xhat, T* mean, T* invstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, index_t B, index_t w, double eps, double momentum,
                             bool update_stats) {
  parallel_columns(B, w, [&](index_t c0, index_t c1) {
    for (index_t j = c0; j < c1; ++j) mean[j] = T(0);
    for (index_t i = 0; i < B; ++i) {
#pragma omp simd
      for (index_t j = c0; j < c1; ++j) mean[j] += x[i * w + j];
    }
    for (index_t j = c0; j < c1; ++j) {
      mean[j] /= T(B);
      invstd[j] = T(0);  // holds the variance until the end of the pass
    }
    for (index_t i = 0; i < B; ++i) {
#pragma omp simd
      for (index_t j = c0; j < c1; ++j) {
        const T d = x[i * w + j] - mean[j];
        invstd[j] += d * d;
      }
    }
    for (index_t j = c0; j < c1; ++j) {
      const T var = invstd[j] / T(B);
      if (update_stats) {
        running_mean[j] = T(momentum) * running_mean[j] + T(1 - momentum) * mean[j];
        running_var[j] = T(momentum) * running_var[j] + T(1 - momentum) * var;
      }
      invstd[j] = T(1) / std::sqrt(var + T(eps));
    }
    for (index_t i = 0; i < B; ++i) {
#pragma omp simd
      for (index_t j = c0; j < c1; ++j) {
        const T h = (x[i * w + j] - mean[j]) * invstd[j];
        xhat[i * w + j] = h;
        y[i * w + j] = (gamma ? gamma[j] * h : h) + (beta ? beta[j] : T(0));
      }
    }
  });
}

template <class T>
void batchnorm_forward_infer(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,
                             const T* beta, index_t B, index_t w, double eps) {
  parallel_range(B, double(w) * kNsElem, [&](index_t r0, index_t r1) {
    for (index_t i = r0; i < r1; ++i) {
#pragma omp simd
      for (index_t j = 0; j < w; ++j) {
        const T h = (x[i * w + j] - running_mean[j]) / std::sqrt(running_var[j] + T(eps));
        y[i * w + j] = (gamma ? gamma[j] * h : h) + (beta ? beta[j] : T(0));
      }
    }
  });
}

template <class T>
void batchnorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* xhat, const T* invstd, const T* gamma,
                        index_t B, index_t w, bool batch_stats, bool accumulate) {
  parallel_columns(B, w, [&](index_t c0, index_t c1) {
    // Sums over the batch of dy and dy * xhat, kept in dbeta/dgamma when wanted.
    T sdy[64], sdyx[64];
    for (index_t j = c0; j < c1; ++j) { sdy[j - c0] = T(0); sdyx[j - c0] = T(0); }
    for (index_t i = 0; i < B; ++i) {
#pragma omp simd
      for (index_t j = c0; j < c1; ++j) {
        sdy[j - c0] += dy[i * w + j];
        sdyx[j - c0] += dy[i * w + j] * xhat[i * w + j];
      }
    }
    for (index_t j = c0; j < c1; ++j) {
      if (dbeta) dbeta[j] = sdy[j - c0];
      if (dgamma) dgamma[j] = sdyx[j - c0];
    }
    if (!dx) return;
    for (index_t i = 0; i < B; ++i) {
#pragma omp simd
      for (index_t j = c0; j < c1; ++j) {
        const T g = gamma ? gamma[j] : T(1);
        T v;
        if (batch_stats)
          v = g * invstd[j] / T(B) * (T(B) * dy[i * w + j] - sdy[j - c0] - xhat[i * w + j] * sdyx[j - c0]);
        else
          v = g * invstd[j] * dy[i * w + j];
        dx[i * w + j] = accumulate ? dx[i * w + j] + v : v;
      }
    }
  });
}

template <class T>
void layernorm_forward(T* y, T* xhat, T* invstd, const T* x, const T* gamma, const T* beta, index_t B, index_t w,
                       double eps) {
  parallel_range(B, double(w) * kNsElem * 3, [&](index_t r0, index_t r1) {
    for (index_t i = r0; i < r1; ++i) {
      const T* xr = x + i * w;
      T s = 0;
      for (index_t j = 0; j < w; ++j) s += xr[j];
      const T mu = s / T(w);
      T v = 0;
      for (index_t j = 0; j < w; ++j) v += (xr[j] - mu) * (xr[j] - mu);
      const T is = T(1) / std::sqrt(v / T(w) + T(eps));
      invstd[i] = is;
#pragma omp simd
      for (index_t j = 0; j < w; ++j) {
        const T h = (xr[j] - mu) * is;
        xhat[i * w + j] = h;
        y[i * w + j] = (gamma ? gamma[j] * h : h) + (beta ? beta[j] : T(0));
      }
    }
  });
}

template <class T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* xhat, const T* invstd, const T* gamma,
                        index_t B, index_t w, bool accumulate) {
  if (dgamma || dbeta) {
    parallel_columns(B, w, [&](index_t c0, index_t c1) {
      for (index_t j = c0; j < c1; ++j) {
        if (dgamma) dgamma[j] = T(0);
        if (dbeta) dbeta[j] = T(0);
      }
      for (index_t i = 0; i < B; ++i) {
        for (index_t j = c0; j < c1; ++j) {
          if (dgamma) dgamma[j] += dy[i * w + j] * xhat[i * w + j];
          if (dbeta) dbeta[j] += dy[i * w + j];
        }
      }
    });
  }
  if (!dx) return;
  parallel_range(B, double(w) * kNsElem * 3, [&](index_t r0, index_t r1) {
    for (index_t i = r0; i < r1; ++i) {
      T s1 = 0, s2 = 0;  // means of dxhat and dxhat * xhat
      for (index_t j = 0; j < w; ++j) {
        const T d = dy[i * w + j] * (gamma ? gamma[j] : T(1));
        s1 += d;
        s2 += d * xhat[i * w + j];
      }
      s1 /= T(w);
      s2 /= T(w);
      for (index_t j = 0; j < w; ++j) {
        const T d = dy[i * w + j] * (gamma ? gamma[j] : T(1));
        const T v = invstd[i] * (d - s1 - xhat[i * w + j] * s2);
        dx[i * w + j] = accumulate ? dx[i * w + j] + v : v;
      }
    }
  });
}

template <class T>
void prelu_forward(T* y, const T* x, const T* a, index_t B, index_t w) {
  parallel_range(B, double(w) * kNsElem, [&](index_t r0, index_t r1) {
    for (index_t i = r0; i < r1; ++i) {
#pragma omp simd
      for (index_t j = 0; j < w; ++j) {
        const T v = x[i * w + j];
        y[i * w + j] = v > T(0) ? v : a[j] * v;
      }
    }
  });
}

template <class T>
void prelu_backward(T* dx, T* da, const T* dy, const T* x, const T* a, index_t B, index_t w, bool accumulate) {
  if (da) {
    parallel_columns(B, w, [&](index_t c0, index_t c1) {
      for (index_t j = c0; j < c1; ++j) da[j] = T(0);
      for (index_t i = 0; i < B; ++i) {
#pragma omp simd
        for (index_t j = c0; j < c1; ++j) {
          const T v = x[i * w + j];
          da[j] += v > T(0) ? T(0) : dy[i * w + j] * v;
        }
      }
    });
  }
  if (!dx) return;
  parallel_range(B, double(w) * kNsElem, [&](index_t r0, index_t r1) {
    for (index_t i = r0; i < r1; ++i) {
#pragma omp simd
      for (index_t j = 0; j < w; ++j) {
        const T g = x[i * w + j] > T(0) ? dy[i * w + j] : a[j] * dy[i * w + j];
        dx[i * w + j] = accumulate ? dx[i * w + j] + g : g;
      }
    }
  });
}

#define FASTNN_INST(T)                                                                                        \
  template void act_forward<T>(T*, const T*, index_t, index_t, int, T);                                      \
  template void act_backward<T>(T*, const T*, const T*, const T*, index_t, index_t, int, T);                 \
  template void dense_forward<T>(T*, T*, const T*, const T*, const T*, index_t, index_t, index_t, int, T, bool); \
  template void dense_backward<T>(T*, T*, T*, const T*, const T*, const T*, index_t, index_t, index_t, bool,  \
                                  BackwardHooks*);                                                           \
  template void dropout_forward<T>(T*, T*, const T*, index_t, index_t, double, std::uint64_t, index_t);      \
  template void noise_forward<T>(T*, const T*, index_t, double, std::uint64_t, index_t);                     \
  template void mul_into<T>(T*, const T*, const T*, index_t, bool);                                           \
  template void copy_into<T>(T*, const T*, index_t, bool);                                                    \
  template void copy_rows<T>(T*, index_t, const T*, index_t, index_t, index_t, bool);                         \
  template void batchnorm_forward_train<T>(T*, T*, T*, T*, T*, T*, const T*, const T*, const T*, index_t,    \
                                           index_t, double, double, bool);                                    \
  template void batchnorm_forward_infer<T>(T*, const T*, const T*, const T*, const T*, const T*, index_t,    \
                                           index_t, double);                                                  \
  template void batchnorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, index_t, index_t,  \
                                      bool, bool);                                                            \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, index_t, index_t, double);    \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, index_t, index_t,  \
                                      bool);                                                                  \
  template void prelu_forward<T>(T*, const T*, const T*, index_t, index_t);                                   \
  template void prelu_backward<T>(T*, T*, const T*, const T*, const T*, index_t, index_t, bool);              \
  template void column_sums<T>(T*, const T*, index_t, index_t);

FASTNN_INST(float)
FASTNN_INST(double)
#undef FASTNN_INST

}  // namespace train
}  // namespace fastnn
